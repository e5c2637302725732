"""SQL for exports: a project's events or sessions of a period, read through a server-side
cursor inside one read-only REPEATABLE READ transaction, so that the row count announced first
and the rows streamed after it come from the same snapshot.

The cursor is declared in SQL (DECLARE ... CURSOR), not opened as a driver-level portal: that
way PostgreSQL plans it to deliver the first rows fast, streaming them in the order of
idx_events_project_timestamp, where a portal's plan may sort a whole period before the first
row. PostgreSQL formats every value: timestamps as ISO 8601 UTC with microseconds
(`2025-03-01T09:30:00.250000Z`, whatever the session's time zone), ids as text, event_data as
JSON text. An NDJSON row is built whole by json_build_object, so Python only joins lines.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from app.db.database import Database


def iso_utc(column: str) -> str:
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


@dataclass(frozen=True)
class Column:
    name: str
    sql: str
    numeric: bool = False
    """A number PostgreSQL formats (never client text): CSV writes it as it is."""


@dataclass(frozen=True)
class ExportTable:
    """What one kind of export reads. $1 is the project, $2/$3 the period (NULL: open), $4 the
    property when filtered by one."""

    name: str
    columns: tuple[Column, ...]
    source: str
    property_source: str
    """The same rows limited to property $4."""
    order: str
    count_source: str
    """The rows to count without a property filter (cheaper than `source`, same rows)."""

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def text_columns(self) -> tuple[int, ...]:
        """The positions of the columns that hold text (every one but the numbers)."""
        return tuple(index for index, column in enumerate(self.columns) if not column.numeric)

    def select_sql(self, *, as_json: bool, by_property: bool) -> str:
        if as_json:
            pairs = ", ".join(f"'{column.name}', {column.sql}" for column in self.columns)
            values = f"json_build_object({pairs})::text"
        else:
            values = ", ".join(f"({column.sql})::text" for column in self.columns)
        source = self.property_source if by_property else self.source
        return f"SELECT {values} {source} ORDER BY {self.order}"

    def cursor_name(self, *, as_json: bool) -> str:
        """One name per shape of row: the driver caches the FETCH statement, and with it the
        columns it returns."""
        return f"export_{self.name}_{'ndjson' if as_json else 'csv'}"

    def declare_sql(self, *, as_json: bool, by_property: bool) -> str:
        select = self.select_sql(as_json=as_json, by_property=by_property)
        return f"DECLARE {self.cursor_name(as_json=as_json)} NO SCROLL CURSOR FOR {select}"

    def count_sql(self, *, by_property: bool) -> str:
        return f"SELECT count(*) {self.property_source if by_property else self.count_source}"


EVENTS = ExportTable(
    name="events",
    columns=(
        Column("id", "event.id"),
        Column("session_id", "event.session_id"),
        Column("event_id", "event.event_id"),
        Column("event_type", "event.event_type"),
        Column("timestamp", iso_utc("event.timestamp")),
        Column("client_timestamp", iso_utc("event.client_timestamp")),
        Column("received_at", iso_utc("event.received_at")),
        Column("customer_id", "session.customer_id"),
        Column("property_id", "session.property_id"),
        Column("event_data", "event.event_data"),
    ),
    source="""
        FROM tracking_events AS event
        JOIN vr_sessions AS session
            ON session.project_id = event.project_id AND session.id = event.session_id
        WHERE event.project_id = $1
          AND event.timestamp >= coalesce($2::timestamptz, '-infinity')
          AND event.timestamp < coalesce($3::timestamptz, 'infinity')
    """,
    # By the array of the property's session ids: read through the session index (see
    # heatmap_store), never a sequential scan of every event.
    property_source="""
        FROM tracking_events AS event
        JOIN vr_sessions AS session
            ON session.project_id = event.project_id AND session.id = event.session_id
        WHERE event.project_id = $1
          AND event.session_id = ANY (ARRAY(
              SELECT id FROM vr_sessions WHERE project_id = $1 AND property_id = $4
          ))
          AND event.timestamp >= coalesce($2::timestamptz, '-infinity')
          AND event.timestamp < coalesce($3::timestamptz, 'infinity')
    """,
    order="event.timestamp, event.id",
    count_source="""
        FROM tracking_events AS event
        WHERE event.project_id = $1
          AND event.timestamp >= coalesce($2::timestamptz, '-infinity')
          AND event.timestamp < coalesce($3::timestamptz, 'infinity')
    """,
)

SESSIONS_SOURCE = """
    FROM vr_sessions AS session
    WHERE session.project_id = $1
      AND session.started_at >= coalesce($2::timestamptz, '-infinity')
      AND session.started_at < coalesce($3::timestamptz, 'infinity')
"""
SESSIONS = ExportTable(
    name="sessions",
    columns=(
        Column("id", "session.id"),
        Column("customer_id", "session.customer_id"),
        Column("property_id", "session.property_id"),
        Column("device_type", "session.device_type"),
        Column("status", "session.status"),
        Column("end_reason", "session.end_reason"),
        Column("started_at", iso_utc("session.started_at")),
        Column("ended_at", iso_utc("session.ended_at")),
        # Exact, as in the analytics API (docs/analytics.md, "Precision"), without trailing zeros.
        Column(
            "duration_seconds",
            "trim_scale(extract(epoch FROM session.ended_at) "
            "- extract(epoch FROM session.started_at))",
            numeric=True,
        ),
        Column("last_activity_at", iso_utc("session.last_activity_at")),
    ),
    source=SESSIONS_SOURCE,
    property_source=SESSIONS_SOURCE + "  AND session.property_id = $4\n",
    order="session.started_at, session.id",
    count_source=SESSIONS_SOURCE,
)


@dataclass(frozen=True)
class ExportFilter:
    start: datetime | None = None
    end: datetime | None = None
    property_id: str | None = None

    def arguments(self, project_id: UUID) -> list[object]:
        arguments: list[object] = [project_id, self.start, self.end]
        if self.property_id is not None:
            arguments.append(self.property_id)
        return arguments


class ExportSnapshot:
    """One project's rows as of the snapshot's start."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def count(self, table: ExportTable, filters: ExportFilter) -> int:
        sql = table.count_sql(by_property=filters.property_id is not None)
        return await self._connection.fetchval(sql, *filters.arguments(self._project_id))

    async def chunks(
        self, table: ExportTable, filters: ExportFilter, *, as_json: bool, chunk_rows: int
    ) -> AsyncIterator[Sequence[Sequence[str | None]]]:
        """The rows in order, `chunk_rows` at a time: each a tuple of texts (columns), or of
        one JSON object's text when `as_json`."""
        declare = table.declare_sql(as_json=as_json, by_property=filters.property_id is not None)
        await self._connection.execute(declare, *filters.arguments(self._project_id))
        # FETCH takes no parameter: the count is the integer setting, never client input.
        fetch = f"FETCH {int(chunk_rows)} FROM {table.cursor_name(as_json=as_json)}"
        while rows := await self._connection.fetch(fetch):
            yield rows


@asynccontextmanager
async def export_snapshot(database: Database, project_id: UUID) -> AsyncIterator[ExportSnapshot]:
    """A pooled connection in a read-only REPEATABLE READ transaction, for as long as the block
    runs: every query in it sees the same data."""
    async with database.read_snapshot() as connection:
        yield ExportSnapshot(connection, project_id)
