"""Dependencies that hand handlers what they need, built from what the lifespan set up.

All are `async def`, even those that never await: FastAPI runs a plain `def` dependency in a
thread, a hand-off that cost about a third of a single event's CPU. The services that every
ingest request builds take the database and settings from the app's state rather than through
dependencies of their own: each dependency FastAPI solves costs a request more than building
the service does (docs/performance.md)."""

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, Request

from app.api.authentication import client_address, presented_key
from app.config import Settings
from app.db.database import Database
from app.domain.events import Sender
from app.errors import ForbiddenError, RateLimitedError
from app.observability import metrics
from app.services.access.keys import AccessService, Caller, KeyVerifier, Scope
from app.services.access.rate_limiter import RateLimiter
from app.services.erasure import ErasureService
from app.services.health import HealthService
from app.services.ingestion.records import RecordService
from app.services.ingestion.sessions import SessionService
from app.services.ingestion.tracking import TrackingService
from app.services.mappings import MappingService


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.database


def request_id_of(request: Request) -> str | None:
    """The id RequestContextMiddleware gave this request."""
    return request.scope.get("state", {}).get("request_id")


async def get_request_id(request: Request) -> str | None:
    return request_id_of(request)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
RequestIdDep = Annotated[str | None, Depends(get_request_id)]


class RequireScope:
    """Check that the request's API key holds one of `scopes`, and spend a token of its rate
    limit for the first of them it holds. Hands out the Caller: authenticated already by
    ApiKeyMiddleware under /api/, authenticated here elsewhere (/metrics). The schema's
    security requirements are written by app.api.openapi, not declared here: a security
    dependency per scheme would run on every request for nothing."""

    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes

    async def __call__(self, request: Request) -> Caller:
        state = request.scope["state"]
        caller: Caller | None = state.get("caller")
        if caller is None:
            verifier: KeyVerifier = request.app.state.key_verifier
            caller = await verifier.authenticate(presented_key(request.scope["headers"]))
            # For the request log: which key acted (its id, never the key).
            state["key_id"] = str(caller.key_id)
        granted = next((scope for scope in self.scopes if scope in caller.scopes), None)
        if granted is None:
            needed = " or ".join(scope.value for scope in self.scopes)
            raise ForbiddenError(f"This API key lacks the {needed} scope")
        limiter: RateLimiter | None = request.app.state.rate_limiter
        if limiter is not None:
            try:
                await limiter.check(caller, granted)
            except RateLimitedError:
                metrics.rate_limited.labels(granted.value).inc()
                raise
        return caller


@cache
def require_scope(*scopes: Scope) -> RequireScope:
    """One checker per set of scopes: FastAPI runs a dependency once per request, so a route
    whose several dependencies need the same scope spends one rate-limit token, not several."""
    return RequireScope(*scopes)


IngestCallerDep = Annotated[Caller, Depends(require_scope(Scope.INGEST))]
ReadCallerDep = Annotated[Caller, Depends(require_scope(Scope.READ))]
AdminCallerDep = Annotated[Caller, Depends(require_scope(Scope.ADMIN))]


def session_service_for(*scopes: Scope) -> Callable[..., Awaitable[SessionService]]:
    async def build(
        request: Request, caller: Annotated[Caller, Depends(require_scope(*scopes))]
    ) -> SessionService:
        state = request.app.state
        return SessionService(
            state.database,
            state.settings,
            project_id=caller.project_id,
            default_labels=caller.default_labels,
        )

    return build


async def get_record_service(request: Request, caller: IngestCallerDep) -> RecordService:
    """The original client's records, of the sender making this request."""
    sender = Sender(
        key_id=None if caller.keyless else caller.key_id,
        client_address=client_address(request.scope),
    )
    state = request.app.state
    return RecordService(
        state.database, state.settings, project_id=caller.project_id, sender=sender
    )


async def get_tracking_service(request: Request, caller: IngestCallerDep) -> TrackingService:
    state = request.app.state
    return TrackingService(
        state.database,
        state.settings,
        project_id=caller.project_id,
        request_id=request_id_of(request),
    )


async def get_mapping_service(request: Request, caller: AdminCallerDep) -> MappingService:
    state = request.app.state
    return MappingService(state.database, state.settings, project_id=caller.project_id)


async def get_access_service(database: DatabaseDep) -> AccessService:
    return AccessService(database)


async def get_erasure_service(database: DatabaseDep) -> ErasureService:
    return ErasureService(database)


async def get_key_verifier(request: Request) -> KeyVerifier:
    return request.app.state.key_verifier


async def get_health_service(
    request: Request, database: DatabaseDep, settings: SettingsDep
) -> HealthService:
    return HealthService(database, settings, started_monotonic=request.app.state.started_monotonic)


# Session writes need the ingest scope; a session's status is readable with ingest (the VR
# client checking its own tours) or read.
SessionServiceDep = Annotated[SessionService, Depends(session_service_for(Scope.INGEST))]
SessionReaderDep = Annotated[SessionService, Depends(session_service_for(Scope.INGEST, Scope.READ))]
TrackingServiceDep = Annotated[TrackingService, Depends(get_tracking_service)]
AccessServiceDep = Annotated[AccessService, Depends(get_access_service)]
ErasureServiceDep = Annotated[ErasureService, Depends(get_erasure_service)]
KeyVerifierDep = Annotated[KeyVerifier, Depends(get_key_verifier)]
HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]
MappingServiceDep = Annotated[MappingService, Depends(get_mapping_service)]
RecordServiceDep = Annotated[RecordService, Depends(get_record_service)]
