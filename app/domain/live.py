"""What the live feed carries: a tour in progress as the project feed shows it, and one stored
event of a session as its feed sends it."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from app.domain.analytics import RoomDwell


@dataclass(frozen=True)
class LiveTour:
    """A tour as the project feed shows it: where the visitor is and what they did last."""

    id: UUID
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    last_activity_at: datetime
    current_room: str | None
    signal_type: str | None
    """The vocabulary type of the latest event that is neither a position nor a place."""
    signal_name: str | None
    signal_at: datetime | None


@dataclass(frozen=True)
class LiveEvent:
    """One stored event, with its place in the order its session's events were committed,
    already written as the JSON of its message (app.models.live.LiveEventMessage): PostgreSQL
    writes it, sparing the worker a parse and a serialization per event."""

    position: int
    message_json: str
    received_at: float
    """When its request arrived, in seconds since the epoch (to time its delivery)."""


@dataclass(frozen=True)
class LiveSessionState:
    """One session so far: its tour line, dwell per room and current room."""

    tour: LiveTour
    rooms: list[RoomDwell]
    dwell_seconds: Decimal
