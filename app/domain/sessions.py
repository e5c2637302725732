"""Sessions as the database layer hands them over."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    """When the headset was last in use, in the session's clock: the latest of its start, its
    events and its end as the client reported it, never later than the server's time then."""
    end_reason: str | None
    duration_seconds: int | None
    clock_offset: timedelta | None
    """The headset's clock error (server - headset) learned from the first request about the
    session that carried sent_at; None until one did."""
    client_session_id: str | None
    """The id as the client first wrote it (an FGuid), when not the canonical UUID text."""
    local_time_rule: str | None
    """How the start's local time was read (sent_at, session_end, project_time_zone); None
    when it carried a UTC offset or was a Unix time."""
    created_at: datetime


@dataclass(frozen=True)
class ErasedCounts:
    sessions: int
    events: int
    rejected_events: int
    session_ids: tuple[UUID, ...] = ()


def customer_reference(project_id: UUID, customer_id: str) -> str:
    """How an erased customer is named wherever it must be remembered (the audit log, the
    suppression list): a hash that proves, when asked, that this id was erased, without
    keeping the id itself."""
    digest = hashlib.sha256(f"{project_id}:{customer_id}".encode()).hexdigest()
    return f"sha256:{digest}"
