"""What an outside client sees: a real uvicorn process, driven by the scripts in scripts/."""

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import TEST_API_KEY

SCRIPTS_DIR = REPO_ROOT / "scripts"
STARTUP_TIMEOUT_SECONDS = 30
SCRIPT_TIMEOUT_SECONDS = 60
SHUTDOWN_TIMEOUT_SECONDS = 10
# What scripts/test_unreal_client.py stores for its session: one single event, a tour batch of
# 20 events, 3 valid events of a batch of 5, and a gzip batch of 50 (the oversized body is 413).
UNREAL_CLIENT_STORED_EVENTS = 1 + 20 + 3 + 50
LEGACY_SESSION_SECONDS = 300


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@dataclass(frozen=True)
class ScriptRun:
    returncode: int
    output: str


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_healthy(server: LiveServer, process: asyncio.subprocess.Process) -> None:
    async with (
        asyncio.timeout(STARTUP_TIMEOUT_SECONDS),
        httpx.AsyncClient(base_url=server.base_url, timeout=2) as http,
    ):
        while True:
            if process.returncode is not None:
                log = await asyncio.to_thread(server.log_tail)
                pytest.fail(f"uvicorn exited with {process.returncode}:\n{log}")
            try:
                status = (await http.get("/health")).status_code
            except httpx.TransportError:
                status = None  # not listening yet
            if status == 200:
                return
            await asyncio.sleep(0.2)


@pytest.fixture
async def live_server(database_dsn: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """`uvicorn app.main:app` on a free loopback port, using the test database."""
    port = free_loopback_port()
    log_path = tmp_path / "uvicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_dsn,
        "ENVIRONMENT": "test",
        "NEXERO_BOOTSTRAP_KEY": TEST_API_KEY,
    }
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        await wait_until_healthy(server, process)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT_SECONDS):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


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
