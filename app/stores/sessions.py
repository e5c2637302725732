"""SQL for vr_sessions."""

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from app.domain.sessions import ErasedCounts, SessionRecord

SESSION_COLUMNS = """
    id, started_at, ended_at, status, customer_id, property_id, device_type,
    last_seen_at, last_activity_at, end_reason, duration_seconds, created_at
"""


# Common table expressions that record a request about session $2 of project $1 now and, if $3
# is not null, activity at $3 (never later than now); `touched` holds the updated session, or
# nothing when the project has no such session. A session the sweep closed while the headset
# was away ends at its latest activity, which can still move later. last_seen_at (indexed, for
# the sweep) moves in steps of 5 seconds, so that most updates change no indexed column and
# stay heap-only (no index writes); the timeout counts in minutes. Shared by
# SessionStore.touch and the one-statement event insert (event_store).
TOUCH_CTES = f"""
    activity AS (
        SELECT greatest(
            last_activity_at, least(coalesce($3::timestamptz, last_activity_at), now())
        ) AS at
        FROM vr_sessions WHERE id = $2 AND project_id = $1
    ),
    touched AS (
        UPDATE vr_sessions
        SET last_seen_at = CASE
                WHEN last_seen_at < now() - interval '5 seconds' THEN now()
                ELSE last_seen_at
            END,
            last_activity_at = activity.at,
            ended_at = CASE
                WHEN end_reason = 'timed_out' THEN greatest(ended_at, activity.at)
                ELSE ended_at
            END
        FROM activity
        WHERE id = $2 AND project_id = $1
        RETURNING {SESSION_COLUMNS}
    )
"""


def _record(row: asyncpg.Record | None) -> SessionRecord | None:
    return SessionRecord(**dict(row)) if row is not None else None


class SessionStore:
    """The sessions of one project: every statement is scoped to it, so another project's
    session is as absent as one that never existed."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def get(self, session_id: UUID, *, for_update: bool = False) -> SessionRecord | None:
        lock = "FOR UPDATE" if for_update else ""
        row = await self._connection.fetchrow(
            f"SELECT {SESSION_COLUMNS} FROM vr_sessions WHERE id = $1 AND project_id = $2 {lock}",
            session_id,
            self._project_id,
        )
        return _record(row)

    async def insert(
        self,
        *,
        session_id: UUID,
        started_at: datetime,
        ended_at: datetime | None,
        customer_id: str | None,
        property_id: str | None,
        device_type: str | None,
    ) -> SessionRecord | None:
        """Insert a session; None when a session with this id already exists (in this project
        or another)."""
        row = await self._connection.fetchrow(
            f"""
            INSERT INTO vr_sessions (
                id, started_at, ended_at, status, end_reason,
                customer_id, property_id, device_type, last_seen_at, last_activity_at, project_id
            )
            VALUES (
                $1, $2, $3,
                CASE WHEN $3::timestamptz IS NULL THEN 'active' ELSE 'completed' END,
                CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE 'client' END,
                $4, $5, $6, now(), least(coalesce($3, $2), now()), $7
            )
            ON CONFLICT (id) DO NOTHING
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            started_at,
            ended_at,
            customer_id,
            property_id,
            device_type,
            self._project_id,
        )
        return _record(row)

    async def fill_labels(
        self,
        session_id: UUID,
        *,
        customer_id: str | None,
        property_id: str | None,
        device_type: str | None,
    ) -> SessionRecord | None:
        """Set the labels the session does not have yet; labels it has are kept."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET customer_id = coalesce(customer_id, $2),
                property_id = coalesce(property_id, $3),
                device_type = coalesce(device_type, $4)
            WHERE id = $1 AND project_id = $5
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            customer_id,
            property_id,
            device_type,
            self._project_id,
        )
        return _record(row)

    async def end(self, session_id: UUID, *, ended_at: datetime) -> SessionRecord | None:
        """End the session as the client says, unless the client ended it already or
        `ended_at` is before its start; None then, and when there is no such session."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET ended_at = $2, status = 'completed', end_reason = 'client',
                last_seen_at = greatest(last_seen_at, now()),
                last_activity_at = greatest(last_activity_at, least($2, now()))
            WHERE id = $1 AND project_id = $3
              AND end_reason IS DISTINCT FROM 'client' AND started_at <= $2
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            ended_at,
            self._project_id,
        )
        return _record(row)

    async def touch(self, session_id: UUID, *, active_at: datetime | None) -> SessionRecord | None:
        """Record a request about the session now and, if given, activity at `active_at` (never
        later than now); None when the session does not exist (see TOUCH_CTES)."""
        row = await self._connection.fetchrow(
            f"WITH {TOUCH_CTES} SELECT {SESSION_COLUMNS} FROM touched",
            self._project_id,
            session_id,
            active_at,
        )
        return _record(row)


async def close_inactive_sessions(connection: asyncpg.Connection, *, idle_for: timedelta) -> int:
    """Close active sessions of every project not heard from for longer than `idle_for`,
    ending them at their last activity."""
    closed = await connection.fetch(
        """
        UPDATE vr_sessions
        SET status = 'completed', end_reason = 'timed_out',
            ended_at = greatest(started_at, last_activity_at)
        WHERE status = 'active' AND last_seen_at < now() - $1::interval
        RETURNING id
        """,
        idle_for,
    )
    return len(closed)


async def erase_customer(
    connection: asyncpg.Connection, *, project_id: UUID, customer_id: str
) -> ErasedCounts:
    """Delete every session of one customer in a project, with its events and rejected events
    (by the foreign keys' cascade). Must run in a transaction: the sessions are locked first,
    so events arriving meanwhile wait and then find their session gone."""
    session_ids = await connection.fetchval(
        """
        SELECT coalesce(array_agg(id), '{}') FROM (
            SELECT id FROM vr_sessions WHERE project_id = $1 AND customer_id = $2 FOR UPDATE
        ) AS locked
        """,
        project_id,
        customer_id,
    )
    if not session_ids:
        return ErasedCounts(sessions=0, events=0, rejected_events=0)
    events = await connection.fetchval(
        "SELECT count(*) FROM tracking_events WHERE project_id = $1 AND session_id = any($2)",
        project_id,
        session_ids,
    )
    rejected = await connection.fetchval(
        "SELECT count(*) FROM rejected_events WHERE project_id = $1 AND session_id = any($2)",
        project_id,
        session_ids,
    )
    deleted = await connection.execute(
        "DELETE FROM vr_sessions WHERE project_id = $1 AND id = any($2)", project_id, session_ids
    )
    return ErasedCounts(sessions=int(deleted.split()[-1]), events=events, rejected_events=rejected)
