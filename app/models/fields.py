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
# FDateTime::ToString(): 2025.10.14-18.22.31, with milliseconds when a format asks for them.
UNREAL_TIME_PATTERN = re.compile(
    r"^(\d{4})\.(\d{2})\.(\d{2})-(\d{2})\.(\d{2})\.(\d{2})(?:[.:](\d{1,6}))?$"
)
# The original Blueprint client's session summary: 02-Dec-2025, 2:30:00 pm.
HUMAN_TIME_PATTERN = re.compile(
    r"^(\d{1,2})-([A-Za-z]{3})-(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?$"
)
MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


def parse_client_timestamp(value: Any) -> datetime:
    """Unix seconds or milliseconds (number or numeric string), ISO 8601, Unreal's
    FDateTime::ToString() (`2025.10.14-18.22.31`) or the original client's human time
    (`02-Dec-2025, 2:30:00 pm`). A time with an offset (or a Unix time) comes back in UTC; one
    without comes back naive: a local time, converted by the service with the rule of
    docs/ingestion.md ("Local times")."""
    try:
        return _parse_client_timestamp(value)
    except OverflowError:
        raise ValueError("is out of range") from None


def _parse_client_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        raise ValueError("must be a Unix timestamp or a date-time, not a boolean")
    elif isinstance(value, int | float):
        moment = _from_unix(value)
    elif isinstance(value, str):
        moment = _from_text(value.strip())
    else:
        raise ValueError("must be a Unix timestamp (number or string) or a date-time string")
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC)


def _from_text(text: str) -> datetime:
    if NUMERIC_PATTERN.match(text):
        return _from_unix(float(text))
    unreal = UNREAL_TIME_PATTERN.match(text)
    if unreal:
        year, month, day, hour, minute, second, fraction = unreal.groups()
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            _microseconds(fraction),
        )
    human = HUMAN_TIME_PATTERN.match(text)
    if human:
        return _from_human(*human.groups())
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "must be a Unix timestamp (seconds or milliseconds), an ISO 8601 date-time, "
            f"Unreal's 2025.10.14-18.22.31 or 02-Dec-2025, 2:30:00 pm, got {text[:40]!r}"
        ) from None


def _microseconds(fraction: str | None) -> int:
    return int((fraction or "").ljust(6, "0")[:6])


def _from_human(
    day: str, month: str, year: str, hour: str, minute: str, second: str | None, half: str | None
) -> datetime:
    """The original client's `02-Dec-2025, 2:30:00 pm` (12-hour with am/pm, or 24-hour)."""
    hours = int(hour)
    if half is not None:
        if not 1 <= hours <= 12:
            raise ValueError(f"has hour {hours} with {half}: a 12-hour clock runs from 1 to 12")
        hours = hours % 12 + (12 if half.lower() == "pm" else 0)
    month_number = MONTHS.get(month.lower())
    if month_number is None:
        raise ValueError(f"has an unknown month {month!r} (Jan to Dec)")
    return datetime(int(year), month_number, int(day), hours, int(minute), int(second or 0))


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
            "an ISO 8601 date-time, Unreal's FDateTime::ToString() (2025.10.14-18.22.31) or "
            "02-Dec-2025, 2:30:00 pm. Times without a UTC offset are local: see "
            "docs/ingestion.md (Local times). Send text, not a Blueprint float: a float32 "
            "Unix time is off by up to a minute.",
            "examples": [
                1728234567.89,
                "1728234567",
                "2025-10-06T17:09:27Z",
                "2025.10.06-19.09.27",
                "06-Oct-2025, 7:09:27 pm",
            ],
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
