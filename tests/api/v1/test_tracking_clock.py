"""Headset clocks: a batch's sent_at corrects the skew of its events beyond the deadband (and
leaves small differences alone), recovers a clock reset to 1970, refuses what is still too far
in the future, and never turns a retry into a second copy."""

import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.helpers import BATCH, count_events, event, start_session


async def test_batch_clock_skew_beyond_the_deadband_is_corrected(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()
    skew = -7200.0  # the headset's clock is two hours ahead
    events = [event(at=now - skew - 30, event_id=str(uuid.uuid4()))]

    response = await client.post(
        BATCH, json={"session_id": session_id, "sent_at": now - skew, "events": events}
    )

    assert response.json()["processed"] == 1
    row = await db.fetchrow(
        "SELECT timestamp, client_timestamp FROM tracking_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    assert row["client_timestamp"].timestamp() == round(now - skew - 30, 6)
    assert abs(row["timestamp"].timestamp() - (now - 30)) < 30


async def test_clock_skew_within_the_deadband_is_left_alone(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()

    await client.post(
        BATCH,
        json={"session_id": session_id, "sent_at": now - 3, "events": [event(at=now - 20)]},
    )

    row = await db.fetchrow(
        "SELECT timestamp, client_timestamp FROM tracking_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    assert row["timestamp"] == row["client_timestamp"]


async def test_headset_clock_reset_to_1970_is_recovered_with_sent_at(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A headset that lost its clock reports 1970 times; sent_at on the same clock fixes them."""
    session_id = await start_session(client)
    client_now = 86_400.0 * 3  # three days after the epoch, by the headset

    response = await client.post(
        BATCH,
        json={
            "session_id": session_id,
            "sent_at": client_now,
            "events": [event(at=client_now - 10), event(at=client_now - 5)],
        },
    )

    assert response.json()["processed"] == 2, response.text
    latest = await db.fetchval(
        "SELECT max(timestamp) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert abs((datetime.now(UTC) - latest).total_seconds() - 5) < 30


async def test_events_too_far_in_the_future_after_correction_are_rejected(
    client: httpx.AsyncClient,
) -> None:
    session_id = await start_session(client)

    response = await client.post(
        BATCH,
        json={"session_id": session_id, "events": [event(at=time.time() + 2 * 86_400)]},
    )

    body = response.json()
    assert body["failed"] == 1
    assert body["errors"][0]["field"] == "timestamp"
    assert "future" in body["errors"][0]["reason"]


async def test_retry_with_a_fresh_sent_at_is_still_stored_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The de-duplication key uses the client's own time, before skew correction, so a retry
    whose sent_at moved on (as the client guide asks) matches the first attempt."""
    session_id = await start_session(client)
    now = time.time()
    skew = 3600.0  # the headset's clock is an hour behind
    events = [event("gaze", at=now - skew - 5, event_data={"target": "fireplace"})]

    first = await client.post(
        BATCH, json={"session_id": session_id, "sent_at": now - skew, "events": events}
    )
    retry = await client.post(
        BATCH, json={"session_id": session_id, "sent_at": now - skew + 40, "events": events}
    )

    assert first.json()["duplicates"] == []
    assert [duplicate["index"] for duplicate in retry.json()["duplicates"]] == [0]
    assert await count_events(db, session_id) == 1
