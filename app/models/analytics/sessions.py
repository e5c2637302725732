"""Query parameter types and response shapes of the analytics API: sessions, their timelines
and events, and the list of properties. Durations and dwell are seconds (exact, as JSON
numbers); times are ISO 8601 UTC. The reports' shapes are in reports.py."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.domain.analytics import PropertySummary, RoomDwell, SessionRow, StoredEvent, TimelineEvent
from app.models.fields import UtcDateTime, storable_text
from app.models.periods import Period

Label = Annotated[str, AfterValidator(storable_text), Field(min_length=1, max_length=1000)]
ORDER_DESCRIPTION = "desc: newest first (the default); asc: oldest first."


class PeriodResponse(BaseModel):
    """The half-open period [from, to) the figures are about; null: unbounded."""

    model_config = ConfigDict(populate_by_name=True)

    start: UtcDateTime | None = Field(alias="from")
    end: UtcDateTime | None = Field(alias="to")

    @classmethod
    def of(cls, period: Period) -> "PeriodResponse":
        return cls(start=period.start, end=period.end)


class SessionResponse(BaseModel):
    id: UUID
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    status: Literal["active", "completed"]
    end_reason: Literal["client", "timed_out"] | None
    started_at: UtcDateTime
    ended_at: UtcDateTime | None
    last_activity_at: UtcDateTime = Field(
        description="When the headset was last in use (latest event or heartbeat)."
    )
    duration_seconds: float | None = Field(
        description="ended_at - started_at, exact to the microsecond; null while active."
    )
    client_session_id: str | None = Field(
        description="The id as the client wrote it (an Unreal FGuid), when that is not the "
        "canonical UUID text; null otherwise."
    )
    local_time_rule: Literal["sent_at", "session_end", "project_time_zone"] | None = Field(
        description="How the client's times without a UTC offset were read (docs/ingestion.md, "
        "Local times); null when they carried offsets or were Unix times."
    )

    @classmethod
    def of(cls, row: SessionRow) -> "SessionResponse":
        return cls.model_validate(row, from_attributes=True)


SESSION_EXAMPLE = {
    "id": "3f2b8c1e-7a4d-4e2b-9c1a-5d6e7f8a9b0c",
    "customer_id": "cust_0007",
    "property_id": "prop_002",
    "device_type": "Meta Quest 3",
    "status": "completed",
    "end_reason": "client",
    "started_at": "2025-03-04T14:02:11+00:00",
    "ended_at": "2025-03-04T14:19:40+00:00",
    "last_activity_at": "2025-03-04T14:19:33.412000+00:00",
    "duration_seconds": 1049.0,
    "client_session_id": "3F2B8C1E7A4D4E2B9C1A5D6E7F8A9B0C",
    "local_time_rule": None,
}


class SessionListResponse(BaseModel):
    sessions: list[SessionResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (same filters and order); null at the end."
    )
    limit: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"sessions": [SESSION_EXAMPLE], "next_cursor": "eyJrIjoic2Vzc2lv...", "limit": 50}
            ]
        }
    )


class PropertySummaryResponse(BaseModel):
    property_id: str
    sessions: int = Field(description="Sessions of the property started in the period.")
    unique_customers: int = Field(description="Distinct customer ids among those sessions.")
    last_session_at: UtcDateTime = Field(description="When the latest of those sessions started.")

    @classmethod
    def of(cls, row: PropertySummary) -> "PropertySummaryResponse":
        return cls.model_validate(row, from_attributes=True)


class PropertyListResponse(BaseModel):
    period: PeriodResponse
    properties: list[PropertySummaryResponse] = Field(
        description="By property id; sessions without a property are not listed."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page (same period); null at the end."
    )
    limit: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {"from": "2025-03-01T00:00:00+00:00", "to": None},
                    "properties": [
                        {
                            "property_id": "prop_002",
                            "sessions": 42,
                            "unique_customers": 17,
                            "last_session_at": "2025-03-09T17:40:12+00:00",
                        }
                    ],
                    "next_cursor": "eyJrIjoicHJvcGVydGllcyIsInYiOlsi...",
                    "limit": 50,
                }
            ]
        }
    )


class RoomDwellResponse(BaseModel):
    room: str = Field(description="The place: a room_view's room_name or a zone_enter's zone.")
    dwell_seconds: float
    visits: int = Field(description="Its room_view and zone_enter events.")

    @classmethod
    def of(cls, row: RoomDwell) -> "RoomDwellResponse":
        return cls(room=row.place, dwell_seconds=row.dwell_seconds, visits=row.visits)


class TimelineEntry(BaseModel):
    id: UUID = Field(description="The stored event's id.")
    event_id: UUID = Field(description="The client's event id (or the one derived for it).")
    event_type: str
    timestamp: UtcDateTime
    event_data: Any
    place: str | None = Field(description="For room_view and zone_enter: the place, trimmed.")
    dwell_seconds: float | None = Field(description="For room_view and zone_enter: its dwell.")
    dwell_source: Literal["explicit", "measured"] | None = Field(
        description="explicit: the event's own valid duration; measured: the time until the "
        "next place event, the session's end or its last activity."
    )

    @classmethod
    def of(cls, row: TimelineEvent) -> "TimelineEntry":
        source = None if row.explicit is None else ("explicit" if row.explicit else "measured")
        return cls(
            id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            timestamp=row.timestamp,
            event_data=row.event_data,
            place=row.place,
            dwell_seconds=row.dwell_seconds,
            dwell_source=source,
        )


class SessionDetailResponse(BaseModel):
    session: SessionResponse
    rooms: list[RoomDwellResponse] = Field(description="Dwell per place, longest first.")
    event_counts: dict[str, int] = Field(description="The session's events by type, as sent.")
    events_total: int
    events_not_understood: int = Field(
        description="Events of types no figure reads: neither in the vocabulary nor mapped "
        "(docs/events.md). They are stored, and count for nothing until a mapping reads them."
    )
    timeline: list[TimelineEntry] = Field(
        description="The session's events other than position samples, in order (timestamp, "
        "then storage order); place events carry their dwell."
    )
    timeline_total: int = Field(description="Events the full timeline has.")
    timeline_truncated: bool = Field(
        description="True when the timeline stops at ANALYTICS_TIMELINE_MAX_EVENTS: page "
        "through GET /api/v1/sessions/{id}/events for the rest."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session": SESSION_EXAMPLE,
                    "rooms": [
                        {"room": "Kitchen", "dwell_seconds": 96.5, "visits": 2},
                        {"room": "Living Room", "dwell_seconds": 61.25, "visits": 1},
                    ],
                    "event_counts": {"gaze": 14, "position": 1040, "room_view": 3},
                    "events_total": 1057,
                    "events_not_understood": 0,
                    "timeline": [
                        {
                            "id": "0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2",
                            "event_id": "0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2",
                            "event_type": "room_view",
                            "timestamp": "2025-03-04T14:02:14.250000+00:00",
                            "event_data": {"room_name": "Living Room"},
                            "place": "Living Room",
                            "dwell_seconds": 61.25,
                            "dwell_source": "measured",
                        }
                    ],
                    "timeline_total": 17,
                    "timeline_truncated": False,
                }
            ]
        }
    )


class EventResponse(BaseModel):
    id: UUID
    event_id: UUID
    event_type: str
    timestamp: UtcDateTime = Field(description="Server time (after clock-skew correction).")
    client_timestamp: UtcDateTime = Field(description="The time the headset sent.")
    received_at: UtcDateTime
    event_data: Any

    @classmethod
    def of(cls, row: StoredEvent) -> "EventResponse":
        return cls.model_validate(row, from_attributes=True)


class EventListResponse(BaseModel):
    session_id: UUID
    events: list[EventResponse]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    limit: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "3f2b8c1e-7a4d-4e2b-9c1a-5d6e7f8a9b0c",
                    "events": [
                        {
                            "id": "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
                            "event_id": "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
                            "event_type": "position",
                            "timestamp": "2025-03-04T14:02:12.101000+00:00",
                            "client_timestamp": "2025-03-04T14:02:12.101000+00:00",
                            "received_at": "2025-03-04T14:02:20.733182+00:00",
                            "event_data": {"x": 50.2, "y": 101.7, "z": 166.1},
                        }
                    ],
                    "next_cursor": "eyJrIjoiZXZlbnRz...",
                    "limit": 200,
                }
            ]
        }
    )
