"""SQL for the list of a project's properties: every property with sessions started in a period,
with its counts, aggregated in PostgreSQL and paged by property id (keyset, no OFFSET)."""

from uuid import UUID

import asyncpg

from app.domain.analytics import PropertySummary, SessionScope
from app.stores.analytics.dwell import scope_sql
from app.stores.analytics.vocabulary import QueryParameters


class AnalyticsPropertyStore:
    """The properties of one project's sessions."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def list_properties(
        self, scope: SessionScope, *, after: str | None, limit: int
    ) -> list[PropertySummary]:
        """Up to `limit` properties of the scope's sessions, by property id (the database's
        collation), after `after` if given. Sessions without a property are left out."""
        parameters = QueryParameters(self._project_id)
        conditions = scope_sql(scope, parameters) + " AND s.property_id IS NOT NULL"
        if after is not None:
            conditions += f" AND s.property_id > {parameters.add(after)}"
        rows = await self._connection.fetch(
            f"""
            SELECT s.property_id, count(*) AS sessions,
                   count(DISTINCT s.customer_id) AS unique_customers,
                   max(s.started_at) AS last_session_at
            FROM vr_sessions AS s
            WHERE {conditions}
            GROUP BY s.property_id
            ORDER BY s.property_id
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [PropertySummary(**dict(row)) for row in rows]
