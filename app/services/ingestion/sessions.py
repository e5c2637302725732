"""Session lifecycle: start, complete, end, heartbeat, status, and the inactivity timeout."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.config import Settings
from app.db.database import Database
from app.domain.access import DEFAULT_PROJECT_ID
from app.domain.sessions import SessionRecord, customer_reference
from app.errors import ConflictError, ErasedError, FieldProblem, InvalidInputError, NotFoundError
from app.models.unreal import CompleteSessionRequest, SessionEndRequest, SessionStartRequest
from app.services.ingestion.clock import ImplausibleTimeError, RequestClock
from app.services.ingestion.local_times import request_clock
from app.stores import sessions as session_store
from app.stores.erasures import ErasureStore
from app.stores.pending import PendingStore
from app.stores.sessions import SessionStore

SESSION_NOT_FOUND = "Session not found"
# Ids derived from an Idempotency-Key (one namespace per endpoint, so a key reused on the other
# endpoint names another session) or from a complete session's own content.
START_KEY_NAMESPACE = uuid.UUID("2b8c5d0e-4f1a-5c3b-8e7d-9a0b1c2d3e4f")
COMPLETE_KEY_NAMESPACE = uuid.UUID("5d1e7a2b-3c4f-5a6b-9c8d-0e1f2a3b4c5d")
COMPLETE_CONTENT_NAMESPACE = uuid.UUID("8a7b6c5d-4e3f-5a1b-8c2d-3e4f5a6b7c8d")
IDENTITY_FIELDS = ("customer_id", "property_id", "device_type")


@dataclass(frozen=True)
class SessionStatus:
    session: SessionRecord
    duration_so_far: float | None


class SessionService:
    """The sessions of one project (the caller's)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        project_id: uuid.UUID,
        default_labels: dict[str, str] | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id
        self._default_labels = default_labels or {}

    async def start(
        self, request: SessionStartRequest, *, idempotency_key: str | None = None
    ) -> SessionRecord:
        """Open a session. Repeating a start with the same session id (or Idempotency-Key)
        returns that session."""
        session_id = request.session_id or (
            derived_session_id(START_KEY_NAMESPACE, idempotency_key, project_id=self._project_id)
            if idempotency_key
            else uuid.uuid4()
        )
        clock = await self._clock(request, times=[request.session_start])
        return await self._create(request, session_id=session_id, clock=clock, ended_at=None)

    async def create_complete(
        self, request: CompleteSessionRequest, *, idempotency_key: str | None = None
    ) -> SessionRecord:
        """Record a whole session at once (the original client's legacy call). Without a
        session id or Idempotency-Key, the session's own content identifies it, so the legacy
        client's retries are safe too."""
        session_id = _complete_session_id(request, idempotency_key, project_id=self._project_id)
        clock = await self._clock(
            request, times=[request.session_start], session_end=request.session_end
        )
        ended_at = _server_time(clock, request.session_end, "session_end")
        return await self._create(request, session_id=session_id, clock=clock, ended_at=ended_at)

    async def _clock(
        self,
        request: SessionStartRequest | SessionEndRequest,
        *,
        times: list[datetime],
        session_end: datetime | None = None,
    ) -> RequestClock:
        return await request_clock(
            self._database,
            self._settings,
            self._project_id,
            times=times,
            sent_at=request.sent_at,
            session_end=session_end,
        )

    async def _create(
        self,
        request: SessionStartRequest,
        *,
        session_id: uuid.UUID,
        clock: RequestClock,
        ended_at: datetime | None,
    ) -> SessionRecord:
        request = self._with_default_labels(request)
        self._check_label_lengths(request)
        started_at = _server_time(clock, request.session_start, "session_start")
        if ended_at is not None and ended_at < started_at:
            raise InvalidInputError.single(
                "body", "session_end", msg="must not be before session_start"
            )
        reference = (
            customer_reference(self._project_id, request.customer_id)
            if request.customer_id
            else None
        )
        # The common case in one statement, outside a transaction: a new session (not for an
        # erased customer or session).
        async with self._database.connection() as connection:
            created = await SessionStore(connection, self._project_id).insert(
                session_id=session_id,
                customer_reference=reference,
                started_at=started_at,
                ended_at=ended_at,
                customer_id=request.customer_id,
                property_id=request.property_id,
                device_type=request.device_type,
                clock_offset=clock.measured_offset,
                client_session_id=_differently_written(request.session_id_as_sent, session_id),
                local_time_rule=clock.local.rule if clock.local else None,
            )
        if created is not None:
            session, events_waiting = created
            if events_waiting:
                await self._claim_pending_events(session)
            return session
        # An erased customer or session (refused and counted), a retry, a later call about
        # the same session, or a conflict: decided under a lock.
        await refuse_if_erased(
            self._database, self._project_id, reference=reference, session_id=session_id
        )
        async with self._database.transaction() as connection:
            store = SessionStore(connection, self._project_id)
            existing = await store.get(session_id, for_update=True)
            if existing is None:
                # The id is another project's: say it is taken, and nothing about that session.
                raise ConflictError(f"session_id {session_id} is already in use; send another id")
            _ensure_same_identity(existing, request)
            existing = await _adopt_clock_offset(store, existing, clock)
            if _adds_labels(existing, request):
                existing = session_or_404(
                    await store.fill_labels(
                        session_id,
                        customer_id=request.customer_id,
                        property_id=request.property_id,
                        device_type=request.device_type,
                    )
                )
            if ended_at is None or existing.end_reason == "client":
                return existing
            # A complete-session call for a session opened by /session/start ends it.
            return await _end_locked(store, existing, request.session_end, clock)

    async def _claim_pending_events(self, session: SessionRecord) -> None:
        """Events sent for this session before it existed (answered 404, and kept) become its
        events now."""
        async with self._database.transaction() as connection:
            await PendingStore(connection, self._project_id).attach(session.id)

    def _with_default_labels(self, request: SessionStartRequest) -> SessionStartRequest:
        """The request with the key's default labels where it has none."""
        missing = {
            label: value
            for label, value in self._default_labels.items()
            if getattr(request, label) is None
        }
        return request.model_copy(update=missing) if missing else request

    def _check_label_lengths(self, request: SessionStartRequest) -> None:
        limit = self._settings.MAX_LABEL_LENGTH
        problems = [
            FieldProblem(loc=("body", field), msg=f"is longer than {limit} characters")
            for field in IDENTITY_FIELDS
            if len(getattr(request, field) or "") > limit
        ]
        if problems:
            raise InvalidInputError(problems)

    async def end(self, request: SessionEndRequest) -> SessionRecord:
        """Close a session. Ending twice returns the first result; a client end replaces a
        timeout, since the client knows better when the tour stopped."""
        clock = await self._clock(
            request, times=[request.session_end], session_end=request.session_end
        )
        _server_time(clock, request.session_end, "session_end")
        # The common case in one statement: an open (or timed-out) session ends.
        async with self._database.connection() as connection:
            ended = await SessionStore(connection, self._project_id).end(
                request.session_id,
                client_end=clock.as_utc(request.session_end),
                offset=clock.measured_offset,
                max_future=clock.max_future,
            )
        if ended is not None:
            return ended
        # Unknown, ended by the client already, an end before the start or implausible once
        # converted, or a first clock offset to adopt: find out which, under a lock.
        async with self._database.transaction() as connection:
            store = SessionStore(connection, self._project_id)
            session = await session_in_one_clock(store, request.session_id, clock)
            if session.end_reason == "client":
                return session
            return await _end_locked(store, session, request.session_end, clock)

    async def heartbeat(self, session_id: uuid.UUID) -> SessionRecord:
        """Record that the headset is still there: it keeps the session from timing out, and
        moves nothing else (its activity, and so its dwell, come from its events)."""
        async with self._database.connection() as connection:
            return session_or_404(
                await SessionStore(connection, self._project_id).mark_seen(session_id)
            )

    async def status(self, session_id: uuid.UUID) -> SessionStatus:
        """The session as stored and, while it is active, how long it has run so far."""
        async with self._database.connection() as connection:
            session = session_or_404(
                await SessionStore(connection, self._project_id).get(session_id)
            )
        running_for = None
        if session.status == "active":
            running_for = round((datetime.now(UTC) - session.started_at).total_seconds(), 3)
        return SessionStatus(session=session, duration_so_far=running_for)


async def close_inactive_sessions(database: Database, settings: Settings) -> int:
    """Close, as timed_out, the active sessions of every project silent for
    SESSION_TIMEOUT_MINUTES."""
    idle_for = timedelta(minutes=settings.SESSION_TIMEOUT_MINUTES)
    async with database.transaction() as connection:
        return await session_store.close_inactive_sessions(connection, idle_for=idle_for)


def session_or_404(session: SessionRecord | None) -> SessionRecord:
    """The session, or the contract's 404 when there is none."""
    if session is None:
        raise NotFoundError(SESSION_NOT_FOUND)
    return session


async def refuse_if_erased(
    database: Database,
    project_id: uuid.UUID,
    *,
    reference: str | None = None,
    session_id: uuid.UUID | None = None,
) -> None:
    """410 for a write about an erased customer (by reference) or one of its erased sessions,
    counted on the suppression list (committed, whatever the request does next)."""
    async with database.connection() as connection:
        erased = await ErasureStore(connection, project_id).refuse(
            reference=reference, session_id=session_id
        )
    if erased is not None:
        raise ErasedError()


async def session_in_one_clock(
    store: SessionStore, session_id: uuid.UUID, clock: RequestClock
) -> SessionRecord:
    """The session, locked for the rest of the transaction, in one clock with the request: if
    the request brings the first clock offset the session learns, it is adopted (and what was
    stored before moves with it, see SessionStore.adopt_clock_offset). 404 when there is no
    such session."""
    session = session_or_404(await store.get(session_id, for_update=True))
    return await _adopt_clock_offset(store, session, clock)


async def _adopt_clock_offset(
    store: SessionStore, session: SessionRecord, clock: RequestClock
) -> SessionRecord:
    if clock.measured_offset is None or session.clock_offset is not None:
        return session
    return await store.adopt_clock_offset(
        session,
        offset=clock.measured_offset,
        shift=clock.moves_earlier_times(session.started_at),
    )


async def _end_locked(
    store: SessionStore, session: SessionRecord, client_end: datetime, clock: RequestClock
) -> SessionRecord:
    """End a locked session at `client_end` in the session's clock; 422 if that is
    implausible or before its start."""
    offset = clock.offset_for(session.clock_offset)
    ended_at = _server_time(clock, client_end, "session_end", offset=offset)
    _ensure_not_before_start(ended_at, session)
    return session_or_404(
        await store.end(
            session.id,
            client_end=clock.as_utc(client_end),
            offset=clock.measured_offset,
            max_future=clock.max_future,
        )
    )


def _server_time(
    clock: RequestClock, client_time: datetime, field: str, *, offset: timedelta | None = None
) -> datetime:
    try:
        return clock.to_server_time(client_time, offset=offset)
    except ImplausibleTimeError as error:
        raise InvalidInputError.single("body", field, msg=str(error)) from None


def _ensure_not_before_start(ended_at: datetime, session: SessionRecord) -> None:
    if ended_at < session.started_at:
        started = session.started_at.isoformat()
        raise InvalidInputError.single(
            "body", "session_end", msg=f"must not be before the session's start ({started})"
        )


def _differently_written(as_sent: str | None, session_id: uuid.UUID) -> str | None:
    """The id as the client wrote it, when that is not the canonical UUID text."""
    return as_sent if as_sent is not None and as_sent != str(session_id) else None


def derived_session_id(namespace: uuid.UUID, name: str, *, project_id: uuid.UUID) -> uuid.UUID:
    """A session id derived from a key or content, distinct per project, so that two projects
    sending the same key never meet. The default project keeps the derivation of the time
    before projects, so that retries of sessions recorded then still find them."""
    if project_id == DEFAULT_PROJECT_ID:
        return uuid.uuid5(namespace, name)
    return uuid.uuid5(namespace, f"{project_id}|{name}")


def _complete_session_id(
    request: CompleteSessionRequest, idempotency_key: str | None, *, project_id: uuid.UUID
) -> uuid.UUID:
    """The client's id, else one derived from its Idempotency-Key, else from the session's own
    content as the client sent it (times before skew correction, so retries match)."""
    if request.session_id is not None:
        return request.session_id
    if idempotency_key:
        return derived_session_id(COMPLETE_KEY_NAMESPACE, idempotency_key, project_id=project_id)
    content = "|".join(
        str(part)
        for part in (
            request.session_start.isoformat(),
            request.session_end.isoformat(),
            *(getattr(request, field) for field in IDENTITY_FIELDS),
        )
    )
    return derived_session_id(COMPLETE_CONTENT_NAMESPACE, content, project_id=project_id)


def _adds_labels(existing: SessionRecord, request: SessionStartRequest) -> bool:
    return any(
        getattr(existing, field) is None and getattr(request, field) is not None
        for field in IDENTITY_FIELDS
    )


def _ensure_same_identity(existing: SessionRecord, request: SessionStartRequest) -> None:
    """A session id may be repeated (retries, a later complete-session call) but not reused for
    another customer, property or device. A label only one side has is no contradiction: the
    request leaves it out, or fills in what the session lacked."""
    for field in IDENTITY_FIELDS:
        requested, stored = getattr(request, field), getattr(existing, field)
        if requested is not None and stored is not None and requested != stored:
            raise ConflictError(
                f"session_id {existing.id} already belongs to a session with a different {field}"
            )
