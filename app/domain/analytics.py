"""What analytics questions are about (SessionScope) and what the analytics queries answer:
plain values, already counted and summed in PostgreSQL. Durations are exact decimals."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

SortOrder = Literal["asc", "desc"]


@dataclass(frozen=True)
class SessionScope:
    """Which sessions of a project a question is about (None: any)."""

    project_id: UUID
    session_id: UUID | None = None
    property_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    device_type: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    identified_customers_only: bool = False


@dataclass(frozen=True)
class SessionRow:
    id: UUID
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    status: str
    end_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    last_activity_at: datetime
    duration_seconds: Decimal | None
    """ended_at - started_at, exact; None while the session is open."""
    client_session_id: str | None
    """The id as the client wrote it, when not the canonical UUID text (an FGuid)."""
    local_time_rule: str | None


@dataclass(frozen=True)
class SessionKey:
    """Where a page of sessions stops: the last session's start and id."""

    started_at: datetime
    id: UUID


@dataclass(frozen=True)
class RoomDwell:
    place: str
    dwell_seconds: Decimal
    visits: int
    """Place events (room_view, zone_enter) of the place."""


@dataclass(frozen=True)
class EventCount:
    event_type: str
    """As the client sent it."""
    events: int
    kind: str | None
    """The vocabulary type these events count as; None when no figure reads them."""


@dataclass(frozen=True)
class EventCounts:
    by_type: list[EventCount]
    total: int
    story: int
    """Events other than position samples: the length of the full timeline."""
    not_understood: int
    """Events of types that no figure reads (neither vocabulary nor mapped)."""


@dataclass(frozen=True)
class TimelineEvent:
    id: UUID
    event_id: UUID
    event_type: str
    timestamp: datetime
    event_data: Any
    place: str | None
    dwell_seconds: Decimal | None
    explicit: bool | None


@dataclass(frozen=True)
class EventKey:
    """Where a page of events stops: the order of THE dwell rule (created_at may be NULL in
    rows older than the current schema; NULLs come last)."""

    timestamp: datetime
    created_at: datetime | None
    id: UUID


@dataclass(frozen=True)
class StoredEvent:
    id: UUID
    event_id: UUID
    event_type: str
    timestamp: datetime
    client_timestamp: datetime
    received_at: datetime
    created_at: datetime | None
    event_data: Any


@dataclass(frozen=True)
class PropertySummary:
    property_id: str
    sessions: int
    unique_customers: int
    """Distinct non-null customer ids."""
    last_session_at: datetime
    """When the property's latest session (of the scope) started."""


@dataclass(frozen=True)
class SessionFigures:
    sessions: int
    open_sessions: int
    unique_customers: int
    median_duration_seconds: Decimal | None
    mean_duration_seconds: Decimal | None


@dataclass(frozen=True)
class RankedRoom:
    place: str
    dwell_seconds: Decimal
    visits: int
    sessions: int
    dwell_per_session_seconds: Decimal
    rank_by_dwell: int
    rank_by_dwell_per_session: int
    rooms: int
    """How many rooms the whole ranking has (the rows returned may be fewer)."""


@dataclass(frozen=True)
class RankedName:
    kind: str
    name: str
    events: int
    sessions: int
    seconds: Decimal
    rank: int
    entries: int
    """How many names of this kind the whole ranking has."""


@dataclass(frozen=True)
class PeriodFigures:
    sessions: int
    unique_customers: int
    median_duration_seconds: Decimal | None
    engaged_sessions: int
    engaged_rate: Decimal | None


@dataclass(frozen=True)
class Change:
    absolute: Decimal | None
    relative: Decimal | None
    """(current - previous) / previous; None when the previous value is 0 or absent."""


@dataclass(frozen=True)
class Overview:
    current: PeriodFigures
    previous: PeriodFigures
    changes: dict[str, Change]


@dataclass(frozen=True)
class DayFigures:
    day: date
    sessions: int
    unique_customers: int
    engaged_sessions: int
    median_duration_seconds: Decimal | None


@dataclass(frozen=True)
class FunnelFigures:
    started: int
    engaged: int
    high_intent: int
    high_intent_by_unit_selection: int
    high_intent_by_rooms: int
    engaged_rate: Decimal | None
    """engaged / started; None without sessions."""
    high_intent_rate: Decimal | None
    """high_intent / engaged."""
    high_intent_rate_of_started: Decimal | None


@dataclass(frozen=True)
class LeadRow:
    customer_id: str
    sessions: int
    total_seconds: Decimal
    revisits: int
    rooms_of_interest: int
    properties: int
    first_session_at: datetime
    last_session_at: datetime
    sessions_points: Decimal
    time_points: Decimal
    revisits_points: Decimal
    rooms_points: Decimal
    score: Decimal
    tier: str


@dataclass(frozen=True)
class LeadPage:
    leads: list[LeadRow]
    total: int
    hot: int
    warm: int
    cold: int


@dataclass(frozen=True)
class LeadRules:
    """The lead score's settings, as exact decimals."""

    room_interest_min_seconds: Decimal
    sessions_target: Decimal
    time_target_seconds: Decimal
    revisits_target: Decimal
    rooms_target: Decimal
    sessions_weight: Decimal
    time_weight: Decimal
    revisits_weight: Decimal
    rooms_weight: Decimal
    hot_min_score: Decimal
    warm_min_score: Decimal


@dataclass(frozen=True)
class LeadKey:
    """Where a page of leads stops: the last lead's score and customer id."""

    score: Decimal
    customer_id: str


@dataclass(frozen=True)
class PropertyTime:
    property_id: str | None
    sessions: int
    open_sessions: int
    total_seconds: Decimal
    first_session_at: datetime
    last_session_at: datetime


@dataclass(frozen=True)
class CustomerRoom:
    property_id: str | None
    place: str
    dwell_seconds: Decimal
    sessions: int
    rooms: int


@dataclass(frozen=True)
class CustomerActivity:
    """What a customer did in their sessions, counted: the signals of intent beside the lead
    score (unit_selection, screenshot_taken and interaction events)."""

    unit_selections: int
    screenshots: int
    interactions: int
