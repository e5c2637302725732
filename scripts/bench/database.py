"""The database side of the benchmark, with no HTTP: the ceiling (the same events written with
COPY straight into tracking_events), the same rows through the statements a fast path could use,
and filling the table for the growth scenario."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psutil

from .services import cpu_seconds, is_local, machine_busy_seconds
from .workloads import event_content

# The columns the service writes (app/stores/events.py, INSERT_EVENTS_SQL). The one place to
# change when the service writes another column: `project_id` is added when the table has it.
EVENT_COLUMNS = (
    "session_id",
    "event_id",
    "content_id",
    "event_type",
    "timestamp",
    "client_timestamp",
    "event_data",
    "received_at",
)
OPTIONAL_SESSION_COLUMNS = ("project_id",)
"""Columns copied from the event's session when tracking_events has them."""
COPY_CHUNK_ROWS = 10_000


class EventRows:
    """Rows shaped like the service's, for the given sessions, in the table's column order."""

    def __init__(self, columns: Sequence[str], sessions: dict[uuid.UUID, dict[str, Any]]) -> None:
        self.columns = tuple(columns)
        self._sessions = list(sessions.items())
        self._count = 0

    def take(self, count: int) -> list[tuple[Any, ...]]:
        now = datetime.now(UTC)
        rows = []
        for _ in range(count):
            self._count += 1
            number = self._count
            session_id, session = self._sessions[number % len(self._sessions)]
            event_type, data = event_content(number)
            moment = now - timedelta(seconds=number % 3600, microseconds=number % 1000)
            values = {
                "session_id": session_id,
                "event_id": uuid.uuid4(),
                "content_id": uuid.uuid4(),
                "event_type": event_type,
                "timestamp": moment,
                "client_timestamp": moment,
                "event_data": data,
                "received_at": now,
                **session,
            }
            rows.append(tuple(values[column] for column in self.columns))
        return rows


async def event_rows(connection: asyncpg.Connection, session_ids: Sequence[str]) -> EventRows:
    """A row source for these (existing) sessions, with the columns this schema has."""
    present = {
        record["column_name"]
        for record in await connection.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'tracking_events'"
        )
    }
    from_session = [column for column in OPTIONAL_SESSION_COLUMNS if column in present]
    sessions: dict[uuid.UUID, dict[str, Any]] = {
        uuid.UUID(session_id): {} for session_id in session_ids
    }
    if from_session:
        records = await connection.fetch(
            f"SELECT id, {', '.join(from_session)} FROM vr_sessions WHERE id = any($1::uuid[])",
            list(sessions),
        )
        for record in records:
            sessions[record["id"]] = {column: record[column] for column in from_session}
    return EventRows([*EVENT_COLUMNS, *from_session], sessions)


async def timed_writers(dsn: str, work: list[list[Any]], write: Any) -> dict[str, float]:
    """`len(work)` connections each run `write(connection, item)` over its items, all at once:
    the seconds it took, the CPU seconds of this process (the client), of the database
    backends (when the server is on this machine) and of the whole machine meanwhile."""
    connections = [await asyncpg.connect(dsn) for _ in work]
    try:
        backends = []
        if is_local(dsn):
            pids = [
                await connection.fetchval("SELECT pg_backend_pid()") for connection in connections
            ]
            backends = [psutil.Process(pid) for pid in pids]

        async def one_writer(connection: asyncpg.Connection, items: list[Any]) -> None:
            for item in items:
                await write(connection, item)

        machine, client = machine_busy_seconds(), time.process_time()
        database = sum(cpu_seconds(backend) for backend in backends)
        started = time.perf_counter()
        await asyncio.gather(
            *(one_writer(c, items) for c, items in zip(connections, work, strict=True))
        )
        return {
            "seconds": time.perf_counter() - started,
            "client_cpu_seconds": time.process_time() - client,
            "db_cpu_seconds": sum(cpu_seconds(backend) for backend in backends) - database,
            "machine_cpu_seconds": machine_busy_seconds() - machine,
            "db_measured": bool(backends),
        }
    finally:
        for connection in connections:
            await connection.close()


def ceiling_entry(method: str, *, writers: int, rows: int, run: dict[str, float]) -> dict[str, Any]:
    """Rows per second, and CPU per row: steadier than speed when the machine is shared."""
    seconds = run["seconds"]
    ours = run["client_cpu_seconds"] + run["db_cpu_seconds"]
    return {
        "method": method,
        "writers": writers,
        "rows": rows,
        "rows_per_second": round(rows / seconds, 1),
        "db_cpu_us_per_row": round(1e6 * run["db_cpu_seconds"] / rows, 2)
        if run["db_measured"]
        else None,
        "client_cpu_us_per_row": round(1e6 * run["client_cpu_seconds"] / rows, 2),
        "other_cpu_cores": round(max(0.0, run["machine_cpu_seconds"] - ours) / seconds, 3)
        if run["db_measured"]
        else None,
    }


def split(rows: list[Any], *, writers: int, chunk: int) -> list[list[list[Any]]]:
    """The rows in chunks of `chunk`, dealt out to `writers`."""
    chunks = [rows[first : first + chunk] for first in range(0, len(rows), chunk)]
    return [chunks[writer::writers] for writer in range(writers)]


async def copy_ceiling(dsn: str, source: EventRows, *, rows: int, writers: int) -> dict[str, Any]:
    """COPY `rows` rows into tracking_events from `writers` connections at once."""
    work = split(source.take(rows), writers=writers, chunk=COPY_CHUNK_ROWS)

    async def write(connection: asyncpg.Connection, chunk: list[tuple[Any, ...]]) -> None:
        await connection.copy_records_to_table(
            "tracking_events", records=chunk, columns=source.columns
        )

    run = await timed_writers(dsn, work, write)
    return ceiling_entry("copy", writers=writers, rows=rows, run=run)


