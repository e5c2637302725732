"""The original Unreal client's records (docs/ingestion.md, "The original client"): each view,
POI or unit selection record it posts to POST /api/v1/unreal/session is kept as sent and
answered 201; the session summary it posts at the end claims its sender's records received in
its time, which then become the session's events, laid out on its timeline."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from app.config import Settings
from app.db.database import Database
from app.domain.events import Rejection, Sender, UnclaimedRecords, WaitingEvents
from app.domain.sessions import SessionRecord
from app.errors import InvalidInputError
from app.models.fields import parse_session_id, problem_message
from app.models.legacy import RECORD_EVENT_TYPES, RecordKind
from app.services.ingestion.event_data import (
    EventInvalidError,
    canonical_json,
    check_event_data,
    rejection_of,
)
from app.services.ingestion.sessions import refuse_if_erased
from app.stores.events import EventStore
from app.stores.legacy import LegacyStore, purge_legacy_records
from app.stores.pending import PendingStore, purge_pending_events
from app.stores.sessions import SessionStore


@dataclass(frozen=True)
class RecordReceipt:
    kind: RecordKind
    session: SessionRecord | None
    """The tour the record joined; None until a summary covers it."""
    duplicate: bool
    received_at: datetime


class RecordService:
    """The records of one sender (a project's key, or keyless, and a client address)."""

    def __init__(
        self, database: Database, settings: Settings, *, project_id: uuid.UUID, sender: Sender
    ) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id
        self._sender = sender

    async def receive(self, kind: RecordKind, record: dict[str, Any]) -> RecordReceipt:
        """Keep one record as sent; if the tour it belongs to is known (its session id, or a
        summary of its sender covering this moment), it joins it at once. A repeat of the
        sender's previous record within LEGACY_RECORD_REPEAT_SECONDS is a retry, kept once."""
        self._check_storable(record)
        session_id = _session_id_of(record)
        if session_id is not None:
            await refuse_if_erased(self._database, self._project_id, session_id=session_id)
        event_type = RECORD_EVENT_TYPES[kind]
        received_at = datetime.now(UTC)
        repeat_window = timedelta(seconds=self._settings.LEGACY_RECORD_REPEAT_SECONDS)
        async with self._database.transaction() as connection:
            store = LegacyStore(connection, self._project_id)
            sessions = SessionStore(connection, self._project_id)
            await store.lock_sender(self._sender)
            previous = await store.latest_record(self._sender)
            if (
                previous is not None
                and (previous.event_type, previous.record) == (event_type, record)
                and received_at - previous.received_at <= repeat_window
            ):
                joined = await sessions.get(previous.session_id) if previous.session_id else None
                return RecordReceipt(kind, joined, duplicate=True, received_at=received_at)
            await store.insert_record(
                self._sender,
                event_type=event_type,
                record=record,
                session_id=session_id,
                received_at=received_at,
            )
            tour = session_id or await store.covering_tour(self._sender, received_at=received_at)
            session = await sessions.get(tour) if tour is not None else None
            if session is not None:
                await self._lay_out(store, session, by_sender=session_id is None)
        return RecordReceipt(kind, session, duplicate=False, received_at=received_at)

    async def claim_for(self, session: SessionRecord) -> int:
        """A session summary arrived (or arrived again): its tour covers its start to its end,
        and claims the records of this sender received then, and those sent with its id.
        Returns how many became events now (0 for a repeat)."""
        async with self._database.transaction() as connection:
            store = LegacyStore(connection, self._project_id)
            await store.lock_sender(self._sender)
            return await self._lay_out(store, session, by_sender=True)

    async def _lay_out(self, store: LegacyStore, session: SessionRecord, *, by_sender: bool) -> int:
        await store.ensure_tour(
            session.id,
            self._sender,
            starts=session.started_at,
            ends=session.ended_at or session.last_activity_at,
            tolerance=timedelta(seconds=self._settings.LEGACY_LINK_TOLERANCE_SECONDS),
        )
        return await store.attach(session.id, sender=self._sender if by_sender else None)

    async def keep_refused(
        self, body: dict[str, Any], error: ValidationError, *, request_id: str | None
    ) -> None:
        """A body that is neither a session nor a record: kept in rejected_events with why,
        before the client hears its 422."""
        problems = error.errors(include_url=False)
        refused = Rejection(
            index=0,
            reason="; ".join(
                f"{'.'.join(map(str, problem['loc']))}: {problem_message(problem)}"
                for problem in problems
            ),
            payload_json=rejection_of(0, body, "").payload_json,
            field=".".join(map(str, problems[0]["loc"])) if problems else None,
        )
        async with self._database.connection() as connection:
            await EventStore(connection, self._project_id).record_rejections(
                None, [refused], request_id=request_id, received_at=datetime.now(UTC)
            )

    def _check_storable(self, record: dict[str, Any]) -> None:
        try:
            check_event_data(record, depth_limit=self._settings.MAX_EVENT_DATA_DEPTH)
            _, size = canonical_json(record)
        except EventInvalidError as error:
            raise InvalidInputError.single("body", msg=error.reason) from None
        limit = self._settings.MAX_EVENT_DATA_BYTES
        if size > limit:
            raise InvalidInputError.single("body", msg=f"is larger than {limit} bytes as JSON")


def _session_id_of(record: dict[str, Any]) -> uuid.UUID | None:
    value = record.get("session_id")
    if value is None or value == "":
        return None
    try:
        return parse_session_id(value)
    except ValueError as error:
        raise InvalidInputError.single("body", "session_id", msg=str(error)) from None


@dataclass(frozen=True)
class Unclaimed:
    """What waits for a session, in one project (at most `limit` rows of each list)."""

    records_total: int
    records: list[UnclaimedRecords]
    events_total: int
    events: list[WaitingEvents]


async def unclaimed(database: Database, project_id: uuid.UUID, *, limit: int) -> Unclaimed:
    """The original client's records no summary claimed yet, and events waiting for a session
    that does not exist (yet), read in one snapshot."""
    async with database.read_snapshot() as connection:
        records_total, records = await LegacyStore(connection, project_id).unclaimed(limit=limit)
        events_total, events = await PendingStore(connection, project_id).waiting(limit=limit)
    return Unclaimed(records_total, records, events_total, events)


async def purge_unclaimed(database: Database, settings: Settings) -> tuple[int, int]:
    """Forget what waited too long: records (laid out or never claimed by a summary) older
    than LEGACY_RECORD_RETENTION_HOURS, and events for unknown sessions older than
    PENDING_EVENT_RETENTION_HOURS. Returns how many of each were forgotten."""
    async with database.transaction() as connection:
        records = await purge_legacy_records(
            connection, older_than=timedelta(hours=settings.LEGACY_RECORD_RETENTION_HOURS)
        )
        events = await purge_pending_events(
            connection, older_than=timedelta(hours=settings.PENDING_EVENT_RETENTION_HOURS)
        )
    return records, events
