"""Event ingestion: validate each event on its own, store the valid ones in one statement, and
account for every event: stored, duplicate, or rejected with its reason."""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from asyncpg.pgproto.pgproto import UUID as FastUUID
from pydantic import TypeAdapter, ValidationError

from app.config import Settings
from app.db.database import Database
from app.domain.events import EventRow, Rejection
from app.errors import FieldProblem, InvalidInputError, NotFoundError
from app.models.fields import parse_session_id, problem_message
from app.models.unreal import TrackingBatchRequest, TrackingEvent, TrackingEventRequest
from app.services.ingestion.clock import ImplausibleTimeError, RequestClock
from app.services.ingestion.event_data import (
    EventInvalidError,
    checked_canonical_json,
    event_data_object,
    rejection_of,
)
from app.services.ingestion.local_times import request_clock
from app.services.ingestion.sessions import (
    refuse_if_erased,
    session_in_one_clock,
    session_or_404,
)
from app.stores.events import EventStore, InsertOutcome
from app.stores.pending import PendingStore
from app.stores.sessions import SessionStore

CONTENT_ID_NAMESPACE = uuid.UUID("9e3f7a1c-2b4d-5f6e-8a9b-0c1d2e3f4a5b")
_CONTENT_ID_PREFIX = CONTENT_ID_NAMESPACE.bytes
CLIENT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-8d0b-5e7a-9c3f-1b2d4e6f8a90")
REUSED_EVENT_ID = "was already used in this session for a different event"


@dataclass(frozen=True)
class Fate:
    """What became of one event of a request."""

    kind: Literal["stored", "duplicate", "rejected"]
    reason: str = ""
    field: str | None = None


STORED = Fate("stored")
DUPLICATE = Fate("duplicate")


@dataclass(frozen=True)
class EventResult:
    event_id: uuid.UUID
    duplicate: bool
    received_at: datetime


