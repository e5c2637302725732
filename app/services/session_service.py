"""Session lifecycle: start, complete, end, heartbeat, status, and the inactivity timeout."""

import uuid
from datetime import datetime, timedelta

from app.config import Settings
from app.core.database import Database
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.session_store import SessionRecord, SessionStore
from app.models.unreal import CompleteSessionRequest, SessionEndRequest, SessionStartRequest
from app.services.clock import ImplausibleTimeError, RequestClock

SESSION_NOT_FOUND = "Session not found"
IDEMPOTENCY_NAMESPACE = uuid.UUID("2b8c5d0e-4f1a-5c3b-8e7d-9a0b1c2d3e4f")
IDENTITY_FIELDS = ("customer_id", "property_id", "device_type")


class SessionService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings

    async def start(
        self, request: SessionStartRequest, *, idempotency_key: str | None = None
    ) -> SessionRecord:
        """Open a session. Repeating a start with the same session id returns that session."""
        clock = RequestClock.now(self._settings, sent_at=request.sent_at)
        return await self._create(
            request, clock=clock, ended_at=None, idempotency_key=idempotency_key
        )

    async def create_complete(
        self, request: CompleteSessionRequest, *, idempotency_key: str | None = None
    ) -> SessionRecord:
        """Record a whole session at once (the original client's legacy call)."""
        clock = RequestClock.now(self._settings, sent_at=request.sent_at)
        ended_at = _server_time(clock, request.session_end, "session_end")
        return await self._create(
            request, clock=clock, ended_at=ended_at, idempotency_key=idempotency_key
        )

    async def _create(
        self,
        request: SessionStartRequest,
        *,
        clock: RequestClock,
        ended_at: datetime | None,
        idempotency_key: str | None,
    ) -> SessionRecord:
        started_at = _server_time(clock, request.session_start, "session_start")
        if ended_at is not None and ended_at < started_at:
            raise InvalidInputError.single(
                "body", "session_end", msg="must not be before session_start"
            )
        session_id = request.session_id or _session_id_for(idempotency_key)
        async with self._database.transaction() as connection:
            store = SessionStore(connection)
            created = await store.insert(
                session_id=session_id,
                started_at=started_at,
                ended_at=ended_at,
                customer_id=request.customer_id,
                property_id=request.property_id,
                device_type=request.device_type,
            )
            if created is not None:
                return created
            existing = await store.get(session_id)
        if existing is None:  # deleted between the two statements
            raise ConflictError("Session was removed while being created; retry")
        _ensure_same_identity(existing, request)
        return existing

    async def end(self, request: SessionEndRequest) -> SessionRecord:
        """Close a session. Ending twice returns the first result; a client end replaces a
        timeout, since the client knows better when the tour stopped."""
        clock = RequestClock.now(self._settings, sent_at=request.sent_at)
        ended_at = _server_time(clock, request.session_end, "session_end")
        async with self._database.transaction() as connection:
            store = SessionStore(connection)
            session = found(await store.get(request.session_id, for_update=True))
            if session.end_reason == "client":
                return session
            if ended_at < session.started_at:
                started = session.started_at.isoformat()
                raise InvalidInputError.single(
                    "body", "session_end", msg=f"must not be before the session's start ({started})"
                )
            return found(await store.end(request.session_id, ended_at=ended_at))

    async def heartbeat(self, session_id: uuid.UUID) -> SessionRecord:
        """Record that the headset is still there."""
        async with self._database.transaction() as connection:
            return found(await SessionStore(connection).touch(session_id))

    async def status(self, session_id: uuid.UUID) -> SessionRecord:
        async with self._database.connection() as connection:
            return found(await SessionStore(connection).get(session_id))

    async def close_inactive_sessions(self) -> int:
        """Close, as timed_out, active sessions silent for SESSION_TIMEOUT_MINUTES."""
        idle_for = timedelta(minutes=self._settings.SESSION_TIMEOUT_MINUTES)
        async with self._database.transaction() as connection:
            return await SessionStore(connection).close_inactive(idle_for=idle_for)


def found(session: SessionRecord | None) -> SessionRecord:
    """The session, or the contract's 404."""
    if session is None:
        raise NotFoundError(SESSION_NOT_FOUND)
    return session


def _server_time(clock: RequestClock, client_time: datetime, field: str) -> datetime:
    try:
        return clock.to_server_time(client_time)
    except ImplausibleTimeError as error:
        raise InvalidInputError.single("body", field, msg=str(error)) from None


def _session_id_for(idempotency_key: str | None) -> uuid.UUID:
    """Without a client session id, an Idempotency-Key header still makes retries safe."""
    if idempotency_key:
        return uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key)
    return uuid.uuid4()


def _ensure_same_identity(existing: SessionRecord, request: SessionStartRequest) -> None:
    for field in IDENTITY_FIELDS:
        if getattr(existing, field) != getattr(request, field):
            raise ConflictError(
                f"session_id {existing.id} already belongs to a session with a different {field}"
            )
