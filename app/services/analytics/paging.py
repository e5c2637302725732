"""The rules of analytics requests: opaque cursors and the limits on page sizes and list
lengths (periods are in app/models/periods.py). Every refusal is a 422 naming the query
parameter at fault."""

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from uuid import UUID

from app.domain.analytics import EventKey, LeadKey, SessionKey, SortOrder
from app.errors import InvalidInputError

# A cursor holds at most a label (customer or property id: MAX_LABEL_LENGTH, at most 600
# characters of up to 4 bytes in UTF-8) and a few short values, base64-encoded.
MAX_CURSOR_LENGTH = 4096

Row = TypeVar("Row")


def split_page(rows: Sequence[Row], limit: int) -> tuple[list[Row], Row | None]:
    """A page of at most `limit` rows out of `limit + 1` fetched, and its last row when more
    follow (the cursor's position), else None."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, page[-1]


def check_limit(value: int | None, *, default: int, maximum: int, name: str = "limit") -> int:
    """A page size or list length: the default when absent, at most `maximum`."""
    if value is None:
        return default
    if value > maximum:
        raise InvalidInputError.single("query", name, msg=f"must be at most {maximum}")
    return value


def encode_cursor(kind: str, values: list[Any]) -> str:
    text = json.dumps({"k": kind, "v": values}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, kind: str, *, length: int) -> list[Any]:
    """The `length` values a cursor of the list `kind` holds; anything else is a 422."""
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
    if not isinstance(values, list) or len(values) != length:
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
    values = _decode_cursor(cursor, f"sessions:{order}", length=2)
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
    values = _decode_cursor(cursor, f"events:{session_id}", length=3)
    created_at = None if values[1] is None else _moment(values[1])
    return EventKey(timestamp=_moment(values[0]), created_at=created_at, id=_uuid(values[2]))


def lead_cursor(key: LeadKey) -> str:
    return encode_cursor("leads", [str(key.score), key.customer_id])


def parse_lead_cursor(cursor: str | None) -> LeadKey | None:
    if cursor is None:
        return None
    values = _decode_cursor(cursor, "leads", length=2)
    if not isinstance(values[0], str):
        raise _bad_cursor()
    try:
        score = Decimal(values[0])
    except InvalidOperation:
        raise _bad_cursor() from None
    if not score.is_finite() or not 0 <= score <= 100:
        raise _bad_cursor()
    return LeadKey(score=score, customer_id=_label(values[1]))


def property_cursor(property_id: str) -> str:
    return encode_cursor("properties", [property_id])


def parse_property_cursor(cursor: str | None) -> str | None:
    """The property id a property-list cursor stops at."""
    if cursor is None:
        return None
    [property_id] = _decode_cursor(cursor, "properties", length=1)
    return _label(property_id)


def _label(value: Any) -> str:
    """A customer or property id from a cursor: text PostgreSQL can compare with."""
    if not isinstance(value, str) or "\x00" in value:
        raise _bad_cursor()
    try:
        value.encode()
    except UnicodeEncodeError:
        raise _bad_cursor() from None
    return value
