"""ASGI middleware: request ids, request logs and metrics, trailing slashes, request body
limits."""

import json
import logging
import os
import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import metrics
from app.observability.logging import request_id_var
from app.services.access import keys

logger = logging.getLogger("nexero.request")

REQUEST_ID_HEADER = b"x-request-id"
CLIENT_CLOSED_REQUEST = 499
# RFC 9110: x-gzip is to be read as gzip.
GZIP_ENCODINGS = (b"gzip", b"x-gzip")
ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


async def send_json(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class DecompressedTooLargeError(Exception):
    pass


def gunzip(data: bytes, *, limit: int) -> bytes:
    """Decompress a gzip body (one or more members) without ever holding more than `limit`
    bytes of output: a decompression bomb stops at the cap. ValueError says what is wrong."""
    output = bytearray()
    remaining = data
    while remaining:
        decompressor = zlib.decompressobj(wbits=31)
        try:
            output += decompressor.decompress(remaining, limit + 1 - len(output))
        except zlib.error:
            raise ValueError("not valid gzip") from None
        if len(output) > limit or decompressor.unconsumed_tail:
            raise DecompressedTooLargeError
        if not decompressor.eof:
            raise ValueError("truncated gzip")
        remaining = decompressor.unused_data
    return bytes(output)


class RequestContextMiddleware:
    """Gives every request an id (the client's X-Request-ID, or a new one), echoes it on every
    response, logs one line per request without its body, and turns any unhandled error into
    a 500 that reveals nothing but the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        # 32 random hexadecimal digits, as uuid4().hex wrote them, without building a UUID.
        request_id = (
            incoming.decode() if ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        )
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        # 499 (nginx's "client closed request") unless a response is sent.
        status = CLIENT_CLOSED_REQUEST
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error")
            status = 500
            if not response_started:
                await send_json(
                    send_with_id, 500, {"detail": "Internal server error", "request_id": request_id}
                )
        finally:
            seconds = time.perf_counter() - started
            # The route's template, never the path: paths hold ids, and a mistyped one may
            # hold anything (an email).
            route = route_template(scope)
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "latency_ms": round(seconds * 1000, 2),
                    # The id of the API key that acted (set once it is verified), never the key.
                    "key_id": scope["state"].get("key_id"),
                },
            )
            metrics.request_series.observe(
                route=route, method=scope["method"], status=status, seconds=seconds
            )
            request_id_var.reset(token)


API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load their scripts, styles and fonts from these CDNs.
DOCS_CSP = (
    b"default-src 'self'; "
    b"script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    b"font-src 'self' https://fonts.gstatic.com; "
    b"img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    b"worker-src 'self' blob:; frame-ancestors 'none'"
)
PAGE_CSP = (
    b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    b"frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
PAGE_PATHS = ("/dashboard",)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeadersMiddleware:
    """Security headers on every response: no sniffing, no framing, no referrer; a Content-
    Security-Policy that lets JSON do nothing and pages only what they need; no caching of API
    answers (they hold customer data); HSTS when the deployment is behind HTTPS."""

    def __init__(self, app: ASGIApp, *, strict_transport_security: bool) -> None:
        self.app = app
        self.strict_transport_security = strict_transport_security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                added = [pair for pair in SECURITY_HEADERS if pair[0] not in present]
                if b"content-security-policy" not in present:
                    added.append((b"content-security-policy", _policy_for(path)))
                if path.startswith("/api/") and b"cache-control" not in present:
                    added.append((b"cache-control", b"no-store"))
                if self.strict_transport_security:
                    added.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message["headers"] = headers + added
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _policy_for(path: str) -> bytes:
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    if path.startswith(PAGE_PATHS):
        return PAGE_CSP
    return API_CSP


def route_template(scope: Scope) -> str:
    """The template of the route that served the request or, for one refused before routing
    (413, 415), of the route it was going to; "unmatched" when no route matches."""
    route = scope.get("route")
    if route is not None:
        return route.path
    app = scope.get("app")
    # FastAPI keeps included routers as wrappers: walk the routes they hold.
    for context in iter_route_contexts(app.router.routes if app is not None else []):
        path_regex = getattr(context, "path_regex", None)
        methods = context.methods
        if (
            path_regex is not None
            and path_regex.match(scope["path"])
            and (not methods or scope["method"] in methods)
        ):
            return context.path
    return "unmatched"


class TrailingSlashMiddleware:
    """`/path/` is served as `/path`. A redirect instead would make many HTTP clients resend a
    POST as a GET without its body, and the events would be lost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope["path"] = path.rstrip("/") or "/"
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class RawBodyRoute:
    """A route that takes raw bytes (an image), not JSON: its Content-Type kept, no UTF-8
    check, and up to `max_bytes` (the setting `limit_name`) for a caller holding `scope`. Other
    callers get the common limit: a key that may not upload cannot make a worker hold more."""

    method: str
    path: re.Pattern[str]
    max_bytes: int
    limit_name: str
    scope: keys.Scope


class RequestBodyMiddleware:
    """Caps request bodies on the wire and after gzip decompression (413), rejects unknown
    encodings (415), corrupt gzip and invalid UTF-8 (400). The app then sees a plain, bounded
    body, typed as JSON (the API takes nothing else), except on the raw-body routes (image
    uploads), which have their own limit and keep their bytes and type as sent."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_decompressed_bytes: int,
        raw_routes: Sequence[RawBodyRoute] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self.raw_routes = raw_routes

    def _raw_route(self, scope: Scope) -> RawBodyRoute | None:
        for route in self.raw_routes:
            if scope["method"] == route.method and route.path.fullmatch(scope["path"]):
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        raw_route = self._raw_route(scope)
        max_body_bytes, max_decompressed_bytes = self.max_body_bytes, self.max_decompressed_bytes
        limit_name = ""
        caller: keys.Caller | None = scope.get("state", {}).get("caller")
        if raw_route is not None and caller is not None and raw_route.scope in caller.scopes:
            max_body_bytes = max_decompressed_bytes = raw_route.max_bytes
            limit_name = f" ({raw_route.limit_name})"
        headers = dict(scope["headers"])
        encoding = headers.get(b"content-encoding", b"identity").strip().lower()
        if encoding != b"identity" and encoding not in GZIP_ENCODINGS:
            await send_json(send, 415, {"detail": "Content-Encoding must be gzip or identity"})
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            await self._too_large(send, "Request body", max_body_bytes, limit_name)
            return

        chunks: list[bytes] = []
        received = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_body_bytes:
                await self._too_large(send, "Request body", max_body_bytes, limit_name)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)

        if encoding in GZIP_ENCODINGS:
            try:
                body = gunzip(body, limit=max_decompressed_bytes)
            except DecompressedTooLargeError:
                await self._too_large(
                    send, "Decompressed request body", max_decompressed_bytes, limit_name
                )
                return
            except ValueError as error:
                await send_json(send, 400, {"detail": f"Request body is {error}"})
                return

        if raw_route is None:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as error:
                await send_json(
                    send, 400, {"detail": f"Request body is not valid UTF-8 (byte {error.start})"}
                )
                return

        # Updated in place, so that outer middleware sees what routing adds to the scope.
        scope["headers"] = [
            (name, value)
            for name, value in scope["headers"]
            if name not in (b"content-encoding", b"content-length")
        ] + [(b"content-length", str(len(body)).encode())]
        if body and raw_route is None:
            # The API takes nothing but JSON: a body is read as JSON whatever type the client
            # named (Blueprint plugins send text/plain or form types), so a body that is not
            # JSON gets "Invalid JSON" and the reason, not a puzzling type error.
            scope["headers"] = [
                (name, value) for name, value in scope["headers"] if name != b"content-type"
            ] + [(b"content-type", b"application/json")]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Send, what: str, limit: int, limit_name: str) -> None:
        await send_json(
            send, 413, {"detail": f"{what} exceeds the limit of {limit} bytes{limit_name}"}
        )
