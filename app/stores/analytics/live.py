"""SQL for the live feed's view of tours: the current room (the place of the latest stay, by
THE dwell rule) and the latest signal of each tour, read through the project's mapping."""

from uuid import UUID

from app.domain.analytics import SessionScope
from app.domain.live import LiveTour
from app.domain.vocabulary import PLACE_TYPES
from app.stores.analytics.dwell import ProjectQueries, place_name_sql, scope_sql

# The place events that begin a stay (zone_exit only ends one).
STAY_TYPES = ("room_view", "zone_enter")
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
        status), newest first, at most `limit`. Each tour's current room and latest signal are
        found from its newest events backwards, by index: the cost does not grow with the
        tour's length, nor with the other tours of the project."""
        parameters, vocabulary = self.statement()
        if session_ids is None:
            scope = SessionScope(self._project_id, status="active")
            chosen = "TRUE"
        else:
            scope = SessionScope(self._project_id)
            chosen = f"s.id = ANY({parameters.add(session_ids)}::uuid[])"
        kind = vocabulary.kind("e")
        place = place_name_sql(vocabulary, "e")
        # A stay begins at each named room_view or zone_enter (THE dwell rule): the current
        # room is the place of the latest, by the rule's order. One backward index step per
        # stored type that counts as one of them.
        stay_types = parameters.add(vocabulary.raw_types(*STAY_TYPES))
        stay_kinds = ", ".join(f"'{kind_name}'" for kind_name in STAY_TYPES)
        signal_name = " ".join(
            f"WHEN '{signal}' THEN {vocabulary.name('e', field)}"
            for signal, field in SIGNAL_NAME_FIELDS.items()
        )
        not_signals = ", ".join(f"'{kind_name}'" for kind_name in (*PLACE_TYPES, "position"))
        rows = await self._connection.fetch(
            f"""
            SELECT s.id, s.customer_id, s.property_id, s.device_type, s.status, s.started_at,
                   s.ended_at, coalesce(s.ended_at, s.last_activity_at) AS last_activity_at,
                   current_place.place AS current_room,
                   latest.signal_type, latest.signal_name, latest.signal_at
            FROM vr_sessions AS s
            LEFT JOIN LATERAL (
                SELECT latest_stay.place
                FROM unnest({stay_types}::text[]) AS stay_type(event_type)
                CROSS JOIN LATERAL (
                    SELECT {place} AS place, e.timestamp, e.created_at, e.id
                    FROM tracking_events AS e
                    WHERE e.project_id = $1 AND e.session_id = s.id
                      AND e.event_type = stay_type.event_type AND e.event_type <> 'position'
                      AND {kind} IN ({stay_kinds}) AND {place} IS NOT NULL
                    ORDER BY e.timestamp DESC, e.created_at DESC, e.id DESC
                    LIMIT 1
                ) AS latest_stay
                ORDER BY latest_stay.timestamp DESC, latest_stay.created_at DESC,
                         latest_stay.id DESC
                LIMIT 1
            ) AS current_place ON TRUE
            LEFT JOIN LATERAL (
                SELECT {kind} AS signal_type, (CASE {kind} {signal_name} END) AS signal_name,
                       e.timestamp AS signal_at
                FROM tracking_events AS e
                WHERE e.project_id = $1 AND e.session_id = s.id AND e.event_type <> 'position'
                  AND {kind} NOT IN ({not_signals})
                ORDER BY e.timestamp DESC, e.created_at DESC, e.id DESC
                LIMIT 1
            ) AS latest ON TRUE
            WHERE {scope_sql(scope, parameters)} AND {chosen}
            ORDER BY s.started_at DESC, s.id DESC
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [LiveTour(**dict(row)) for row in rows]
