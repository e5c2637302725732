"""The numbered migrations in supabase/migrations, applied to fresh databases on the test server."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from app.db.migrations import MIGRATION_LOCK_KEY, MigrationChangedError, apply_migrations
from tests.conftest import REPO_ROOT, AppFactory, with_database
from tests.helpers import BATCH, event

MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"
ORIGINAL_SCHEMA = MIGRATIONS_DIR / "0001_original_schema.sql"
TABLES = (
    "vr_sessions",
    "tracking_events",
    "rejected_events",
    "projects",
    "api_keys",
    "audit_log",
    "rate_limit_buckets",
    "event_mappings",
    "legacy_records",
    "legacy_tours",
    "pending_events",
    "erased_customers",
    "erased_sessions",
    "live_streams",
    "live_token_secrets",
    "floor_plans",
)
SERVICE_ROLE_POLICY = "Allow all for service role"
LOCK_WAIT_TIMEOUT_SECONDS = 10

DatabaseFactory = Callable[[], Awaitable[str]]
Connect = Callable[[str], Awaitable[asyncpg.Connection]]

MIGRATION_TIMEOUT_SECONDS = 60


def migration_versions() -> list[str]:
    return sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql"))


@pytest.fixture
async def new_database(server_dsn: str) -> AsyncIterator[DatabaseFactory]:
    """Creates empty databases on the test server on demand; drops them all afterwards."""
    admin = await asyncpg.connect(server_dsn)
    created: list[str] = []

    async def create() -> str:
        name = f"nexero_migrations_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return with_database(server_dsn, name)

    try:
        yield create
    finally:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens connections that are closed when the test ends."""
    opened: list[asyncpg.Connection] = []

    async def open_connection(dsn: str) -> asyncpg.Connection:
        connection = await asyncpg.connect(dsn)
        opened.append(connection)
        return connection

    try:
        yield open_connection
    finally:
        for connection in opened:
            await connection.close()


async def recorded_versions(connection: asyncpg.Connection) -> list[str]:
    rows = await connection.fetch("SELECT version FROM public.schema_migrations ORDER BY version")
    return [row["version"] for row in rows]


async def service_role_exists(connection: asyncpg.Connection) -> bool:
    return await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')"
    )


async def tables_with_service_role_policy(connection: asyncpg.Connection) -> set[str]:
    rows = await connection.fetch(
        """
        SELECT tablename FROM pg_policies
        WHERE schemaname = 'public' AND policyname = $1 AND 'service_role' = any(roles)
        """,
        SERVICE_ROLE_POLICY,
    )
    return {row["tablename"] for row in rows}


