"""The period of a read question: the `from` and `to` query parameters, half-open [from, to).

Each is an ISO 8601 date (`2025-03-01`, midnight UTC) or a date-time with a UTC offset
(`2025-03-01T09:30:00Z`, `2025-03-01T11:30:00+02:00`). A date-time without an offset is refused,
as ingestion refuses one: its meaning would depend on whose clock it was.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from app.models.analytics import QueryMoment

# One rule for every read route (a `+` sent unescaped is read back, see docs/analytics.md).
Instant = QueryMoment


@dataclass(frozen=True)
class Period:
    """[start, end): None on a side means unbounded there."""

    start: datetime | None = None
    end: datetime | None = None


def period_query(
    start: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="Start, inclusive: an ISO 8601 date (midnight UTC) or a date-time "
            "with a UTC offset. Omitted: from the beginning.",
        ),
    ] = None,
    end: Annotated[
        Instant | None,
        Query(
            alias="to",
            description="End, exclusive: an ISO 8601 date (midnight UTC) or a date-time with "
            "a UTC offset. Omitted: up to now and beyond.",
        ),
    ] = None,
) -> Period:
    if start is not None and end is not None and end <= start:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", "to"), "msg": "must be later than from"}]
        )
    return Period(start=start, end=end)


PeriodDep = Annotated[Period, Depends(period_query)]
