"""Request and response shapes of the Unreal Engine ingestion API (the original contract)."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from app.domain.sessions import SessionRecord
from app.models.fields import (
    ClientEventId,
    ClientTimestamp,
    OptionalClientTimestamp,
    OptionalLabel,
    OptionalSessionId,
    SessionId,
    UtcDateTime,
)

SENT_AT_DESCRIPTION = (
    "When the client sent this request, by its own clock. When it differs from the server's "
    "clock by more than the skew deadband, every timestamp in the request is shifted by that "
    "difference (see docs/ingestion.md)."
)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


def text_as_sent(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


SessionIdAsSent = Annotated[
    str | None,
    BeforeValidator(text_as_sent),
    Field(default=None, validation_alias="session_id", exclude=True),
    SkipJsonSchema(),
]
"""The session id exactly as the client wrote it (an FGuid, say), to answer it back that way."""


class SessionStartRequest(RequestModel):
    session_start: ClientTimestamp
    session_id: OptionalSessionId = Field(
        default=None,
        description="The client's own session id. Send it to make retries safe: a repeated "
        "start with the same id returns the same session. Answers give it back as sent.",
    )
    session_id_as_sent: SessionIdAsSent
    customer_id: OptionalLabel = None
    property_id: OptionalLabel = None
    device_type: OptionalLabel = None
    sent_at: OptionalClientTimestamp = Field(default=None, description=SENT_AT_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_start": 1728234567.89,
                    "customer_id": "cust_12345",
                    "property_id": "prop_villa_001",
                    "device_type": "Meta Quest 3",
                }
            ]
        }
    )


class CompleteSessionRequest(SessionStartRequest):
    session_end: ClientTimestamp

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_start": "1728234567",
                    "session_end": "1728234890",
                    "customer_id": "cust_12345",
                    "property_id": "prop_villa_001",
                    "device_type": "Meta Quest 3",
                }
            ]
        }
    )


class SessionEndRequest(RequestModel):
    session_id: SessionId
    session_id_as_sent: SessionIdAsSent
    session_end: ClientTimestamp
    sent_at: OptionalClientTimestamp = Field(default=None, description=SENT_AT_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "session_end": 1728234890.45,
                }
            ]
        }
    )


class TrackingEvent(RequestModel):
    """One event. In a batch each event is validated on its own."""

    event_type: str = Field(
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Letters, digits, '_', '.' or '-'; at most MAX_EVENT_TYPE_LENGTH (64).",
        examples=["room_view"],
    )
    timestamp: ClientTimestamp
    event_data: Any = Field(
        default=None,
        description="A JSON object (or a string holding one); at most 16 KiB as JSON and "
        "10 levels deep by default.",
    )
    event_id: ClientEventId = None


class TrackingEventRequest(TrackingEvent):
    session_id: SessionId
    session_id_as_sent: SessionIdAsSent
    sent_at: OptionalClientTimestamp = Field(default=None, description=SENT_AT_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "event_type": "room_view",
                    "timestamp": 1728234590.12,
                    "event_data": {
                        "room_name": "Living Room",
                        "duration": 15.5,
                        "position": {"x": 10.5, "y": 2.0, "z": 15.3},
                        "rotation": {"pitch": 0.0, "yaw": 90.0, "roll": 0.0},
                    },
                }
            ]
        }
    )


class TrackingBatchRequest(RequestModel):
    session_id: SessionId
    session_id_as_sent: SessionIdAsSent
    sent_at: OptionalClientTimestamp = Field(default=None, description=SENT_AT_DESCRIPTION)
    events: list[Annotated[Any, WithJsonSchema(TrackingEvent.model_json_schema())]] = Field(
        description="Events shaped like TrackingEvent. Each is validated on its own: invalid "
        "ones are listed in `errors` and the rest are stored.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "events": [
                        {
                            "event_type": "zone_enter",
                            "timestamp": 1728234590.12,
                            "event_data": {"zone_name": "kitchen"},
                        },
                        {
                            "event_type": "gaze",
                            "timestamp": 1728234592.34,
                            "event_data": {"target": "refrigerator", "duration": 2.5},
                        },
                        {
                            "event_type": "interaction",
                            "timestamp": 1728234595.67,
                            "event_data": {"object": "cabinet_door", "action": "open"},
                        },
                    ],
                }
            ]
        }
    )


SESSION_ID_AS_SENT = (
    "The session id, written as the client wrote it (an Unreal FGuid stays 32 hexadecimal "
    "digits); the canonical UUID text when the server made the id."
)


def shown_session_id(session: SessionRecord, *, as_sent: str | None) -> str:
    """The session id as the client wrote it in this request, else as it first wrote it, else
    the canonical UUID text."""
    return as_sent or session.client_session_id or str(session.id)


class SessionCreatedResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    session_id: str = Field(description=SESSION_ID_AS_SENT)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "message": "Session started successfully",
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                }
            ]
        }
    )


class CompleteSessionResponse(SessionCreatedResponse):
    duration_seconds: int
    received_at: UtcDateTime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "message": "Session data received and processed",
                    "session_id": "c9d4f604-7338-4095-90d8-bed0f81f6030",
                    "duration_seconds": 323,
                    "received_at": "2025-10-06T10:28:04.286073+00:00",
                }
            ]
        }
    )


class SessionEndResponse(SessionCreatedResponse):
    duration_seconds: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "message": "Session ended successfully",
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "duration_seconds": 323,
                }
            ]
        }
    )


class EventAcceptedResponse(BaseModel):
    status: Literal["received"] = "received"
    timestamp: UtcDateTime = Field(description="When the server stored the event.")
    event_id: UUID
    duplicate: bool = Field(description="True when this event was already stored (a retry).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "received",
                    "timestamp": "2025-10-06T17:09:27.412000+00:00",
                    "event_id": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                    "duplicate": False,
                }
            ]
        }
    )


class EventError(BaseModel):
    index: int = Field(description="Position of the event in the request's `events`.")
    field: str | None = Field(description="The offending field, when one is to blame.")
    reason: str


class DuplicateEvent(BaseModel):
    index: int
    event_id: UUID


class BatchAcceptedResponse(BaseModel):
    status: Literal["received"] = "received"
    total_events: int
    processed: int = Field(description="Events stored now or already stored by an earlier try.")
    failed: int
    success_rate: float = Field(description="processed / total_events, in percent.")
    timestamp: UtcDateTime
    errors: list[EventError]
    duplicates: list[DuplicateEvent]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "received",
                    "total_events": 3,
                    "processed": 3,
                    "failed": 0,
                    "success_rate": 100.0,
                    "timestamp": "2025-10-28T17:28:37.831141+00:00",
                    "errors": [],
                    "duplicates": [],
                }
            ]
        }
    )


class SessionStatusResponse(BaseModel):
    session_id: str = Field(description=SESSION_ID_AS_SENT)
    status: Literal["active", "completed"]
    started_at: UtcDateTime
    ended_at: UtcDateTime | None
    duration_seconds: int | None
    duration_so_far: float | None = Field(description="Seconds since start, while active.")
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    last_seen_at: UtcDateTime
    end_reason: Literal["client", "timed_out"] | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "status": "completed",
                    "started_at": "2025-10-28T17:28:30+00:00",
                    "ended_at": "2025-10-28T17:33:30+00:00",
                    "duration_seconds": 300,
                    "duration_so_far": None,
                    "customer_id": "cust_12345",
                    "property_id": "prop_villa_001",
                    "device_type": "Meta Quest 3",
                    "last_seen_at": "2025-10-28T17:33:30+00:00",
                    "end_reason": "client",
                }
            ]
        }
    )


class HeartbeatResponse(BaseModel):
    status: Literal["ok"] = "ok"
    session_id: str = Field(description=SESSION_ID_AS_SENT)
    last_seen_at: UtcDateTime = Field(
        description="When the server last heard of the session, in steps of 5 seconds."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "session_id": "550e8400-e29b-41d4-a716-446655440000",
                    "last_seen_at": "2025-10-06T17:12:05.000000+00:00",
                }
            ]
        }
    )
