"""Events on their way into the database, and the ones refused."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
"""No time a headset reports, once corrected, may be earlier than this."""


@dataclass(frozen=True)
class EventRow:
    """One validated event, ready to store; event_data is already serialized JSON text."""

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
