"""The rules of analytics requests: periods, opaque cursors and the limits on page sizes and
list lengths. Every refusal is a 422 naming the query parameter at fault."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from app.core.analytics_leads_store import LeadKey
from app.core.analytics_store import EventKey, SessionKey, SortOrder
from app.core.errors import InvalidInputError

MAX_CURSOR_LENGTH = 2048


@dataclass(frozen=True)
class Period:
    """Half-open [starts, ends): sessions started at or after `starts` and before `ends`
    (None: unbounded on that side)."""

    starts: datetime | None = None
    ends: datetime | None = None

    def __post_init__(self) -> None:
        if self.starts is not None and self.ends is not None and self.ends <= self.starts:
            raise InvalidInputError.single("query", "to", msg="must be later than from")

    def bounded(self) -> tuple[datetime, datetime]:
        """Both ends, for the questions that need a finite period."""
        if self.starts is None:
            raise InvalidInputError.single("query", "from", msg="is required here")
        if self.ends is None:
            raise InvalidInputError.single("query", "to", msg="is required here")
        return self.starts, self.ends

    def previous(self) -> datetime:
        """Where the period of equal length just before this one starts."""
        starts, ends = self.bounded()
        try:
            return starts - (ends - starts)
        except OverflowError:
            raise InvalidInputError.single(
                "query", "from", msg="the previous period of equal length would start before year 1"
            ) from None

    def utc_days(self) -> int:
        """How many UTC days the period touches."""
        starts, ends = self.bounded()
        first = starts.astimezone(UTC).date()
        last = (ends - timedelta(microseconds=1)).astimezone(UTC).date()
        return (last - first).days + 1


def check_limit(value: int | None, *, default: int, maximum: int, name: str = "limit") -> int:
    """A page size or list length: the default when absent, at most `maximum`."""
    if value is None:
        return default
    if value > maximum:
        raise InvalidInputError.single("query", name, msg=f"must be at most {maximum}")
    return value


def encode_cursor(kind: str, values: list[Any]) -> str:
    text = json.dumps({"k": kind, "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _bad_cursor()
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        content = json.loads(text)
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(content, dict) or content.get("k") != kind:
        raise _bad_cursor()
    values = content.get("v")
    if not isinstance(values, list):
        raise _bad_cursor()
    return values


def _bad_cursor() -> InvalidInputError:
    return InvalidInputError.single(
        "query", "cursor", msg="is not a cursor of this list (pass next_cursor back unchanged)"
    )


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _bad_cursor()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad_cursor() from None
    if moment.tzinfo is None:
        raise _bad_cursor()
    return moment


def _uuid(value: Any) -> UUID:
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise _bad_cursor() from None


def session_cursor(key: SessionKey, order: SortOrder) -> str:
    return encode_cursor(f"sessions:{order}", [key.started_at.isoformat(), str(key.id)])


def parse_session_cursor(cursor: str | None, order: SortOrder) -> SessionKey | None:
    """The position a session cursor names; it must come from a list in the same order."""
    if cursor is None:
        return None
    values = _decode_cursor(cursor, f"sessions:{order}")
    if len(values) != 2:
        raise _bad_cursor()
    return SessionKey(started_at=_moment(values[0]), id=_uuid(values[1]))


def event_cursor(key: EventKey, session_id: UUID) -> str:
    created_at = key.created_at.isoformat() if key.created_at else None
    return encode_cursor(
        f"events:{session_id}", [key.timestamp.isoformat(), created_at, str(key.id)]
    )


def parse_event_cursor(cursor: str | None, session_id: UUID) -> EventKey | None:
    """The position an event cursor names; it must come from the same session's events."""
    if cursor is None:
        return None
    values = _decode_cursor(cursor, f"events:{session_id}")
    if len(values) != 3:
        raise _bad_cursor()
    created_at = None if values[1] is None else _moment(values[1])
    return EventKey(timestamp=_moment(values[0]), created_at=created_at, id=_uuid(values[2]))


def lead_cursor(key: LeadKey) -> str:
    return encode_cursor("leads", [str(key.score), key.customer_id])


def parse_lead_cursor(cursor: str | None) -> LeadKey | None:
    if cursor is None:
        return None
    values = _decode_cursor(cursor, "leads")
    if len(values) != 2 or not all(isinstance(value, str) for value in values):
        raise _bad_cursor()
    if "\x00" in values[1] or not _encodable(values[1]):
        raise _bad_cursor()
    try:
        score = Decimal(values[0])
    except InvalidOperation:
        raise _bad_cursor() from None
    if not score.is_finite() or not 0 <= score <= 100:
        raise _bad_cursor()
    return LeadKey(score=score, customer_id=values[1])


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
