"""What an outside client sees: a real uvicorn process, driven by the scripts in scripts/."""

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import TEST_API_KEY
from tests.live_server import LiveServer, live_uvicorn

SCRIPTS_DIR = REPO_ROOT / "scripts"
SCRIPT_TIMEOUT_SECONDS = 60
# What scripts/test_unreal_client.py stores for its session: one single event, a tour batch of
# 20 events, 3 valid events of a batch of 5, and a gzip batch of 50 (the oversized body is 413).
UNREAL_CLIENT_STORED_EVENTS = 1 + 20 + 3 + 50
LEGACY_SESSION_SECONDS = 300


@dataclass(frozen=True)
class ScriptRun:
    returncode: int
    output: str


@pytest.fixture
async def live_server(database_dsn: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """`uvicorn app.main:app` on a free loopback port, using the test database."""
    async with live_uvicorn(database_dsn, tmp_path / "uvicorn.log") as server:
        yield server


async def failure_report(run: ScriptRun, server: LiveServer) -> str:
    log = await asyncio.to_thread(server.log_tail)
    return f"{run.output}\n--- server log ---\n{log}"


async def run_script(name: str, *arguments: str, base_url: str) -> ScriptRun:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPTS_DIR / name),
        *arguments,
        cwd=REPO_ROOT,
        env={**os.environ, "BASE_URL": base_url, "NEXERO_API_KEY": TEST_API_KEY},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(SCRIPT_TIMEOUT_SECONDS):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return ScriptRun(returncode=process.returncode, output=output.decode(errors="replace"))


async def test_unreal_client_script_passes_and_stores_each_event_once(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    customer_id = f"cust_live_{uuid.uuid4().hex[:12]}"

    run = await run_script(
        "test_unreal_client.py", "--customer-id", customer_id, base_url=live_server.base_url
    )

    assert run.returncode == 0, await failure_report(run, live_server)
    session = await db.fetchrow(
        "SELECT id, status, end_reason, ended_at FROM vr_sessions WHERE customer_id = $1",
        customer_id,
    )
    assert session is not None
    assert (session["status"], session["end_reason"]) == ("completed", "client")
    repeated = await db.fetch(
        """
        SELECT session_id, event_id, count(*) FROM tracking_events
        WHERE session_id = $1
        GROUP BY session_id, event_id
        HAVING count(*) > 1
        """,
        session["id"],
    )
    assert repeated == []
    stored = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", session["id"]
    )
    assert stored == UNREAL_CLIENT_STORED_EVENTS
    rejected = await db.fetch(
        """
        SELECT event_index, field, reason, payload, request_id FROM rejected_events
        WHERE session_id = $1 ORDER BY event_index
        """,
        session["id"],
    )
    assert [(row["event_index"], row["field"]) for row in rejected] == [
        (3, "event_type"),
        (4, "timestamp"),
    ]
    assert "bad type!" in rejected[0]["payload"]
    assert "yesterday" in rejected[1]["payload"]
    assert all(row["reason"] and row["request_id"] for row in rejected)


async def test_minimal_session_script_passes_and_stores_two_legacy_sessions(
    live_server: LiveServer, db: asyncpg.Connection
) -> None:
    before = await db.fetchval("SELECT clock_timestamp()")

    run = await run_script("test_minimal_session.py", base_url=live_server.base_url)

    assert run.returncode == 0, await failure_report(run, live_server)
    sessions = await db.fetch(
        """
        SELECT status, end_reason, duration_seconds, customer_id, property_id, device_type
        FROM vr_sessions WHERE created_at >= $1
        """,
        before,
    )
    # The third step (end before start) is refused with 422 and stores nothing.
    assert [tuple(row) for row in sessions] == [
        ("completed", "client", LEGACY_SESSION_SECONDS, None, None, None)
    ] * 2
