"""The live feed's messages (Server-Sent Events, each `data:` one of these as JSON) and the
stream token's request and answer (docs/dashboard.md, "Live")."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.domain.live import LiveSessionState, LiveTour
from app.models.analytics.sessions import RoomDwellResponse
from app.models.fields import UtcDateTime

TOUR_EXAMPLE = {
    "id": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "customer_id": "cust-42",
    "property_id": "villa-7",
    "device_type": "quest-3",
    "status": "active",
    "started_at": "2026-12-02T14:30:00Z",
    "ended_at": None,
    "last_activity_at": "2026-12-02T14:41:12Z",
    "current_room": "Kitchen",
    "signal_type": "unit_selection",
    "signal_name": "Penthouse B",
    "signal_at": "2026-12-02T14:40:55Z",
}


class LiveTourResponse(BaseModel):
    """A tour as the project feed shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [TOUR_EXAMPLE]})

    id: UUID
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    status: Literal["active", "completed"]
    started_at: UtcDateTime
    ended_at: UtcDateTime | None
    last_activity_at: UtcDateTime = Field(
        description="Its end, or while it runs its latest activity (event or heartbeat)."
    )
    current_room: str | None = Field(
        description="The place of its latest stay by the dwell rule (docs/events.md), read "
        "through the project's mapping; null before the first place event."
    )
    signal_type: str | None = Field(
        description="The vocabulary type of its latest event that is neither a position nor a "
        "place (a unit selection, a POI visit, ...)."
    )
    signal_name: str | None = Field(description="What that signal names (the unit, the POI).")
    signal_at: UtcDateTime | None

    @classmethod
    def of(cls, tour: LiveTour) -> "LiveTourResponse":
        return cls.model_validate(tour, from_attributes=True)


class LiveToursMessage(BaseModel):
    """`event: tours`: every tour in progress (LIVE_TOURS_MAX at most), sent first and after
    each reconnection; then `event: tour` messages replace one tour each."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"server_time": "2026-12-02T14:41:13Z", "tours": [TOUR_EXAMPLE]}]
        }
    )

    server_time: UtcDateTime
    tours: list[LiveTourResponse]


class LiveEventMessage(BaseModel):
    """`event: tour_event`, `id:` its position: one stored event, as stored, in the order its
    session's events were committed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "position": 90211,
                    "event_id": "0b6f3a52-8f1e-4a43-9a57-3c2d1e0f9a8b",
                    "event_type": "POI",
                    "kind": "poi_visit",
                    "timestamp": "2026-12-02T14:40:55Z",
                    "received_at": "2026-12-02T14:40:55.210Z",
                    "event_data": {"POI": "Balcony", "Duration": 12},
                }
            ]
        }
    )

    position: int = Field(description="Its place in the session's commit order (the SSE id).")
    event_id: UUID
    event_type: str = Field(description="As the client sent it.")
    kind: str | None = Field(
        description="What the project's mapping makes of it (null: no figure reads it)."
    )
    timestamp: UtcDateTime
    received_at: UtcDateTime | None = Field(description="When the server received it.")
    event_data: Any


class LiveSessionMessage(BaseModel):
    """`event: state`: the session so far, sent first and after every change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tour": TOUR_EXAMPLE,
                    "rooms": [{"room": "Kitchen", "dwell_seconds": 95.5, "visits": 2}],
                    "dwell_seconds": 95.5,
                    "server_time": "2026-12-02T14:41:13Z",
                }
            ]
        }
    )

    tour: LiveTourResponse
    rooms: list[RoomDwellResponse] = Field(description="Dwell so far per place, longest first.")
    dwell_seconds: float = Field(description="Dwell so far in every place together.")
    server_time: UtcDateTime

    @classmethod
    def of(cls, state: LiveSessionState, *, server_time: Any) -> "LiveSessionMessage":
        return cls(
            tour=LiveTourResponse.of(state.tour),
            rooms=[RoomDwellResponse.of(room) for room in state.rooms],
            dwell_seconds=state.dwell_seconds,
            server_time=server_time,
        )


class StreamTokenRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"session_id": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}]},
    )

    session_id: UUID | None = Field(
        default=None,
        description="Good for this session's stream only; omitted: for the project feed and "
        "every session's stream.",
    )


class StreamTokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "nxl_eyJrIjoi...Q.3q2-7w",
                    "expires_at": "2026-12-02T14:42:13Z",
                    "expires_in_seconds": 60,
                }
            ]
        }
    )

    token: str = Field(
        description="Pass as ?token= to GET /api/v1/live or /api/v1/sessions/{id}/live. Read "
        "scope, live routes only, short-lived: never a key in a URL."
    )
    expires_at: UtcDateTime = Field(description="Opening a stream after this is a 401.")
    expires_in_seconds: float
