"""The 503 promises under a real outage: the app talks to PostgreSQL through a TCP proxy that
the tests cut (listener closed, live connections aborted) and restore."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import AppFactory
from tests.helpers import BATCH, END, EVENT, START, count_events, event, fguid, start_session
from tests.postgres_proxy import PostgresProxy

# Only a guard against a hang: a partitioned request waits for the database timeouts below.
PARTITION_REQUEST_TIMEOUT_SECONDS = 30
RETRY_AFTER_SECONDS = 5
SHORT_DATABASE_TIMEOUTS = {
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 1,
    "DATABASE_ACQUIRE_TIMEOUT_SECONDS": 1,
    "DATABASE_COMMAND_TIMEOUT_SECONDS": 2,
    "HEALTH_DATABASE_TIMEOUT_SECONDS": 1,
    "RETRY_AFTER_SECONDS": RETRY_AFTER_SECONDS,
}


@pytest.fixture
async def client_via_proxy(
    app_with: AppFactory, proxy: PostgresProxy, database_dsn: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, with short database timeouts, reaching the test database only via the proxy."""
    async with app_with(
        DATABASE_URL=proxy.url_for(database_dsn), **SHORT_DATABASE_TIMEOUTS
    ) as client:
        yield client


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None


def call_for(endpoint: str, session_id: str) -> Call:
    """One request of each kind the service answers from the database, for `session_id`."""
    now = time.time()
    calls = {
        "batch": Call(
            "POST",
            BATCH,
            {
                "session_id": session_id,
                "events": [event(event_id=str(uuid.uuid4())), {"event_type": "bad type!"}],
            },
        ),
        "single event": Call("POST", EVENT, {"session_id": session_id, **event()}),
        "session start": Call(
            "POST", START, {"session_id": fguid(), "session_start": now, "property_id": "p1"}
        ),
        "session end": Call("POST", END, {"session_id": session_id, "session_end": now}),
        "session status": Call("GET", f"/api/v1/unreal/session/{session_id}/status"),
        "heartbeat": Call("POST", f"/api/v1/unreal/session/{session_id}/heartbeat"),
    }
    return calls[endpoint]


async def send(client: httpx.AsyncClient, call: Call) -> httpx.Response:
    return await client.request(call.method, call.path, json=call.body)


async def stored_state(db: asyncpg.Connection, session_id: str) -> dict[str, Any]:
    """Everything a request about `session_id` could have written."""
    row = await db.fetchrow(
        """
        SELECT (SELECT count(*) FROM vr_sessions) AS sessions,
               (SELECT count(*) FROM tracking_events) AS events,
               (SELECT count(*) FROM rejected_events) AS rejected_events,
               session.status, session.ended_at, session.last_seen_at, session.updated_at
        FROM vr_sessions AS session
        WHERE session.id = $1
        """,
        uuid.UUID(session_id),
    )
    assert row is not None
    return dict(row)


async def repeated_event_ids(db: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """
        SELECT event_id, count(*) FROM tracking_events
        WHERE session_id = $1
        GROUP BY event_id
        HAVING count(*) > 1
        """,
        uuid.UUID(session_id),
    )


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "Database unavailable, retry later"}


def retryable_batch(session_id: str) -> dict[str, Any]:
    """Two events with the client's event_id and one without (identified by its content)."""
    now = time.time()
    return {
        "session_id": session_id,
        "sent_at": now,
        "events": [
            event("zone_enter", at=now - 2, event_id=str(uuid.uuid4())),
            event("room_view", at=now - 1, event_id=str(uuid.uuid4())),
            event("gaze", at=now, event_data={"target": "Kitchen window", "duration": 2.5}),
        ],
    }


@pytest.mark.parametrize(
    "endpoint",
    ["batch", "single event", "session start", "session end", "session status", "heartbeat"],
)
async def test_request_answers_503_with_retry_after_and_stores_nothing_while_database_is_cut_off(
    client_via_proxy: httpx.AsyncClient,
    proxy: PostgresProxy,
    db: asyncpg.Connection,
    endpoint: str,
) -> None:
    session_id = await start_session(client_via_proxy)
    call = call_for(endpoint, session_id)
    before = await stored_state(db, session_id)

    await proxy.cut()
    response = await send(client_via_proxy, call)

    assert_unavailable(response)
    assert await stored_state(db, session_id) == before


async def test_health_answers_503_unhealthy_while_database_is_cut_off_and_recovers(
    client_via_proxy: httpx.AsyncClient, proxy: PostgresProxy
) -> None:
    await proxy.cut()
    down = await client_via_proxy.get("/health")

    assert down.status_code == 503
    assert down.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert down.json()["status"] == "unhealthy"
    assert down.json()["database"] == "unavailable"

    await proxy.restore()
    up = await client_via_proxy.get("/health")

    assert up.status_code == 200, up.text
    assert up.json()["status"] == "healthy"
    assert up.json()["database"] == "connected"


