"""Stored events get time-ordered ids (UUID version 7, migration 0023): the primary key's
inserts stay at its right edge however large the table grows (docs/performance.md)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.helpers import BATCH, distinct_events, start_session


def unix_milliseconds(event_id: uuid.UUID) -> int:
    return event_id.int >> 80


async def stored_ids(db: asyncpg.Connection, session_id: str) -> list[uuid.UUID]:
    rows = await db.fetch(
        "SELECT id FROM tracking_events WHERE session_id = $1 ORDER BY received_at, event_id",
        uuid.UUID(session_id),
    )
    return [row["id"] for row in rows]


async def test_stored_events_get_version_7_ids_holding_the_time_they_were_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    before = datetime.now(UTC) - timedelta(seconds=1)

    response = await client.post(
        BATCH, json={"session_id": session_id, "events": distinct_events(20)}
    )

    after = datetime.now(UTC) + timedelta(seconds=1)
    assert response.status_code == 202
    ids = await stored_ids(db, session_id)
    assert len(ids) == 20
    assert {event_id.version for event_id in ids} == {7}
    assert {event_id.variant for event_id in ids} == {uuid.RFC_4122}
    for event_id in ids:
        moment = datetime.fromtimestamp(unix_milliseconds(event_id) / 1000, UTC)
        assert before <= moment <= after
    assert len(set(ids)) == 20


async def test_events_stored_later_get_larger_ids(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    batch = {"session_id": session_id, "events": distinct_events(5)}
    assert (await client.post(BATCH, json=batch)).status_code == 202
    first_ids = await stored_ids(db, session_id)
    # The next batch in a later millisecond: ids order by time, not within one millisecond.
    await asyncio.sleep(0.005)

    batch = {"session_id": session_id, "events": distinct_events(5)}
    assert (await client.post(BATCH, json=batch)).status_code == 202

    second_ids = set(await stored_ids(db, session_id)) - set(first_ids)
    assert len(second_ids) == 5
    assert max(first_ids) < min(second_ids)


async def test_time_ordered_uuid_is_a_uuid_version_7_of_now(db: asyncpg.Connection) -> None:
    row = await db.fetchrow(
        "SELECT public.time_ordered_uuid() AS id, "
        "(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms"
    )

    assert row["id"].version == 7
    assert 0 <= row["now_ms"] - unix_milliseconds(row["id"]) <= 1_000
