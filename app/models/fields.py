"""Field types for what VR clients send: lenient about form, strict about meaning.

Blueprint JSON plugins send numbers as strings and "" for absent fields, and Unreal's FGuid
prints as 32 hex digits without dashes. These types accept those forms and nothing ambiguous.
"""

import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# Beyond this a Unix time in seconds would be past the year 5000: it must be milliseconds.
MILLISECONDS_THRESHOLD = 100_000_000_000
NOT_UNICODE = "is not valid Unicode (it holds an unpaired surrogate)"
NUMERIC_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_client_timestamp(value: Any) -> datetime:
    """Unix seconds or milliseconds (number or numeric string), or ISO 8601 with an offset."""
    try:
        return _parse_client_timestamp(value)
    except OverflowError:
        raise ValueError("is out of range") from None


def _parse_client_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        raise ValueError("must be a Unix timestamp or an ISO 8601 date-time, not a boolean")
    elif isinstance(value, int | float):
        moment = _from_unix(value)
    elif isinstance(value, str):
        text = value.strip()
        if NUMERIC_PATTERN.match(text):
            moment = _from_unix(float(text))
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    "must be a Unix timestamp (seconds or milliseconds) or an ISO 8601 "
                    f"date-time with a UTC offset, got {value[:40]!r}"
                ) from None
    else:
        raise ValueError("must be a Unix timestamp (number or string) or an ISO 8601 string")
    if moment.tzinfo is None:
        raise ValueError("ISO 8601 date-time needs a UTC offset, such as Z or +02:00")
    return moment.astimezone(UTC)


def _from_unix(value: float) -> datetime:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    seconds = value / 1000 if abs(value) >= MILLISECONDS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"is out of range: {value!r}") from None


def parse_session_id(value: Any) -> uuid.UUID:
    """A UUID in any standard spelling, including Unreal's 32-hex-digit FGuid."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a UUID or an Unreal FGuid (32 hexadecimal digits)")


def storable_text(text: str) -> str:
    """Text PostgreSQL can store: no NUL character, no unpaired UTF-16 surrogate (which JSON
    escapes such as "\\ud83d" can produce, for example from a truncated emoji)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(NOT_UNICODE) from None
    return text


def blank_to_none(value: Any) -> Any:
    """Absent, as sloppy clients spell it: "" or whitespace."""
    return None if isinstance(value, str) and not value.strip() else value


def optional_text(value: Any) -> Any:
    """Absent, as sloppy clients spell it: "" or whitespace. Numbers become their text."""
    if isinstance(value, str):
        return storable_text(value.strip()) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


ClientTimestamp = Annotated[
    datetime,
    BeforeValidator(parse_client_timestamp),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "Unix time in seconds or milliseconds (number or numeric string), "
            "or an ISO 8601 date-time with a UTC offset.",
            "examples": [1728234567.89, "1728234567", "2025-10-06T17:09:27Z"],
        }
    ),
]

# The spellings the schema promises (uuid.UUID takes a few more: braces, urn:uuid:).
SESSION_ID_PATTERN = (
    r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$"
)
SessionId = Annotated[
    uuid.UUID,
    BeforeValidator(parse_session_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": SESSION_ID_PATTERN,
            "description": "A UUID, or an Unreal FGuid as 32 hexadecimal digits.",
            "examples": ["550e8400-e29b-41d4-a716-446655440000"],
        }
    ),
]

ClientEventId = Annotated[
    str | None,
    BeforeValidator(optional_text),
    WithJsonSchema(
        {
            "type": "string",
            "description": "The client's own id for the event, kept across retries so a retried "
            "event is stored once. A UUID/FGuid is stored as is; other strings (at most "
            "MAX_EVENT_ID_LENGTH characters) are hashed to a UUID.",
            "examples": ["7d444840-9dc0-11d1-b245-5ffdce74fad2"],
        }
    ),
]

OptionalLabel = Annotated[str | None, BeforeValidator(optional_text)]
"""customer_id, property_id, device_type: at most MAX_LABEL_LENGTH characters (checked by the
session service, since the limit is a setting)."""

OptionalSessionId = Annotated[SessionId | None, BeforeValidator(blank_to_none)]
OptionalClientTimestamp = Annotated[ClientTimestamp | None, BeforeValidator(blank_to_none)]

UtcDateTime = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.astimezone(UTC).isoformat(), return_type=str),
]
"""A response time, written as ISO 8601 in UTC with an explicit +00:00 offset."""


def problem_message(problem: Mapping[str, Any]) -> str:
    """A pydantic error's message without pydantic's "Value error, " prefix."""
    message = str(problem["msg"])
    return message.removeprefix("Value error, ")
