"""Check the PostgreSQL database Nexero uses: connection, tables, migrations, a write round trip.

    DATABASE_URL=postgresql://user:password@host:5432/postgres python scripts/check_database.py

The round trip inserts a vr_sessions row inside a transaction that is rolled back, so the check
leaves nothing behind. Exits 0 when everything is in order, 1 when a check fails, 2 when no
database was given.
"""

import argparse
import asyncio
import os
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

TABLES = (
    "vr_sessions",
    "tracking_events",
    "rejected_events",
    "projects",
    "api_keys",
    "audit_log",
    "schema_migrations",
)
# The project of data written without a key (made by migration 0003): the round trip's session
# belongs to it, as every session must belong to a project.
DEFAULT_PROJECT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
EXIT_FAILED = 1
EXIT_USAGE = 2


class CheckFailedError(Exception):
    """A check that makes the rest pointless (no connection, for instance)."""


class Report:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, text: str) -> None:
        print(f"✓ {text}")

    def fail(self, text: str) -> None:
        self.problems += 1
        print(f"✗ {text}")

    def info(self, text: str) -> None:
        print(f"  {text}")


def redacted(dsn: str) -> str:
    """The connection string with its password hidden, for printing."""
    try:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return "(connection string not shown)"


def asyncpg_dsn(dsn: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+asyncpg://) too: asyncpg wants postgresql://."""
    scheme, separator, rest = dsn.partition("://")
    if separator and "+" in scheme:
        return f"{scheme.split('+', 1)[0]}://{rest}"
    return dsn


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def connect(dsn: str, *, connect_timeout: float) -> asyncpg.Connection:
    try:
        # No prepared-statement cache: works through PgBouncer and the Supabase pooler.
        return await asyncpg.connect(
            asyncpg_dsn(dsn), statement_cache_size=0, timeout=connect_timeout, command_timeout=60
        )
    except (OSError, TimeoutError) as error:
        raise CheckFailedError(
            f"cannot reach the server: {error or type(error).__name__}"
        ) from error
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise CheckFailedError(f"cannot connect: {type(error).__name__}: {error}") from error


async def check_tables(connection: asyncpg.Connection, report: Report, *, schema: str) -> set[str]:
    """Report which of the expected tables exist and how many rows they hold."""
    rows = await connection.fetch(
        "SELECT tablename FROM pg_catalog.pg_tables "
        "WHERE schemaname = $1 AND tablename = any($2::text[])",
        schema,
        list(TABLES),
    )
    present = {row["tablename"] for row in rows}
    for table in TABLES:
        if table not in present:
            report.fail(f"table {schema}.{table}: missing")
            continue
        # Table names come from TABLES, never from input; identifiers cannot be parameters.
        count = await connection.fetchval(f"SELECT count(*) FROM {quoted(schema)}.{quoted(table)}")
        report.ok(f"table {schema}.{table}: {count} rows")
    return present


async def check_migrations(connection: asyncpg.Connection, report: Report, *, schema: str) -> None:
    rows = await connection.fetch(
        f"SELECT version, applied_at FROM {quoted(schema)}.schema_migrations ORDER BY version"
    )
    if not rows:
        report.fail("schema_migrations is empty: no migration has been applied")
        return
    report.ok(f"{len(rows)} migrations applied")
    for row in rows:
        report.info(f"{row['version']:<32} applied {row['applied_at']:%Y-%m-%d %H:%M:%S %Z}")


async def check_round_trip(connection: asyncpg.Connection, report: Report, *, schema: str) -> None:
    """Insert a session, read it back, roll back, and make sure it is gone."""
    table = f"{quoted(schema)}.vr_sessions"
    session_id = uuid.uuid4()
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(
            f"""
            INSERT INTO {table} (id, project_id, started_at, last_activity_at, device_type)
            VALUES ($1, $2, now(), now(), $3)
            """,
            session_id,
            DEFAULT_PROJECT_ID,
            "check_database",
        )
        row = await connection.fetchrow(
            f"SELECT id, started_at, status FROM {table} WHERE id = $1", session_id
        )
    finally:
        await transaction.rollback()
    if row is None:
        report.fail("round trip: the inserted session could not be read back")
        return
    left_behind = await connection.fetchval(
        f"SELECT count(*) FROM {table} WHERE id = $1", session_id
    )
    if left_behind:
        report.fail(f"round trip: session {session_id} is still there after rollback")
        return
    report.ok(
        f"round trip: inserted, read back (status {row['status']!r}) and rolled back "
        f"session {session_id}"
    )


async def check_database(dsn: str, *, schema: str, connect_timeout: float) -> int:
    print(f"Checking the database given by DATABASE_URL: {redacted(dsn)}")
    report = Report()
    try:
        connection = await connect(dsn, connect_timeout=connect_timeout)
    except CheckFailedError as error:
        report.fail(str(error))
        print("Database check failed: no connection")
        return EXIT_FAILED
    try:
        version = await connection.fetchval("SHOW server_version")
        report.ok(f"connected: PostgreSQL {version}")
        present = await check_tables(connection, report, schema=schema)
        if "schema_migrations" in present:
            await check_migrations(connection, report, schema=schema)
        if "vr_sessions" in present:
            await check_round_trip(connection, report, schema=schema)
        else:
            report.fail("round trip skipped: vr_sessions is missing (start the app to migrate)")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        report.fail(f"{type(error).__name__}: {error}")
    finally:
        await connection.close()
    if report.problems:
        print(f"Database check failed: {report.problems} problem(s)")
        return EXIT_FAILED
    print("Database check passed")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="PostgreSQL connection string (env DATABASE_URL)",
    )
    parser.add_argument("--schema", default="public", help="schema of the tables (default public)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="connect timeout in seconds (default 10)"
    )
    arguments = parser.parse_args()
    if not arguments.database_url:
        print(
            "This checks the PostgreSQL database given by DATABASE_URL (or --database-url), "
            "and neither is set.\n"
            "Example: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/nexero "
            "python scripts/check_database.py",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(
        asyncio.run(
            check_database(
                arguments.database_url, schema=arguments.schema, connect_timeout=arguments.timeout
            )
        )
    )


if __name__ == "__main__":
    main()
