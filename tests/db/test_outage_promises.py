"""Promises that only a database going away (or changing under a request) can test, kept with a
proxy between the app and PostgreSQL: analytics answer 503 with Retry-After while it is cut off;
a batch whose rejected events cannot be written is a 503 and its retry records them; the
PostgreSQL rate-limit store being unreachable is a 503; an analytics answer reads one snapshot
even when an event lands between its statements."""

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import AppFactory
from tests.db.test_database_outage import (
    SHORT_DATABASE_TIMEOUTS,
    assert_unavailable,
    client_via_proxy,  # noqa: F401 - a fixture
)
from tests.helpers import BATCH, event, start_session
from tests.postgres_proxy import PostgresProxy

PERIOD = {"from": "2025-01-01", "to": "2026-01-01"}
ANALYTICS_READS = [
    ("/api/v1/sessions", {}),
    ("/api/v1/properties", {}),
    ("/api/v1/leads", {}),
    ("/api/v1/overview", PERIOD),
    ("/api/v1/overview/daily", PERIOD),
    ("/api/v1/funnel", PERIOD),
    ("/api/v1/customers/cust_outage", {}),
    ("/api/v1/properties/prop_villa_001/report", {}),
    ("/api/v1/properties/prop_villa_001/heatmap", {}),
    ("/api/v1/exports/events", {"format": "ndjson"}),
]
TIMELINE_QUERY = b"ORDER BY e.timestamp, e.created_at, e.id"
PAUSE_TIMEOUT_SECONDS = 10


@pytest.mark.parametrize(("path", "params"), ANALYTICS_READS, ids=[p for p, _ in ANALYTICS_READS])
async def test_analytics_answer_503_with_retry_after_while_the_database_is_cut_off(
    client_via_proxy: httpx.AsyncClient,  # noqa: F811
    proxy: PostgresProxy,
    path: str,
    params: dict[str, str],
) -> None:
    # The key is verified (and cached) while the database is there.
    assert (await client_via_proxy.get("/api/v1/sessions")).status_code == 200

    await proxy.cut()
    response = await client_via_proxy.get(path, params=params)

    assert_unavailable(response)


async def test_a_batch_whose_rejections_cannot_be_written_is_a_503_and_its_retry_records_them(
    client_via_proxy: httpx.AsyncClient,  # noqa: F811
    proxy: PostgresProxy,
    db: asyncpg.Connection,
) -> None:
    session_id = await start_session(client_via_proxy)
    batch = {
        "session_id": session_id,
        "events": [
            event(event_id=str(uuid.uuid4())),
            {"event_type": "bad type!", "timestamp": time.time()},
            event(event_id=str(uuid.uuid4())),
        ],
    }

    proxy.cut_when_sent(b"INSERT INTO rejected_events", forward_first=False)
    failed = await client_via_proxy.post(BATCH, json=batch)
    rejected_after_failure = await rejected_count(db, session_id)
    await proxy.restore()
    retried = await client_via_proxy.post(BATCH, json=batch)

    assert proxy.cut_in_flight.is_set()
    assert_unavailable(failed)
    assert rejected_after_failure == 0
    assert retried.status_code == 202, retried.text
    assert retried.json()["processed"] == 2
    assert [error["index"] for error in retried.json()["errors"]] == [1]
    assert await rejected_count(db, session_id) == 1


async def rejected_count(db: asyncpg.Connection, session_id: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM rejected_events WHERE session_id = $1", uuid.UUID(session_id)
    )


async def test_an_unreachable_postgres_rate_limit_store_is_a_503_not_a_pass(
    app_with: AppFactory, proxy: PostgresProxy, database_dsn: str
) -> None:
    """/metrics needs nothing of the database but its rate-limit token: a limiter that let
    requests through when its store is gone would answer 200 here."""
    async with app_with(
        DATABASE_URL=proxy.url_for(database_dsn),
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_BACKEND="postgres",
        **SHORT_DATABASE_TIMEOUTS,
    ) as client:
        before = await client.get("/metrics")
        await proxy.cut()
        during = await client.get("/metrics")

    assert before.status_code == 200
    assert_unavailable(during)


async def test_a_session_detail_reads_one_snapshot_while_an_event_lands_between_its_queries(
    app_with: AppFactory, proxy: PostgresProxy, database_dsn: str, db: asyncpg.Connection
) -> None:
    """Its counts, timeline and total come from one snapshot: an event committed after the
    answer's first statement is in none of them, never in some."""
    async with app_with(DATABASE_URL=proxy.url_for(database_dsn)) as client:
        session_id = await start_session(client)
        stored = await client.post(
            BATCH, json={"session_id": session_id, "events": [event(), event("gaze")]}
        )
        assert stored.status_code == 202, stored.text

        proxy.pause_when_sent(TIMELINE_QUERY)
        detail_task = asyncio.create_task(client.get(f"/api/v1/sessions/{session_id}"))
        async with asyncio.timeout(PAUSE_TIMEOUT_SECONDS):
            await proxy.paused.wait()
        # Another headset's event commits between the answer's statements.
        landed = await client.post(BATCH, json={"session_id": session_id, "events": [event()]})
        proxy.resume()
        detail = await detail_task

    assert landed.status_code == 202, landed.text
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert sum(body["event_counts"].values()) == 2
    assert len(body["timeline"]) == 2
    assert body["timeline_total"] == 2
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
        )
        == 3
    )
