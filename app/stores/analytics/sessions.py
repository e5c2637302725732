"""SQL for the session questions of the analytics API: lists, one session's dwell per room, its
event counts, timeline and events."""

from uuid import UUID

from app.domain.analytics import (
    EventCount,
    EventCounts,
    EventKey,
    RoomDwell,
    SessionKey,
    SessionRow,
    SessionScope,
    SortOrder,
    StoredEvent,
    TimelineEvent,
)
from app.stores.analytics.dwell import ProjectQueries, scope_sql, stays_sql

SESSION_ROW_COLUMNS = """
    s.id, s.customer_id, s.property_id, s.device_type, s.status, s.end_reason, s.started_at,
    s.ended_at, s.last_activity_at,
    extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS duration_seconds,
    s.client_session_id, s.local_time_rule
"""


class AnalyticsStore(ProjectQueries):
    """Analytics queries over one project's sessions and events."""

    async def list_sessions(
        self, scope: SessionScope, *, after: SessionKey | None, order: SortOrder, limit: int
    ) -> list[SessionRow]:
        """Up to `limit` sessions in start order (then id), after `after` if given."""
        parameters, _ = self.statement()
        conditions = scope_sql(scope, parameters)
        direction = "DESC" if order == "desc" else "ASC"
        if after is not None:
            comparison = "<" if order == "desc" else ">"
            conditions += (
                f" AND (s.started_at, s.id) {comparison} "
                f"({parameters.add(after.started_at)}, {parameters.add(after.id)})"
            )
        rows = await self._connection.fetch(
            f"""
            SELECT {SESSION_ROW_COLUMNS}
            FROM vr_sessions AS s
            WHERE {conditions}
            ORDER BY s.started_at {direction}, s.id {direction}
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [SessionRow(**dict(row)) for row in rows]

    async def get_session(self, session_id: UUID) -> SessionRow | None:
        rows = await self.list_sessions(
            SessionScope(self._project_id, session_id=session_id), after=None, order="asc", limit=1
        )
        return rows[0] if rows else None

    async def session_rooms(self, session_id: UUID) -> list[RoomDwell]:
        """Dwell per place in one session, longest first."""
        parameters, vocabulary = self.statement()
        scope = SessionScope(self._project_id, session_id=session_id)
        rows = await self._connection.fetch(
            f"""
            WITH {stays_sql(scope, parameters, vocabulary)}
            SELECT place, sum(dwell_seconds) AS dwell_seconds, count(*) AS visits
            FROM stays
            GROUP BY place
            ORDER BY dwell_seconds DESC, place
            """,
            *parameters.values,
        )
        return [RoomDwell(**dict(row)) for row in rows]

    async def session_event_counts(self, session_id: UUID) -> EventCounts:
        """The session's events counted by type as stored (a handful of rows), with what the
        project's mapping makes of each type."""
        rows = await self._connection.fetch(
            """
            SELECT event_type, count(*) AS events
            FROM tracking_events
            WHERE session_id = $2 AND project_id = $1
            GROUP BY event_type
            ORDER BY event_type
            """,
            self._project_id,
            session_id,
        )
        by_type = [
            EventCount(row["event_type"], row["events"], self._mapping.kind_of(row["event_type"]))
            for row in rows
        ]
        return EventCounts(
            by_type=by_type,
            total=sum(count.events for count in by_type),
            story=sum(count.events for count in by_type if count.kind != "position"),
            not_understood=sum(count.events for count in by_type if count.kind is None),
        )

    async def session_timeline(self, session_id: UUID, *, limit: int) -> list[TimelineEvent]:
        """The session's events other than position samples, in the order of the dwell rule,
        place events with their dwell; at most `limit`."""
        parameters, vocabulary = self.statement()
        scope = SessionScope(self._project_id, session_id=session_id)
        stays = stays_sql(scope, parameters, vocabulary)
        session = parameters.add(session_id)
        rows = await self._connection.fetch(
            f"""
            WITH {stays}
            SELECT e.id, e.event_id, e.event_type, e.timestamp, e.event_data,
                   stays.place, stays.dwell_seconds, stays.explicit
            FROM tracking_events AS e
            LEFT JOIN stays ON stays.event_row_id = e.id
            WHERE e.session_id = {session} AND e.project_id = $1 AND e.event_type <> 'position'
              AND {vocabulary.kind("e")} <> 'position'
            ORDER BY e.timestamp, e.created_at, e.id
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [TimelineEvent(**dict(row)) for row in rows]

    async def session_events(
        self,
        session_id: UUID,
        *,
        event_type: str | None,
        after: EventKey | None,
        limit: int,
    ) -> list[StoredEvent]:
        """Up to `limit` events of a session in timeline order, after `after` if given."""
        parameters, _ = self.statement()
        conditions = f"e.session_id = {parameters.add(session_id)} AND e.project_id = $1"
        if event_type is not None:
            conditions += f" AND e.event_type = {parameters.add(event_type)}"
        if after is not None:
            at = parameters.add(after.timestamp)
            created = parameters.add(after.created_at)
            row_id = parameters.add(after.id)
            # (timestamp, created_at, id) > the key, with NULL created_at sorting last.
            conditions += f"""
                AND e.timestamp >= {at}
                AND (
                    e.timestamp > {at}
                    OR e.created_at > {created}::timestamptz
                    OR (e.created_at IS NULL AND {created}::timestamptz IS NOT NULL)
                    OR (e.created_at IS NOT DISTINCT FROM {created}::timestamptz
                        AND e.id > {row_id})
                )"""
        rows = await self._connection.fetch(
            f"""
            SELECT e.id, e.event_id, e.event_type, e.timestamp, e.client_timestamp,
                   e.received_at, e.created_at, e.event_data
            FROM tracking_events AS e
            WHERE {conditions}
            ORDER BY e.timestamp, e.created_at, e.id
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [StoredEvent(**dict(row)) for row in rows]
