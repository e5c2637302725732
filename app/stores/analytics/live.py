"""SQL for the live feed's view of tours: the current room (the place of the latest stay, by
THE dwell rule) and the latest signal of each tour, read through the project's mapping."""

from uuid import UUID

from app.domain.analytics import SessionScope
from app.domain.live import LiveTour
from app.domain.vocabulary import PLACE_TYPES
from app.stores.analytics.dwell import ProjectQueries, stays_sql

# The field that names what a signal was about, per vocabulary type.
SIGNAL_NAME_FIELDS = {
    "unit_selection": "name",
    "poi_visit": "poi",
    "interaction": "object",
    "gaze": "target",
    "view": "view_name",
}


class AnalyticsLiveStore(ProjectQueries):
    """The tours of one project as the live feed shows them."""

    async def tours(self, *, session_ids: list[UUID] | None = None, limit: int) -> list[LiveTour]:
        """The tours in progress (or, given `session_ids`, those sessions whatever their
        status), newest first, at most `limit`."""
        parameters, vocabulary = self.statement()
        if session_ids is None:
            scope = SessionScope(self._project_id, status="active")
            chosen = "TRUE"
        else:
            scope = SessionScope(self._project_id)
            chosen = f"s.id = ANY({parameters.add(session_ids)}::uuid[])"
        stays = stays_sql(scope, parameters, vocabulary)
        kind = vocabulary.kind("e")
        signal_name = " ".join(
            f"WHEN '{signal}' THEN {vocabulary.name('e', field)}"
            for signal, field in SIGNAL_NAME_FIELDS.items()
        )
        not_signals = ", ".join(f"'{kind_name}'" for kind_name in (*PLACE_TYPES, "position"))
        rows = await self._connection.fetch(
            f"""
            WITH {stays},
            chosen AS (
                SELECT s.* FROM scoped_sessions AS s WHERE {chosen}
                ORDER BY s.started_at DESC, s.id DESC
                LIMIT {parameters.add(limit)}
            ),
            current_place AS (
                SELECT DISTINCT ON (session_id) session_id, place
                FROM stays
                ORDER BY session_id, timestamp DESC, event_row_id DESC
            )
            SELECT s.id, s.customer_id, s.property_id, s.device_type, s.status, s.started_at,
                   s.ended_at, s.close_at AS last_activity_at, current_place.place AS current_room,
                   latest.signal_type, latest.signal_name, latest.signal_at
            FROM chosen AS s
            LEFT JOIN current_place ON current_place.session_id = s.id
            LEFT JOIN LATERAL (
                SELECT {kind} AS signal_type, (CASE {kind} {signal_name} END) AS signal_name,
                       e.timestamp AS signal_at
                FROM tracking_events AS e
                WHERE e.project_id = $1 AND e.session_id = s.id AND e.event_type <> 'position'
                  AND {kind} NOT IN ({not_signals})
                ORDER BY e.timestamp DESC, e.created_at DESC, e.id DESC
                LIMIT 1
            ) AS latest ON TRUE
            ORDER BY s.started_at DESC, s.id DESC
            """,
            *parameters.values,
        )
        return [LiveTour(**dict(row)) for row in rows]
