"""Promises about sessions' activity and lifetime that no other test would notice breaking:
`last_activity_at` never later than now; a batch's latest activity is its latest event, not its
first; an event cannot exist without its session; sweeps in several workers close each silent
session once; an erasure under way makes events arriving meanwhile find their session gone."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from app.db.database import Database
from app.services.ingestion.sessions import close_inactive_sessions
from tests.conftest import AppFactory, make_settings
from tests.helpers import BATCH, count_events, event, start_session, status_url
from tests.postgres_proxy import PostgresProxy
from tests.services.ingestion.test_sweeper import make_idle

ERASURES = "/api/v1/admin/erasures"
LOCK_WAIT_SECONDS = 3
SWEEPING_WORKERS = 3


async def session_row(db: asyncpg.Connection, session_id: str) -> asyncpg.Record:
    return await db.fetchrow(
        "SELECT last_activity_at, now() AS database_now FROM vr_sessions WHERE id = $1",
        uuid.UUID(session_id),
    )


async def test_an_event_from_the_future_never_moves_last_activity_past_now(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client, session_start=time.time() - 600)
    # Within MAX_FUTURE_SECONDS (a day), so the event itself is stored.
    in_an_hour = time.time() + 3600

    stored = await client.post(
        BATCH, json={"session_id": session_id, "events": [event(at=in_an_hour)]}
    )
    row = await session_row(db, session_id)

    assert stored.status_code == 202 and stored.json()["processed"] == 1, stored.text
    assert row["last_activity_at"] <= row["database_now"]
    assert row["last_activity_at"] > row["database_now"] - timedelta(minutes=1)


async def test_a_batchs_latest_activity_is_its_latest_event_whatever_their_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    session_id = await start_session(client, session_start=now - 3600)
    moments = [now - 300, now - 60, now - 200]

    stored = await client.post(
        BATCH,
        json={"session_id": session_id, "events": [event(at=moment) for moment in moments]},
    )
    row = await session_row(db, session_id)

    assert stored.status_code == 202, stored.text
    assert row["last_activity_at"] == datetime.fromtimestamp(max(moments), tz=UTC)


async def test_an_event_cannot_be_stored_without_its_session_and_goes_with_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    stored = await client.post(BATCH, json={"session_id": session_id, "events": [event()]})
    assert stored.status_code == 202, stored.text
    assert await count_events(db, session_id) == 1

    # The stored event, copied under a session id that does not exist.
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="tracking_events_session_fkey"):
        await db.execute(
            """
            INSERT INTO tracking_events (
                project_id, session_id, event_id, content_id, event_type, timestamp,
                client_timestamp, event_data, received_at
            )
            SELECT project_id, $2, $3, content_id, event_type, timestamp,
                   client_timestamp, event_data, received_at
            FROM tracking_events WHERE session_id = $1
            """,
            uuid.UUID(session_id),
            uuid.uuid4(),
            uuid.uuid4(),
        )
    await db.execute("DELETE FROM vr_sessions WHERE id = $1", uuid.UUID(session_id))
    assert await count_events(db, session_id) == 0


async def test_sweeps_of_several_workers_at_once_close_each_silent_session_once(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_dsn: str
) -> None:
    silent = [await start_session(client, session_start=time.time() - 7200) for _ in range(6)]
    last_activity = {session_id: await make_idle(db, session_id, 45) for session_id in silent}
    idle_before = await db.fetchval(
        """
        SELECT count(*) FROM vr_sessions
        WHERE status = 'active' AND last_seen_at < now() - interval '30 minutes'
        """
    )
    settings = make_settings(database_dsn)
    workers = [
        await Database.connect(
            database_dsn,
            min_size=1,
            max_size=1,
            statement_cache_size=None,
            connect_timeout_seconds=5,
            acquire_timeout_seconds=5,
            command_timeout_seconds=30,
        )
        for _ in range(SWEEPING_WORKERS)
    ]
    try:
        closed = await asyncio.gather(
            *(close_inactive_sessions(worker, settings) for worker in workers)
        )
    finally:
        for worker in workers:
            await worker.close()

    assert sum(closed) == idle_before >= len(silent)
    for session_id in silent:
        status = (await client.get(status_url(session_id))).json()
        assert (status["status"], status["end_reason"]) == ("completed", "timed_out")
        assert datetime.fromisoformat(status["ended_at"]) == last_activity[session_id]


async def waiting_on_a_lock(db: asyncpg.Connection, *, within_seconds: float) -> bool:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        waiting = await db.fetchval(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'nexero' AND wait_event_type = 'Lock'
              AND datname = current_database()
            """
        )
        if waiting:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_events_arriving_during_an_erasure_find_their_session_gone(
    app_with: AppFactory, proxy: PostgresProxy, database_dsn: str, db: asyncpg.Connection
) -> None:
    customer = f"erased-{uuid.uuid4().hex[:8]}"
    async with app_with(DATABASE_URL=proxy.url_for(database_dsn)) as client:
        session_id = await start_session(client, customer_id=customer)
        before = await client.post(
            BATCH, json={"session_id": session_id, "events": [event(), event("gaze")]}
        )
        assert before.status_code == 202, before.text

        # Hold the erasure after it has found (and locked) the customer's sessions.
        proxy.pause_when_sent(b"DELETE FROM vr_sessions")
        erasure = asyncio.create_task(client.post(ERASURES, json={"customer_id": customer}))
        async with asyncio.timeout(LOCK_WAIT_SECONDS * 3):
            await proxy.paused.wait()
        late = asyncio.create_task(
            client.post(BATCH, json={"session_id": session_id, "events": [event("late")]})
        )
        held_back = await waiting_on_a_lock(db, within_seconds=LOCK_WAIT_SECONDS)
        proxy.resume()
        erased, late_answer = await erasure, await late

    assert held_back, "the late batch did not wait for the erasure"
    assert erased.status_code == 200, erased.text
    assert (erased.json()["sessions_deleted"], erased.json()["events_deleted"]) == (1, 2)
    # The session is gone, and so erased: the late batch is refused, and kept nowhere.
    assert late_answer.status_code == 410, late_answer.text
    for table in ("tracking_events", "pending_events"):
        assert (
            await db.fetchval(
                f"SELECT count(*) FROM {table} WHERE session_id = $1", uuid.UUID(session_id)
            )
            == 0
        ), table
