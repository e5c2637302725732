"""SQL for pending_events: events sent for a session the project does not have (yet), kept
until a session with that id appears, then stored as its events (docs/ingestion.md, "Never
lose a tour to its start")."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from app.domain.events import EventRow, WaitingEvents


class PendingStore:
    """The pending events of one project."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def keep(
        self,
        session_id: UUID,
        rows: Sequence[EventRow],
        *,
        measured_offset: timedelta | None,
        received_at: datetime,
        project_limit: int,
    ) -> int:
        """Keep the rows for the session, unless that would make the project keep more than
        `project_limit` pending events (then none is kept); a retry keeps each once. Returns how
        many were kept now."""
        return await self._connection.fetchval(
            """
            WITH kept AS (
                INSERT INTO pending_events (
                    project_id, session_id, event_id, content_id, event_type, client_timestamp,
                    measured_offset, event_data, received_at
                )
                SELECT $1, $2, given.event_id, given.content_id, given.event_type,
                       given.client_time, $3, given.event_data::jsonb, $4
                FROM unnest($6::uuid[], $7::uuid[], $8::text[], $9::timestamptz[], $10::text[])
                     AS given (event_id, content_id, event_type, client_time, event_data)
                WHERE (SELECT count(*) FROM pending_events WHERE project_id = $1)
                      + cardinality($6::uuid[]) <= $5
                ON CONFLICT (project_id, session_id, event_id) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) FROM kept
            """,
            self._project_id,
            session_id,
            measured_offset,
            received_at,
            project_limit,
            [row.event_id for row in rows],
            [row.content_id for row in rows],
            [row.event_type for row in rows],
            [row.client_timestamp for row in rows],
            [row.event_data_json for row in rows],
        )

    async def waiting(self, *, limit: int) -> tuple[int, list[WaitingEvents]]:
        """Events waiting for a session: how many, and per session id their count and first
        and last receive times (the `limit` latest session ids)."""
        rows = await self._connection.fetch(
            """
            SELECT session_id, count(*) AS events, min(received_at) AS first_received_at,
                   max(received_at) AS last_received_at, sum(count(*)) OVER () AS total
            FROM pending_events
            WHERE project_id = $1
            GROUP BY session_id
            ORDER BY last_received_at DESC
            LIMIT $2
            """,
            self._project_id,
            limit,
        )
        total = int(rows[0]["total"]) if rows else 0
        return total, [
            WaitingEvents(**{key: row[key] for key in row.keys() if key != "total"}) for row in rows
        ]

    async def attach(self, session_id: UUID) -> int:
        """Store the session's pending events as its events (each converted with the clock
        offset its request measured, else the session's) and record its activity; returns how
        many were stored (a retry stored before is not stored twice)."""
        return await self._connection.fetchval(
            """
            WITH session AS (
                SELECT clock_offset FROM vr_sessions WHERE project_id = $1 AND id = $2
            ),
            moved AS (
                DELETE FROM pending_events
                WHERE project_id = $1 AND session_id = $2 AND EXISTS (SELECT 1 FROM session)
                RETURNING *
            ),
            inserted AS (
                INSERT INTO tracking_events (
                    project_id, session_id, event_id, content_id, event_type, timestamp,
                    client_timestamp, event_data, received_at
                )
                SELECT $1, $2, moved.event_id, moved.content_id, moved.event_type,
                       moved.client_timestamp
                           + coalesce(moved.measured_offset, session.clock_offset, interval '0'),
                       moved.client_timestamp, moved.event_data, moved.received_at
                FROM moved, session
                ON CONFLICT (session_id, event_id) DO NOTHING
                RETURNING timestamp
            ),
            touched AS (
                UPDATE vr_sessions
                SET last_activity_at = greatest(
                    last_activity_at, least((SELECT max(timestamp) FROM inserted), now())
                )
                WHERE project_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM inserted)
            )
            SELECT count(*) FROM inserted
            """,
            self._project_id,
            session_id,
        )


async def purge_pending_events(connection: asyncpg.Connection, *, older_than: timedelta) -> int:
    """Forget the pending events (of every project) that no session claimed in time."""
    deleted = await connection.execute(
        "DELETE FROM pending_events WHERE received_at < now() - $1::interval", older_than
    )
    return int(deleted.split()[-1])
