"""Keyless records (docs/security.md): off by default; one project of a deployment may take the
original client's records without a key, on the legacy endpoint only, rate limited per client
address, the switch audited. Each test has a database of its own: the switch is deployment-wide."""

from collections.abc import AsyncIterator

import pytest

from tests.conftest import access_service, create_project_key, fresh_database, serve_app
from tests.helpers import COMPLETE, START

PROJECT = "/api/v1/admin/project"
VIEW = {"View": "Home", "TotalDuration": "0:04"}


@pytest.fixture
async def deployment(server_dsn: str) -> AsyncIterator[str]:
    async with fresh_database(server_dsn, prefix="nexero_keyless") as dsn:
        yield dsn


async def test_keyless_records_are_refused_until_a_project_takes_them(deployment: str) -> None:
    # Another worker: it trusts what it learnt for API_KEY_CACHE_SECONDS (0 here).
    async with (
        serve_app(deployment) as admin,
        serve_app(deployment, api_key=None, API_KEY_CACHE_SECONDS=0) as headset,
    ):
        before = await headset.post(COMPLETE, json=VIEW)
        turned_on = await admin.patch(PROJECT, json={"accepts_keyless_records": True})
        after = await headset.post(COMPLETE, json=VIEW)
        await admin.patch(PROJECT, json={"accepts_keyless_records": False})
        off_again = await headset.post(COMPLETE, json=VIEW)
        audit = (await admin.get("/api/v1/admin/audit")).json()["entries"]

    assert before.status_code == 401
    assert turned_on.json()["accepts_keyless_records"] is True
    assert after.status_code == 201, after.text
    assert after.json()["record"] == "view"
    assert off_again.status_code == 401
    assert [entry["action"] for entry in audit[:2]] == [
        "project.keyless_records_off",
        "project.keyless_records_on",
    ]


async def test_keyless_writes_reach_the_legacy_endpoint_only(deployment: str) -> None:
    async with (
        serve_app(deployment) as admin,
        serve_app(deployment, api_key=None) as headset,
    ):
        await admin.patch(PROJECT, json={"accepts_keyless_records": True})
        start = await headset.post(START, json={"session_start": 1_728_234_567})
        sessions = await headset.get("/api/v1/sessions")
        summary = await headset.post(
            COMPLETE, json={"session_start": 1_728_234_567, "session_end": 1_728_234_600}
        )

    assert (start.status_code, sessions.status_code) == (401, 401)
    assert summary.status_code == 201, summary.text


async def test_keyless_writes_are_rate_limited_per_client_address(deployment: str) -> None:
    async with (
        serve_app(deployment) as admin,
        serve_app(
            deployment,
            api_key=None,
            RATE_LIMIT_ENABLED=True,
            RATE_LIMIT_INGEST_PER_SECOND=0.01,
            RATE_LIMIT_INGEST_BURST=2,
        ) as headset,
    ):
        await admin.patch(PROJECT, json={"accepts_keyless_records": True})
        answers = [
            (await headset.post(COMPLETE, json={**VIEW, "TotalDuration": f"0:0{n}"})).status_code
            for n in range(3)
        ]

    assert answers == [201, 201, 429]


async def test_a_second_project_cannot_take_keyless_records_too(deployment: str) -> None:
    """Nothing would tell two projects' keyless senders apart."""
    async with serve_app(deployment) as admin:
        await admin.patch(PROJECT, json={"accepts_keyless_records": True})
        async with access_service(deployment) as access:
            second = await create_project_key(access, "second showroom")
    async with serve_app(deployment, api_key=second.key) as second_admin:
        refused = await second_admin.patch(PROJECT, json={"accepts_keyless_records": True})

    assert refused.status_code == 409
    assert "already takes keyless records" in refused.json()["detail"]
