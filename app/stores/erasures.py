"""SQL for the suppression list of erased customers (docs/security.md, "Erasure"): who was
erased (by reference, never by id), which sessions went with them, and how many writes for
them were refused since."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Suppression:
    customer_reference: str
    erased_at: datetime
    sessions: int
    refused_writes: int
    last_refused_at: datetime | None


class ErasureStore:
    """The suppression list of one project."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def remember(self, reference: str, session_ids: tuple[UUID, ...]) -> None:
        """The customer and the sessions just erased: writes for them are refused from now."""
        await self._connection.execute(
            """
            WITH customer AS (
                INSERT INTO erased_customers (project_id, customer_reference)
                VALUES ($1, $2)
                ON CONFLICT (project_id, customer_reference) DO UPDATE SET erased_at = now()
            )
            INSERT INTO erased_sessions (project_id, session_id, customer_reference)
            SELECT $1, erased.id, $2 FROM unnest($3::uuid[]) AS erased (id)
            ON CONFLICT (project_id, session_id) DO NOTHING
            """,
            self._project_id,
            reference,
            list(session_ids),
        )

    async def refuse(self, *, reference: str | None, session_id: UUID | None) -> str | None:
        """If the customer (by reference) or the session was erased, count one refused write
        and return the erased customer's reference; else None."""
        return await self._connection.fetchval(
            """
            WITH hit AS (
                SELECT customer_reference FROM erased_customers
                WHERE project_id = $1 AND customer_reference = $2
                UNION ALL
                SELECT customer_reference FROM erased_sessions
                WHERE project_id = $1 AND session_id = $3
                LIMIT 1
            )
            UPDATE erased_customers
            SET refused_writes = refused_writes + 1, last_refused_at = now()
            WHERE project_id = $1 AND customer_reference = (SELECT customer_reference FROM hit)
            RETURNING customer_reference
            """,
            self._project_id,
            reference,
            session_id,
        )

    async def lift(self, reference: str) -> Suppression | None:
        """Forget the customer's erasure (its sessions' too): writes for it are taken again.
        Returns what was lifted, or None if the customer was not on the list."""
        row = await self._connection.fetchrow(
            f"""
            WITH lifted AS (
                DELETE FROM erased_customers
                WHERE project_id = $1 AND customer_reference = $2
                RETURNING *
            )
            SELECT {SUPPRESSION_COLUMNS} FROM lifted AS c
            """,
            self._project_id,
            reference,
        )
        return Suppression(**dict(row)) if row is not None else None

    async def list(self, *, limit: int) -> list[Suppression]:
        rows = await self._connection.fetch(
            f"""
            SELECT {SUPPRESSION_COLUMNS} FROM erased_customers AS c
            WHERE c.project_id = $1
            ORDER BY c.erased_at DESC
            LIMIT $2
            """,
            self._project_id,
            limit,
        )
        return [Suppression(**dict(row)) for row in rows]


SUPPRESSION_COLUMNS = """
    c.customer_reference, c.erased_at, c.refused_writes, c.last_refused_at,
    (SELECT count(*) FROM erased_sessions AS s
     WHERE s.project_id = c.project_id AND s.customer_reference = c.customer_reference)
        AS sessions
"""
