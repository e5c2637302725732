"""What the analytics service answers: pages of sessions, events and properties, a session's
detail, a property report, leads, a customer summary, the overview and the funnel. Plain
values from the stores; the routers shape them into responses (app/models/analytics*.py)."""

from dataclasses import dataclass
from decimal import Decimal

from app.domain.analytics import (
    CustomerActivity,
    CustomerRoom,
    EventCounts,
    FunnelFigures,
    LeadPage,
    LeadRow,
    LeadRules,
    Overview,
    PropertySummary,
    PropertyTime,
    RankedName,
    RankedRoom,
    RoomDwell,
    SessionFigures,
    SessionRow,
    StoredEvent,
    TimelineEvent,
)
from app.models.periods import Period


@dataclass(frozen=True)
class SessionPage:
    sessions: list[SessionRow]
    next_cursor: str | None
    limit: int


@dataclass(frozen=True)
class SessionDetail:
    session: SessionRow
    rooms: list[RoomDwell]
    event_counts: EventCounts
    timeline: list[TimelineEvent]
    timeline_truncated: bool


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_cursor: str | None
    limit: int


@dataclass(frozen=True)
class PropertyPage:
    properties: list[PropertySummary]
    next_cursor: str | None
    limit: int


@dataclass(frozen=True)
class PropertyReport:
    property_id: str
    period: Period
    figures: SessionFigures
    rooms: list[RankedRoom]
    names: dict[str, list[RankedName]]
    """By kind: pois, views, gaze_targets, interactions, unit_selections."""
    event_counts: dict[str, int]
    events_not_understood: dict[str, int]
    """Of event_counts, the types no figure reads."""
    top: int


@dataclass(frozen=True)
class LeadsAnswer:
    page: LeadPage
    next_cursor: str | None
    limit: int
    rules: LeadRules


@dataclass(frozen=True)
class CustomerSummary:
    customer_id: str
    period: Period
    lead: LeadRow | None
    properties: list[PropertyTime]
    rooms: list[CustomerRoom]
    activity: CustomerActivity
    top: int
    rules: LeadRules


@dataclass(frozen=True)
class OverviewAnswer:
    period: Period
    previous: Period
    overview: Overview
    engaged_min_seconds: Decimal


@dataclass(frozen=True)
class FunnelAnswer:
    period: Period
    figures: FunnelFigures
    engaged_min_seconds: Decimal
    room_interest_min_seconds: Decimal
    high_intent_min_rooms: int
