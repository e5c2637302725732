"""Per-event and per-batch limits through the real app: batch size, event_type and event_id,
event_data size, depth and numbers (session labels: test_label_limits). Each limit at its edge
and one past it."""

import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import AppFactory
from tests.helpers import (
    BATCH,
    EVENT,
    count_events,
    distinct_events,
    event,
    start_session,
)

JSON_CONTENT = {"content-type": "application/json"}
DEFAULT_MAX_EVENT_DATA_BYTES = 16_384
DEFAULT_MAX_EVENT_DATA_DEPTH = 10
DEFAULT_MAX_BATCH_EVENTS = 1000


def canonical_size(event_data: Any) -> int:
    """What MAX_EVENT_DATA_BYTES measures: compact JSON with sorted keys, in UTF-8 bytes."""
    text = json.dumps(event_data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return len(text.encode())


def event_data_of_size(size: int) -> dict[str, str]:
    """An event_data of exactly `size` canonical bytes, mostly two-byte characters, so that
    bytes and not characters are what counts."""
    overhead = canonical_size({"note": ""})
    two_byte_characters, one_byte_characters = divmod(size - overhead, 2)
    event_data = {"note": "é" * two_byte_characters + "x" * one_byte_characters}
    assert canonical_size(event_data) == size
    return event_data


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep; nested(1) is the flat {"level": 1}."""
    event_data: dict[str, Any] = {"level": depth}
    for level in range(depth - 1, 0, -1):
        event_data = {"level": level, "inner": event_data}
    return event_data


def with_raw_numbers(document: dict[str, Any], replacements: dict[str, str]) -> str:
    """JSON text in which string placeholders become bare tokens such as NaN (which strict JSON
    forbids but Python's json, and so the app, parses)."""
    text = json.dumps(document)
    for placeholder, token in replacements.items():
        text = text.replace(json.dumps(placeholder), token)
    return text


async def stored_event_types(db: asyncpg.Connection, session_id: str) -> list[str]:
    rows = await db.fetch(
        "SELECT event_type FROM tracking_events WHERE session_id = $1 ORDER BY event_type",
        uuid.UUID(session_id),
    )
    return [row["event_type"] for row in rows]


async def count_rejections(db: asyncpg.Connection, session_id: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM rejected_events WHERE session_id = $1", uuid.UUID(session_id)
    )


async def assert_rejected_in_batch(
    response: httpx.Response,
    db: asyncpg.Connection,
    *,
    session_id: str,
    sent_events: list[Any],
    expected: dict[int, tuple[str | None, str]],
) -> None:
    """The response lists exactly the `expected` {index: (field, reason fragment)} as errors,
    and rejected_events holds one row for each, with its reason, field, index and raw payload."""
    assert response.status_code == 202, response.text
    errors = response.json()["errors"]
    assert [error["index"] for error in errors] == sorted(expected)
    for error in errors:
        field, reason_fragment = expected[error["index"]]
        assert set(error) == {"index", "field", "reason"}
        assert error["field"] == field
        assert reason_fragment in error["reason"]

    rows = await db.fetch(
        "SELECT event_index, field, reason, payload, request_id FROM rejected_events "
        "WHERE session_id = $1 ORDER BY event_index",
        uuid.UUID(session_id),
    )
    assert [row["event_index"] for row in rows] == sorted(expected)
    for row, error in zip(rows, errors, strict=True):
        assert row["field"] == error["field"]
        assert row["reason"] == error["reason"]
        assert row["request_id"] == response.headers["x-request-id"]
        assert json.loads(row["payload"]) == sent_events[row["event_index"]]


# --- batch size -----------------------------------------------------------------------------


async def test_batch_of_exactly_max_batch_events_is_stored_whole(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = distinct_events(DEFAULT_MAX_BATCH_EVENTS)

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.status_code == 202, response.text
    assert response.json()["processed"] == DEFAULT_MAX_BATCH_EVENTS
    assert response.json()["errors"] == []
    assert await count_events(db, session_id) == DEFAULT_MAX_BATCH_EVENTS


async def test_batch_of_one_more_than_max_batch_events_is_a_422_and_stores_nothing(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    events = distinct_events(DEFAULT_MAX_BATCH_EVENTS + 1)

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "events"]
    assert "at most 1000 events" in problem["msg"]
    assert await count_events(db, session_id) == 0
    assert await count_rejections(db, session_id) == 0


async def test_configured_max_batch_events_is_the_edge(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(MAX_BATCH_EVENTS=3) as client:
        session_id = await start_session(client)
        at_limit = await client.post(
            BATCH, json={"session_id": session_id, "events": distinct_events(3)}
        )
        other_session_id = await start_session(client)
        past_limit = await client.post(
            BATCH, json={"session_id": other_session_id, "events": distinct_events(4)}
        )

    assert at_limit.status_code == 202
    assert await count_events(db, session_id) == 3
    assert past_limit.status_code == 422
    assert past_limit.json()["detail"][0]["loc"] == ["body", "events"]
    assert await count_events(db, other_session_id) == 0


# --- event_type -----------------------------------------------------------------------------

INVALID_EVENT_TYPES = {
    "65 characters": "a" * 65,
    "empty": "",
    "space": "room view",
    "slash": "room/view",
    "accented letter": "café",
    "markup": "<script>",
    "trailing newline": "room_view\n",
    "fullwidth letter": "ａ",
}


async def test_event_type_of_64_characters_is_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    event_type = "A-z0.9_" + "x" * 57

    single = await client.post(EVENT, json={"session_id": session_id, **event(event_type)})
    batched = await client.post(
        BATCH, json={"session_id": session_id, "events": [event(event_type, at=1728234590)]}
    )

    assert len(event_type) == 64
    assert single.status_code == 202, single.text
    assert batched.status_code == 202
    assert batched.json()["errors"] == []
    assert await stored_event_types(db, session_id) == [event_type, event_type]


async def test_invalid_event_types_in_a_batch_are_rejected_one_by_one_and_the_rest_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()
    events = [event("first_valid", at=now)]
    events += [event(event_type, at=now) for event_type in INVALID_EVENT_TYPES.values()]
    events += [event("last_valid", at=now)]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    await assert_rejected_in_batch(
        response,
        db,
        session_id=session_id,
        sent_events=events,
        expected={
            index: (
                "event_type",
                "longer than 64 characters" if len(event_type) > 64 else "should match pattern",
            )
            for index, event_type in enumerate(INVALID_EVENT_TYPES.values(), start=1)
        },
    )
    assert response.json()["processed"] == 2
    assert response.json()["failed"] == len(INVALID_EVENT_TYPES)
    assert await stored_event_types(db, session_id) == ["first_valid", "last_valid"]


@pytest.mark.parametrize("event_type", INVALID_EVENT_TYPES.values(), ids=INVALID_EVENT_TYPES.keys())
async def test_invalid_event_type_in_the_single_event_endpoint_is_a_422(
    client: httpx.AsyncClient, db: asyncpg.Connection, event_type: str
) -> None:
    session_id = await start_session(client)

    response = await client.post(EVENT, json={"session_id": session_id, **event(event_type)})

    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["body", "event_type"]]
    assert await count_events(db, session_id) == 0


@pytest.mark.parametrize(
    ("setting", "field", "at_limit", "past_limit"),
    [
        ("MAX_EVENT_TYPE_LENGTH", "event_type", "t" * 8, "t" * 9),
        ("MAX_EVENT_ID_LENGTH", "event_id", "e" * 8, "e" * 9),
    ],
)
async def test_configured_event_text_limits_are_the_edge(
    app_with: AppFactory,
    db: asyncpg.Connection,
    setting: str,
    field: str,
    at_limit: str,
    past_limit: str,
) -> None:
    async with app_with(**{setting: 8}) as client:
        session_id = await start_session(client)
        events = [event(at=time.time(), **{field: at_limit}), event(**{field: past_limit})]
        response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    await assert_rejected_in_batch(
        response,
        db,
        session_id=session_id,
        sent_events=events,
        expected={1: (field, "is longer than 8 characters")},
    )
    assert await count_events(db, session_id) == 1


# --- event_data size, depth and numbers -----------------------------------------------------


async def test_event_data_of_exactly_max_event_data_bytes_is_stored(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    event_data = event_data_of_size(64)
    async with app_with(MAX_EVENT_DATA_BYTES=64) as client:
        session_id = await start_session(client)
        # Sent indented: the limit is on the canonical form, not on the bytes on the wire.
        body = json.dumps({"session_id": session_id, **event(event_data=event_data)}, indent=2)

        response = await client.post(EVENT, content=body, headers=JSON_CONTENT)

    assert response.status_code == 202, response.text
    stored = await db.fetchval(
        "SELECT event_data FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert json.loads(stored) == event_data


async def test_event_data_one_byte_over_max_event_data_bytes_is_a_422_in_the_single_endpoint(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(MAX_EVENT_DATA_BYTES=64) as client:
        session_id = await start_session(client)
        body = {"session_id": session_id, **event(event_data=event_data_of_size(65))}

        response = await client.post(EVENT, json=body)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["body", "event_data"],
            "msg": "is larger than 64 bytes as JSON",
        }
    ]
    assert await count_events(db, session_id) == 0


async def test_default_event_data_limit_is_the_edge_in_a_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()
    events = [
        event("at_limit", at=now, event_data=event_data_of_size(DEFAULT_MAX_EVENT_DATA_BYTES)),
        event(
            "past_limit", at=now, event_data=event_data_of_size(DEFAULT_MAX_EVENT_DATA_BYTES + 1)
        ),
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    await assert_rejected_in_batch(
        response,
        db,
        session_id=session_id,
        sent_events=events,
        expected={1: ("event_data", "is larger than 16384 bytes as JSON")},
    )
    assert await stored_event_types(db, session_id) == ["at_limit"]


async def test_default_event_data_depth_is_the_edge_in_a_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()
    events = [
        event("flat", at=now, event_data=nested(1)),
        event("at_limit", at=now, event_data=nested(DEFAULT_MAX_EVENT_DATA_DEPTH)),
        event("past_limit", at=now, event_data=nested(DEFAULT_MAX_EVENT_DATA_DEPTH + 1)),
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    await assert_rejected_in_batch(
        response,
        db,
        session_id=session_id,
        sent_events=events,
        expected={2: ("event_data", "is nested more than 10 levels deep")},
    )
    assert await stored_event_types(db, session_id) == ["at_limit", "flat"]


@pytest.mark.parametrize(
    ("event_data", "accepted"),
    [
        ({"room": "kitchen", "duration": 2.5}, True),
        ({"position": {"x": 10.5}}, False),
        ({"path": [1, 2]}, False),
    ],
    ids=["flat object", "object in object", "list in object"],
)
async def test_a_flat_object_is_one_level_deep(
    app_with: AppFactory, event_data: dict[str, Any], accepted: bool
) -> None:
    async with app_with(MAX_EVENT_DATA_DEPTH=1) as client:
        session_id = await start_session(client)

        response = await client.post(
            EVENT, json={"session_id": session_id, **event(event_data=event_data)}
        )

    if accepted:
        assert response.status_code == 202, response.text
    else:
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "event_data"]
        assert response.json()["detail"][0]["msg"] == "is nested more than 1 levels deep"


async def test_event_data_one_level_too_deep_is_a_422_in_the_single_endpoint(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    at_limit = {"session_id": session_id, **event(event_data=nested(DEFAULT_MAX_EVENT_DATA_DEPTH))}
    past_limit = {
        "session_id": session_id,
        **event(event_data=nested(DEFAULT_MAX_EVENT_DATA_DEPTH + 1)),
    }

    accepted = await client.post(EVENT, json=at_limit)
    refused = await client.post(EVENT, json=past_limit)

    assert accepted.status_code == 202, accepted.text
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "event_data"]
    assert await count_events(db, session_id) == 1


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_number_in_event_data_is_rejected_in_a_batch_with_a_reason(
    client: httpx.AsyncClient, db: asyncpg.Connection, token: str
) -> None:
    session_id = await start_session(client)
    now = time.time()
    events = [
        event("valid", at=now),
        event("non_finite", at=now, event_data={"position": {"x": "__number__", "y": 2.0}}),
    ]
    text = with_raw_numbers({"session_id": session_id, "events": events}, {"__number__": token})

    response = await client.post(BATCH, content=text, headers=JSON_CONTENT)

    assert response.status_code == 202, response.text
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "event_data",
            "reason": "contains a non-finite number (NaN or Infinity)",
        }
    ]
    row = await db.fetchrow(
        "SELECT event_index, field, reason, payload FROM rejected_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    assert row["event_index"] == 1
    assert row["field"] == "event_data"
    assert row["reason"] == "contains a non-finite number (NaN or Infinity)"
    assert f'"x": {token}' in row["payload"]
    assert await stored_event_types(db, session_id) == ["valid"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_number_in_event_data_is_a_422_in_the_single_endpoint(
    client: httpx.AsyncClient, db: asyncpg.Connection, token: str
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, **event(event_data={"duration": "__number__"})}

    response = await client.post(
        EVENT, content=with_raw_numbers(body, {"__number__": token}), headers=JSON_CONTENT
    )

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["body", "event_data"],
            "msg": "contains a non-finite number (NaN or Infinity)",
        }
    ]
    assert await count_events(db, session_id) == 0


async def test_events_of_the_wrong_shape_in_a_batch_are_rejected_one_by_one(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    now = time.time()
    events: list[Any] = [
        event("valid", at=now),
        42,
        ["not", "an", "object"],
        event("number_data", at=now, event_data=42),
        event("list_data", at=now, event_data=[1, 2]),
        {"timestamp": now},
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    await assert_rejected_in_batch(
        response,
        db,
        session_id=session_id,
        sent_events=events,
        expected={
            1: (None, "event must be a JSON object"),
            2: (None, "event must be a JSON object"),
            3: ("event_data", "must be a JSON object"),
            4: ("event_data", "must be a JSON object"),
            5: ("event_type", "Field required"),
        },
    )
    assert await stored_event_types(db, session_id) == ["valid"]
