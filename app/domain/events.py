"""Events on their way into the database, and the ones refused."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID

EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
"""No time a headset reports, once corrected, may be earlier than this."""


class EventRow(NamedTuple):
    """One validated event, ready to store; event_data is already serialized JSON text. A
    named tuple: built once per event, for half a frozen dataclass's cost."""

    event_id: UUID
    content_id: UUID
    """A hash of the event itself: equal for a retry, different for an event_id reused."""
    event_type: str
    client_timestamp: datetime
    """The time the client sent; the store converts it to the server's clock."""
    event_data_json: str


@dataclass(frozen=True)
class Rejection:
    """An event that is not stored: its position in the request, why, and what was sent."""

    index: int
    reason: str
    payload_json: str
    field: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who sent one of the original client's records: its key (None: keyless) and address."""

    key_id: UUID | None
    client_address: str


@dataclass(frozen=True)
class UnclaimedRecords:
    """Records of one sender and type that no session summary has claimed yet."""

    key_id: UUID | None
    client_address: str
    event_type: str
    records: int
    first_received_at: datetime
    last_received_at: datetime


@dataclass(frozen=True)
class WaitingEvents:
    """Events sent for a session id the project does not have (yet)."""

    session_id: UUID
    events: int
    first_received_at: datetime
    last_received_at: datetime
