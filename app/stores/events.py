"""SQL for tracking_events and rejected_events, including the batch-then-row-by-row fallback."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from app.db.database import describe_rejection, is_rejected_data
from app.domain.events import EventRow, Rejection
from app.stores.sessions import TOUCH_CTES

logger = logging.getLogger(__name__)


def insert_events_sql(*, first_parameter: int, only_if: str = "TRUE") -> str:
    """One INSERT for any number of rows of session $2 of project $1: the arrays (received_at
    and six columns, numbered from `first_parameter`) are unnested into rows, duplicates of an
    (session_id, event_id) already stored are skipped, and the ids inserted come back."""
    received_at, event_ids, content_ids, types, times, client_times, data = (
        f"${number}" for number in range(first_parameter, first_parameter + 7)
    )
    return f"""
        INSERT INTO tracking_events (
            project_id, session_id, event_id, content_id, event_type, timestamp,
            client_timestamp, event_data, received_at
        )
        SELECT $1, $2, batch.event_id, batch.content_id, batch.event_type, batch.server_time,
               batch.client_time, batch.event_data::jsonb, {received_at}::timestamptz
        FROM unnest(
            {event_ids}::uuid[], {content_ids}::uuid[], {types}::text[],
            {times}::timestamptz[], {client_times}::timestamptz[], {data}::text[]
        ) AS batch (event_id, content_id, event_type, server_time, client_time, event_data)
        WHERE {only_if}
        ON CONFLICT (session_id, event_id) DO NOTHING
        RETURNING event_id
    """


INSERT_EVENTS_SQL = insert_events_sql(first_parameter=3)
# The fast path: the session's activity and its events in one statement, so one round trip and
# no explicit transaction (a statement is atomic on its own). Nothing is inserted unless the
# session is the project's.
INSERT_EVENTS_WITH_ACTIVITY_SQL = f"""
    WITH {TOUCH_CTES},
    inserted AS ({insert_events_sql(first_parameter=4, only_if="EXISTS (SELECT 1 FROM touched)")})
    SELECT EXISTS (SELECT 1 FROM touched) AS session_found,
           ARRAY(SELECT event_id FROM inserted) AS inserted_ids
"""


@dataclass
class InsertOutcome:
    inserted_ids: set[UUID]
    refused: dict[int, str]
    """Request index -> PostgreSQL's reason, for rows the database would not take."""


@dataclass(frozen=True)
class InsertWithActivityOutcome:
    session_found: bool
    inserted_ids: set[UUID]


def _columns(rows: Sequence[EventRow]) -> tuple[list, ...]:
    """The rows as the six column arrays the insert unnests."""
    return (
        [row.event_id for row in rows],
        [row.content_id for row in rows],
        [row.event_type for row in rows],
        [row.timestamp for row in rows],
        [row.client_timestamp for row in rows],
        [row.event_data_json for row in rows],
    )


class EventStore:
    """The events of one project's sessions. Callers check that the session is the project's
    first (SessionStore.touch); the composite foreign key enforces it too."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def insert(
        self,
        session_id: UUID,
        rows: Sequence[tuple[int, EventRow]],
        *,
        received_at: datetime,
    ) -> InsertOutcome:
        """Store `(index, row)` pairs in one statement; if PostgreSQL refuses it, retry each row
        on its own so that only the rows it refuses are rejected. Must run in a transaction."""
        if not rows:
            return InsertOutcome(inserted_ids=set(), refused={})
        try:
            async with self._connection.transaction():
                inserted = await self._insert_rows(
                    session_id, [row for _, row in rows], received_at
                )
            return InsertOutcome(inserted_ids=inserted, refused={})
        except asyncpg.PostgresError as error:
            if not is_rejected_data(error):
                raise
            logger.info("batch insert refused (%s); storing row by row", error.sqlstate)
        outcome = InsertOutcome(inserted_ids=set(), refused={})
        for index, row in rows:
            try:
                async with self._connection.transaction():
                    outcome.inserted_ids |= await self._insert_rows(session_id, [row], received_at)
            except asyncpg.PostgresError as error:
                if not is_rejected_data(error):
                    raise
                outcome.refused[index] = describe_rejection(error)
        return outcome

    async def insert_with_activity(
        self,
        session_id: UUID,
        rows: Sequence[EventRow],
        *,
        received_at: datetime,
        active_at: datetime | None,
    ) -> InsertWithActivityOutcome | None:
        """Record the session's activity and store the rows in one statement, outside any
        transaction. None when PostgreSQL refused some row: then nothing was written, and the
        caller takes the transactional path (`insert`), which finds the rows to blame."""
        try:
            record = await self._connection.fetchrow(
                INSERT_EVENTS_WITH_ACTIVITY_SQL,
                self._project_id,
                session_id,
                active_at,
                received_at,
                *_columns(rows),
            )
        except asyncpg.PostgresError as error:
            if not is_rejected_data(error):
                raise
            logger.info("one-statement insert refused (%s)", error.sqlstate)
            return None
        return InsertWithActivityOutcome(
            session_found=record["session_found"], inserted_ids=set(record["inserted_ids"])
        )

    async def _insert_rows(
        self, session_id: UUID, rows: Sequence[EventRow], received_at: datetime
    ) -> set[UUID]:
        records = await self._connection.fetch(
            INSERT_EVENTS_SQL, self._project_id, session_id, received_at, *_columns(rows)
        )
        return {record["event_id"] for record in records}

    async def stored_content_ids(
        self, session_id: UUID, event_ids: Sequence[UUID]
    ) -> dict[UUID, UUID | None]:
        """The content hash stored under each of these event ids (None for rows written before
        hashes were kept)."""
        if not event_ids:
            return {}
        rows = await self._connection.fetch(
            "SELECT event_id, content_id FROM tracking_events "
            "WHERE project_id = $1 AND session_id = $2 AND event_id = any($3::uuid[])",
            self._project_id,
            session_id,
            list(event_ids),
        )
        return {row["event_id"]: row["content_id"] for row in rows}

    async def record_rejections(
        self,
        session_id: UUID,
        rejections: Sequence[Rejection],
        *,
        request_id: str | None,
        received_at: datetime,
    ) -> None:
        if not rejections:
            return
        await self._connection.execute(
            """
            INSERT INTO rejected_events (
                project_id, session_id, event_index, field, reason, payload, request_id,
                received_at
            )
            SELECT $1, $2, rejected.event_index, rejected.field, rejected.reason,
                   rejected.payload, $3, $4
            FROM unnest($5::int[], $6::text[], $7::text[], $8::text[])
                 AS rejected (event_index, field, reason, payload)
            """,
            self._project_id,
            session_id,
            request_id,
            received_at,
            [rejection.index for rejection in rejections],
            [rejection.field for rejection in rejections],
            [rejection.reason for rejection in rejections],
            [rejection.payload_json for rejection in rejections],
        )
