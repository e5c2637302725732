"""Event ingestion: validate each event on its own, store the valid ones in one statement, and
account for every event: stored, duplicate, or rejected with its reason."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from app.config import Settings
from app.core.database import Database
from app.core.errors import InvalidInputError
from app.core.event_store import EventRow, EventStore, Rejection
from app.core.session_store import SessionStore
from app.models.fields import NOT_UNICODE, problem_message
from app.models.unreal import TrackingBatchRequest, TrackingEvent, TrackingEventRequest
from app.services.clock import ImplausibleTimeError, RequestClock
from app.services.session_service import session_or_404

CONTENT_ID_NAMESPACE = uuid.UUID("9e3f7a1c-2b4d-5f6e-8a9b-0c1d2e3f4a5b")
CLIENT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-8d0b-5e7a-9c3f-1b2d4e6f8a90")


class EventInvalidError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


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
    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings

    async def track_event(
        self, request: TrackingEventRequest, *, request_id: str | None = None
    ) -> EventResult:
        """Store one event; 422 if it is invalid or PostgreSQL refuses it (a refusal is also
        kept in rejected_events, like a batch's)."""
        clock = RequestClock.now(self._settings, sent_at=request.sent_at)
        try:
            row = self._to_row(request, session_id=request.session_id, clock=clock)
        except EventInvalidError as error:
            raise InvalidInputError.single(
                "body", error.field or "event", msg=error.reason
            ) from None
        async with self._database.transaction() as connection:
            await _record_activity(SessionStore(connection), request.session_id)
            events = EventStore(connection)
            outcome = await events.insert(
                request.session_id, [(0, row)], received_at=clock.received_at
            )
            refusal = outcome.refused.get(0)
            if refusal is not None:
                await events.record_rejections(
                    request.session_id,
                    [_rejection(0, request.model_dump(mode="json"), refusal)],
                    request_id=request_id,
                    received_at=clock.received_at,
                )
        if refusal is not None:
            raise InvalidInputError.single("body", msg=refusal)
        return EventResult(
            event_id=row.event_id,
            duplicate=row.event_id not in outcome.inserted_ids,
            received_at=clock.received_at,
        )

    async def track_batch(
        self, request: TrackingBatchRequest, *, request_id: str | None = None
    ) -> BatchResult:
        """Store a batch. Invalid events never sink the others; each one not stored is recorded
        in rejected_events and reported by index."""
        limit = self._settings.MAX_BATCH_EVENTS
        if len(request.events) > limit:
            raise InvalidInputError.single(
                "body",
                "events",
                msg=f"at most {limit} events per batch, got {len(request.events)}",
            )
        clock = RequestClock.now(self._settings, sent_at=request.sent_at)
        result = BatchResult(total=len(request.events), received_at=clock.received_at)
        rows: list[tuple[int, EventRow]] = []
        first_index_of: dict[uuid.UUID, int] = {}
        # (index, index of the same event earlier in the batch, its event_id)
        repeats: list[tuple[int, int, uuid.UUID]] = []
        for index, raw_event in enumerate(request.events):
            try:
                row = self._raw_to_row(raw_event, session_id=request.session_id, clock=clock)
            except EventInvalidError as error:
                result.rejections.append(_rejection(index, raw_event, error.reason, error.field))
                continue
            if row.event_id in first_index_of:
                repeats.append((index, first_index_of[row.event_id], row.event_id))
                continue
            first_index_of[row.event_id] = index
            rows.append((index, row))

        async with self._database.transaction() as connection:
            await _record_activity(SessionStore(connection), request.session_id)
            events = EventStore(connection)
            outcome = await events.insert(request.session_id, rows, received_at=clock.received_at)
            for index, row in rows:
                if index in outcome.refused:
                    reason = outcome.refused[index]
                    result.rejections.append(_rejection(index, request.events[index], reason))
                elif row.event_id in outcome.inserted_ids:
                    result.stored += 1
                else:
                    result.duplicates.append((index, row.event_id))
            # A repeat within the batch shares the fate of its first occurrence.
            for index, first_index, event_id in repeats:
                if first_index in outcome.refused:
                    reason = outcome.refused[first_index]
                    result.rejections.append(_rejection(index, request.events[index], reason))
                else:
                    result.duplicates.append((index, event_id))
            await events.record_rejections(
                request.session_id,
                result.rejections,
                request_id=request_id,
                received_at=clock.received_at,
            )
        result.rejections.sort(key=lambda rejection: rejection.index)
        result.duplicates.sort()
        return result

    def _raw_to_row(
        self, raw_event: Any, *, session_id: uuid.UUID, clock: RequestClock
    ) -> EventRow:
        if not isinstance(raw_event, dict):
            raise EventInvalidError(None, "event must be a JSON object")
        try:
            event = TrackingEvent.model_validate(raw_event)
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
        return self._to_row(event, session_id=session_id, clock=clock)

    def _to_row(
        self, event: TrackingEvent, *, session_id: uuid.UUID, clock: RequestClock
    ) -> EventRow:
        type_limit = self._settings.MAX_EVENT_TYPE_LENGTH
        if len(event.event_type) > type_limit:
            raise EventInvalidError("event_type", f"is longer than {type_limit} characters")
        event_data = _event_data_object(event.event_data)
        depth_limit = self._settings.MAX_EVENT_DATA_DEPTH
        if _nesting_depth(event_data) > depth_limit:
            raise EventInvalidError("event_data", f"is nested more than {depth_limit} levels deep")
        event_data_json, size = _canonical_json(event_data)
        size_limit = self._settings.MAX_EVENT_DATA_BYTES
        if size > size_limit:
            raise EventInvalidError("event_data", f"is larger than {size_limit} bytes as JSON")
        try:
            server_time = clock.to_server_time(event.timestamp)
        except ImplausibleTimeError as error:
            raise EventInvalidError("timestamp", str(error)) from None
        return EventRow(
            event_id=self._event_id(event, session_id=session_id, event_data_json=event_data_json),
            event_type=event.event_type,
            timestamp=server_time,
            client_timestamp=event.timestamp,
            event_data_json=event_data_json,
        )

    def _event_id(
        self, event: TrackingEvent, *, session_id: uuid.UUID, event_data_json: str
    ) -> uuid.UUID:
        """The key that makes retries safe: the client's event_id (a UUID as is, other text
        hashed), or without one a hash of what makes the event itself."""
        if event.event_id is None:
            return uuid.uuid5(
                CONTENT_ID_NAMESPACE,
                f"{session_id}|{event.event_type}|{event.timestamp.isoformat()}|{event_data_json}",
            )
        id_limit = self._settings.MAX_EVENT_ID_LENGTH
        if len(event.event_id) > id_limit:
            raise EventInvalidError("event_id", f"is longer than {id_limit} characters")
        try:
            return uuid.UUID(event.event_id)
        except ValueError:
            return uuid.uuid5(CLIENT_ID_NAMESPACE, event.event_id)


async def _record_activity(sessions: SessionStore, session_id: uuid.UUID) -> None:
    """Events count as activity; an unknown session fails the whole request with 404."""
    session_or_404(await sessions.touch(session_id))


def _event_data_object(value: Any) -> dict[str, Any]:
    """event_data as a dict: absent or "" is {}, and a string holding a JSON object is parsed
    (Blueprint plugins often send the object pre-serialized)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise EventInvalidError("event_data", "is a string but not valid JSON") from None
    if not isinstance(value, dict):
        raise EventInvalidError("event_data", "must be a JSON object")
    return value


def _canonical_json(event_data: dict[str, Any]) -> tuple[str, int]:
    """Compact JSON with sorted keys (what is stored, measured and hashed) and its UTF-8 size."""
    try:
        text = json.dumps(
            event_data, allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
    except ValueError:
        raise EventInvalidError(
            "event_data", "contains a non-finite number (NaN or Infinity)"
        ) from None
    try:
        return text, len(text.encode())
    except UnicodeEncodeError:
        raise EventInvalidError("event_data", NOT_UNICODE) from None


def _nesting_depth(value: Any) -> int:
    """Depth of nested objects and arrays: 1 for a flat object. Iterative, so deep input is safe."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _rejection(index: int, raw_event: Any, reason: str, field: str | None = None) -> Rejection:
    return Rejection(
        index=index,
        reason=reason,
        # ASCII escapes keep even invalid Unicode (lone surrogates) storable as text.
        payload_json=json.dumps(raw_event, ensure_ascii=True, default=str),
        field=field,
    )