@dataclass
class BatchResult:
    total: int
    received_at: datetime
    stored: int = 0
    duplicates: list[tuple[int, uuid.UUID]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.stored + len(self.duplicates)

    @property
    def success_rate(self) -> float:
        return round(100.0 * self.processed / self.total, 2) if self.total else 100.0


class TrackingService:
    """Event ingestion for the sessions of one project (the caller's), for one request: its
    id goes with every refusal recorded."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        project_id: uuid.UUID,
        request_id: str | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id
        self._request_id = request_id

    async def track_event(self, request: TrackingEventRequest) -> EventResult:
        """Store one event; 422 if it is invalid, reuses an event_id, or PostgreSQL refuses it
        (the last two are also kept in rejected_events, like a batch's)."""
        clock = await self._clock(request.sent_at, times=[request.timestamp])
        try:
            row = self._to_row(request, session_text=str(request.session_id), clock=clock)
        except EventInvalidError as error:
            raise InvalidInputError.single(
                "body", error.field or "event", msg=error.reason
            ) from None
        fate = (await self._store(request.session_id, [(0, row)], clock))[0][0]
        if fate.kind == "rejected":
            payload = request.model_dump(mode="json", exclude={"session_id", "sent_at"})
            await self._record_rejections(
                request.session_id,
                [rejection_of(0, payload, fate.reason, fate.field)],
                clock=clock,
            )
        if fate.kind == "rejected":
            loc = ("body", fate.field) if fate.field else ("body",)
            raise InvalidInputError([FieldProblem(loc=loc, msg=fate.reason)])
        return EventResult(
            event_id=row.event_id, duplicate=fate.kind == "duplicate", received_at=clock.received_at
        )

    async def track_batch(self, request: TrackingBatchRequest) -> BatchResult:
        """Store a batch. Invalid events never sink the others; each one not stored is recorded
        in rejected_events and reported by index."""
        limit = self._settings.MAX_BATCH_EVENTS
        if len(request.events) > limit:
            raise InvalidInputError.single(
                "body",
                "events",
                msg=f"at most {limit} events per batch, got {len(request.events)}",
            )
        events, fates = _validated_events(request.events, session_id=request.session_id)
        clock = await self._clock(
            request.sent_at, times=[event.timestamp for event in events.values()]
        )
        rows: dict[int, EventRow] = {}
        first_index_of: dict[uuid.UUID, int] = {}
        repeats: dict[int, int] = {}  # index -> index of the same event_id earlier in the batch
        session_text = str(request.session_id)
        for index, event in events.items():
            try:
                row = self._to_row(event, session_text=session_text, clock=clock)
            except EventInvalidError as error:
                fates[index] = Fate("rejected", error.reason, error.field)
                continue
            rows[index] = row
            if row.event_id in first_index_of:
                repeats[index] = first_index_of[row.event_id]
            else:
                first_index_of[row.event_id] = index

        firsts = [(index, row) for index, row in rows.items() if index not in repeats]
        first_fates, stored_content = await self._store(request.session_id, firsts, clock)
        fates |= first_fates
        for index, first_index in repeats.items():
            fates[index] = _fate_of_repeat(
                rows[index],
                first=rows[first_index],
                first_fate=fates[first_index],
                stored_content=stored_content,
            )
        result = _batch_result(request, fates, rows, received_at=clock.received_at)
        await self._record_rejections(request.session_id, result.rejections, clock=clock)
        return result

    async def _store(
        self, session_id: uuid.UUID, rows: Sequence[tuple[int, EventRow]], clock: RequestClock
    ) -> tuple[dict[int, Fate], dict[uuid.UUID, uuid.UUID | None]]:
        """Store the rows (and the session's activity, at the latest of their times): in one
        statement in the common case, else in a transaction. Returns each row's fate and the
        content stored under the ids that were not inserted; an unknown session is a 404."""
        latest = max((row.client_timestamp for _, row in rows), default=None)
        try:
            stored = await self._store_in_one_statement(session_id, rows, clock, active_at=latest)
            if stored is None:
                stored = await self._store_in_transaction(session_id, rows, clock, active_at=latest)
        except NotFoundError:
            await self._keep_pending(session_id, rows, clock)
            raise
        return stored

    async def _keep_pending(
        self, session_id: uuid.UUID, rows: Sequence[tuple[int, EventRow]], clock: RequestClock
    ) -> None:
        """Events for a session the project does not have (yet): the answer is the contract's
        404, and the events wait (up to PENDING_EVENTS_MAX_PER_PROJECT) for a session with this
        id, which takes them when it is created; if it was created meanwhile, it takes them
        now. Events for a session an admin erased are refused (410) instead, and counted."""
        await refuse_if_erased(self._database, self._project_id, session_id=session_id)
        async with self._database.transaction() as connection:
            pending = PendingStore(connection, self._project_id)
            await pending.keep(
                session_id,
                [row for _, row in rows],
                measured_offset=clock.measured_offset,
                received_at=clock.received_at,
                project_limit=self._settings.PENDING_EVENTS_MAX_PER_PROJECT,
            )
            await pending.attach(session_id)

    async def _store_in_one_statement(
        self,
        session_id: uuid.UUID,
        rows: Sequence[tuple[int, EventRow]],
        clock: RequestClock,
        *,
        active_at: datetime | None,
    ) -> tuple[dict[int, Fate], dict[uuid.UUID, uuid.UUID | None]] | None:
        """The fast path: the session's activity and every row in one statement, one round
        trip. None when that is not enough: PostgreSQL refused some row (then nothing was
        written), or the request brings the session its first clock offset."""
        async with self._database.connection() as connection:
            events = EventStore(connection, self._project_id)
            outcome = await events.insert_with_activity(
                session_id,
                [row for _, row in rows],
                received_at=clock.received_at,
                active_at=active_at,
                offset=clock.measured_offset,
                max_future=clock.max_future,
            )
            if outcome is None or outcome.needs_clock_offset:
                return None
            if not outcome.session_found:
                session_or_404(None)
            offset = clock.offset_for(outcome.session_clock_offset)
            return await _fates_after_insert(
                events, session_id, rows, outcome.stored, clock=clock, offset=offset
            )

    async def _record_rejections(
        self,
        session_id: uuid.UUID,
        rejections: Sequence[Rejection],
        *,
        clock: RequestClock,
    ) -> None:
        """Keep the events not stored, with their reasons, before the client hears of them."""
        if not rejections:
            return
        async with self._database.connection() as connection:
            await EventStore(connection, self._project_id).record_rejections(
                session_id,
                rejections,
                request_id=self._request_id,
                received_at=clock.received_at,
            )

    async def _store_in_transaction(
        self,
        session_id: uuid.UUID,
        rows: Sequence[tuple[int, EventRow]],
        clock: RequestClock,
        *,
        active_at: datetime | None,
    ) -> tuple[dict[int, Fate], dict[uuid.UUID, uuid.UUID | None]]:
        """The path when the one statement is not enough: in a transaction holding the
        session's lock, the session first adopts the clock offset the request brings, then the
        batch insert falls back to row by row if PostgreSQL refuses it, so only the rows it
        refuses are rejected."""
        async with self._database.transaction() as connection:
            sessions = SessionStore(connection, self._project_id)
            session = await session_in_one_clock(sessions, session_id, clock)
            await sessions.touch(session_id, active_at=active_at, offset=clock.measured_offset)
            events = EventStore(connection, self._project_id)
            offset = clock.offset_for(session.clock_offset)
            outcome = await events.insert(
                session_id,
                rows,
                received_at=clock.received_at,
                offset=offset,
                max_future=clock.max_future,
            )
            return await _fates_after_insert(
                events, session_id, rows, outcome, clock=clock, offset=offset
            )

    async def _clock(self, sent_at: datetime | None, *, times: list[datetime]) -> RequestClock:
        return await request_clock(
            self._database, self._settings, self._project_id, times=times, sent_at=sent_at
        )

    def _to_row(self, event: TrackingEvent, *, session_text: str, clock: RequestClock) -> EventRow:
        """The event as stored; `session_text` is its session's id as text (what the content
        hash reads), written once per request rather than once per event."""
        type_limit = self._settings.MAX_EVENT_TYPE_LENGTH
        if len(event.event_type) > type_limit:
            raise EventInvalidError("event_type", f"is longer than {type_limit} characters")
        event_data = event_data_object(event.event_data)
        event_data_json, size = checked_canonical_json(
            event_data, depth_limit=self._settings.MAX_EVENT_DATA_DEPTH
        )
        size_limit = self._settings.MAX_EVENT_DATA_BYTES
        if size > size_limit:
            raise EventInvalidError("event_data", f"is larger than {size_limit} bytes as JSON")
        try:
            clock.to_server_time(event.timestamp)
            client_timestamp = clock.as_utc(event.timestamp)
        except ImplausibleTimeError as error:
            raise EventInvalidError("timestamp", str(error)) from None
        content_id = content_id_of(
            f"{session_text}|{event.event_type}|{event.timestamp.isoformat()}|{event_data_json}"
        )
        return EventRow(
            event_id=self._client_event_id(event.event_id) or content_id,
            content_id=content_id,
            event_type=event.event_type,
            client_timestamp=client_timestamp,
            event_data_json=event_data_json,
        )

    def _client_event_id(self, text: str | None) -> uuid.UUID | None:
        """The client's event_id as a key: a UUID/FGuid as is, any other text hashed."""
        if text is None:
            return None
        id_limit = self._settings.MAX_EVENT_ID_LENGTH
        if len(text) > id_limit:
            raise EventInvalidError("event_id", f"is longer than {id_limit} characters")
        try:
            # asyncpg's UUID parses in C; what it takes (32 hexadecimal digits, dashes
            # anywhere) uuid.UUID reads as the same id, and uuid.UUID has the last word.
            return FastUUID(text)
        except ValueError:
            pass
        try:
            return uuid.UUID(text)
        except ValueError:
            return uuid.uuid5(CLIENT_ID_NAMESPACE, text)


def content_id_of(name: str) -> uuid.UUID:
    """uuid.uuid5(CONTENT_ID_NAMESPACE, name), bit for bit (the stored content hashes of
    retries sent across a deploy must match), without uuid.UUID's pure-Python constructor."""
    digest = bytearray(hashlib.sha1(_CONTENT_ID_PREFIX + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return FastUUID(bytes(digest))


async def _fates_after_insert(
    events: EventStore,
    session_id: uuid.UUID,
    rows: Sequence[tuple[int, EventRow]],
    outcome: InsertOutcome,
    *,
    clock: RequestClock,
    offset: timedelta,
) -> tuple[dict[int, Fate], dict[uuid.UUID, uuid.UUID | None]]:
    """What became of each row after an insert: stored, refused by PostgreSQL, implausible once
    converted with `offset`, or (its id was stored already) a retry or an id reused for a
    different event. Also returns the content stored under the ids that were not inserted."""
    if outcome.inserted_all:
        return dict.fromkeys((index for index, _ in rows), STORED), {}
    fates: dict[int, Fate] = {}
    not_inserted: list[tuple[int, EventRow]] = []
    for index, row in rows:
        if index in outcome.refused:
            fates[index] = Fate("rejected", outcome.refused[index])
        elif row.event_id in outcome.inserted_ids:
            fates[index] = STORED
        elif row.event_id in outcome.implausible_ids:
            fates[index] = Fate("rejected", _implausible(row, clock, offset), "timestamp")
        else:
            not_inserted.append((index, row))
    stored_content = await events.stored_content_ids(
        session_id, [row.event_id for _, row in not_inserted]
    )
    for index, row in not_inserted:
        fates[index] = _fate_against_stored(row, stored_content.get(row.event_id))
    return fates, stored_content


def _implausible(row: EventRow, clock: RequestClock, offset: timedelta) -> str:
    """Why the store found the row's time implausible once converted with the session's clock
    offset (the request's own times were checked before)."""
    try:
        clock.to_server_time(row.client_timestamp, offset=offset)
    except ImplausibleTimeError as error:
        return f"{error} once converted with the session's clock offset"
    return "is not a plausible time once converted with the session's clock offset"


EVENT_LIST = TypeAdapter(list[TrackingEvent])


def _validated_events(
    raw_events: list[Any], *, session_id: uuid.UUID
) -> tuple[dict[int, TrackingEvent], dict[int, Fate]]:
    """A batch's events by index, and the fates of those that are invalid. Validated in one
    pass when every event is valid (nearly always); else each on its own, so that one bad
    event is blamed alone, with the same reasons."""
    try:
        for raw_event in raw_events:
            if not isinstance(raw_event, dict):
                raise EventInvalidError(None, "event must be a JSON object")
            _check_session_id_matches(raw_event.get("session_id"), session_id)
        return dict(enumerate(EVENT_LIST.validate_python(raw_events))), {}
    except (EventInvalidError, ValidationError):
        pass
    events: dict[int, TrackingEvent] = {}
    fates: dict[int, Fate] = {}
    for index, raw_event in enumerate(raw_events):
        try:
            events[index] = _validated(raw_event, session_id=session_id)
        except EventInvalidError as error:
            fates[index] = Fate("rejected", error.reason, error.field)
    return events, fates


def _validated(raw_event: Any, *, session_id: uuid.UUID) -> TrackingEvent:
    """One event of a batch, checked on its own."""
    if not isinstance(raw_event, dict):
        raise EventInvalidError(None, "event must be a JSON object")
    _check_session_id_matches(raw_event.get("session_id"), session_id)
    try:
        return TrackingEvent.model_validate(raw_event)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        first_field = ".".join(str(part) for part in problems[0]["loc"]) or None
        if len(problems) == 1:
            reason = problem_message(problems[0])
        else:
            reason = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc'])}: {problem_message(problem)}"
                for problem in problems
            )
        raise EventInvalidError(first_field, reason) from None


def _check_session_id_matches(claimed: Any, session_id: uuid.UUID) -> None:
    """An event may repeat its batch's session_id, but not name another session."""
    if claimed is None or claimed == "":
        return
    try:
        matches = parse_session_id(claimed) == session_id
    except ValueError:
        matches = False
    if not matches:
        raise EventInvalidError("session_id", "differs from the batch's session_id")


def _fate_against_stored(row: EventRow, stored_content_id: uuid.UUID | None) -> Fate:
    """An event whose id is already stored: a retry if the content is the same (or unknown,
    for rows older than content hashes), else an id reused for a different event."""
    if stored_content_id is not None and stored_content_id != row.content_id:
        return Fate("rejected", REUSED_EVENT_ID, "event_id")
    return DUPLICATE


def _fate_of_repeat(
    row: EventRow,
    *,
    first: EventRow,
    first_fate: Fate,
    stored_content: dict[uuid.UUID, uuid.UUID | None],
) -> Fate:
    """A repeat of an event_id within one batch. The same event as the first occurrence shares
    its fate (a duplicate of it, if it was stored). Another event is compared with what is
    stored under the id, which the first occurrence may have put there."""
    if row.content_id == first.content_id:
        return first_fate if first_fate.kind == "rejected" else DUPLICATE
    if row.event_id in stored_content:
        return _fate_against_stored(row, stored_content[row.event_id])
    return Fate("rejected", REUSED_EVENT_ID, "event_id")


def _batch_result(
    request: TrackingBatchRequest,
    fates: dict[int, Fate],
    rows: dict[int, EventRow],
    *,
    received_at: datetime,
) -> BatchResult:
    result = BatchResult(total=len(request.events), received_at=received_at)
    not_stored = sorted(index for index, fate in fates.items() if fate.kind != "stored")
    result.stored = len(fates) - len(not_stored)
    for index in not_stored:
        fate = fates[index]
        if fate.kind == "duplicate":
            result.duplicates.append((index, rows[index].event_id))
        else:
            result.rejections.append(
                rejection_of(index, request.events[index], fate.reason, fate.field)
            )
    return result