async def test_retried_batch_after_outage_stores_each_event_once(
    client_via_proxy: httpx.AsyncClient, proxy: PostgresProxy, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client_via_proxy)
    batch = retryable_batch(session_id)

    await proxy.cut()
    failed = await client_via_proxy.post(BATCH, json=batch)
    assert_unavailable(failed)
    assert await count_events(db, session_id) == 0

    await proxy.restore()
    retried = await client_via_proxy.post(BATCH, json=batch)
    retried_again = await client_via_proxy.post(BATCH, json=batch)

    assert retried.status_code == 202, retried.text
    assert retried.json()["processed"] == 3
    assert retried.json()["failed"] == 0
    assert retried.json()["duplicates"] == []
    assert retried_again.status_code == 202, retried_again.text
    assert [duplicate["index"] for duplicate in retried_again.json()["duplicates"]] == [0, 1, 2]
    assert await count_events(db, session_id) == 3
    assert await repeated_event_ids(db, session_id) == []
    sent_ids = {uuid.UUID(item["event_id"]) for item in batch["events"] if "event_id" in item}
    stored_ids = {
        row["event_id"]
        for row in await db.fetch(
            "SELECT event_id FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
        )
    }
    assert sent_ids < stored_ids
    rejected = await db.fetchval(
        "SELECT count(*) FROM rejected_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert rejected == 0


async def test_first_request_after_a_brief_outage_succeeds(
    client_via_proxy: httpx.AsyncClient, proxy: PostgresProxy, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client_via_proxy)

    await proxy.cut()
    await proxy.restore()
    response = await client_via_proxy.post(BATCH, json=retryable_batch(session_id))

    assert response.status_code == 202, response.text
    assert await count_events(db, session_id) == 3


async def test_requests_answer_503_while_the_database_stops_answering_and_retry_stores_once(
    client_via_proxy: httpx.AsyncClient, proxy: PostgresProxy, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client_via_proxy)
    batch = retryable_batch(session_id)

    proxy.freeze()
    async with asyncio.timeout(PARTITION_REQUEST_TIMEOUT_SECONDS):
        partitioned = await client_via_proxy.post(BATCH, json=batch)
        health = await client_via_proxy.get("/health")

    assert_unavailable(partitioned)
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"
    assert await count_events(db, session_id) == 0

    proxy.thaw()
    retried = await client_via_proxy.post(BATCH, json=batch)

    assert retried.status_code == 202, retried.text
    assert retried.json()["processed"] == 3
    assert await count_events(db, session_id) == 3
    assert await repeated_event_ids(db, session_id) == []


@pytest.mark.parametrize(
    ("marker", "forward_first", "possible_counts"),
    [
        # The batch is one statement (session activity and events together, no BEGIN).
        pytest.param(b"INSERT INTO tracking_events", False, {0}, id="before it reaches PostgreSQL"),
        pytest.param(b"INSERT INTO tracking_events", True, {0, 3}, id="sent, its answer lost"),
    ],
)
async def test_connection_cut_mid_batch_stores_all_or_none_of_it(
    client_via_proxy: httpx.AsyncClient,
    proxy: PostgresProxy,
    db: asyncpg.Connection,
    marker: bytes,
    forward_first: bool,
    possible_counts: set[int],
) -> None:
    session_id = await start_session(client_via_proxy)
    batch = retryable_batch(session_id)

    proxy.cut_when_sent(marker, forward_first=forward_first)
    cut_off = await client_via_proxy.post(BATCH, json=batch)

    assert proxy.cut_in_flight.is_set()
    assert_unavailable(cut_off)
    assert await count_events(db, session_id) in possible_counts

    await proxy.restore()
    retried = await client_via_proxy.post(BATCH, json=batch)

    assert retried.status_code == 202, retried.text
    assert retried.json()["processed"] == 3
    assert retried.json()["failed"] == 0
    assert await count_events(db, session_id) == 3
    assert await repeated_event_ids(db, session_id) == []


async def test_proxy_cut_refuses_new_connections_and_restore_accepts_them(
    proxy: PostgresProxy, database_dsn: str
) -> None:
    await proxy.cut()
    with pytest.raises(OSError):
        await asyncpg.connect(proxy.url_for(database_dsn), timeout=2)

    await proxy.restore()
    connection = await asyncpg.connect(proxy.url_for(database_dsn), timeout=2)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
