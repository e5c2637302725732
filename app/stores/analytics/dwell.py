"""What every analytics query shares: the session scope, the precision of divided figures, and
THE dwell rule (docs/events.md), as SQL fragments the stores compose.

Every statement filters by the caller's project, on vr_sessions and on tracking_events alike,
and aggregates in PostgreSQL; rows come back already counted, summed and ranked.
"""

from uuid import UUID

import asyncpg

from app.domain.analytics import SessionScope
from app.domain.vocabulary import DEFAULT_MAPPING, PLACE_TYPES, EventMapping
from app.stores.analytics.vocabulary import QueryParameters, VocabularySql

# The precision of divided figures (docs/analytics.md, "Precision"): means, medians and
# per-session figures in seconds to the millisecond; rates and relative changes to four decimals
# (0.01%). Sums and differences of times are exact to the microsecond, as stored.
SECONDS_DECIMALS = 3
RATE_DECIMALS = 4


def divided_seconds_sql(expression: str) -> str:
    return f"round({expression}, {SECONDS_DECIMALS})"


def rate_sql(expression: str) -> str:
    return f"round({expression}, {RATE_DECIMALS})"


# The columns of `scoped_sessions`: close_at is where the dwell of a session's last place event
# stops (its end, or its last activity while it is open); duration_seconds is exact and only
# for ended sessions.
SCOPED_SESSION_COLUMNS = """
    s.id, s.project_id, s.customer_id, s.property_id, s.device_type, s.status, s.started_at,
    s.ended_at, coalesce(s.ended_at, s.last_activity_at) AS close_at,
    extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS duration_seconds
"""


class ProjectQueries:
    """Queries over one project's sessions and events, which read events through the project's
    event mapping (the defaults when none is given)."""

    def __init__(
        self,
        connection: asyncpg.Connection,
        project_id: UUID,
        mapping: EventMapping = DEFAULT_MAPPING,
    ) -> None:
        self._connection = connection
        self._project_id = project_id
        self._mapping = mapping

    @property
    def mapping(self) -> EventMapping:
        return self._mapping

    def statement(self) -> tuple[QueryParameters, VocabularySql]:
        """The parameters of a new statement, and the mapping's SQL bound to them."""
        parameters = QueryParameters(self._project_id)
        return parameters, VocabularySql(self._mapping, parameters)


def scope_sql(scope: SessionScope, parameters: QueryParameters, *, alias: str = "s") -> str:
    """The WHERE conditions selecting the scope's sessions from vr_sessions AS `alias`. Only
    the filters given are written, so each statement gets the plan its filters deserve."""
    conditions = [f"{alias}.project_id = $1"]
    equalities = (
        ("id", scope.session_id),
        ("property_id", scope.property_id),
        ("customer_id", scope.customer_id),
        ("status", scope.status),
        ("device_type", scope.device_type),
    )
    for column, value in equalities:
        if value is not None:
            conditions.append(f"{alias}.{column} = {parameters.add(value)}")
    if scope.started_from is not None:
        conditions.append(f"{alias}.started_at >= {parameters.add(scope.started_from)}")
    if scope.started_before is not None:
        conditions.append(f"{alias}.started_at < {parameters.add(scope.started_before)}")
    if scope.identified_customers_only:
        conditions.append(f"{alias}.customer_id IS NOT NULL")
    return " AND ".join(conditions)


def place_name_sql(vocabulary: VocabularySql, alias: str) -> str:
    """The place a place event of `alias` names (NULL when none): its room or its zone."""
    room, zone = vocabulary.name(alias, "room_name"), vocabulary.name(alias, "zone_name")
    return f"CASE {vocabulary.kind(alias)} WHEN 'room_view' THEN {room} ELSE {zone} END"


def stays_sql(scope: SessionScope, parameters: QueryParameters, vocabulary: VocabularySql) -> str:
    """THE dwell rule (docs/events.md), once, as CTEs for a WITH clause:

    - scoped_sessions: the scope's sessions (SCOPED_SESSION_COLUMNS);
    - stays: one row per room_view/zone_enter with a name, with `place`, `dwell_seconds`
      (exact numeric) and `explicit` (whether the client's duration was used).

    Events are read through the project's mapping (`vocabulary`). A place event at t stays
    until the first of: t plus its valid explicit duration (if it has one), the session's next
    place event (room_view, zone_enter or zone_exit, ordered by timestamp, created_at, id), the
    session's close (its end; its last activity while open). Its dwell is that end minus the
    later of t and the session's start, never negative: every stay lies within its tour, and
    the stays of a session never overlap."""
    kind = vocabulary.kind("e")
    place_name = place_name_sql(vocabulary, "e")
    return f"""
    scoped_sessions AS (
        SELECT {SCOPED_SESSION_COLUMNS}
        FROM vr_sessions AS s
        WHERE {scope_sql(scope, parameters)}
    ),
    place_events AS (
        SELECT e.session_id, e.id, {kind} AS event_type, e.timestamp, e.created_at,
               s.started_at, s.close_at, {place_name} AS place,
               duration.seconds AS explicit_seconds
        FROM scoped_sessions AS s
        JOIN tracking_events AS e ON e.session_id = s.id
        {vocabulary.duration("e")}
        WHERE e.project_id = $1 AND {vocabulary.type_filter("e", *PLACE_TYPES)}
    ),
    place_sequence AS (
        SELECT place_events.*,
               lead(timestamp) OVER (
                   PARTITION BY session_id ORDER BY timestamp, created_at, id
               ) AS next_place_at
        FROM place_events
        WHERE place IS NOT NULL
    ),
    bounded AS (
        SELECT q.session_id, q.id AS event_row_id, q.event_type, q.place, q.timestamp,
               q.explicit_seconds,
               greatest(extract(epoch FROM q.timestamp), extract(epoch FROM q.started_at))
                   AS stay_begins,
               least(
                   extract(epoch FROM q.timestamp) + q.explicit_seconds,
                   extract(epoch FROM q.next_place_at),
                   extract(epoch FROM q.close_at)
               ) AS stay_ends
        FROM place_sequence AS q
        WHERE q.event_type <> 'zone_exit'
    ),
    stays AS (
        SELECT session_id, event_row_id, event_type, place, timestamp,
               greatest(0, stay_ends - stay_begins) AS dwell_seconds,
               explicit_seconds IS NOT NULL AS explicit
        FROM bounded
    )"""
