"""The inactivity timeout: the periodic sweep closes silent sessions at their last activity."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.conftest import AppFactory
from tests.helpers import BATCH, END, event, start_session, status_url


async def wait_for_status(
    client: httpx.AsyncClient, session_id: str, status: str, *, within_seconds: float = 10
) -> dict:
    deadline = time.monotonic() + within_seconds
    while True:
        body = (await client.get(f"/api/v1/unreal/session/{session_id}/status")).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def make_idle(db: asyncpg.Connection, session_id: str, minutes: float) -> datetime:
    """As if nothing had been heard of the session, nor done in it, for `minutes`."""
    last_seen = datetime.now(UTC) - timedelta(minutes=minutes)
    await db.execute(
        "UPDATE vr_sessions SET last_seen_at = $2, last_activity_at = $2 WHERE id = $1",
        uuid.UUID(session_id),
        last_seen,
    )
    return last_seen


async def test_silent_session_is_closed_as_timed_out_at_its_last_activity(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        silent = await start_session(client, session_start=time.time() - 3600)
        alive = await start_session(client, session_start=time.time() - 3600)
        last_seen = await make_idle(db, silent, minutes=31)
        await make_idle(db, alive, minutes=29)

        closed = await wait_for_status(client, silent, "completed")
        still_open = (await client.get(f"/api/v1/unreal/session/{alive}/status")).json()

    assert closed["status"] == "completed"
    assert closed["end_reason"] == "timed_out"
    assert datetime.fromisoformat(closed["ended_at"]) == last_seen
    assert still_open["status"] == "active"


async def test_timeout_is_configurable(app_with: AppFactory, db: asyncpg.Connection) -> None:
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05, SESSION_TIMEOUT_MINUTES=5) as client:
        session_id = await start_session(client, session_start=time.time() - 600)
        await make_idle(db, session_id, minutes=6)

        closed = await wait_for_status(client, session_id, "completed")

    assert closed["end_reason"] == "timed_out"


async def test_client_end_after_a_timeout_replaces_it(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        started = time.time() - 7200
        session_id = await start_session(client, session_start=started)
        await make_idle(db, session_id, minutes=45)
        await wait_for_status(client, session_id, "completed")

        response = await client.post(
            END, json={"session_id": session_id, "session_end": started + 1800}
        )
        status = (await client.get(f"/api/v1/unreal/session/{session_id}/status")).json()

    assert response.status_code == 200
    assert response.json()["duration_seconds"] == 1800
    assert status["end_reason"] == "client"


async def test_late_events_for_a_timed_out_session_are_stored(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        session_id = await start_session(client, session_start=time.time() - 7200)
        await make_idle(db, session_id, minutes=45)
        await wait_for_status(client, session_id, "completed")

        response = await client.post(
            BATCH,
            json={"session_id": session_id, "events": [event(at=time.time() - 3000)]},
        )

    assert response.json()["processed"] == 1
    stored = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert stored == 1


async def test_session_flushed_late_is_closed_at_its_last_event_not_at_the_flush(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    """An offline cache flushes long after the tour: the timeout ends the session at the last
    thing the headset did, not when the server happened to hear of it."""
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        started = time.time() - 7200
        session_id = await start_session(client, session_start=started)
        await client.post(
            BATCH,
            json={"session_id": session_id, "events": [event(at=started + 600)]},
        )
        await db.execute(
            "UPDATE vr_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1",
            uuid.UUID(session_id),
        )

        closed = await wait_for_status(client, session_id, "completed")

    assert closed["end_reason"] == "timed_out"
    assert closed["duration_seconds"] == 600


async def test_heartbeats_keep_a_session_open_without_stretching_it(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    """A heartbeat says the headset is still there: the session is not timed out while they
    come, and when they stop it ends at its last event, not at the last heartbeat."""
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        started = time.time() - 3600
        session_id = await start_session(client, session_start=started)
        await client.post(
            BATCH, json={"session_id": session_id, "events": [event(at=started + 60)]}
        )
        await db.execute(
            "UPDATE vr_sessions SET last_seen_at = now() - interval '50 minutes' WHERE id = $1",
            uuid.UUID(session_id),
        )
        await client.post(f"/api/v1/unreal/session/{session_id}/heartbeat")
        await asyncio.sleep(0.3)  # several sweeps
        kept_open = (await client.get(status_url(session_id))).json()
        await db.execute(
            "UPDATE vr_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1",
            uuid.UUID(session_id),
        )

        closed = await wait_for_status(client, session_id, "completed")

    assert kept_open["status"] == "active"
    assert closed["end_reason"] == "timed_out"
    assert closed["duration_seconds"] == 60


async def test_activity_after_a_timeout_moves_the_end_to_the_latest_activity(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    """A headset asleep for longer than the timeout that then carries on: the timed-out
    session's end follows its activity, so its duration stays true."""
    async with app_with(SESSION_SWEEP_INTERVAL_SECONDS=0.05) as client:
        session_id = await start_session(client, session_start=time.time() - 7200)
        await make_idle(db, session_id, minutes=45)
        first = await wait_for_status(client, session_id, "completed")

        await client.post(
            BATCH, json={"session_id": session_id, "events": [event(at=time.time() - 100)]}
        )
        after_events = (await client.get(f"/api/v1/unreal/session/{session_id}/status")).json()
        await client.post(f"/api/v1/unreal/session/{session_id}/heartbeat")
        after_heartbeat = (await client.get(f"/api/v1/unreal/session/{session_id}/status")).json()

    assert first["end_reason"] == "timed_out"
    assert 7000 < after_events["duration_seconds"] < 7200
    # A heartbeat keeps the headset known to be there; it does not stretch the tour.
    assert after_heartbeat["end_reason"] == "timed_out"
    assert after_heartbeat["duration_seconds"] == after_events["duration_seconds"]
