"""What every stored event_data must be, whoever sends it (an event, or one of the original
client's records): a JSON object, within the size and depth limits, that PostgreSQL can store;
and how an event that is not stored is kept, with its reason."""

import json
from typing import Any

from app.domain.events import Rejection
from app.models.fields import NOT_UNICODE


class EventInvalidError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def event_data_object(value: Any) -> dict[str, Any]:
    """event_data as a dict: absent or "" is {}, and a string holding a JSON object is parsed
    (Blueprint plugins often send the object pre-serialized)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise EventInvalidError("event_data", "is a string but not valid JSON") from None
    if not isinstance(value, dict):
        raise EventInvalidError("event_data", "must be a JSON object")
    return value


def check_event_data(event_data: dict[str, Any], *, depth_limit: int) -> None:
    """Nesting within the limit (a flat object is 1 deep) and no NUL character in any key or
    string, which PostgreSQL's jsonb cannot hold. Iterative, so deep input is safe."""
    pending: list[tuple[Any, int]] = [(event_data, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise EventInvalidError("event_data", "must not contain NUL characters")
            continue
        if isinstance(node, dict):
            children: list[Any] = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > depth_limit:
            raise EventInvalidError("event_data", f"is nested more than {depth_limit} levels deep")
        pending.extend((child, depth + 1) for child in children)


# What json.dumps(allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# builds on every call, built once: the same text, without an encoder made per event.
CANONICAL_ENCODER = json.JSONEncoder(
    allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":")
)
# How canonical JSON writes a NUL character: the one escape that can reveal one.
ESCAPED_NUL = "\\u0000"


def canonical_json(event_data: dict[str, Any]) -> tuple[str, int]:
    """Compact JSON with sorted keys (what is stored, measured and hashed) and its UTF-8 size."""
    try:
        text = CANONICAL_ENCODER.encode(event_data)
    except ValueError:
        raise EventInvalidError(
            "event_data", "contains a non-finite number (NaN or Infinity)"
        ) from None
    if text.isascii():  # nearly always: its size is its length, without encoding it
        return text, len(text)
    try:
        return text, len(text.encode())
    except UnicodeEncodeError:
        raise EventInvalidError("event_data", NOT_UNICODE) from None


def checked_canonical_json(event_data: dict[str, Any], *, depth_limit: int) -> tuple[str, int]:
    """check_event_data, then canonical_json: the same answers and the same first reason, with
    the walk over the object skipped when its JSON text already shows it within the limits (no
    more brackets than levels allowed, no escaped NUL), as nearly every event's does."""
    try:
        text, size = canonical_json(event_data)
    except (EventInvalidError, RecursionError):
        # Its reason, if it has one, comes first (and deep input fails there, not here).
        check_event_data(event_data, depth_limit=depth_limit)
        raise
    if ESCAPED_NUL in text or text.count("{") + text.count("[") > depth_limit:
        check_event_data(event_data, depth_limit=depth_limit)
    return text, size


def rejection_of(index: int, raw_event: Any, reason: str, field: str | None = None) -> Rejection:
    try:
        # ASCII escapes keep even invalid Unicode (lone surrogates) storable as text.
        payload_json = json.dumps(raw_event, ensure_ascii=True, default=str)
    except RecursionError:
        payload_json = json.dumps({"unstorable_event": "nested too deep to keep"})
    return Rejection(index=index, reason=reason, payload_json=payload_json, field=field)
