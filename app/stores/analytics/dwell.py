"""What every analytics query shares: the session scope, how names and durations are read, and
THE dwell rule (docs/events.md), as SQL fragments the stores compose.

Every statement filters by the caller's project, on vr_sessions and on tracking_events alike,
and aggregates in PostgreSQL; rows come back already counted, summed and ranked.
"""

from typing import Any
from uuid import UUID

from app.domain.analytics import SessionScope

# What a name is trimmed of: the characters Python's str.strip() removes (the ground truth
# trims with it), spelled out for PostgreSQL's btrim as Unicode escapes (the database is UTF-8).
WHITESPACE_CHARACTERS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
WHITESPACE_SQL = "E'" + "".join(f"\\u{ord(char):04X}" for char in WHITESPACE_CHARACTERS) + "'"
# A numeric string once trimmed (docs/events.md). Exponents have at most four digits: casting
# anything longer to numeric could overflow, and such a "duration" means nothing anyway.
NUMERIC_TEXT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$"
MAX_EXPLICIT_DURATION_SECONDS = 86400
PLACE_EVENT_TYPES_SQL = "('room_view', 'zone_enter', 'zone_exit')"


def name_sql(json_value: str) -> str:
    """A name (room, POI, target, ...) from a jsonb value: a JSON string, trimmed; NULL when it
    is missing, blank or not a string."""
    return (
        f"(CASE WHEN jsonb_typeof({json_value}) = 'string' "
        f"THEN nullif(btrim({json_value} #>> '{{}}', {WHITESPACE_SQL}), '') END)"
    )


def explicit_duration_sql(event_alias: str) -> str:
    """A LATERAL subquery `duration` whose `seconds` is the event's valid explicit duration, or
    NULL when it counts as absent. The regex guards the cast, so garbage never raises."""
    value = f"{event_alias}.event_data -> 'duration'"
    text = f"btrim({event_alias}.event_data ->> 'duration', {WHITESPACE_SQL})"
    return f"""
        CROSS JOIN LATERAL (
            SELECT CASE WHEN parsed.value BETWEEN 0 AND {MAX_EXPLICIT_DURATION_SECONDS}
                        THEN parsed.value END AS seconds
            FROM (
                SELECT CASE
                    WHEN jsonb_typeof({value}) = 'number' THEN ({value})::numeric
                    WHEN jsonb_typeof({value}) = 'string' AND {text} ~ '{NUMERIC_TEXT_PATTERN}'
                        THEN ({text})::numeric
                END AS value
            ) AS parsed
        ) AS duration"""


# The columns of `scoped_sessions`: close_at is where the dwell of a session's last place event
# stops (its end, or its last activity while it is open); duration_seconds is exact and only
# for ended sessions.
# The precision of divided figures (docs/analytics.md, "Precision"): means, medians and
# per-session figures in seconds to the millisecond; rates and relative changes to four decimals
# (0.01%). Sums and differences of times are exact to the microsecond, as stored.
SECONDS_DECIMALS = 3
RATE_DECIMALS = 4


def divided_seconds_sql(expression: str) -> str:
    return f"round({expression}, {SECONDS_DECIMALS})"


def rate_sql(expression: str) -> str:
    return f"round({expression}, {RATE_DECIMALS})"


SCOPED_SESSION_COLUMNS = """
    s.id, s.project_id, s.customer_id, s.property_id, s.device_type, s.status, s.started_at,
    s.ended_at, coalesce(s.ended_at, s.last_activity_at) AS close_at,
    extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS duration_seconds
"""


class QueryParameters:
    """The $n parameters of one statement; $1 is always the project id."""

    def __init__(self, project_id: UUID) -> None:
        self.values: list[Any] = [project_id]

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


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


def stays_sql(scope: SessionScope, parameters: QueryParameters) -> str:
    """THE dwell rule (docs/events.md), once, as CTEs for a WITH clause:

    - scoped_sessions: the scope's sessions (SCOPED_SESSION_COLUMNS);
    - stays: one row per room_view/zone_enter with a name, with `place`, `dwell_seconds`
      (exact numeric) and `explicit` (whether the client's duration was used).

    A place event at t stays until the first of: t plus its valid explicit duration (if it
    has one), the session's next place event (room_view, zone_enter or zone_exit, ordered by
    timestamp, created_at, id), the session's close (its end; its last activity while open).
    Its dwell is that end minus the later of t and the session's start, never negative: every
    stay lies within its tour, and the stays of a session never overlap."""
    place_name = name_sql(
        "CASE e.event_type WHEN 'room_view' THEN e.event_data -> 'room_name' "
        "ELSE e.event_data -> 'zone_name' END"
    )
    return f"""
    scoped_sessions AS (
        SELECT {SCOPED_SESSION_COLUMNS}
        FROM vr_sessions AS s
        WHERE {scope_sql(scope, parameters)}
    ),
    place_events AS (
        SELECT e.session_id, e.id, e.event_type, e.timestamp, e.created_at, e.event_data,
               s.started_at, s.close_at, {place_name} AS place
        FROM scoped_sessions AS s
        JOIN tracking_events AS e ON e.session_id = s.id
        WHERE e.project_id = $1 AND e.event_type IN {PLACE_EVENT_TYPES_SQL}
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
               duration.seconds AS explicit_seconds,
               greatest(extract(epoch FROM q.timestamp), extract(epoch FROM q.started_at))
                   AS stay_begins,
               least(
                   extract(epoch FROM q.timestamp) + duration.seconds,
                   extract(epoch FROM q.next_place_at),
                   extract(epoch FROM q.close_at)
               ) AS stay_ends
        FROM place_sequence AS q
        {explicit_duration_sql("q")}
        WHERE q.event_type <> 'zone_exit'
    ),
    stays AS (
        SELECT session_id, event_row_id, event_type, place, timestamp,
               greatest(0, stay_ends - stay_begins) AS dwell_seconds,
               explicit_seconds IS NOT NULL AS explicit
        FROM bounded
    )"""
