"""SQL for tracking_events and rejected_events, including the batch-then-row-by-row fallback."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from app.core.database import describe_rejection, is_rejected_data

logger = logging.getLogger(__name__)

# One statement for any number of rows: the arrays are unnested into rows, duplicates of an
# (session_id, event_id) already stored are skipped, and the ids actually inserted come back.
INSERT_EVENTS_SQL = """
    INSERT INTO tracking_events (
        project_id, session_id, event_id, content_id, event_type, timestamp, client_timestamp,
        event_data, received_at
    )
    SELECT $1, $2, batch.event_id, batch.content_id, batch.event_type, batch.server_time,
           batch.client_time, batch.event_data::jsonb, $3
    FROM unnest(
        $4::uuid[], $5::uuid[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[]
    ) AS batch (event_id, content_id, event_type, server_time, client_time, event_data)
    ON CONFLICT (session_id, event_id) DO NOTHING
    RETURNING event_id
"""


@dataclass(frozen=True)
class EventRow:
    """One validated event, ready to store; event_data is already serialized JSON text."""

    event_id: UUID
    content_id: UUID
    """A hash of the event itself: equal for a retry, different for an event_id reused."""
    event_type: str
    timestamp: datetime
    client_timestamp: datetime
    event_data_json: str


@dataclass(frozen=True)
class Rejection:
    """An event that is not stored: its position in the request, why, and what was sent."""

    index: int
    reason: str
    payload_json: str
    field: str | None = None


@dataclass
class InsertOutcome:
    inserted_ids: set[UUID]
    refused: dict[int, str]
    """Request index -> PostgreSQL's reason, for rows the database would not take."""


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

    async def _insert_rows(
        self, session_id: UUID, rows: Sequence[EventRow], received_at: datetime
    ) -> set[UUID]:
        records = await self._connection.fetch(
            INSERT_EVENTS_SQL,
            self._project_id,
            session_id,
            received_at,
            [row.event_id for row in rows],
            [row.content_id for row in rows],
            [row.event_type for row in rows],
            [row.timestamp for row in rows],
            [row.client_timestamp for row in rows],
            [row.event_data_json for row in rows],
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
