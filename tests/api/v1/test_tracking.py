"""Tracking endpoints: events committed before 2xx, retries stored once, bad events isolated."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.helpers import BATCH, END, EVENT, count_events, event, start_session


async def rejected_rows(db: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT event_index, field, reason, payload FROM rejected_events "
        "WHERE session_id = $1 ORDER BY event_index",
        uuid.UUID(session_id),
    )


async def test_single_event_is_committed_before_202(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, **event("room_view", at=1728234590.12)}

    response = await client.post(EVENT, json=body)

    assert response.status_code == 202
    assert response.json()["status"] == "received"
    assert response.json()["duplicate"] is False
    row = await db.fetchrow(
        "SELECT event_type, timestamp, client_timestamp, event_data, received_at "
        "FROM tracking_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    assert row["event_type"] == "room_view"
    assert row["timestamp"] == row["client_timestamp"] == datetime.fromtimestamp(1728234590.12, UTC)
    assert json.loads(row["event_data"]) == {"room_name": "Living Room", "duration": 15.5}
    assert row["received_at"] == datetime.fromisoformat(response.json()["timestamp"])


async def test_retried_event_with_event_id_is_stored_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, "event_id": str(uuid.uuid4()), **event()}

    first = await client.post(EVENT, json=body)
    retry = await client.post(EVENT, json=body)

    assert first.json()["duplicate"] is False
    assert retry.status_code == 202
    assert retry.json()["duplicate"] is True
    assert retry.json()["event_id"] == body["event_id"]
    assert await count_events(db, session_id) == 1


async def test_retried_event_without_event_id_is_stored_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, **event(at=1728234590.5)}

    first = await client.post(EVENT, json=body)
    retry = await client.post(EVENT, json=body)
    different = await client.post(EVENT, json={**body, "timestamp": 1728234591.5})

    assert first.json()["event_id"] == retry.json()["event_id"]
    assert retry.json()["duplicate"] is True
    assert different.json()["duplicate"] is False
    assert await count_events(db, session_id) == 2


async def test_non_uuid_event_ids_are_accepted_and_deduplicated(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    first = event(event_id="evt-1", at=1728234590)
    events = [first, event(event_id="evt-2", at=1728234591), first]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    body = response.json()
    assert (body["processed"], body["failed"]) == (3, 0)
    assert [duplicate["index"] for duplicate in body["duplicates"]] == [2]
    assert await count_events(db, session_id) == 2


async def test_event_id_reused_for_a_different_event_is_rejected_not_called_a_duplicate(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Blueprint clients that never set an id send the same default (0, or an empty FGuid)
    for every event: those are different events, and must not vanish as "duplicates"."""
    session_id = await start_session(client)
    nil = "00000000000000000000000000000000"
    batch = [
        event("zone_enter", at=1728234590, event_id=0),
        event("gaze", at=1728234591, event_id=0),
    ]
    batch += [event("teleport", at=1728234592, event_id=nil)]

    first = await client.post(BATCH, json={"session_id": session_id, "events": batch})
    later = await client.post(
        EVENT, json={"session_id": session_id, **event("menu_open", at=1728234593, event_id=nil)}
    )
    retried = await client.post(BATCH, json={"session_id": session_id, "events": batch})

    assert (first.json()["processed"], first.json()["failed"]) == (2, 1)
    assert first.json()["errors"] == [
        {
            "index": 1,
            "field": "event_id",
            "reason": "was already used in this session for a different event",
        }
    ]
    assert later.status_code == 422
    assert later.json()["detail"][0]["loc"] == ["body", "event_id"]
    assert [d["index"] for d in retried.json()["duplicates"]] == [0, 2]
    assert await count_events(db, session_id) == 2
    # The retry's refusal of the gaze is the first's again: one row, two attempts.
    rejected = await db.fetch(
        "SELECT event_index, field, attempts FROM rejected_events WHERE session_id = $1 "
        "ORDER BY event_index",
        uuid.UUID(session_id),
    )
    assert [tuple(row) for row in rejected] == [(0, "event_id", 1), (1, "event_id", 2)]


