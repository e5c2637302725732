"""The scratch database of the EXPLAIN scripts (analytics.py, heatmap_export.py): created on a
server, migrated, filled by COPY with sessions and events, analysed, and dropped at the end
unless it is to be kept. Run the scripts from the repository root (python -m scripts.explain...)."""

import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from app.db.migrations import apply_migrations

# The project of the questions (the one migrations create); a second one is added beside it.
DEFAULT_PROJECT = uuid.UUID("00000000-0000-0000-0000-000000000001")
# The columns of the rows copy_rows takes, in this order.
SESSION_COLUMNS = (
    "id",
    "project_id",
    "started_at",
    "ended_at",
    "status",
    "end_reason",
    "customer_id",
    "property_id",
    "device_type",
    "last_seen_at",
    "last_activity_at",
)
EVENT_COLUMNS = (
    "project_id",
    "session_id",
    "event_id",
    "event_type",
    "timestamp",
    "client_timestamp",
    "event_data",
    "received_at",
)
COPY_CHUNK_ROWS = 50_000
MIGRATION_TIMEOUT_SECONDS = 3600


@asynccontextmanager
async def scratch_database(
    server_dsn: str, *, prefix: str, keep: bool = False, existing: str | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new, migrated database on the server (`server_dsn` must allow
    creating databases), dropped when the block ends
    unless `keep`; with `existing`, that database instead (filled by an earlier, kept run),
    never dropped."""
    admin = await asyncpg.connect(server_dsn)
    name = existing or f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        if existing is None:
            await admin.execute(f'CREATE DATABASE "{name}"')
        connection = await asyncpg.connect(
            server_dsn.rsplit("/", 1)[0] + f"/{name}", command_timeout=MIGRATION_TIMEOUT_SECONDS
        )
        try:
            await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)
            yield connection
        finally:
            await connection.close()
    finally:
        if keep or existing:
            print(f"kept database {name}", file=sys.stderr)
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def add_project(connection: asyncpg.Connection, name: str) -> uuid.UUID:
    """Another project beside the default one: the questions must skip its rows."""
    project_id = uuid.uuid4()
    await connection.execute("INSERT INTO projects (id, name) VALUES ($1, $2)", project_id, name)
    return project_id


async def copy_rows(
    connection: asyncpg.Connection, sessions: Sequence[tuple], events: Sequence[tuple]
) -> None:
    """Sessions (SESSION_COLUMNS), then their events (EVENT_COLUMNS), by COPY in chunks."""
    for first in range(0, len(sessions), COPY_CHUNK_ROWS):
        await connection.copy_records_to_table(
            "vr_sessions",
            records=sessions[first : first + COPY_CHUNK_ROWS],
            columns=SESSION_COLUMNS,
        )
    for first in range(0, len(events), COPY_CHUNK_ROWS):
        await connection.copy_records_to_table(
            "tracking_events",
            records=events[first : first + COPY_CHUNK_ROWS],
            columns=EVENT_COLUMNS,
        )


async def analyse(connection: asyncpg.Connection) -> None:
    """Statistics (and the visibility map) as a live database would have them."""
    await connection.execute("VACUUM ANALYZE vr_sessions")
    await connection.execute("VACUUM ANALYZE tracking_events")
