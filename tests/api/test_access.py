"""API keys at the door: what answers without one, how a key may be sent, what each scope
reaches, revocation, last_used_at recorded without a write per request, and keys kept only as
hashes."""

import asyncio
import hashlib
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from app.services.access.keys import key_prefix
from tests.conftest import AppFactory
from tests.helpers import (
    BATCH,
    COMPLETE,
    END,
    EVENT,
    KEYS,
    START,
    TEST_API_KEY,
    api_routes,
    create_key,
    event,
    fguid,
    key_header,
    status_url,
)

UNAUTHORIZED_DETAILS = {
    "A valid API key is required (X-API-Key header or Authorization: Bearer)",
    "API key not recognised",
    "API key not recognised or revoked",
}
PUBLIC_PATHS = ["/", "/health", "/docs", "/redoc", "/openapi.json"]
SCOPES = ("ingest", "read", "admin")


def scopes_for(method: str, path: str) -> set[str]:
    """The scopes that open a route, by the documented rule: ingest for the VR client's writes
    (and its session status, which the read scope sees too), admin for /admin, read for the
    rest (analytics and exports)."""
    if path.startswith("/api/v1/admin/"):
        return {"admin"}
    if path.startswith("/api/v1/unreal/"):
        return {"ingest"} if method != "GET" else {"ingest", "read"}
    return {"read"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def open_session(client: httpx.AsyncClient, key: str) -> str:
    response = await client.post(
        START, json={"session_start": time.time()}, headers=key_header(key)
    )
    assert response.status_code == 201, response.text
    return response.json()["session_id"]


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] in UNAUTHORIZED_DETAILS


@pytest.fixture(scope="module")
async def scoped_keys(client: httpx.AsyncClient) -> dict[str, str]:
    """One key per scope, each holding that scope only."""
    return {
        scope: (await create_key(client, scope, name=f"only {scope}"))["key"] for scope in SCOPES
    }