def unnest_insert_sql(columns: Sequence[str]) -> str:
    """The service's statement shape: one INSERT ... SELECT FROM unnest per batch, duplicates
    skipped by the (session_id, event_id) unique index, inserted ids returned."""
    casts = {"event_data": "text", "session_id": "uuid", "event_id": "uuid", "content_id": "uuid"}
    types = {"event_type": "text", "timestamp": "timestamptz", "client_timestamp": "timestamptz"}
    types |= {"received_at": "timestamptz", "project_id": "uuid"} | casts
    arrays = ", ".join(f"${n}::{types[c]}[]" for n, c in enumerate(columns, start=1))
    selected = ", ".join(f"{c}::jsonb" if c == "event_data" else c for c in columns)
    return (
        f"INSERT INTO tracking_events ({', '.join(columns)}) "
        f"SELECT {selected} FROM unnest({arrays}) AS batch ({', '.join(columns)}) "
        "ON CONFLICT (session_id, event_id) DO NOTHING RETURNING event_id"
    )


async def statement_ceiling(
    dsn: str, source: EventRows, *, rows: int, writers: int, batch_size: int, method: str
) -> dict[str, Any]:
    """The same rows in batches, each in its own transaction, with de-duplication intact:
    `unnest` (INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING) or `staging` (COPY into
    a temporary table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING)."""
    work = split(source.take(rows), writers=writers, chunk=batch_size)
    columns = source.columns
    insert = unnest_insert_sql(columns)
    staged = (
        f"INSERT INTO tracking_events ({', '.join(columns)}) "
        f"SELECT {', '.join(columns)} FROM staged_events "
        "ON CONFLICT (session_id, event_id) DO NOTHING RETURNING event_id"
    )

    async def write(connection: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> None:
        async with connection.transaction():
            if method == "unnest":
                await connection.fetch(
                    insert, *(list(values) for values in zip(*batch, strict=True))
                )
                return
            await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS staged_events "
                "(LIKE tracking_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            await connection.copy_records_to_table("staged_events", records=batch, columns=columns)
            await connection.fetch(staged)

    run = await timed_writers(dsn, work, write)
    return ceiling_entry(f"{method} x{batch_size}", writers=writers, rows=rows, run=run)


async def count_events(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT count(*) FROM tracking_events")
    finally:
        await connection.close()


async def fill_events(
    dsn: str, session_ids: Sequence[str], *, target_rows: int, writers: int = 2
) -> dict[str, Any]:
    """COPY rows into tracking_events until it holds `target_rows`, then VACUUM (ANALYZE) it
    and CHECKPOINT: what a table that grew over weeks looks like. Without it, autovacuum and
    the checkpoint that a bulk load sets off run during the measurement that follows (they
    took 0.7-1.3 cores of 2 in such runs), and the slice measures them, not the table."""
    started = time.perf_counter()
    existing = await count_events(dsn)
    connection = await asyncpg.connect(dsn)
    try:
        source = await event_rows(connection, session_ids)
        missing = max(0, target_rows - existing)
        while missing:
            step = min(missing, 200_000)
            work = split(source.take(step), writers=writers, chunk=COPY_CHUNK_ROWS * 5)

            async def write(writer: asyncpg.Connection, chunk: list[tuple[Any, ...]]) -> None:
                await writer.copy_records_to_table(
                    "tracking_events", records=chunk, columns=source.columns
                )

            await timed_writers(dsn, work, write)
            missing -= step
        await connection.execute("VACUUM (ANALYZE) tracking_events")
        # Superusers and pg_checkpoint only: elsewhere the server's own checkpoints must do.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return {
        "rows_before": existing,
        "rows_added": max(0, target_rows - existing),
        "seconds": round(time.perf_counter() - started, 1),
    }


async def analyze_events(dsn: str) -> None:
    """Statistics on tracking_events, as a database in service has them (autovacuum has not
    come by yet in a throw-away database filled seconds ago)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("ANALYZE tracking_events")
    finally:
        await connection.close()


# The service's backends: its pools' and its workers' LISTEN connections (the live feed).
SERVICE_APPLICATION_NAMES = ("nexero", "nexero-live")


async def backend_pids(
    dsn: str, application_names: Sequence[str] = SERVICE_APPLICATION_NAMES
) -> list[int]:
    """The database backends serving the service (or, given its name, the reference's:
    'nexero-reference')."""
    connection = await asyncpg.connect(dsn)
    try:
        records = await connection.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = ANY($1::text[])",
            list(application_names),
        )
        return [record["pid"] for record in records]
    finally:
        await connection.close()


async def table_report(dsn: str) -> dict[str, Any]:
    """tracking_events' row estimate, size and indexes, to say what the run wrote into."""
    connection = await asyncpg.connect(dsn)
    try:
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename = 'tracking_events' ORDER BY indexname"
        )
        return {
            "rows": await connection.fetchval("SELECT count(*) FROM tracking_events"),
            "total_mb": round(
                await connection.fetchval("SELECT pg_total_relation_size('tracking_events')")
                / 1024
                / 1024,
                1,
            ),
            "indexes": {record["indexname"]: record["indexdef"] for record in indexes},
            "server_version": await connection.fetchval("SHOW server_version"),
        }
    finally:
        await connection.close()
