"""scripts/check_database.py, the README's command, run as a user runs it: it passes on a freshly
migrated database and leaves nothing behind, and fails, naming what is missing, on an empty one."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db.migrations import apply_migrations
from tests.conftest import REPO_ROOT, fresh_database

SCRIPT_TIMEOUT_SECONDS = 60


async def run_check(dsn: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "scripts" / "check_database.py"),
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": dsn},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(SCRIPT_TIMEOUT_SECONDS):
        output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


@pytest.fixture
async def empty_database(server_dsn: str) -> AsyncIterator[str]:
    async with fresh_database(server_dsn, prefix="nexero_check") as dsn:
        yield dsn


async def test_check_passes_on_a_freshly_migrated_database_and_leaves_nothing(
    empty_database: str,
) -> None:
    connection = await asyncpg.connect(empty_database)
    try:
        await apply_migrations(connection, timeout_seconds=60)
        exit_code, output = await run_check(empty_database)
        sessions = await connection.fetchval("SELECT count(*) FROM vr_sessions")
    finally:
        await connection.close()

    assert exit_code == 0, output
    assert "round trip: inserted, read back (status 'active') and rolled back" in output
    assert output.rstrip().endswith("Database check passed")
    assert sessions == 0


async def test_check_fails_on_a_database_never_migrated(empty_database: str) -> None:
    exit_code, output = await run_check(empty_database)

    assert exit_code == 1, output
    assert "table public.vr_sessions: missing" in output
    assert "round trip skipped" in output
