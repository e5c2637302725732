"""What is kept of a rejected event, whatever it is."""

import json

from app.services.ingestion.event_data import rejection_of


def test_event_too_deep_to_write_back_as_json_is_kept_as_a_note_not_a_crash() -> None:
    """Python's JSON parser accepts a little more nesting than its encoder can write back at
    the same stack depth; the rejection must still be recorded."""
    deep: list = []
    for _ in range(100_000):
        deep = [deep]

    rejection = rejection_of(3, {"event_data": deep}, "is nested more than 10 levels deep")

    assert rejection.index == 3
    assert json.loads(rejection.payload_json) == {"unstorable_event": "nested too deep to keep"}


def test_invalid_unicode_is_kept_as_ascii_escapes() -> None:
    rejection = rejection_of(0, {"note": "half an emoji \ud83d"}, "is not valid Unicode")

    assert rejection.payload_json.isascii()
    assert json.loads(rejection.payload_json) == {"note": "half an emoji \ud83d"}
