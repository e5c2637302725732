"""SQL for tracking_events and rejected_events, including the batch-then-row-by-row fallback."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from app.db.database import describe_rejection, is_rejected_data
from app.domain.events import EARLIEST_PLAUSIBLE, EventRow, Rejection
from app.stores.sessions import TOUCH_CTES

logger = logging.getLogger(__name__)


def event_ctes(
    *, first_parameter: int, offset_sql: str, source: str = "", only_if: str = "TRUE"
) -> str:
    """Common table expressions that store any number of rows of session $2 of project $1:

    - batch: the arrays (five columns, numbered from `first_parameter` + 2) unnested into rows,
      each with its server time: the client's time plus `offset_sql`;
    - inserted: the rows whose server time is plausible (from 2000-01-01 to now plus the
      interval `first_parameter`), inserted at receive time `first_parameter` + 1; duplicates of
      a (session_id, event_id) already stored are skipped; the ids inserted come back.

    `source` names what `offset_sql` and `only_if` read besides the arrays (a CTE, with a
    trailing comma); rows are only taken where `only_if` holds."""
    max_future, received_at, event_ids, content_ids, types, client_times, data = (
        f"${number}" for number in range(first_parameter, first_parameter + 7)
    )
    return f"""
    batch AS (
        SELECT given.event_id, given.content_id, given.event_type, given.client_time,
               given.event_data, given.client_time + {offset_sql} AS server_time
        FROM {source} unnest(
            {event_ids}::uuid[], {content_ids}::uuid[], {types}::text[],
            {client_times}::timestamptz[], {data}::text[]
        ) AS given (event_id, content_id, event_type, client_time, event_data)
        WHERE {only_if}
    ),
    inserted AS (
        INSERT INTO tracking_events (
            project_id, session_id, event_id, content_id, event_type, timestamp,
            client_timestamp, event_data, received_at
        )
        SELECT $1, $2, event_id, content_id, event_type, server_time, client_time,
               event_data::jsonb, {received_at}::timestamptz
        FROM batch
        WHERE server_time >= '{EARLIEST_PLAUSIBLE.isoformat()}'
          AND server_time <= now() + {max_future}::interval
        ON CONFLICT (session_id, event_id) DO NOTHING
        RETURNING event_id
    )"""


def insert_result_sql(*, max_future: str, event_ids: str) -> str:
    """What both inserts answer: the ids stored (none when every row of `event_ids` was: then
    there is nothing to look up, the common case), and the rows whose server time is not
    plausible (possible only when the session's clock offset, not the request's own, converted
    them: the service checked the rest)."""
    return f"""
    (SELECT count(*) FROM inserted) = cardinality({event_ids}::uuid[]) AS inserted_all,
    ARRAY(
        SELECT event_id FROM inserted
        WHERE (SELECT count(*) FROM inserted) < cardinality({event_ids}::uuid[])
    ) AS inserted_ids,
    ARRAY(
        SELECT event_id FROM batch
        WHERE NOT (server_time >= '{EARLIEST_PLAUSIBLE.isoformat()}'
                   AND server_time <= now() + {max_future}::interval)
    ) AS implausible_ids"""


# In a transaction, with the offset known ($3): the transactional path and its row-by-row retry.
INSERT_EVENTS_SQL = f"""
    WITH {event_ctes(first_parameter=4, offset_sql="$3::interval")}
    SELECT {insert_result_sql(max_future="$4", event_ids="$6")}
"""
# The fast path: the session's activity and its events in one statement, so one round trip and
# no explicit transaction (a statement is atomic on its own). Nothing is inserted unless the
# session is the project's, nor when the request's sent_at ($4) brings the session its first
# clock offset: the caller then adopts it under a lock first (the transactional path).
INSERT_EVENTS_WITH_ACTIVITY_SQL = f"""
    WITH {TOUCH_CTES},
    {
    event_ctes(
        first_parameter=5,
        offset_sql="coalesce($4::interval, touched.clock_offset, interval '0')",
        source="touched,",
        only_if="(touched.clock_offset IS NOT NULL OR $4::interval IS NULL)",
    )
}
    SELECT EXISTS (SELECT 1 FROM touched) AS session_found,
           (SELECT clock_offset FROM touched) AS session_clock_offset,
           EXISTS (
               SELECT 1 FROM touched WHERE clock_offset IS NULL AND $4::interval IS NOT NULL
           ) AS needs_clock_offset,
           {insert_result_sql(max_future="$5", event_ids="$7")}
"""


@dataclass
class InsertOutcome:
    inserted_ids: set[UUID]
    """The ids stored, when some row was not (else empty: see inserted_all)."""
    implausible_ids: set[UUID]
    """Rows not stored because their server time is not plausible."""
    refused: dict[int, str] = field(default_factory=dict)
    """Request index -> PostgreSQL's reason, for rows the database would not take."""
    inserted_all: bool = False
    """Every row given was stored: the common case, answered without a list of ids."""


