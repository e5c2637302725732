"""Request logs name the key that acted (its id) and never hold a key, a body, or personal data
(emails, phone numbers), whatever the request and however it ends."""

import json
import logging
import time
import uuid

import httpx
import pytest
from _pytest.capture import CaptureResult

from tests.app_logs import request_lines
from tests.helpers import BATCH, EVENT, KEYS, START, TEST_API_KEY, create_key, event


def is_test_client(logger_name: str) -> bool:
    """httpx logs the test client's own requests, URL included; the app sends none."""
    return logger_name.startswith(("httpx", "httpcore"))


def app_output(text: str) -> str:
    """Captured output without the test client's log lines."""
    kept = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and is_test_client(str(entry.get("logger", ""))):
            continue
        kept.append(line)
    return "\n".join(kept)


def assert_never_logged(
    secrets: dict[str, str],
    output: CaptureResult[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = [record for record in caplog.records if not is_test_client(record.name)]
    assert records, "nothing was logged: the capture is not working"
    for what, secret in secrets.items():
        assert secret not in app_output(output.out), what
        assert secret not in app_output(output.err), what
        for record in records:
            assert secret not in record.getMessage(), what
            assert secret not in repr(vars(record)), what
            if record.exc_info:
                assert secret not in logging.Formatter().formatException(record.exc_info), what


@pytest.fixture
def personal() -> dict[str, str]:
    """Personal data and body text unique to one test."""
    marker = uuid.uuid4().hex
    return {
        "email": f"jane.{marker[:8]}@buyer.example",
        "phone": f"+44 7700 9{marker[:5].translate(str.maketrans('abcdef', '123456'))}",
        "body text": f"body-marker-{marker}",
    }


async def test_keys_bodies_and_personal_data_never_reach_the_logs_and_the_key_id_does(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    personal: dict[str, str],
) -> None:
    ingest = await create_key(client, "ingest")
    bearer = await create_key(client, "ingest", "read")
    capsys.readouterr()
    caplog.clear()
    as_ingest = {"X-API-Key": ingest["key"]}
    email, phone, text = personal["email"], personal["phone"], personal["body text"]

    started = await anonymous.post(
        START,
        json={"session_start": time.time(), "customer_id": email, "device_type": text},
        headers=as_ingest,
    )
    session_id = started.json()["session_id"]
    answers = [
        started,
        await anonymous.post(
            EVENT,
            json={"session_id": session_id, **event(event_data={"phone": phone, "note": text})},
            headers=as_ingest,
        ),
        await anonymous.post(
            BATCH,
            json={
                "session_id": session_id,
                "events": [
                    event(event_data={"contact": email, "phone": phone}),
                    event(f"bad type {text}", event_data={"phone": phone}),
                ],
            },
            headers={"Authorization": f"Bearer {bearer['key']}"},
        ),
        await anonymous.get(
            f"/api/v1/unreal/session/{session_id}/status",
            headers={"Authorization": f"Bearer {bearer['key']}"},
        ),
        await anonymous.post(
            START, json={"session_start": text, "customer_id": email}, headers=as_ingest
        ),
        await anonymous.post(
            BATCH,
            content=f'{{"customer": "{email}", "phone": "{phone}"'.encode(),
            headers={**as_ingest, "content-type": "application/json"},
        ),
    ]

    assert [answer.status_code for answer in answers] == [201, 202, 202, 200, 422, 422]
    output = capsys.readouterr()
    assert_never_logged(
        {**personal, "ingest key": ingest["key"], "bearer key": bearer["key"]}, output, caplog
    )
    lines = request_lines(output.out)
    # The last body is not JSON: the key was checked before the body was read, so it is named.
    assert [line.get("key_id") for line in lines] == [
        ingest["id"],
        ingest["id"],
        bearer["id"],
        bearer["id"],
        ingest["id"],
        ingest["id"],
    ]


async def test_refused_keys_are_not_logged_and_no_key_id_is_claimed(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = f"nxr_wrong-{uuid.uuid4().hex}"
    read = await create_key(client, "read")
    capsys.readouterr()
    caplog.clear()
    status = f"/api/v1/unreal/session/{uuid.uuid4()}/status"

    answers = [
        await anonymous.get(status, headers={"X-API-Key": wrong}),
        await anonymous.get(status, headers={"Authorization": f"Bearer {wrong}"}),
        await anonymous.post(
            START, json={"session_start": time.time()}, headers={"X-API-Key": read["key"]}
        ),
    ]

    assert [answer.status_code for answer in answers] == [401, 401, 403]
    output = capsys.readouterr()
    assert_never_logged({"wrong key": wrong, "read key": read["key"]}, output, caplog)
    lines = request_lines(output.out)
    assert [line.get("key_id") for line in lines] == [None, None, read["id"]]


async def test_admin_requests_log_neither_the_key_they_create_nor_the_customer_they_erase(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    personal: dict[str, str],
) -> None:
    capsys.readouterr()
    caplog.clear()

    created = await client.post(KEYS, json={"name": personal["body text"], "scopes": ["ingest"]})
    revoked = await client.post(f"{KEYS}/{created.json()['id']}/revoke")
    erased = await client.post("/api/v1/admin/erasures", json={"customer_id": personal["email"]})
    listed = await client.get("/api/v1/admin/audit")

    assert [created.status_code, revoked.status_code, erased.status_code] == [201, 200, 200]
    assert listed.status_code == 200
    output = capsys.readouterr()
    assert_never_logged(
        {
            "new key": created.json()["key"],
            "bootstrap key": TEST_API_KEY,
            "email": personal["email"],
            "key name": personal["body text"],
        },
        output,
        caplog,
    )
    bootstrap_ids = {line["key_id"] for line in request_lines(output.out)}
    assert len(bootstrap_ids) == 1
    assert None not in bootstrap_ids


async def test_personal_data_in_a_path_that_matches_no_route_is_not_logged(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    personal: dict[str, str],
) -> None:
    capsys.readouterr()
    caplog.clear()

    response = await client.get(f"/api/v1/unreal/customers/{personal['email']}/sessions")

    assert response.status_code == 404
    assert_never_logged({"email": personal["email"]}, capsys.readouterr(), caplog)


async def test_personal_data_in_a_routed_path_is_logged_as_the_route_template(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    personal: dict[str, str],
) -> None:
    capsys.readouterr()
    caplog.clear()

    response = await client.get(f"/api/v1/unreal/session/{personal['email']}/status")

    assert response.status_code == 422
    output = capsys.readouterr()
    assert_never_logged({"email": personal["email"]}, output, caplog)
    [line] = request_lines(output.out)
    assert line["route"] == "/api/v1/unreal/session/{session_id}/status"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b" " * (1_048_576 + 1), {}),
        (b"{}", {"content-encoding": "br"}),
        (b"not gzip", {"content-encoding": "gzip"}),
    ],
    ids=["413", "415", "400"],
)
async def test_request_refused_before_routing_is_logged_with_its_routes_template(
    client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    headers: dict[str, str],
) -> None:
    capsys.readouterr()

    response = await client.post(BATCH, content=content, headers=headers)

    assert response.status_code in (400, 413, 415)
    [line] = request_lines(capsys.readouterr().out)
    assert line["route"] == BATCH
