"""SQL for vr_sessions."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

SESSION_COLUMNS = """
    id, started_at, ended_at, status, customer_id, property_id, device_type,
    last_seen_at, end_reason, duration_seconds, created_at
"""


@dataclass(frozen=True)
class SessionRecord:
    id: UUID
    started_at: datetime
    ended_at: datetime | None
    status: str
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    last_seen_at: datetime
    end_reason: str | None
    duration_seconds: int | None
    created_at: datetime


def _record(row: asyncpg.Record | None) -> SessionRecord | None:
    return SessionRecord(**dict(row)) if row is not None else None


class SessionStore:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def get(self, session_id: UUID, *, for_update: bool = False) -> SessionRecord | None:
        lock = "FOR UPDATE" if for_update else ""
        row = await self._connection.fetchrow(
            f"SELECT {SESSION_COLUMNS} FROM vr_sessions WHERE id = $1 {lock}", session_id
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
        """Insert a session; None when a session with this id already exists."""
        row = await self._connection.fetchrow(
            f"""
            INSERT INTO vr_sessions (
                id, started_at, ended_at, status, end_reason,
                customer_id, property_id, device_type, last_seen_at
            )
            VALUES (
                $1, $2, $3,
                CASE WHEN $3::timestamptz IS NULL THEN 'active' ELSE 'completed' END,
                CASE WHEN $3::timestamptz IS NULL THEN NULL ELSE 'client' END,
                $4, $5, $6, now()
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
        )
        return _record(row)

    async def end(self, session_id: UUID, *, ended_at: datetime) -> SessionRecord | None:
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions
            SET ended_at = $2, status = 'completed', end_reason = 'client',
                last_seen_at = greatest(last_seen_at, now())
            WHERE id = $1
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
            ended_at,
        )
        return _record(row)

    async def touch(self, session_id: UUID) -> SessionRecord | None:
        """Record activity now; None when the session does not exist."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE vr_sessions SET last_seen_at = greatest(last_seen_at, now())
            WHERE id = $1
            RETURNING {SESSION_COLUMNS}
            """,
            session_id,
        )
        return _record(row)

    async def close_inactive(self, *, idle_for: timedelta) -> int:
        """Close active sessions idle for longer than `idle_for`, ending them at last activity."""
        closed = await self._connection.fetch(
            """
            UPDATE vr_sessions
            SET status = 'completed', end_reason = 'timed_out',
                ended_at = greatest(started_at, last_seen_at)
            WHERE status = 'active' AND last_seen_at < now() - $1::interval
            RETURNING id
            """,
            idle_for,
        )
        return len(closed)
