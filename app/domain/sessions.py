"""Sessions as the database layer hands them over."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class SessionRecord:
    id: UUID
    started_at: datetime
    ended_at: datetime | None
    status: str
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    last_seen_at: datetime
    """Server time of the last request about the session: decides when it has gone silent."""
    last_activity_at: datetime
    """When the headset was last in use (latest event time or heartbeat)."""
    end_reason: str | None
    duration_seconds: int | None
    created_at: datetime


@dataclass(frozen=True)
class ErasedCounts:
    sessions: int
    events: int
    rejected_events: int