async def wait_until_queued_for_the_lock(connection: asyncpg.Connection, *, count: int) -> None:
    """Until `count` sessions of this database wait for an advisory lock (bounded)."""
    async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS):
        while True:
            waiting = await connection.fetchval(
                """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.02)


async def test_migrating_an_empty_database_creates_the_tables_and_records_every_file(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())

    applied = await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    assert applied == migration_versions()
    assert await recorded_versions(connection) == migration_versions()
    for table in (*TABLES, "schema_migrations"):
        assert await connection.fetchval("SELECT to_regclass($1)::text", f"public.{table}") == (
            table
        )


async def test_migrating_again_applies_nothing(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    applied_again = await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    assert applied_again == []
    assert await recorded_versions(connection) == migration_versions()


async def test_concurrent_migrations_apply_each_file_exactly_once(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    dsn = await new_database()
    first, second, lock_holder, observer = [await connect(dsn) for _ in range(4)]
    # Hold the migration lock so that both replicas are surely queued on it before either runs.
    await lock_holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    replicas = asyncio.gather(
        apply_migrations(first, timeout_seconds=MIGRATION_TIMEOUT_SECONDS),
        apply_migrations(second, timeout_seconds=MIGRATION_TIMEOUT_SECONDS),
    )
    try:
        await wait_until_queued_for_the_lock(observer, count=2)
        await lock_holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS):
            applied_by_first, applied_by_second = await replicas
    finally:
        replicas.cancel()
        await asyncio.gather(replicas, return_exceptions=True)

    assert sorted([*applied_by_first, *applied_by_second]) == migration_versions()
    assert [] in (applied_by_first, applied_by_second)
    assert await recorded_versions(observer) == migration_versions()


async def test_failing_migration_leaves_no_trace(
    new_database: DatabaseFactory,
    connect: Connect,
    tmp_path: Path,
) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE public.first_table (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE public.second_table (id no_such_type);")
    connection = await connect(await new_database())

    with pytest.raises(asyncpg.UndefinedObjectError):
        await apply_migrations(
            connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS, directory=tmp_path
        )

    assert await connection.fetchval("SELECT to_regclass('public.first_table')") is None
    assert await connection.fetchval("SELECT to_regclass('public.schema_migrations')") is None


async def test_a_migration_edited_after_it_was_applied_stops_the_start(
    new_database: DatabaseFactory, connect: Connect, tmp_path: Path
) -> None:
    """Databases that ran the old text would silently differ from new ones: refuse loudly."""
    migration = tmp_path / "0001_first.sql"
    migration.write_text("CREATE TABLE public.first_table (id int);")
    connection = await connect(await new_database())
    await apply_migrations(
        connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS, directory=tmp_path
    )

    migration.write_text("CREATE TABLE public.first_table (id bigint);")
    with pytest.raises(MigrationChangedError, match="0001_first was changed"):
        await apply_migrations(
            connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS, directory=tmp_path
        )


async def test_migrations_are_not_bound_by_the_request_command_timeout(
    new_database: DatabaseFactory, tmp_path: Path
) -> None:
    """The pool's connections cancel statements after DATABASE_COMMAND_TIMEOUT_SECONDS; a long
    migration (adopting a big table) must run to the end under its own, longer timeout."""
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(0.6);")
    connection = await asyncpg.connect(await new_database(), command_timeout=0.2)
    try:
        applied = await apply_migrations(connection, timeout_seconds=5, directory=tmp_path)
        with pytest.raises(TimeoutError):
            await connection.execute("SELECT pg_sleep(0.6)")
    finally:
        await connection.close()

    assert applied == ["0001_slow"]


async def test_database_with_the_original_schema_migrates_keeping_its_rows(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    started = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    ended = datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    created = datetime(2025, 3, 1, 9, 0, 30, tzinfo=UTC)
    completed_id, active_id = uuid.uuid4(), uuid.uuid4()
    await connection.execute(
        """
        INSERT INTO vr_sessions (id, started_at, ended_at, status, customer_id, property_id,
                                 device_type, created_at, updated_at)
        VALUES ($1, $3, $4, 'completed', 'cust_1', 'prop_1', 'Quest 2', $3, $4),
               ($2, $3, NULL, 'active', NULL, 'prop_2', NULL, $3, $3)
        """,
        completed_id,
        active_id,
        started,
        ended,
    )
    event_rows = await connection.fetch(
        """
        INSERT INTO tracking_events (session_id, event_type, timestamp, event_data, created_at)
        VALUES ($1, 'room_view', $2, '{"room_name": "Kitchen"}', $3),
               ($1, 'room_view', $2, '{"room_name": "Kitchen"}', $3),
               ($1, 'gaze', $2, NULL, $3)
        RETURNING id
        """,
        completed_id,
        started,
        created,
    )
    assert await connection.fetchval("SELECT to_regclass('public.schema_migrations')") is None

    applied = await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    assert applied == migration_versions()
    events = await connection.fetch(
        """
        SELECT id, event_id, event_type, timestamp, client_timestamp, received_at, event_data
        FROM tracking_events ORDER BY event_type, id
        """
    )
    assert {row["id"] for row in events} == {row["id"] for row in event_rows}
    for row in events:
        assert row["event_id"] == row["id"]
        assert row["client_timestamp"] == started
        assert row["received_at"] == created
    assert [row["event_data"] for row in events] == [
        None,
        '{"room_name": "Kitchen"}',
        '{"room_name": "Kitchen"}',
    ]
    sessions = {
        row["id"]: row
        for row in await connection.fetch(
            """
            SELECT id, started_at, ended_at, status, customer_id, property_id, device_type,
                   created_at, last_seen_at, last_activity_at, end_reason, duration_seconds
            FROM vr_sessions
            """
        )
    }
    assert dict(sessions[completed_id]) == {
        "id": completed_id,
        "started_at": started,
        "ended_at": ended,
        "status": "completed",
        "customer_id": "cust_1",
        "property_id": "prop_1",
        "device_type": "Quest 2",
        "created_at": started,
        "last_seen_at": ended,
        "last_activity_at": ended,
        "end_reason": "client",
        "duration_seconds": 300,
    }
    assert sessions[active_id]["last_seen_at"] == started
    assert sessions[active_id]["last_activity_at"] == started
    assert sessions[active_id]["end_reason"] is None
    assert sessions[active_id]["status"] == "active"


async def test_migrating_the_original_schema_keeps_each_sessions_updated_at(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    last_update = datetime(2025, 3, 1, 9, 5, tzinfo=UTC)
    session_id = uuid.uuid4()
    await connection.execute(
        """
        INSERT INTO vr_sessions (id, started_at, ended_at, status, updated_at)
        VALUES ($1, $2, $2, 'completed', $2)
        """,
        session_id,
        last_update,
    )

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    updated_at = await connection.fetchval(
        "SELECT updated_at FROM vr_sessions WHERE id = $1", session_id
    )
    assert updated_at == last_update


async def test_original_sessions_without_a_status_migrate_with_one_derived_from_ended_at(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    started = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    open_id, ended_id = uuid.uuid4(), uuid.uuid4()
    # The original schema allows it: the CHECK passes for NULL and the column is nullable.
    await connection.execute(
        """
        INSERT INTO vr_sessions (id, started_at, ended_at, status)
        VALUES ($1, $3, NULL, NULL), ($2, $3, $3 + interval '5 minutes', NULL)
        """,
        open_id,
        ended_id,
        started,
    )

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    statuses = {
        row["id"]: row["status"]
        for row in await connection.fetch("SELECT id, status FROM vr_sessions")
    }
    assert statuses == {open_id: "active", ended_id: "completed"}


async def test_open_original_sessions_keep_their_last_event_as_last_activity(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    """Adopted sessions still open are closed by the sweep at their latest event, not at
    their start."""
    connection = await connect(await new_database())
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    open_id = uuid.uuid4()
    started = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    await connection.execute(
        "INSERT INTO vr_sessions (id, started_at, status) VALUES ($1, $2, 'active')",
        open_id,
        started,
    )
    await connection.execute(
        "INSERT INTO tracking_events (session_id, event_type, timestamp) "
        "SELECT $1, 'position', $2::timestamptz + make_interval(mins => minute) "
        "FROM generate_series(0, 45) AS minute",
        open_id,
        started,
    )

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    last_activity = await connection.fetchval(
        "SELECT last_activity_at FROM vr_sessions WHERE id = $1", open_id
    )
    assert (last_activity - started).total_seconds() == 45 * 60


async def test_original_session_that_ends_before_it_starts_still_takes_events(
    new_database: DatabaseFactory, connect: Connect, app_with: AppFactory
) -> None:
    """The original system validated nothing: an end before the start must not make every later
    heartbeat or late event of that session fail."""
    dsn = await new_database()
    connection = await connect(dsn)
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    inverted_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO vr_sessions (id, started_at, ended_at, status) "
        "VALUES ($1, '2025-10-06 10:05+00', '2025-10-06 10:00+00', 'completed')",
        inverted_id,
    )

    async with app_with(DATABASE_URL=dsn) as client:
        batch = await client.post(
            BATCH, json={"session_id": str(inverted_id), "events": [event(at=1759745000)]}
        )
        heartbeat = await client.post(f"/api/v1/unreal/session/{inverted_id}/heartbeat")

    assert batch.status_code == 202, batch.text
    assert heartbeat.status_code == 200
    stored = await connection.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", inverted_id
    )
    assert stored == 1


async def test_updated_at_trigger_still_works_after_migrating_the_original_schema(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    await connection.execute(ORIGINAL_SCHEMA.read_text(encoding="utf-8"))
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    session_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO vr_sessions (id, started_at, updated_at) VALUES ($1, $2, $2)",
        session_id,
        long_ago,
    )
    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    updated_at, now = await connection.fetchrow(
        "UPDATE vr_sessions SET customer_id = 'cust_9' WHERE id = $1 RETURNING updated_at, now()",
        session_id,
    )

    assert updated_at == now


async def test_row_level_security_is_enabled_on_every_table(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    rows = await connection.fetch(
        """
        SELECT relname, relrowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relname = any($1::text[])
        """,
        [*TABLES, "schema_migrations"],
    )
    assert {row["relname"]: row["relrowsecurity"] for row in rows} == dict.fromkeys(
        [*TABLES, "schema_migrations"], True
    )


async def test_service_role_policy_exists_exactly_when_the_role_does(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    """Runs on whatever the cluster holds: plain PostgreSQL (no role) or Supabase-like."""
    connection = await connect(await new_database())

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    expected = set(TABLES) if await service_role_exists(connection) else set()
    assert await tables_with_service_role_policy(connection) == expected


async def test_service_role_gets_the_allow_all_policy_on_every_table(
    new_database: DatabaseFactory, connect: Connect
) -> None:
    connection = await connect(await new_database())
    # Roles are cluster-wide and other databases may rely on it: created if absent, never dropped.
    await connection.execute(
        """
        DO $$ BEGIN CREATE ROLE service_role NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN NULL; END $$
        """
    )

    await apply_migrations(connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)

    assert await tables_with_service_role_policy(connection) == set(TABLES)
    policies = await connection.fetch(
        "SELECT cmd, qual, with_check FROM pg_policies WHERE policyname = $1",
        SERVICE_ROLE_POLICY,
    )
    assert {(row["cmd"], row["qual"], row["with_check"]) for row in policies} == {
        ("ALL", "true", "true")
    }


async def test_refusals_recorded_twice_before_0020_become_one_row_counting_both(
    new_database: DatabaseFactory, connect: Connect, tmp_path: Path
) -> None:
    refusals_once = MIGRATIONS_DIR / "0020_refusals_once.sql"
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < refusals_once.name:
            (tmp_path / path.name).write_text(path.read_text())
    connection = await connect(await new_database())
    await apply_migrations(
        connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS, directory=tmp_path
    )
    project = uuid.UUID("00000000-0000-0000-0000-000000000001")
    for request_id, payload in (
        ("try-1", '{"a": 1}'),
        ("try-2", '{"a": 1}'),
        ("try-1", '{"b": 2}'),
    ):
        await connection.execute(
            "INSERT INTO rejected_events (project_id, event_index, field, reason, payload, "
            "request_id) VALUES ($1, 0, 'timestamp', 'bad', $2, $3)",
            project,
            payload,
            request_id,
        )
    (tmp_path / refusals_once.name).write_text(refusals_once.read_text())

    await apply_migrations(
        connection, timeout_seconds=MIGRATION_TIMEOUT_SECONDS, directory=tmp_path
    )

    rows = await connection.fetch(
        "SELECT payload, attempts, request_id FROM rejected_events ORDER BY payload"
    )
    assert [tuple(row) for row in rows] == [('{"a": 1}', 2, "try-1"), ('{"b": 2}', 1, "try-1")]
