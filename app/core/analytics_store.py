"""SQL for the analytics read API: what every analytics query shares (the session scope, THE
dwell rule, read snapshots) and the session queries (lists, detail, events).

Every statement filters by the caller's project, on vr_sessions and on tracking_events alike,
and aggregates in PostgreSQL; rows come back already counted, summed and ranked. The reports
(property, leads, customers, overview, funnel) are in analytics_reports_store.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg

from app.core.database import Database

# What a name is trimmed of: the characters Python's str.strip() removes (the ground truth
# trims with it), spelled out for PostgreSQL's btrim as Unicode escapes (the database is UTF-8).
WHITESPACE_CHARACTERS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
WHITESPACE_SQL = "E'" + "".join(f"\\u{ord(char):04X}" for char in WHITESPACE_CHARACTERS) + "'"
# A numeric string once trimmed (docs/events.md). Exponents have at most four digits: casting
# anything longer to numeric could overflow, and such a "duration" means nothing anyway.
NUMERIC_TEXT_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$"
MAX_EXPLICIT_DURATION_SECONDS = 86400
PLACE_EVENT_TYPES_SQL = "('room_view', 'zone_enter', 'zone_exit')"

SortOrder = Literal["asc", "desc"]


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
SCOPED_SESSION_COLUMNS = """
    s.id, s.project_id, s.customer_id, s.property_id, s.device_type, s.status, s.started_at,
    s.ended_at, coalesce(s.ended_at, s.last_activity_at) AS close_at,
    extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS duration_seconds
"""


@dataclass(frozen=True)
class SessionScope:
    """Which sessions of a project a question is about (None: any)."""

    project_id: UUID
    session_id: UUID | None = None
    property_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    device_type: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    identified_customers_only: bool = False


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

    A place event's dwell is its valid explicit duration, else the time until the session's
    next place event (room_view, zone_enter or zone_exit, ordered by timestamp, created_at,
    id), else until the session's end (its last activity while open), never negative."""
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
               s.close_at, {place_name} AS place
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
    stays AS (
        SELECT q.session_id, q.id AS event_row_id, q.event_type, q.place, q.timestamp,
               coalesce(
                   duration.seconds,
                   greatest(
                       0,
                       extract(epoch FROM coalesce(q.next_place_at, q.close_at))
                           - extract(epoch FROM q.timestamp)
                   )
               ) AS dwell_seconds,
               duration.seconds IS NOT NULL AS explicit
        FROM place_sequence AS q
        {explicit_duration_sql("q")}
        WHERE q.event_type <> 'zone_exit'
    )"""


@asynccontextmanager
async def read_snapshot(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """A read-only, repeatable-read transaction: the several statements of one answer see the
    same data, even while events keep arriving."""
    async with (
        database.connection() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        yield connection


@dataclass(frozen=True)
class SessionRow:
    id: UUID
    customer_id: str | None
    property_id: str | None
    device_type: str | None
    status: str
    end_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    last_activity_at: datetime
    duration_seconds: Decimal | None
    """ended_at - started_at, exact; None while the session is open."""


SESSION_ROW_COLUMNS = """
    s.id, s.customer_id, s.property_id, s.device_type, s.status, s.end_reason, s.started_at,
    s.ended_at, s.last_activity_at,
    extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at) AS duration_seconds
"""


@dataclass(frozen=True)
class SessionKey:
    """Where a page of sessions stops: the last session's start and id."""

    started_at: datetime
    id: UUID


@dataclass(frozen=True)
class RoomDwell:
    place: str
    dwell_seconds: Decimal
    visits: int
    """Place events (room_view, zone_enter) of the place."""


@dataclass(frozen=True)
class EventCount:
    event_type: str
    events: int


@dataclass(frozen=True)
class EventCounts:
    by_type: list[EventCount]
    total: int
    story: int
    """Events other than position samples: the length of the full timeline."""


@dataclass(frozen=True)
class TimelineEvent:
    id: UUID
    event_id: UUID
    event_type: str
    timestamp: datetime
    event_data: Any
    place: str | None
    dwell_seconds: Decimal | None
    explicit: bool | None


@dataclass(frozen=True)
class EventKey:
    """Where a page of events stops: the order of THE dwell rule (created_at may be NULL in
    rows older than the current schema; NULLs come last)."""

    timestamp: datetime
    created_at: datetime | None
    id: UUID


@dataclass(frozen=True)
class EventRow:
    id: UUID
    event_id: UUID
    event_type: str
    timestamp: datetime
    client_timestamp: datetime
    received_at: datetime
    created_at: datetime | None
    event_data: Any


class AnalyticsStore:
    """Analytics queries over one project's sessions and events."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    def parameters(self) -> QueryParameters:
        return QueryParameters(self._project_id)

    async def list_sessions(
        self, scope: SessionScope, *, after: SessionKey | None, order: SortOrder, limit: int
    ) -> list[SessionRow]:
        """Up to `limit` sessions in start order (then id), after `after` if given."""
        parameters = self.parameters()
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
        parameters = self.parameters()
        rows = await self._connection.fetch(
            f"""
            WITH {stays_sql(SessionScope(self._project_id, session_id=session_id), parameters)}
            SELECT place, sum(dwell_seconds) AS dwell_seconds, count(*) AS visits
            FROM stays
            GROUP BY place
            ORDER BY dwell_seconds DESC, place
            """,
            *parameters.values,
        )
        return [RoomDwell(**dict(row)) for row in rows]

    async def session_event_counts(self, session_id: UUID) -> EventCounts:
        rows = await self._connection.fetch(
            """
            SELECT event_type, count(*) AS events,
                   sum(count(*)) OVER () AS total,
                   sum(count(*) FILTER (WHERE event_type <> 'position')) OVER () AS story
            FROM tracking_events
            WHERE session_id = $2 AND project_id = $1
            GROUP BY event_type
            ORDER BY event_type
            """,
            self._project_id,
            session_id,
        )
        return EventCounts(
            by_type=[EventCount(row["event_type"], row["events"]) for row in rows],
            total=int(rows[0]["total"]) if rows else 0,
            story=int(rows[0]["story"]) if rows else 0,
        )

    async def session_timeline(self, session_id: UUID, *, limit: int) -> list[TimelineEvent]:
        """The session's events other than position samples, in the order of the dwell rule,
        place events with their dwell; at most `limit`."""
        parameters = self.parameters()
        stays = stays_sql(SessionScope(self._project_id, session_id=session_id), parameters)
        session = parameters.add(session_id)
        rows = await self._connection.fetch(
            f"""
            WITH {stays}
            SELECT e.id, e.event_id, e.event_type, e.timestamp, e.event_data,
                   stays.place, stays.dwell_seconds, stays.explicit
            FROM tracking_events AS e
            LEFT JOIN stays ON stays.event_row_id = e.id
            WHERE e.session_id = {session} AND e.project_id = $1 AND e.event_type <> 'position'
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
    ) -> list[EventRow]:
        """Up to `limit` events of a session in timeline order, after `after` if given."""
        parameters = self.parameters()
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
        return [EventRow(**dict(row)) for row in rows]
