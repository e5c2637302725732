"""The period of a read question: the `from` and `to` query parameters, half-open [from, to).
One parser and one rule for every read route (analytics, heatmaps, exports).

Each bound is an ISO 8601 date (`2025-03-01`, midnight UTC) or a date-time with a UTC offset
(`2025-03-01T09:30:00Z`, `2025-03-01T11:30:00+02:00`). A date-time without an offset is refused,
as ingestion refuses one: its meaning would depend on whose clock it was.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BeforeValidator, WithJsonSchema

from app.errors import InvalidInputError

# A "+" in a query string arrives as a space: "2025-03-01T10:00:00 02:00" meant +02:00.
SPACED_OFFSET = re.compile(
    r"^(?P<moment>.*\d{2}:\d{2}(:\d{2}(\.\d+)?)?) (?P<offset>\d{2}(:?\d{2})?)$"
)
MOMENT_HELP = "an ISO 8601 date (midnight UTC) or a date-time with a UTC offset."
START_HELP = f"Start, inclusive: {MOMENT_HELP}"
END_HELP = f"End, exclusive: {MOMENT_HELP}"


def parse_moment(value: Any) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time with a UTC offset, as UTC. A date-time
    without an offset is refused, as ingestion refuses one: whose clock would it be?"""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        spaced = SPACED_OFFSET.match(text)
        if spaced:
            text = f"{spaced['moment']}+{spaced['offset']}"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "must be an ISO 8601 date (2025-03-01) or date-time with a UTC offset "
                f"(2025-03-01T09:30:00Z), got {value[:40]!r}"
            ) from None
        if moment.tzinfo is None and len(text) <= len("2025-03-01"):
            moment = moment.replace(tzinfo=UTC)
    else:
        raise ValueError("must be an ISO 8601 date or date-time")
    if moment.tzinfo is None:
        raise ValueError("an ISO 8601 date-time needs a UTC offset, such as Z or +02:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


# What the schema promises the parser takes: a date, or a date-time with seconds optional, a
# fraction of up to 6 digits and an offset (the parser takes a few more ISO forms).
MOMENT_PATTERN = (
    r"^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$"
)
Moment = Annotated[
    datetime,
    BeforeValidator(parse_moment),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MOMENT_PATTERN,
            "examples": ["2025-03-01", "2025-03-01T09:30:00Z"],
        }
    ),
]


@dataclass(frozen=True)
class Period:
    """[start, end): None on a side means unbounded there. `end` must be later than `start`
    (a 422 naming `to`)."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidInputError.single("query", "to", msg="must be later than from")

    def bounded(self) -> tuple[datetime, datetime]:
        """Both ends, for the questions that need a finite period."""
        if self.start is None:
            raise InvalidInputError.single("query", "from", msg="is required here")
        if self.end is None:
            raise InvalidInputError.single("query", "to", msg="is required here")
        return self.start, self.end

    def previous(self) -> "Period":
        """The period of equal length just before this one."""
        start, end = self.bounded()
        try:
            return Period(start - (end - start), start)
        except OverflowError:
            raise InvalidInputError.single(
                "query", "from", msg="the previous period of equal length would start before year 1"
            ) from None

    def utc_days(self) -> int:
        """How many UTC days the period touches."""
        start, end = self.bounded()
        first = start.astimezone(UTC).date()
        last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
        return (last - first).days + 1


def period_query(
    start: Annotated[
        Moment | None,
        Query(
            alias="from",
            description=f"{START_HELP} Omitted: from the beginning.",
            examples=["2025-03-01"],
        ),
    ] = None,
    end: Annotated[
        Moment | None,
        Query(
            alias="to",
            description=f"{END_HELP} Omitted: up to now and beyond.",
            examples=["2025-04-01"],
        ),
    ] = None,
) -> Period:
    return Period(start=start, end=end)


def bounded_period_query(
    start: Annotated[Moment, Query(alias="from", description=START_HELP, examples=["2025-03-01"])],
    end: Annotated[Moment, Query(alias="to", description=END_HELP, examples=["2025-04-01"])],
) -> Period:
    return Period(start=start, end=end)


PeriodDep = Annotated[Period, Depends(period_query)]
"""`from` and `to`, each optional."""
BoundedPeriodDep = Annotated[Period, Depends(bounded_period_query)]
"""`from` and `to`, both required (a 422 naming the one missing)."""
