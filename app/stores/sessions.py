"""SQL for vr_sessions."""

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from app.domain.sessions import ErasedCounts, SessionRecord

SESSION_COLUMNS = """
    id, started_at, ended_at, status, customer_id, property_id, device_type,
    last_seen_at, last_activity_at, end_reason, duration_seconds, clock_offset,
    client_session_id, local_time_rule, created_at
"""

# The offset that converts a request's times for the session being updated: the request's own
# ($4, measured from its sent_at), else the session's clock offset, else none.
OFFSET_SQL = "coalesce($4::interval, clock_offset, interval '0')"
# The end a client sends ($2), converted to the session's clock.
CLIENT_END_SQL = f"$2::timestamptz + {OFFSET_SQL}"
# The session's last activity once activity at client time $3 is recorded: the later of what it
# was and $3 converted, never later than now.
ACTIVITY_AT_SQL = f"""greatest(
    last_activity_at, least(coalesce($3::timestamptz + {OFFSET_SQL}, last_activity_at), now())
)"""

# A common table expression that records a request about session $2 of project $1 now and, if
# $3 is not null, activity at client time $3 converted with $4 or the session's clock offset;
# `touched` holds the updated session (its clock offset included), or nothing when the project
# has no such session. The SET expressions read the row as it is once locked, so a concurrent
# request that set the session's clock offset is seen. A session the sweep closed while the
# headset was away ends at its latest activity, which can still move later. last_seen_at
# (indexed, for the sweep) moves in steps of 5 seconds, so that most updates change no indexed
# column and stay heap-only (no index writes); the timeout counts in minutes. Shared by
# SessionStore.touch and the one-statement event insert (stores/events.py).
TOUCH_CTES = f"""
    touched AS (
        UPDATE vr_sessions
        SET last_seen_at = CASE
                WHEN last_seen_at < now() - interval '5 seconds' THEN now()
                ELSE last_seen_at
            END,
            last_activity_at = {ACTIVITY_AT_SQL},
            ended_at = CASE
                WHEN end_reason = 'timed_out' THEN greatest(ended_at, {ACTIVITY_AT_SQL})
                ELSE ended_at
            END
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
        customer_reference: str | None,
        started_at: datetime,
        ended_at: datetime | None,
        customer_id: str | None,
        property_id: str | None,
        device_type: str | None,
        clock_offset: timedelta | None,
        client_session_id: str | None,
        local_time_rule: str | None,
    ) -> tuple[SessionRecord, bool] | None:
        """Insert a session; None when a session with this id already exists (in this project
        or another), or when the customer (by `customer_reference`) or the session id was
        erased (erased_customers, erased_sessions). Also says whether events sent before the
        session existed wait for it (pending_events), in the same round trip."""
        row = await self._connection.fetchrow(
            f"""
            WITH created AS (
            INSERT INTO vr_sessions (
                id, started_at, ended_at, status, end_reason, customer_id, property_id,
                device_type, last_seen_at, last_activity_at, clock_offset, client_session_id,
                local_time_rule, project_id
            )
            SELECT
                $1, $2, $3,
                CASE WHEN $3::timestamptz IS NULL THEN 'active' ELSE 'completed' END,
                CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE 'client' END,
                $4, $5, $6, now(), greatest($2, least(coalesce($3, $2), now())), $7, $8, $9,
                $10
            WHERE NOT EXISTS (
                SELECT 1 FROM erased_customers
                WHERE project_id = $10 AND customer_reference = $11
            )
              AND NOT EXISTS (
                SELECT 1 FROM erased_sessions WHERE project_id = $10 AND session_id = $1
            )
            ON CONFLICT (id) DO NOTHING
            RETURNING {SESSION_COLUMNS}
            )
            SELECT created.*, EXISTS (
                SELECT 1 FROM pending_events WHERE project_id = $10 AND session_id = $1
            ) AS events_waiting
            FROM created
            """,
            session_id,
            started_at,
            ended_at,
            customer_id,
            property_id,
            device_type,
            clock_offset,
            client_session_id,
            local_time_rule,
            self._project_id,
            customer_reference,
        )
        if row is None:
            return None
        fields = dict(row)
        events_waiting = fields.pop("events_waiting")
        return SessionRecord(**fields), events_waiting

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

    async def end(
        self,
        session_id: UUID,
        *,
        client_end: datetime,
        offset: timedelta | None,
        max_future: timedelta,
    ) -> SessionRecord | None:
        """End the session at `client_end` converted with `offset` (the request's own, else
        the session's clock offset), unless the client ended it already, the end is before its
        start or more than `max_future` ahead of now, or the request brings the session's first
        clock offset (which must be adopted first, under a lock: adopt_clock_offset); None then,
        and when there is no such session."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET ended_at = {CLIENT_END_SQL}, status = 'completed', end_reason = 'client',
                last_seen_at = greatest(last_seen_at, now()),
                last_activity_at = greatest(last_activity_at, least({CLIENT_END_SQL}, now()))
            WHERE id = $1 AND project_id = $3
              AND end_reason IS DISTINCT FROM 'client' AND started_at <= {CLIENT_END_SQL}
              AND {CLIENT_END_SQL} <= now() + $5::interval
              AND (clock_offset IS NOT NULL OR $4::interval IS NULL)
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            client_end,
            self._project_id,
            offset,
            max_future,
        )
        return _record(row)

    async def touch(
        self, session_id: UUID, *, active_at: datetime | None, offset: timedelta | None
    ) -> SessionRecord | None:
        """Record a request about the session now and, if given, activity at client time
        `active_at` converted with `offset` or the session's clock offset (never later than
        now); None when the session does not exist (see TOUCH_CTES)."""
        row = await self._connection.fetchrow(
            f"WITH {TOUCH_CTES} SELECT {SESSION_COLUMNS} FROM touched",
            self._project_id,
            session_id,
            active_at,
            offset,
        )
        return _record(row)

    async def mark_seen(self, session_id: UUID) -> SessionRecord | None:
        """Record that the headset is still there (a heartbeat): last_seen_at only, which keeps
        the session from timing out; its activity, and so its dwell, is left as it is."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET last_seen_at = CASE
                WHEN last_seen_at < now() - interval '5 seconds' THEN now() ELSE last_seen_at
            END
            WHERE id = $1 AND project_id = $2
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            self._project_id,
        )
        return _record(row)

    async def adopt_clock_offset(
        self, session: SessionRecord, *, offset: timedelta, shift: bool
    ) -> SessionRecord:
        """Give a session without a clock offset its first one. With `shift`, what was stored
        before in the headset's clock (start, end, last activity and every event) moves by the
        offset too, into the one clock. Must run in a transaction holding the session's lock
        (get(..., for_update=True)), so that no event is stored meanwhile."""
        moved = offset if shift else timedelta(0)
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET clock_offset = $3, started_at = started_at + $4, ended_at = ended_at + $4,
                last_activity_at = greatest(started_at + $4, least(last_activity_at + $4, now()))
            WHERE id = $1 AND project_id = $2 AND clock_offset IS NULL
            RETURNING {SESSION_COLUMNS}
            """,
            session.id,
            self._project_id,
            offset,
            moved,
        )
        if row is None:
            return session
        if moved:
            await self._connection.execute(
                "UPDATE tracking_events SET timestamp = timestamp + $3 "
                "WHERE project_id = $1 AND session_id = $2",
                self._project_id,
                session.id,
                moved,
            )
        return SessionRecord(**dict(row))


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
    # The original client's records, kept as sent for a while after they were laid out.
    await connection.execute(
        "DELETE FROM legacy_records WHERE project_id = $1 AND session_id = any($2)",
        project_id,
        session_ids,
    )
    deleted = await connection.execute(
        "DELETE FROM vr_sessions WHERE project_id = $1 AND id = any($2)", project_id, session_ids
    )
    return ErasedCounts(
        sessions=int(deleted.split()[-1]),
        events=events,
        rejected_events=rejected,
        session_ids=tuple(session_ids),
    )
