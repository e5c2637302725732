"""SQL for the analytics reports: the property report, overview KPIs, daily series and the
funnel. Built on dwell.py's session scope and dwell rule; every figure is computed in
PostgreSQL over all matching rows. Leads and customers are in leads.py.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from app.domain.analytics import (
    Change,
    DayFigures,
    FunnelFigures,
    Overview,
    PeriodFigures,
    RankedName,
    RankedRoom,
    SessionFigures,
    SessionScope,
)
from app.stores.analytics.dwell import (
    ProjectQueries,
    divided_seconds_sql,
    rate_sql,
    scope_sql,
    stays_sql,
)

# The median of ended sessions' durations: the mean of the lower and upper middle values, exact
# (percentile_cont would interpolate in double precision), then rounded as divided figures are.
MEDIAN_DURATION_SQL = """(
    percentile_disc(0.5) WITHIN GROUP (ORDER BY {d})
    + percentile_disc(0.5) WITHIN GROUP (ORDER BY {d} DESC)
) / 2"""


def median_sql(duration: str) -> str:
    return divided_seconds_sql(exact_median_sql(duration))


def exact_median_sql(duration: str) -> str:
    return MEDIAN_DURATION_SQL.format(d=duration)


# Event types whose named object the property report ranks, the field naming it, and whether
# it is timed (its explicit duration counts, else 0) or only counted.
NAMED_EVENT_KINDS = {
    "poi_visit": ("pois", "poi", True),
    "view": ("views", "view_name", True),
    "gaze": ("gaze_targets", "target", True),
    "interaction": ("interactions", "object", False),
    "unit_selection": ("unit_selections", "name", False),
}


def exact_sql(expression: str) -> str:
    return expression


# The overview's figures, each with its precision (counts are exact). Figures and their changes
# are computed exactly, and rounded only as they are answered.
OVERVIEW_METRICS = {
    "sessions": exact_sql,
    "unique_customers": exact_sql,
    "median_duration_seconds": divided_seconds_sql,
    "engaged_sessions": exact_sql,
    "engaged_rate": rate_sql,
}


class AnalyticsReportStore(ProjectQueries):
    """Report queries over one project's sessions and events."""

    async def session_figures(self, scope: SessionScope) -> SessionFigures:
        parameters, _ = self.statement()
        row = await self._connection.fetchrow(
            f"""
            WITH durations AS (
                SELECT s.customer_id, s.ended_at,
                       extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS d
                FROM vr_sessions AS s
                WHERE {scope_sql(scope, parameters)}
            )
            SELECT count(*) AS sessions,
                   count(*) FILTER (WHERE ended_at IS NULL) AS open_sessions,
                   count(DISTINCT customer_id) AS unique_customers,
                   {median_sql("d")} AS median_duration_seconds,
                   {divided_seconds_sql("avg(d)")} AS mean_duration_seconds
            FROM durations
            """,
            *parameters.values,
        )
        return SessionFigures(**dict(row))

    async def ranked_rooms(self, scope: SessionScope, *, top: int) -> list[RankedRoom]:
        """Rooms by total dwell (then name), at most `top`, each with its ranks by total and by
        dwell per session that visited it."""
        parameters, vocabulary = self.statement()
        rows = await self._connection.fetch(
            f"""
            WITH {stays_sql(scope, parameters, vocabulary)},
            rooms AS (
                SELECT place, sum(dwell_seconds) AS dwell_seconds, count(*) AS visits,
                       count(DISTINCT session_id) AS sessions
                FROM stays
                GROUP BY place
            ),
            ranked AS (
                SELECT rooms.*,
                       {divided_seconds_sql("dwell_seconds / sessions")}
                           AS dwell_per_session_seconds
                FROM rooms
            )
            SELECT place, dwell_seconds, visits, sessions, dwell_per_session_seconds,
                   rank() OVER (ORDER BY dwell_seconds DESC) AS rank_by_dwell,
                   rank() OVER (ORDER BY dwell_per_session_seconds DESC)
                       AS rank_by_dwell_per_session,
                   count(*) OVER () AS rooms
            FROM ranked
            ORDER BY dwell_seconds DESC, place
            LIMIT {parameters.add(top)}
            """,
            *parameters.values,
        )
        return [RankedRoom(**dict(row)) for row in rows]

    async def ranked_names(self, scope: SessionScope, *, top: int) -> list[RankedName]:
        """POIs, views and gaze targets by total explicit seconds, interactions by object and
        unit selections by unit name by count; at most `top` of each kind."""
        parameters, vocabulary = self.statement()
        event_kind = vocabulary.kind("e")
        label = " ".join(
            f"WHEN '{event_type}' THEN '{label}'"
            for event_type, (label, _, _) in NAMED_EVENT_KINDS.items()
        )
        name = " ".join(
            f"WHEN '{event_type}' THEN {vocabulary.name('e', field)}"
            for event_type, (_, field, _) in NAMED_EVENT_KINDS.items()
        )
        timed = ", ".join(f"'{t}'" for t, (_, _, is_timed) in NAMED_EVENT_KINDS.items() if is_timed)
        rows = await self._connection.fetch(
            f"""
            WITH scoped_sessions AS (
                SELECT s.id FROM vr_sessions AS s WHERE {scope_sql(scope, parameters)}
            ),
            kinds AS (
                SELECT e.*, {event_kind} AS event_kind
                FROM scoped_sessions AS s
                JOIN tracking_events AS e ON e.session_id = s.id
                WHERE e.project_id = $1 AND {vocabulary.type_filter("e", *NAMED_EVENT_KINDS)}
            ),
            named AS (
                SELECT CASE e.event_kind {label} END AS kind,
                       CASE e.event_kind {name} END AS name,
                       e.session_id,
                       CASE WHEN e.event_kind IN ({timed})
                            THEN coalesce(duration.seconds, 0) ELSE 0 END AS seconds
                FROM kinds AS e
                {vocabulary.duration("e")}
            ),
            totals AS (
                SELECT kind, name, count(*) AS events, count(DISTINCT session_id) AS sessions,
                       sum(seconds) AS seconds
                FROM named
                WHERE name IS NOT NULL
                GROUP BY kind, name
            ),
            ranked AS (
                SELECT totals.*,
                       row_number() OVER (
                           PARTITION BY kind ORDER BY seconds DESC, events DESC, name
                       ) AS rank,
                       count(*) OVER (PARTITION BY kind) AS entries
                FROM totals
            )
            SELECT kind, name, events, sessions, seconds, rank, entries
            FROM ranked
            WHERE rank <= {parameters.add(top)}
            ORDER BY kind, rank
            """,
            *parameters.values,
        )
        return [RankedName(**dict(row)) for row in rows]

    async def event_counts(self, scope: SessionScope) -> dict[str, int]:
        parameters, _ = self.statement()
        rows = await self._connection.fetch(
            f"""
            SELECT e.event_type, count(*) AS events
            FROM vr_sessions AS s
            JOIN tracking_events AS e ON e.session_id = s.id
            WHERE {scope_sql(scope, parameters)} AND e.project_id = $1
            GROUP BY e.event_type
            ORDER BY e.event_type
            """,
            *parameters.values,
        )
        return {row["event_type"]: row["events"] for row in rows}

    async def overview(
        self,
        scope: SessionScope,
        *,
        starts: datetime,
        ends: datetime,
        previous_starts: datetime,
        engaged_min_seconds: Decimal,
    ) -> Overview:
        """KPIs of sessions started in [starts, ends) and in the period of equal length
        before it, and the change between them."""
        parameters, _ = self.statement()
        conditions = scope_sql(scope, parameters)
        current_start, current_end = parameters.add(starts), parameters.add(ends)
        previous_start = parameters.add(previous_starts)
        engaged = parameters.add(engaged_min_seconds)
        answered = ",\n".join(
            f"{rounded(f'c.{metric}')} AS {metric}, {rounded(f'p.{metric}')} AS previous_{metric}"
            for metric, rounded in OVERVIEW_METRICS.items()
        )
        changes = ",\n".join(
            _change_sql(metric, rounded) for metric, rounded in OVERVIEW_METRICS.items()
        )
        row = await self._connection.fetchrow(
            f"""
            WITH periods (period, starts, ends) AS (
                VALUES ('current', {current_start}::timestamptz, {current_end}::timestamptz),
                       ('previous', {previous_start}::timestamptz, {current_start}::timestamptz)
            ),
            figures AS (
                SELECT p.period, count(s.id) AS sessions,
                       count(DISTINCT s.customer_id) AS unique_customers,
                       {exact_median_sql("s.duration_seconds")} AS median_duration_seconds,
                       count(*) FILTER (
                           WHERE s.duration_seconds >= {engaged}::numeric
                       ) AS engaged_sessions
                FROM periods AS p
                LEFT JOIN LATERAL (
                    SELECT s.id, s.customer_id,
                           extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at)
                               AS duration_seconds
                    FROM vr_sessions AS s
                    WHERE {conditions} AND s.started_at >= p.starts AND s.started_at < p.ends
                ) AS s ON true
                GROUP BY p.period
            ),
            rated AS (
                SELECT figures.*,
                       engaged_sessions::numeric / nullif(sessions, 0) AS engaged_rate
                FROM figures
            )
            SELECT {answered},
                   {changes}
            FROM rated AS c, rated AS p
            WHERE c.period = 'current' AND p.period = 'previous'
            """,
            *parameters.values,
        )
        fields = ("sessions", "unique_customers", "median_duration_seconds", "engaged_sessions")
        fields += ("engaged_rate",)
        return Overview(
            current=PeriodFigures(**{field: row[field] for field in fields}),
            previous=PeriodFigures(**{field: row[f"previous_{field}"] for field in fields}),
            changes={
                metric: Change(row[f"{metric}_change"], row[f"{metric}_relative_change"])
                for metric in OVERVIEW_METRICS
            },
        )

    async def daily(
        self,
        scope: SessionScope,
        *,
        starts: datetime,
        ends: datetime,
        engaged_min_seconds: Decimal,
    ) -> list[DayFigures]:
        """One row per UTC day that [starts, ends) touches, days without sessions included."""
        parameters, _ = self.statement()
        conditions = scope_sql(scope, parameters)
        first, last = parameters.add(starts), parameters.add(ends)
        engaged = parameters.add(engaged_min_seconds)
        rows = await self._connection.fetch(
            f"""
            WITH days AS (
                SELECT generate_series(
                    ({first}::timestamptz AT TIME ZONE 'UTC')::date,
                    (({last}::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC')::date,
                    interval '1 day'
                )::date AS day
            ),
            sessions AS (
                SELECT (s.started_at AT TIME ZONE 'UTC')::date AS day, s.id, s.customer_id,
                       extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at)
                           AS duration_seconds
                FROM vr_sessions AS s
                WHERE {conditions} AND s.started_at >= {first} AND s.started_at < {last}
            )
            SELECT d.day, count(s.id) AS sessions,
                   count(DISTINCT s.customer_id) AS unique_customers,
                   count(*) FILTER (
                       WHERE s.duration_seconds >= {engaged}::numeric
                   ) AS engaged_sessions,
                   {median_sql("s.duration_seconds")} AS median_duration_seconds
            FROM days AS d
            LEFT JOIN sessions AS s ON s.day = d.day
            GROUP BY d.day
            ORDER BY d.day
            """,
            *parameters.values,
        )
        return [DayFigures(**dict(row)) for row in rows]

    async def funnel(
        self,
        scope: SessionScope,
        *,
        engaged_min_seconds: Decimal,
        room_interest_min_seconds: Decimal,
        high_intent_min_rooms: int,
    ) -> FunnelFigures:
        """Sessions started -> engaged (ended, lasted at least engaged_min_seconds) -> high
        intent (engaged, and a unit selected or enough rooms of interest)."""
        parameters, vocabulary = self.statement()
        ctes = stays_sql(scope, parameters, vocabulary)
        engaged = parameters.add(engaged_min_seconds)
        room_min = parameters.add(room_interest_min_seconds)
        min_rooms = parameters.add(high_intent_min_rooms)
        row = await self._connection.fetchrow(
            f"""
            WITH {ctes},
            session_rooms AS (
                SELECT session_id, place, sum(dwell_seconds) AS dwell_seconds
                FROM stays
                GROUP BY session_id, place
            ),
            interest AS (
                SELECT session_id,
                       count(*) FILTER (WHERE dwell_seconds >= {room_min}::numeric) AS rooms
                FROM session_rooms
                GROUP BY session_id
            ),
            flags AS (
                SELECT coalesce(s.duration_seconds >= {engaged}::numeric, false) AS engaged,
                       EXISTS (
                           SELECT 1 FROM tracking_events AS e
                           WHERE e.session_id = s.id AND e.project_id = $1
                             AND {vocabulary.type_filter("e", "unit_selection")}
                       ) AS selected_unit,
                       coalesce(interest.rooms, 0) >= {min_rooms}::integer AS enough_rooms
                FROM scoped_sessions AS s
                LEFT JOIN interest ON interest.session_id = s.id
            ),
            counts AS (
                SELECT count(*) AS started,
                       count(*) FILTER (WHERE engaged) AS engaged,
                       count(*) FILTER (WHERE engaged AND (selected_unit OR enough_rooms))
                           AS high_intent,
                       count(*) FILTER (WHERE engaged AND selected_unit)
                           AS high_intent_by_unit_selection,
                       count(*) FILTER (WHERE engaged AND enough_rooms) AS high_intent_by_rooms
                FROM flags
            )
            SELECT counts.*,
                   {rate_sql("engaged::numeric / nullif(started, 0)")} AS engaged_rate,
                   {rate_sql("high_intent::numeric / nullif(engaged, 0)")} AS high_intent_rate,
                   {rate_sql("high_intent::numeric / nullif(started, 0)")}
                       AS high_intent_rate_of_started
            FROM counts
            """,
            *parameters.values,
        )
        return FunnelFigures(**dict(row))


def _change_sql(metric: str, rounded: Callable[[str], str]) -> str:
    return f"""
        {rounded(f"c.{metric} - p.{metric}")} AS {metric}_change,
        {rate_sql(f"(c.{metric} - p.{metric})::numeric / nullif(p.{metric}, 0)")}
            AS {metric}_relative_change"""
