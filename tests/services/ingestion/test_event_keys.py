"""The keys an event is stored under (its content hash, its event_id) are computed faster than
before, but must be the very same values: a retry sent before a deploy and again after it is
recognised only if the hash of the same event does not change."""

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from app.services.ingestion.event_data import EventInvalidError, checked_canonical_json
from app.services.ingestion.tracking import CONTENT_ID_NAMESPACE, content_id_of
from tests.helpers import BATCH, start_session


def previous_content_id(
    session_id: str, event_type: str, moment: datetime, data: dict
) -> uuid.UUID:
    """The content hash as every earlier release computed it (uuid5 over json.dumps)."""
    event_data_json = json.dumps(
        data, allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    name = f"{uuid.UUID(session_id)}|{event_type}|{moment.isoformat()}|{event_data_json}"
    return uuid.uuid5(CONTENT_ID_NAMESPACE, name)


@pytest.mark.parametrize(
    "name",
    ["", "a", "é|ünïcödé|🎉", "x" * 10_000, "550e8400-e29b-41d4-a716-446655440000|gaze|{}"],
)
def test_content_id_is_uuid5_bit_for_bit(name: str) -> None:
    computed = content_id_of(name)
    assert computed == uuid.uuid5(CONTENT_ID_NAMESPACE, name)
    assert str(computed) == str(uuid.uuid5(CONTENT_ID_NAMESPACE, name))
    assert hash(computed) == hash(uuid.uuid5(CONTENT_ID_NAMESPACE, name))


@pytest.mark.parametrize(
    "data",
    [
        {"b": 1, "a": [1, 2, {"z": None, "y": True}]},
        {"text": 'tab\tquote"backslash\\\\u0000 not a NUL', "é": "ü"},
        {"deep": {"deeper": {"deepest": [[[1.5e-07]]]}}},
    ],
)
def test_canonical_json_is_the_standard_librarys(data: dict) -> None:
    expected = json.dumps(
        data, allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    assert checked_canonical_json(data, depth_limit=10) == (expected, len(expected.encode()))


def test_the_walk_still_refuses_what_the_text_check_lets_through() -> None:
    with pytest.raises(EventInvalidError, match="NUL"):
        checked_canonical_json({"key\x00": 1}, depth_limit=10)
    with pytest.raises(EventInvalidError, match="nested more than 2"):
        checked_canonical_json({"a": {"b": {"c": 1}}}, depth_limit=2)
    # A NUL and a NaN: the NUL is named first, as before.
    with pytest.raises(EventInvalidError, match="NUL"):
        checked_canonical_json({"a": "\x00", "b": float("nan")}, depth_limit=10)
    assert checked_canonical_json({"a": "[[[{{{"}, depth_limit=1)[0] == '{"a":"[[[{{{"}'


async def test_stored_keys_are_those_earlier_releases_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    moment = datetime(2026, 12, 1, 10, 30, 15, 250_000, tzinfo=UTC)
    data = {"room_name": "Wohnzimmer ü", "duration": 15.5, "position": {"x": 1e-07, "y": 2}}
    fguid = "7D444840A9DC11D1B2455FFDCE74FAD2"
    events = [
        {"event_type": "room_view", "timestamp": moment.timestamp(), "event_data": data},
        {
            "event_type": "gaze",
            "timestamp": moment.timestamp(),
            "event_data": data,
            "event_id": fguid,
        },
        {
            "event_type": "gaze",
            "timestamp": moment.timestamp(),
            "event_data": data,
            "event_id": "my-own-id-17",
        },
    ]

    response = await client.post(BATCH, json={"session_id": session_id, "events": events})

    assert response.json()["processed"] == 3, response.text
    rows = await db.fetch(
        "SELECT event_type, event_id, content_id FROM tracking_events WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    stored = {(row["event_type"], row["event_id"]): row["content_id"] for row in rows}
    room_view = previous_content_id(session_id, "room_view", moment, data)
    gaze = previous_content_id(session_id, "gaze", moment, data)
    client_id_namespace = uuid.UUID("6f1c2a4e-8d0b-5e7a-9c3f-1b2d4e6f8a90")
    assert stored == {
        ("room_view", room_view): room_view,
        ("gaze", uuid.UUID(fguid)): gaze,
        ("gaze", uuid.uuid5(client_id_namespace, "my-own-id-17")): gaze,
    }