# --- what answers without a key -------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PATHS)
async def test_index_health_and_docs_answer_without_a_key(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    response = await anonymous.get(path)

    assert response.status_code == 200, response.text


async def test_health_probe_by_head_answers_without_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.head("/health")

    assert response.status_code == 200


async def test_request_without_a_key_is_401_naming_both_ways_to_send_one(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get(status_url(str(uuid.uuid4())))

    assert_unauthorized(response)
    assert "X-API-Key" in response.json()["detail"]
    assert "Bearer" in response.json()["detail"]


async def test_request_without_a_key_stores_nothing(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = fguid()

    responses = [
        await anonymous.post(START, json={"session_start": time.time(), "session_id": session_id}),
        await anonymous.post(
            COMPLETE,
            json={
                "session_id": session_id,
                "session_start": time.time() - 60,
                "session_end": time.time(),
            },
        ),
    ]

    for response in responses:
        assert_unauthorized(response)
    assert (
        await db.fetchval("SELECT count(*) FROM vr_sessions WHERE id = $1", uuid.UUID(session_id))
        == 0
    )


# --- bad keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "   ",
        "nxr_" + "A" * 43,
        TEST_API_KEY + "x",
        TEST_API_KEY[:-1],
        TEST_API_KEY.upper(),
        "k" * 257,
        "k" * 5000,
        "ключ-api-ünicode-0123456789abcdef",
        "' OR 1=1 --0123456789abcdefghij",
    ],
    ids=[
        "empty",
        "blank",
        "well-formed but unknown",
        "a real key with one character more",
        "a real key with one character less",
        "a real key in other case",
        "past the longest key",
        "very long",
        "not ASCII",
        "SQL",
    ],
)
async def test_unknown_key_is_401_never_another_error(
    anonymous: httpx.AsyncClient, presented: str
) -> None:
    response = await anonymous.get(
        status_url(str(uuid.uuid4())), headers={"X-API-Key": presented.encode("utf-8")}
    )

    assert_unauthorized(response)


async def test_key_sharing_a_real_keys_prefix_is_refused(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    real = (await create_key(client, "ingest"))["key"]
    impostor = real[:12] + ("A" if real[12] != "A" else "B") + real[13:]

    refused = await anonymous.get(status_url(str(uuid.uuid4())), headers=key_header(impostor))
    accepted = await anonymous.get(status_url(str(uuid.uuid4())), headers=key_header(real))

    assert_unauthorized(refused)
    assert accepted.status_code == 404


# --- how a key is sent -----------------------------------------------------------------------


async def test_key_is_accepted_as_a_bearer_token(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    key = (await create_key(client, "ingest"))["key"]
    session_id = await open_session(anonymous, key)

    response = await anonymous.get(
        status_url(session_id), headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["session_id"] == str(uuid.UUID(session_id))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-key-0123456789abcdef", "Basic {key}", "{key}", "Bearer"],
    ids=["unknown bearer", "basic scheme", "no scheme", "bearer without a token"],
)
async def test_malformed_or_unknown_authorization_is_401(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, authorization: str
) -> None:
    key = (await create_key(client, "ingest"))["key"]

    response = await anonymous.get(
        status_url(str(uuid.uuid4())), headers={"Authorization": authorization.format(key=key)}
    )

    assert_unauthorized(response)


# --- scopes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), api_routes(), ids=lambda value: str(value))
async def test_each_scope_opens_exactly_the_routes_it_is_for(
    anonymous: httpx.AsyncClient, scoped_keys: dict[str, str], method: str, path: str
) -> None:
    allowed = scopes_for(method, path)
    url = concrete(path)
    body: dict[str, Any] = {"json": {}} if method != "GET" else {}

    for scope, key in scoped_keys.items():
        response = await anonymous.request(method, url, headers=key_header(key), **body)
        if scope in allowed:
            assert response.status_code not in (401, 403), (scope, response.text)
        else:
            assert response.status_code == 403, (scope, response.text)
            needed = " or ".join(sorted(allowed, key=SCOPES.index))
            assert response.json() == {"detail": f"This API key lacks the {needed} scope"}


async def test_ingest_key_does_everything_the_vr_client_did_before(
    anonymous: httpx.AsyncClient, scoped_keys: dict[str, str], db: asyncpg.Connection
) -> None:
    headers = key_header(scoped_keys["ingest"])
    session_id = fguid()
    now = time.time()

    started = await anonymous.post(
        START,
        json={"session_id": session_id, "session_start": now - 120, "customer_id": "cust_1"},
        headers=headers,
    )
    heartbeat = await anonymous.post(
        f"/api/v1/unreal/session/{session_id}/heartbeat", headers=headers
    )
    single = await anonymous.post(
        EVENT, json={"session_id": session_id, **event(at=now - 60)}, headers=headers
    )
    batch = await anonymous.post(
        BATCH,
        json={"session_id": session_id, "events": [event("hotspot_click", at=now - 30)]},
        headers=headers,
    )
    status = await anonymous.get(status_url(session_id), headers=headers)
    ended = await anonymous.post(
        END, json={"session_id": session_id, "session_end": now}, headers=headers
    )
    complete = await anonymous.post(
        COMPLETE, json={"session_start": now - 300, "session_end": now}, headers=headers
    )

    assert started.status_code == 201, started.text
    assert heartbeat.status_code == 200, heartbeat.text
    assert single.status_code == 202, single.text
    assert batch.status_code == 202, batch.text
    assert batch.json()["processed"] == 1
    assert status.status_code == 200, status.text
    assert ended.status_code == 200, ended.text
    assert complete.status_code == 201, complete.text
    stored = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert stored == 2


async def test_read_key_sees_a_session_status_but_cannot_write(
    anonymous: httpx.AsyncClient, scoped_keys: dict[str, str]
) -> None:
    session_id = await open_session(anonymous, scoped_keys["ingest"])
    read = key_header(scoped_keys["read"])

    status = await anonymous.get(status_url(session_id), headers=read)
    write = await anonymous.post(
        BATCH, json={"session_id": session_id, "events": [event()]}, headers=read
    )

    assert status.status_code == 200
    assert status.json()["status"] == "active"
    assert write.status_code == 403


# --- revocation ------------------------------------------------------------------------------


async def test_revoked_key_is_refused_at_once_by_the_worker_that_revoked_it(
    client: httpx.AsyncClient,
) -> None:
    created = await create_key(client, "ingest")
    before = await client.get(status_url(str(uuid.uuid4())), headers=key_header(created["key"]))

    revoked = await client.post(f"{KEYS}/{created['id']}/revoke")
    after = await client.get(status_url(str(uuid.uuid4())), headers=key_header(created["key"]))

    assert before.status_code == 404
    assert revoked.status_code == 200
    assert_unauthorized(after)


async def test_revoked_key_is_refused_by_another_worker_once_its_cache_expires(
    client: httpx.AsyncClient, app_with: AppFactory
) -> None:
    created = await create_key(client, "ingest")
    async with app_with(API_KEY_CACHE_SECONDS=0) as other_worker:
        before = await other_worker.get(
            status_url(str(uuid.uuid4())), headers=key_header(created["key"])
        )
        await client.post(f"{KEYS}/{created['id']}/revoke")
        after = await other_worker.get(
            status_url(str(uuid.uuid4())), headers=key_header(created["key"])
        )

    assert before.status_code == 404
    assert_unauthorized(after)


async def test_revoked_bootstrap_key_stays_revoked_after_a_restart(
    app_with: AppFactory, client: httpx.AsyncClient
) -> None:
    bootstrap = f"bootstrap-{uuid.uuid4().hex}"
    async with app_with(NEXERO_BOOTSTRAP_KEY=bootstrap) as first_start:
        project = await first_start.get("/api/v1/admin/project", headers=key_header(bootstrap))
        keys = (await client.get(KEYS)).json()
        [record] = [
            key
            for key in keys
            if key["name"].startswith("bootstrap") and key["prefix"] == key_prefix(bootstrap)
        ]
        # A value the operator chose shows a digest of itself, none of its own characters.
        assert bootstrap[:8] not in record["prefix"]
        await client.post(f"{KEYS}/{record['id']}/revoke")
    async with app_with(NEXERO_BOOTSTRAP_KEY=bootstrap) as second_start:
        refused = await second_start.get("/api/v1/admin/project", headers=key_header(bootstrap))

    assert project.status_code == 200
    assert_unauthorized(refused)


# --- last_used_at ----------------------------------------------------------------------------


async def test_key_use_is_recorded_in_batches_not_with_a_write_per_request(
    client: httpx.AsyncClient, app_with: AppFactory, db: asyncpg.Connection
) -> None:
    created = await create_key(client, "ingest")
    key_id = uuid.UUID(created["id"])
    first_use = datetime.now(UTC)
    async with app_with(API_KEY_USAGE_FLUSH_SECONDS=3600) as worker:
        for _ in range(5):
            response = await worker.get(
                status_url(str(uuid.uuid4())), headers=key_header(created["key"])
            )
            assert response.status_code == 404
        while_serving = await db.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id)
    # Shutting down writes the uses not yet recorded.
    after_shutdown = await db.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id)

    assert created["last_used_at"] is None
    assert while_serving is None
    assert after_shutdown is not None
    assert first_use <= after_shutdown <= datetime.now(UTC)


async def test_key_use_is_recorded_every_flush_interval_while_serving(
    client: httpx.AsyncClient, app_with: AppFactory, db: asyncpg.Connection
) -> None:
    created = await create_key(client, "ingest")
    key_id = uuid.UUID(created["id"])
    async with app_with(API_KEY_USAGE_FLUSH_SECONDS=0.05) as worker:
        await worker.get(status_url(str(uuid.uuid4())), headers=key_header(created["key"]))
        recorded = None
        async with asyncio.timeout(10):
            while recorded is None:
                await asyncio.sleep(0.05)
                recorded = await db.fetchval(
                    "SELECT last_used_at FROM api_keys WHERE id = $1", key_id
                )
        listed = (await client.get(KEYS)).json()

    [entry] = [key for key in listed if key["id"] == created["id"]]
    assert datetime.fromisoformat(entry["last_used_at"]) == recorded


async def test_unused_key_has_no_last_used_at(
    client: httpx.AsyncClient, app_with: AppFactory, db: asyncpg.Connection
) -> None:
    created = await create_key(client, "ingest")
    async with app_with(API_KEY_USAGE_FLUSH_SECONDS=0.05) as worker:
        await worker.get("/health")

    assert (
        await db.fetchval(
            "SELECT last_used_at FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
        )
        is None
    )


# --- storage ---------------------------------------------------------------------------------


async def test_keys_are_stored_only_as_sha256_hashes_and_appear_nowhere_in_the_database(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    created = await create_key(client, "ingest", "read")
    secret = created["key"]
    await client.get(status_url(str(uuid.uuid4())), headers=key_header(secret))
    await client.post(f"{KEYS}/{created['id']}/revoke")

    row = await db.fetchrow(
        "SELECT key_hash, key_prefix FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
    )
    tables = await db.fetch(
        "SELECT quote_ident(table_name) AS name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    holding: list[str] = []
    for table in tables:
        for presented in (secret, TEST_API_KEY):
            found = await db.fetchval(
                f"SELECT count(*) FROM {table['name']} AS t WHERE strpos(t::text, $1) > 0",
                presented,
            )
            if found:
                holding.append(table["name"])

    assert row["key_hash"] == hashlib.sha256(secret.encode()).digest()
    assert row["key_prefix"] == secret[:12] == created["prefix"]
    assert holding == []


# --- docs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
async def test_docs_can_be_turned_off(app_with: AppFactory, path: str) -> None:
    async with app_with(DOCS_ENABLED=False) as client:
        response = await client.get(path)
        api = await client.get(status_url(str(uuid.uuid4())))

    assert response.status_code == 404
    assert api.status_code == 404
    assert api.json() == {"detail": "Session not found"}


async def test_openapi_schema_declares_both_ways_to_send_a_key(
    anonymous: httpx.AsyncClient,
) -> None:
    schemes = (await anonymous.get("/openapi.json")).json()["components"]["securitySchemes"]

    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= next(
        scheme for scheme in schemes.values() if scheme["type"] == "apiKey"
    ).items()
    assert any(
        scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
        for scheme in schemes.values()
    )
