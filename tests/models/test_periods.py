"""The one parser of the read API's periods (app/models/periods.py): `from` and `to` as dates
(midnight UTC) or date-times with an offset, a `+` turned into a space by a query string read
back, and a period whose end is not after its start refused naming `to`."""

from datetime import UTC, datetime

import pytest

from app.errors import InvalidInputError
from app.models.periods import Period, parse_moment

MARCH_FIRST_8_UTC = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-01T08:00:00Z",
        "2025-03-01T08:00:00+00:00",
        "2025-03-01T10:00:00+02:00",
        "2025-03-01T10:00:00 02:00",  # "+02:00" sent unescaped: the + became a space
        "2025-03-01T10:00 0200",
        " 2025-03-01T03:00:00-05:00 ",
    ],
)
def test_date_times_with_an_offset_are_read_as_utc(text: str) -> None:
    moment = parse_moment(text)

    assert moment == MARCH_FIRST_8_UTC
    assert moment.tzinfo is UTC


def test_a_date_is_midnight_utc() -> None:
    assert parse_moment("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-03-01T10:00:00", "needs a UTC offset"),
        ("2025-03-01 10:00", "needs a UTC offset"),
        ("March 1st", "must be an ISO 8601 date"),
        ("2025-02-30", "must be an ISO 8601 date"),
        ("0001-01-01T00:00:00+01:00", "out of range once converted to UTC"),
        (20250301, "must be an ISO 8601 date or date-time"),
    ],
)
def test_anything_else_is_refused_saying_why(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_moment(value)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)),
        (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)),
    ],
)
def test_a_period_must_end_after_it_starts(start: datetime, end: datetime) -> None:
    with pytest.raises(InvalidInputError) as refused:
        Period(start, end)

    assert [problem.loc for problem in refused.value.problems] == [("query", "to")]


def test_the_previous_period_has_the_same_length_and_ends_where_this_one_starts() -> None:
    week = Period(datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 3, 15, tzinfo=UTC))

    assert week.previous() == Period(datetime(2025, 3, 1, tzinfo=UTC), week.start)
    assert week.utc_days() == 7


@pytest.mark.parametrize("missing", ["from", "to"])
def test_questions_that_need_both_ends_name_the_missing_one(missing: str) -> None:
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    half_open = Period(end=moment) if missing == "from" else Period(start=moment)

    with pytest.raises(InvalidInputError) as refused:
        half_open.bounded()

    assert [problem.loc for problem in refused.value.problems] == [("query", missing)]
