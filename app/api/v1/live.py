"""The live feed (docs/dashboard.md, "Live"): Server-Sent Events of the project's tours in
progress and of one tour's events as they are stored. Read scope; a browser's EventSource,
which cannot send headers, opens them with a short-lived stream token instead of its key."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from app.api.deps import ReadCallerDep, SettingsDep
from app.api.responses import ACCESS_ERRORS, BODY_ERRORS, UNAVAILABLE
from app.errors import InvalidInputError, NotFoundError
from app.models.fields import SessionId
from app.models.live import (
    LiveEventMessage,
    LiveSessionMessage,
    LiveTourResponse,
    LiveToursMessage,
    StreamTokenRequest,
    StreamTokenResponse,
)
from app.services.live.feed import LiveFeed
from app.services.live.hub import LiveHub
from app.services.live.tokens import StreamTokens

router = APIRouter(prefix="/api/v1", tags=["live"], responses=ACCESS_ERRORS | UNAVAILABLE)

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
TOKEN_QUERY = Query(
    description="A stream token from POST /api/v1/live/token, for clients that cannot send "
    "headers (EventSource); never put an API key here.",
)


# One Server-Sent Events message: `data` is one of the messages described, as JSON.
SSE_MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


def _stream_responses(*messages: type) -> dict[int | str, dict[str, Any]]:
    described = "; ".join(f"{message.__name__}: {message.__doc__.strip()}" for message in messages)
    return {
        200: {
            "description": f"text/event-stream. {described}",
            "content": {"text/event-stream": {"schema": SSE_MESSAGE_SCHEMA}},
        },
        429: {
            "description": "This key's rate limit for reads is spent, or it holds "
            "LIVE_STREAMS_PER_KEY streams open already: retry after Retry-After."
        },
    }


async def get_live_feed(request: Request, settings: SettingsDep, caller: ReadCallerDep) -> LiveFeed:
    hub: LiveHub | None = request.app.state.live_hub
    if hub is None:
        raise NotFoundError("The live feed is turned off (LIVE_ENABLED=false)")
    return LiveFeed(hub, settings, caller=caller)


LiveFeedDep = Annotated[LiveFeed, Depends(get_live_feed)]


def _stream(frames: Any) -> StreamingResponse:
    return StreamingResponse(frames, media_type="text/event-stream", headers=STREAM_HEADERS)


@router.post("/live/token", response_model=StreamTokenResponse, responses=BODY_ERRORS)
async def stream_token(
    request: Request,
    caller: ReadCallerDep,
    body: Annotated[StreamTokenRequest | None, Body()] = None,
) -> StreamTokenResponse:
    """A short-lived token that opens the live streams (read scope) without the key: for a
    browser's EventSource, which cannot send headers."""
    tokens: StreamTokens = request.app.state.stream_tokens
    issued = tokens.issue(caller, session_id=body.session_id if body else None)
    expires_at = datetime.fromtimestamp(issued.expires_at, UTC)
    return StreamTokenResponse(
        token=issued.token,
        expires_at=expires_at,
        expires_in_seconds=round(issued.expires_at - datetime.now(UTC).timestamp(), 3),
    )


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses=_stream_responses(LiveToursMessage, LiveTourResponse),
)
async def live_tours(
    feed: LiveFeedDep, token: Annotated[str | None, TOKEN_QUERY] = None
) -> StreamingResponse:
    """The project's tours in progress: `event: tours` (all of them, also after every
    reconnection), then `event: tour` (one tour's new line: room, signal, status) as events are
    stored through any worker."""
    return _stream(await feed.project_stream())


@router.get(
    "/sessions/{session_id}/live",
    response_class=StreamingResponse,
    responses=_stream_responses(LiveSessionMessage, LiveEventMessage)
    | {404: {"description": "No such session in this project."}},
)
async def live_session(
    session_id: Annotated[SessionId, Path()],
    feed: LiveFeedDep,
    token: Annotated[str | None, TOKEN_QUERY] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[
        int | None,
        Query(ge=0, description="Resume after this position (as the Last-Event-ID header)."),
    ] = None,
) -> StreamingResponse:
    """One tour: `event: state` (dwell so far per room, current room), then its events as
    stored (`event: tour_event`, `id:` the position), a new state after each change.
    Reconnecting with Last-Event-ID (or ?last_event_id=) resumes without gaps or repeats."""
    after = last_event_id
    if last_event_id_header is not None and last_event_id_header.strip():
        try:
            after = int(last_event_id_header)
        except ValueError:
            after = -1
        if after < 0:
            raise InvalidInputError.single(
                "header", "Last-Event-ID", msg="must be a position: a whole number, 0 or more"
            )
    return _stream(await feed.session_stream(session_id, last_event_id=after))
