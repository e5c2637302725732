"""Events on their way into the database, and the ones refused."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class EventRow:
    """One validated event, ready to store; event_data is already serialized JSON text."""

    event_id: UUID
    content_id: UUID
    """A hash of the event itself: equal for a retry, different for an event_id reused."""
    event_type: str
    timestamp: datetime
    client_timestamp: datetime
    event_data_json: str


@dataclass(frozen=True)
class Rejection:
    """An event that is not stored: its position in the request, why, and what was sent."""

    index: int
    reason: str
    payload_json: str
    field: str | None = None