@dataclass(frozen=True)
class InsertWithActivityOutcome:
    session_found: bool
    session_clock_offset: timedelta | None
    needs_clock_offset: bool
    """The request brought the session's first clock offset: nothing was stored."""
    stored: InsertOutcome


def _columns(rows: Sequence[EventRow]) -> tuple[list, ...]:
    """The rows as the five column arrays the insert unnests."""
    return (
        [row.event_id for row in rows],
        [row.content_id for row in rows],
        [row.event_type for row in rows],
        [row.client_timestamp for row in rows],
        [row.event_data_json for row in rows],
    )


def _outcome(record: asyncpg.Record) -> InsertOutcome:
    return InsertOutcome(
        inserted_ids=set(record["inserted_ids"]),
        implausible_ids=set(record["implausible_ids"]),
        inserted_all=record["inserted_all"],
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
        offset: timedelta,
        max_future: timedelta,
    ) -> InsertOutcome:
        """Store `(index, row)` pairs, their client times shifted by `offset`, in one
        statement; if PostgreSQL refuses it, retry each row on its own so that only the rows it
        refuses are rejected. Must run in a transaction."""
        outcome = InsertOutcome(inserted_ids=set(), implausible_ids=set())
        if not rows:
            return outcome
        try:
            async with self._connection.transaction():
                return await self._insert_rows(
                    session_id, [row for _, row in rows], received_at, offset, max_future
                )
        except asyncpg.PostgresError as error:
            if not is_rejected_data(error):
                raise
            logger.info("batch insert refused (%s); storing row by row", error.sqlstate)
        for index, row in rows:
            try:
                async with self._connection.transaction():
                    stored = await self._insert_rows(
                        session_id, [row], received_at, offset, max_future
                    )
            except asyncpg.PostgresError as error:
                if not is_rejected_data(error):
                    raise
                outcome.refused[index] = describe_rejection(error)
                continue
            outcome.inserted_ids |= {row.event_id} if stored.inserted_all else stored.inserted_ids
            outcome.implausible_ids |= stored.implausible_ids
        return outcome

    async def insert_with_activity(
        self,
        session_id: UUID,
        rows: Sequence[EventRow],
        *,
        received_at: datetime,
        active_at: datetime | None,
        offset: timedelta | None,
        max_future: timedelta,
    ) -> InsertWithActivityOutcome | None:
        """Record the session's activity (at client time `active_at`) and store the rows in
        one statement, outside any transaction, their client times converted with `offset` (the
        request's own) or else the session's clock offset. None when PostgreSQL refused some
        row: then nothing was written, and the caller takes the transactional path (`insert`),
        which finds the rows to blame."""
        try:
            record = await self._connection.fetchrow(
                INSERT_EVENTS_WITH_ACTIVITY_SQL,
                self._project_id,
                session_id,
                active_at,
                offset,
                max_future,
                received_at,
                *_columns(rows),
            )
        except asyncpg.PostgresError as error:
            if not is_rejected_data(error):
                raise
            logger.info("one-statement insert refused (%s)", error.sqlstate)
            return None
        return InsertWithActivityOutcome(
            session_found=record["session_found"],
            session_clock_offset=record["session_clock_offset"],
            needs_clock_offset=record["needs_clock_offset"],
            stored=_outcome(record),
        )

    async def _insert_rows(
        self,
        session_id: UUID,
        rows: Sequence[EventRow],
        received_at: datetime,
        offset: timedelta,
        max_future: timedelta,
    ) -> InsertOutcome:
        record = await self._connection.fetchrow(
            INSERT_EVENTS_SQL,
            self._project_id,
            session_id,
            offset,
            max_future,
            received_at,
            *_columns(rows),
        )
        return _outcome(record)

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
        session_id: UUID | None,
        rejections: Sequence[Rejection],
        *,
        request_id: str | None,
        received_at: datetime,
    ) -> None:
        if not rejections:
            return
        # Once per refusal: a retried request's refusals count an attempt on the first row.
        # DISTINCT ON: the same event twice in one request is one refusal, not a conflict.
        await self._connection.execute(
            """
            INSERT INTO rejected_events AS r (
                project_id, session_id, event_index, field, reason, payload, request_id,
                received_at
            )
            SELECT DISTINCT ON (rejected.field, rejected.reason, rejected.payload)
                   $1, $2, rejected.event_index, rejected.field, rejected.reason,
                   rejected.payload, $3, $4
            FROM unnest($5::int[], $6::text[], $7::text[], $8::text[])
                 AS rejected (event_index, field, reason, payload)
            ORDER BY rejected.field, rejected.reason, rejected.payload, rejected.event_index
            ON CONFLICT (project_id, refusal_key) DO UPDATE
            SET attempts = r.attempts + 1,
                last_request_id = excluded.request_id,
                last_received_at = excluded.received_at
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
