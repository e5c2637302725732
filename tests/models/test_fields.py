"""Parsing what VR clients send: timestamps, session ids and event ids."""

import uuid
from datetime import UTC, datetime

import pytest

from app.models.fields import (
    optional_text,
    parse_client_timestamp,
    parse_session_id,
    storable_text,
)

MOMENT = datetime(2024, 10, 6, 17, 9, 27, 890000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1728234567.89,
        "1728234567.89",
        " 1728234567.89 ",
        1728234567890,
        "1728234567890",
        "2024-10-06T17:09:27.890Z",
        "2024-10-06T19:09:27.890+02:00",
    ],
)
def test_timestamp_forms_parse_to_the_same_moment(value: object) -> None:
    assert parse_client_timestamp(value) == MOMENT


@pytest.mark.parametrize(
    "value",
    ["", "abc", "1e", "inf", "nan", "2024.10.06 17:09:27", None, True, [], {}, float("inf")],
)
def test_unusable_timestamps_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_client_timestamp(value)


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("2024-10-06T17:09:27.89", datetime(2024, 10, 6, 17, 9, 27, 890000)),
        ("2024.10.06-17.09.27", datetime(2024, 10, 6, 17, 9, 27)),
        ("2024.10.06-17.09.27:890", datetime(2024, 10, 6, 17, 9, 27, 890000)),
        ("06-Oct-2024, 5:09:27 pm", datetime(2024, 10, 6, 17, 9, 27)),
        ("06-oct-2024, 5:09:27 PM", datetime(2024, 10, 6, 17, 9, 27)),
        ("06-Oct-2024, 12:09:27 am", datetime(2024, 10, 6, 0, 9, 27)),
        ("06-Oct-2024, 12:09:27 pm", datetime(2024, 10, 6, 12, 9, 27)),
        ("6-Oct-2024 17:09", datetime(2024, 10, 6, 17, 9)),
    ],
)
def test_times_without_an_offset_are_local(value: str, local: datetime) -> None:
    """Read as they are, without a time zone: the service decides whose clock they are."""
    assert parse_client_timestamp(value) == local


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("06-Oct-2024, 13:09:27 pm", "12-hour clock"),
        ("06-Oct-2024, 0:09:27 am", "12-hour clock"),
        ("06-Okt-2024, 5:09:27 pm", "unknown month"),
        ("32-Oct-2024, 5:09:27 pm", "day is out of range"),
        ("06-Oct-2024, 5:60:27 pm", "minute must be"),
        ("06-Oct-2024, 5:09:60 pm", "second must be"),
        ("2024.13.06-17.09.27", "month must be"),
        ("2024.10.06-24.09.27", "hour must be"),
        ("2024.10.06-17.09.27.1234567", "must be a Unix timestamp"),
    ],
)
def test_local_forms_past_their_edges_are_refused_saying_why(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_client_timestamp(value)


def test_milliseconds_threshold_separates_seconds_from_milliseconds() -> None:
    assert parse_client_timestamp(99_999_999_999).year == 5138
    assert parse_client_timestamp(100_000_000_000).year == 1973


def test_session_id_accepts_uuid_and_fguid_spellings() -> None:
    expected = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")

    for spelling in (
        "550e8400-e29b-41d4-a716-446655440000",
        "550E8400E29B41D4A716446655440000",
        "{550E8400-E29B-41D4-A716-446655440000}",
    ):
        assert parse_session_id(spelling) == expected


@pytest.mark.parametrize("value", ["", "550e8400", 12345, None])
def test_session_id_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError):
        parse_session_id(value)


@pytest.mark.parametrize(
    "value",
    [10**400, "9" * 400, "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", -(10**30)],
)
def test_timestamps_beyond_what_a_date_can_hold_are_refused_not_crashed(value: object) -> None:
    with pytest.raises(ValueError):
        parse_client_timestamp(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("a\x00b", "NUL"), ("half an emoji \ud83d", "surrogate")],
)
def test_text_postgresql_cannot_store_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        storable_text(text)


def test_optional_text_treats_blank_as_absent_and_numbers_as_text() -> None:
    assert optional_text("  ") is None
    assert optional_text(" cust_1 ") == "cust_1"
    assert optional_text(12345) == "12345"
    assert optional_text("😀 ok") == "😀 ok"
