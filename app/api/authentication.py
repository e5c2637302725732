"""API keys are checked before anything else of an /api/ request: its body is not read, parsed
or validated for a caller without a valid key, who gets 401 whatever the body holds."""

import uuid
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import nexero_error_response
from app.errors import NexeroError
from app.services.access.keys import KeyVerifier

API_PREFIX = "/api/"
# The one route an unchanged original Unreal client writes to; a project may take it keyless.
KEYLESS_ROUTE = ("POST", "/api/v1/unreal/session")
# The live streams, which a browser's EventSource opens with a stream token in the URL.
LIVE_PROJECT_PATH = "/api/v1/live"
LIVE_SESSION_PATH = ("/api/v1/sessions/", "/live")


def presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key in X-API-Key, else in `Authorization: Bearer` (read as FastAPI's security
    schemes read them, which the routes declare for /docs)."""
    api_key = authorization = b""
    for name, value in headers:
        if name == b"x-api-key" and not api_key:
            api_key = value
        elif name == b"authorization" and not authorization:
            authorization = value
    if api_key:
        return api_key.decode("latin-1")
    scheme, _, credentials = authorization.decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return None


class ApiKeyMiddleware:
    """Authenticates the key of every /api/ request and leaves the Caller in the request's
    state, where the routes' scope checks (app.api.deps.RequireScope) find it. Placed before
    the body middleware: no key, no 400, 413, 415 or 422, only 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        verifier: KeyVerifier = scope["app"].state.key_verifier
        key = presented_key(scope["headers"])
        try:
            token = stream_token(scope) if key is None else None
            if token is not None:
                caller = scope["app"].state.stream_tokens.verify(
                    token.text, session_id=token.session_id
                )
            elif key is None and _is_keyless_route(scope):
                caller = await verifier.keyless_caller(client_address(scope))
            else:
                caller = await verifier.authenticate(key)
        except NexeroError as error:
            response = nexero_error_response(Request(scope), error)
            await response(scope, receive, send)
            return
        scope["state"]["caller"] = caller
        # For the request log: which key acted (its id, never the key).
        scope["state"]["key_id"] = str(caller.key_id)
        await self.app(scope, receive, send)


def client_address(scope: Scope) -> str:
    """The client's address (Railway's proxy forwards it; uvicorn trusts it there)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


class PresentedToken:
    def __init__(self, text: str, session_id: uuid.UUID | None) -> None:
        self.text = text
        self.session_id = session_id


def stream_token(scope: Scope) -> PresentedToken | None:
    """The stream token of a GET of a live stream (?token=), with the session it opens."""
    if scope["method"] != "GET" or b"token=" not in scope.get("query_string", b""):
        return None
    path = scope["path"].rstrip("/")
    session_id = None
    if path != LIVE_PROJECT_PATH:
        start, end = LIVE_SESSION_PATH
        if not (path.startswith(start) and path.endswith(end)):
            return None
        try:
            session_id = uuid.UUID(path[len(start) : -len(end)])
        except ValueError:
            return None
    values = parse_qs(scope["query_string"].decode("latin-1")).get("token")
    return PresentedToken(values[0], session_id) if values else None


def _is_keyless_route(scope: Scope) -> bool:
    return (scope["method"], scope["path"].rstrip("/")) == KEYLESS_ROUTE
