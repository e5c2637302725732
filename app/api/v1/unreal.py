"""The Unreal Engine VR client's API: sessions and tracking events (the original contract)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.api.deps import (
    RecordServiceDep,
    RequestIdDep,
    SessionReaderDep,
    SessionServiceDep,
    TrackingServiceDep,
)
from app.api.responses import ACCESS_ERRORS, BODY_ERRORS, UNAVAILABLE
from app.api.v1 import ingestion_metrics
from app.errors import ErasedError, InvalidInputError
from app.models.fields import SessionId
from app.models.legacy import (
    RECORD_NAMES,
    PoiRecord,
    RecordReceivedResponse,
    UnitSelectionRecord,
    ViewRecord,
    record_kind,
)
from app.models.unreal import (
    BatchAcceptedResponse,
    CompleteSessionRequest,
    CompleteSessionResponse,
    DuplicateEvent,
    EventAcceptedResponse,
    EventError,
    HeartbeatResponse,
    SessionCreatedResponse,
    SessionEndRequest,
    SessionEndResponse,
    SessionStartRequest,
    SessionStatusResponse,
    TrackingBatchRequest,
    TrackingEventRequest,
    shown_session_id,
)
from app.services.ingestion.sessions import SessionStatus

router = APIRouter(prefix="/api/v1/unreal", tags=["unreal"], responses=ACCESS_ERRORS)

NOT_FOUND = {
    404: {
        "description": "Session not found",
        "content": {"application/json": {"example": {"detail": "Session not found"}}},
    }
}
CONFLICT = {409: {"description": "session_id reused for a different customer, property or device"}}
ERASED = {
    410: {
        "description": "The customer, or this session of theirs, was erased by an admin: "
        "refused for good (docs/security.md, Erasure). Drop the data; do not retry.",
        "content": {"application/json": {"example": {"detail": ErasedError.message}}},
    }
}


async def path_session_id(request: Request) -> str:
    """The session id of the path, as the client wrote it."""
    return request.path_params["session_id"].strip()


PathSessionIdDep = Annotated[str, Depends(path_session_id)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=255,
        description="Makes a start or complete-session call without a client session_id safe "
        "to retry: the same key on the same endpoint names the same session.",
    ),
]


# The legacy endpoint takes the documented complete-session body, and the original client's
# records, told apart by their keys (docs/unreal-client.md).
LEGACY_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    CompleteSessionRequest.model_json_schema(),
                    ViewRecord.model_json_schema(),
                    PoiRecord.model_json_schema(),
                    UnitSelectionRecord.model_json_schema(),
                ]
            }
        }
    },
}


@router.post(
    "/session",
    status_code=status.HTTP_201_CREATED,
    response_model=CompleteSessionResponse | RecordReceivedResponse,
    responses={**BODY_ERRORS, **CONFLICT, **ERASED, **UNAVAILABLE},
    openapi_extra={"requestBody": LEGACY_BODY},
)
async def receive_session(
    body: Annotated[dict[str, Any], Body()],
    service: SessionServiceDep,
    records: RecordServiceDep,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKey = None,
) -> CompleteSessionResponse | RecordReceivedResponse:
    """Record a complete session (start and end) in one call: the original client's format.
    The original client's view, POI and unit selection records are taken here too, told apart
    by their keys; its session summary then claims its records (docs/unreal-client.md)."""
    kind = record_kind(body)
    if kind is not None:
        receipt = await records.receive(kind, body)
        return RecordReceivedResponse(
            message=f"{RECORD_NAMES[kind]} received",
            record=kind,
            session_id=shown_session_id(receipt.session, as_sent=None) if receipt.session else None,
            duplicate=receipt.duplicate,
            received_at=receipt.received_at,
        )
    try:
        request = CompleteSessionRequest.model_validate(body)
    except ValidationError as error:
        await records.keep_refused(body, error, request_id=request_id)
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        ) from None
    session = await service.create_complete(request, idempotency_key=idempotency_key)
    await records.claim_for(session)
    ingestion_metrics.record_sessions(started=1, ended=1)
    return CompleteSessionResponse(
        message="Session data received and processed",
        session_id=shown_session_id(session, as_sent=request.session_id_as_sent),
        duration_seconds=session.duration_seconds or 0,
        received_at=session.created_at,
    )


@router.post(
    "/session/start",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionCreatedResponse,
    responses={**BODY_ERRORS, **CONFLICT, **ERASED, **UNAVAILABLE},
)
async def start_session(
    body: SessionStartRequest,
    service: SessionServiceDep,
    idempotency_key: IdempotencyKey = None,
) -> SessionCreatedResponse:
    """Open a session when the user enters VR. Retrying with the same session_id is safe."""
    session = await service.start(body, idempotency_key=idempotency_key)
    ingestion_metrics.record_sessions(started=1)
    return SessionCreatedResponse(
        message="Session started successfully",
        session_id=shown_session_id(session, as_sent=body.session_id_as_sent),
    )


@router.post(
    "/session/end",
    response_model=SessionEndResponse,
    responses={**BODY_ERRORS, **NOT_FOUND, **UNAVAILABLE},
)
async def end_session(body: SessionEndRequest, service: SessionServiceDep) -> SessionEndResponse:
    """Close a session when the user leaves VR. Ending twice returns the first result."""
    session = await service.end(body)
    ingestion_metrics.record_sessions(ended=1)
    return SessionEndResponse(
        message="Session ended successfully",
        session_id=shown_session_id(session, as_sent=body.session_id_as_sent),
        duration_seconds=session.duration_seconds or 0,
    )


@router.post(
    "/tracking/event",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventAcceptedResponse,
    responses={**BODY_ERRORS, **NOT_FOUND, **ERASED, **UNAVAILABLE},
)
async def track_event(
    body: TrackingEventRequest, service: TrackingServiceDep
) -> EventAcceptedResponse:
    """Store one event. 202 means it is committed; a retry of it is stored once."""
    try:
        result = await service.track_event(body)
    except InvalidInputError as error:
        ingestion_metrics.record_refused_event(error)
        raise
    ingestion_metrics.record_event(result)
    return EventAcceptedResponse(
        timestamp=result.received_at, event_id=result.event_id, duplicate=result.duplicate
    )


@router.post(
    "/tracking/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAcceptedResponse,
    responses={**BODY_ERRORS, **NOT_FOUND, **ERASED, **UNAVAILABLE},
)
async def track_batch(
    body: TrackingBatchRequest, service: TrackingServiceDep
) -> BatchAcceptedResponse:
    """Store a batch of events. Valid events are committed even when others are not; every
    event not stored is listed in `errors` by index with its reason."""
    result = await service.track_batch(body)
    ingestion_metrics.record_batch(result)
    return BatchAcceptedResponse(
        total_events=result.total,
        processed=result.processed,
        failed=len(result.rejections),
        success_rate=result.success_rate,
        timestamp=result.received_at,
        errors=[
            EventError(index=rejection.index, field=rejection.field, reason=rejection.reason)
            for rejection in result.rejections
        ],
        duplicates=[
            DuplicateEvent(index=index, event_id=event_id) for index, event_id in result.duplicates
        ],
    )


@router.get(
    "/session/{session_id}/status",
    response_model=SessionStatusResponse,
    responses={**NOT_FOUND, **UNAVAILABLE},
)
async def session_status(
    session_id: Annotated[SessionId, Path()], service: SessionReaderDep, as_sent: PathSessionIdDep
) -> SessionStatusResponse:
    """A session's state; while it is active, how long it has run so far."""
    return _status_response(await service.status(session_id), as_sent=as_sent)


@router.post(
    "/session/{session_id}/heartbeat",
    response_model=HeartbeatResponse,
    responses={**BODY_ERRORS, **NOT_FOUND, **UNAVAILABLE},
)
async def heartbeat(
    session_id: Annotated[SessionId, Path()], service: SessionServiceDep, as_sent: PathSessionIdDep
) -> HeartbeatResponse:
    """Tell the server the headset is still there, so the session is not timed out. It moves
    nothing else: the session's activity (and its measured stays) come from its events."""
    session = await service.heartbeat(session_id)
    return HeartbeatResponse(
        session_id=shown_session_id(session, as_sent=as_sent), last_seen_at=session.last_seen_at
    )


def _status_response(status: SessionStatus, *, as_sent: str) -> SessionStatusResponse:
    session = status.session
    return SessionStatusResponse(
        session_id=shown_session_id(session, as_sent=as_sent),
        status=session.status,
        started_at=session.started_at,
        ended_at=session.ended_at,
        duration_seconds=session.duration_seconds,
        duration_so_far=status.duration_so_far,
        customer_id=session.customer_id,
        property_id=session.property_id,
        device_type=session.device_type,
        last_seen_at=session.last_seen_at,
        end_reason=session.end_reason,
    )