async def test_batch_response_has_the_contract_keys(client: httpx.AsyncClient) -> None:
    session_id = await start_session(client)
    events = [
        event("zone_enter", event_data={"zone_name": "kitchen"}),
        event("gaze", event_data={"target": "refrigerator", "duration": 2.5}),
        event("interaction", event_data={"object": "cabinet_door", "action": "open"}),
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "received"
    assert (body["total_events"], body["processed"], body["failed"]) == (3, 3, 0)
    assert body["success_rate"] == 100.0
    assert body["errors"] == [] and body["duplicates"] == []
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


async def test_retried_batch_stores_each_event_once_and_reports_duplicates(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = [event(at=1728234590 + i, event_id=str(uuid.uuid4())) for i in range(5)]
    events += [event("position", at=1728234600 + i, event_data={"x": i}) for i in range(5)]
    batch = {"session_id": session_id, "events": events}

    first = await client.post(BATCH, json=batch)
    retry = await client.post(BATCH, json=batch)

    assert first.json()["duplicates"] == []
    assert retry.status_code == 202
    assert retry.json()["processed"] == 10
    assert retry.json()["success_rate"] == 100.0
    assert [d["index"] for d in retry.json()["duplicates"]] == list(range(10))
    assert await count_events(db, session_id) == 10


async def test_a_retried_batch_records_each_refusal_once_and_counts_the_attempts(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    bad = event("bad type!", event_id=str(uuid.uuid4()))
    batch = {
        "session_id": session_id,
        "events": [event(at=1728234590), bad, event(at="yesterday"), bad],
    }

    first = await client.post(BATCH, json=batch, headers={"X-Request-ID": "first-try"})
    retry = await client.post(BATCH, json=batch, headers={"X-Request-ID": "second-try"})

    # Each answer still lists every refused event by its index.
    assert [e["index"] for e in first.json()["errors"]] == [1, 2, 3]
    assert [e["index"] for e in retry.json()["errors"]] == [1, 2, 3]
    rows = await db.fetch(
        "SELECT event_index, field, attempts, request_id, last_request_id FROM rejected_events "
        "WHERE session_id = $1 ORDER BY event_index",
        uuid.UUID(session_id),
    )
    assert [tuple(row) for row in rows] == [
        (1, "event_type", 2, "first-try", "second-try"),
        (2, "timestamp", 2, "first-try", "second-try"),
    ]


async def test_one_bad_event_never_sinks_the_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = [
        event(at=1728234590),
        event("bad type!"),
        "not an object",
        event(at="yesterday"),
        event(at=1728234591, event_data=[1, 2]),
        event(at=1728234592),
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.status_code == 202
    body = response.json()
    assert (body["total_events"], body["processed"], body["failed"]) == (6, 2, 4)
    assert body["success_rate"] == round(100 * 2 / 6, 2)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "event_type"),
        (2, None),
        (3, "timestamp"),
        (4, "event_data"),
    ]
    assert await count_events(db, session_id) == 2
    rejected = await rejected_rows(db, session_id)
    assert [(row["event_index"], row["field"]) for row in rejected] == [
        (1, "event_type"),
        (2, None),
        (3, "timestamp"),
        (4, "event_data"),
    ]
    assert json.loads(rejected[0]["payload"])["event_type"] == "bad type!"
    assert json.loads(rejected[1]["payload"]) == "not an object"
    assert all(row["reason"] for row in rejected)


async def test_row_refused_by_postgresql_falls_back_to_row_by_row(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_refuses_poison: str
) -> None:
    """The batch statement fails on one row inside the database; the fallback stores every
    other row and records the refused one with PostgreSQL's reason."""
    session_id = await start_session(client)
    events = [event(at=1728234590 + i, event_data={"i": i}) for i in range(5)]
    events[2]["event_type"] = database_refuses_poison

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.status_code == 202
    body = response.json()
    assert (body["processed"], body["failed"]) == (4, 1)
    assert body["errors"][0]["index"] == 2
    assert "database rejected the data: poison event refused" in body["errors"][0]["reason"]
    stored = await db.fetch(
        "SELECT event_data->>'i' AS i FROM tracking_events WHERE session_id = $1 ORDER BY 1",
        uuid.UUID(session_id),
    )
    assert [row["i"] for row in stored] == ["0", "1", "3", "4"]
    rejected = await rejected_rows(db, session_id)
    assert [row["event_index"] for row in rejected] == [2]
    assert json.loads(rejected[0]["payload"])["event_type"] == database_refuses_poison


async def test_nul_character_in_event_data_is_refused_naming_event_data(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """PostgreSQL's jsonb cannot hold a NUL; it is refused before the database, with the
    field to blame, and the raw event is kept."""
    session_id = await start_session(client)
    events = [event(at=1728234590), event(at=1728234591, event_data={"note": "nul \u0000 here"})]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.json()["errors"] == [
        {"index": 1, "field": "event_data", "reason": "must not contain NUL characters"}
    ]
    [rejected] = await rejected_rows(db, session_id)
    assert "\u0000" in json.loads(rejected["payload"])["event_data"]["note"]
    assert await count_events(db, session_id) == 1


async def test_repeat_of_a_refused_event_in_the_same_batch_is_refused_too(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_refuses_poison: str
) -> None:
    session_id = await start_session(client)
    poisoned = event(database_refuses_poison, at=1728234590, event_id="evt-poison")
    events = [poisoned, event(at=1728234591), poisoned]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    body = response.json()
    assert (body["processed"], body["failed"]) == (1, 2)
    assert [error["index"] for error in body["errors"]] == [0, 2]
    assert body["duplicates"] == []
    # The same event twice is one refusal, recorded once.
    assert [row["event_index"] for row in await rejected_rows(db, session_id)] == [0]


async def test_single_event_refused_by_postgresql_is_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_refuses_poison: str
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, **event(database_refuses_poison)}

    response = await client.post(EVENT, json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert "database rejected the data" in response.json()["detail"][0]["msg"]
    assert await count_events(db, session_id) == 0


async def test_events_for_an_unknown_session_are_404_and_nothing_is_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    unknown = str(uuid.uuid4())

    single = await client.post(EVENT, json={"session_id": unknown, **event()})
    batch = await client.post(BATCH, json={"session_id": unknown, "events": [event(), event()]})

    assert single.status_code == batch.status_code == 404
    assert batch.json() == {"detail": "Session not found"}
    assert await count_events(db, unknown) == 0


async def test_events_arriving_after_the_session_ended_are_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client, session_start=time.time() - 600)
    await client.post(END, json={"session_id": session_id, "session_end": time.time() - 60})

    late = [event(at=time.time() - 300), event(at=time.time() - 200)]
    response = await client.post(BATCH, json={"session_id": session_id, "events": late})

    assert response.json()["processed"] == 2
    assert await count_events(db, session_id) == 2


async def test_events_update_the_session_last_seen_at(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    await db.execute(
        "UPDATE vr_sessions SET last_seen_at = now() - interval '20 minutes' WHERE id = $1",
        uuid.UUID(session_id),
    )

    await client.post(BATCH, json={"session_id": session_id, "events": [event()]})

    last_seen = await db.fetchval(
        "SELECT last_seen_at FROM vr_sessions WHERE id = $1", uuid.UUID(session_id)
    )
    assert (datetime.now(UTC) - last_seen).total_seconds() < 60


async def test_sloppy_blueprint_payloads_are_accepted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = [
        {
            "event_type": "poi_visit",
            "timestamp": "1728234590.5",
            "event_data": '{"POI":"Gym","POI_Duration":"0:01"}',
            "event_id": "",
        },
        {"event_type": "menu_open", "timestamp": 1728234591000, "event_data": ""},
        {"event_type": "teleport", "timestamp": "2024-10-06T17:09:52+00:00"},
    ]

    response = await client.post(
        BATCH, json={"session_id": session_id.replace("-", "").upper(), "events": events}
    )

    assert response.json()["processed"] == 3, response.text
    rows = await db.fetch(
        "SELECT event_type, timestamp, event_data FROM tracking_events "
        "WHERE session_id = $1 ORDER BY timestamp",
        uuid.UUID(session_id),
    )
    assert [json.loads(row["event_data"]) for row in rows] == [
        {"POI": "Gym", "POI_Duration": "0:01"},
        {},
        {},
    ]
    assert rows[1]["timestamp"] == datetime.fromtimestamp(1728234591, UTC)


async def test_concurrent_batches_and_retries_store_each_event_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    batches = [
        {
            "session_id": session_id,
            "events": [
                event(at=1728234590 + b * 100 + i, event_id=str(uuid.uuid4())) for i in range(50)
            ],
        }
        for b in range(8)
    ]
    # Every batch is sent three times at once, as a client retrying on a timeout would.
    responses = await asyncio.gather(
        *(client.post(BATCH, json=batch) for batch in batches for _ in range(3))
    )

    assert all(response.status_code == 202 for response in responses)
    assert all(response.json()["processed"] == 50 for response in responses)
    duplicates = sum(len(response.json()["duplicates"]) for response in responses)
    assert duplicates == 8 * 50 * 2
    assert await count_events(db, session_id) == 8 * 50


async def test_empty_batch_is_accepted_as_a_sign_of_life(client: httpx.AsyncClient) -> None:
    session_id = await start_session(client)

    response = await client.post(BATCH, json={"session_id": session_id, "events": []})

    assert response.status_code == 202
    assert (response.json()["total_events"], response.json()["success_rate"]) == (0, 100.0)


LONE_SURROGATE_BATCH = """{"session_id": "%s", "events": [
    {"event_type": "room_view", "timestamp": 1728234590, "event_data": {"room_name": "Hall"}},
    {"event_type": "room_view", "timestamp": 1728234591, "event_data": {"note": "\\ud83d"}},
    {"event_type": "room_view", "timestamp": 1728234592, "event_data": {"\\ud83d": 1}},
    {"event_type": "room_view", "timestamp": 1728234593, "event_id": "\\ud83d"}
]}"""


async def test_lone_surrogates_are_per_event_errors_not_a_crashed_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A truncated emoji arrives as a lone UTF-16 surrogate, which no database text can hold."""
    session_id = await start_session(client)

    response = await client.post(
        BATCH,
        content=LONE_SURROGATE_BATCH % session_id,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["processed"], body["failed"]) == (1, 3)
    assert [(error["index"], error["field"]) for error in body["errors"]] == [
        (1, "event_data"),
        (2, "event_data"),
        (3, "event_id"),
    ]
    assert "surrogate" in body["errors"][0]["reason"]
    assert [row["event_index"] for row in await rejected_rows(db, session_id)] == [1, 2, 3]
    assert await count_events(db, session_id) == 1


async def test_single_event_refused_by_postgresql_is_kept_in_rejected_events(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_refuses_poison: str
) -> None:
    session_id = await start_session(client)

    response = await client.post(
        EVENT,
        json={"session_id": session_id, **event(database_refuses_poison, event_data={"n": 1})},
    )

    assert response.status_code == 422
    [rejected] = await rejected_rows(db, session_id)
    assert rejected["event_index"] == 0
    assert "database rejected the data" in rejected["reason"]
    assert json.loads(rejected["payload"])["event_data"] == {"n": 1}


async def test_event_naming_another_session_in_a_batch_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = [
        event(at=1728234590, session_id=session_id.replace("-", "").upper()),
        event(at=1728234591, session_id=str(uuid.uuid4())),
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.json()["errors"] == [
        {"index": 1, "field": "session_id", "reason": "differs from the batch's session_id"}
    ]
    assert await count_events(db, session_id) == 1


async def test_exact_retry_after_a_reused_id_in_the_same_batch_is_still_a_duplicate(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    stored = event("gaze", at=1728234590, event_id="evt-7")
    await client.post(BATCH, json={"session_id": session_id, "events": [stored]})
    impostor = event("teleport", at=1728234599, event_id="evt-7")

    response = await client.post(
        BATCH, json={"session_id": session_id, "events": [impostor, stored]}
    )

    body = response.json()
    assert [(error["index"], error["field"]) for error in body["errors"]] == [(0, "event_id")]
    assert [duplicate["index"] for duplicate in body["duplicates"]] == [1]
    assert await count_events(db, session_id) == 1


async def test_a_refused_single_event_is_kept_with_its_requests_id(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    event_id = str(uuid.uuid4())
    first = event("room_view", session_id=session_id, event_id=event_id)
    other = event("gaze", session_id=session_id, event_id=event_id)

    stored = await client.post(EVENT, json=first)
    refused = await client.post(EVENT, json=other, headers={"X-Request-ID": "reused-id-1"})

    assert stored.status_code == 202
    assert refused.status_code == 422
    rows = await db.fetch(
        "SELECT field, request_id FROM rejected_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    assert [tuple(row) for row in rows] == [("event_id", "reused-id-1")]
