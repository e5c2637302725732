"""Redeploys: SIGTERM to a live two-worker uvicorn while batches are under way. Each batch that
arrived before the signal is answered (never 5xx) and, once acknowledged, is in the database;
the server then exits on its own. The deploy files give the grace period that makes it so."""

import asyncio
import re
import signal
import time
import tomllib
import uuid
from pathlib import Path

import asyncpg
import httpx

from app.config import Settings
from tests.conftest import REPO_ROOT, fresh_database
from tests.helpers import BATCH, START, TEST_API_KEY, event
from tests.live_server import live_uvicorn

WORKERS = 2
BATCHES = 8
EVENTS_PER_BATCH = 10
GRACE_SECONDS = 15
LOCK_WAIT_TIMEOUT_SECONDS = 20
EXIT_TIMEOUT_SECONDS = 30
GRACEFUL_OPTION = re.compile(r"--timeout-graceful-shutdown (\d+)")


async def batches_waiting(db: asyncpg.Connection, count: int) -> None:
    """Until `count` of the app's statements wait for the lock the test holds."""
    async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS):
        waiting = 0
        while waiting < count:
            await asyncio.sleep(0.05)
            waiting = await db.fetchval(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE application_name = 'nexero' AND wait_event_type = 'Lock'
                  AND datname = current_database()
                """
            )


async def test_sigterm_finishes_batches_under_way_and_loses_no_acknowledged_event(
    server_dsn: str, tmp_path: Path
) -> None:
    async with (
        fresh_database(server_dsn, prefix="nexero_shutdown") as dsn,
        live_uvicorn(
            dsn,
            tmp_path / "uvicorn.log",
            uvicorn_options=(
                "--workers",
                str(WORKERS),
                "--timeout-graceful-shutdown",
                str(GRACE_SECONDS),
            ),
        ) as server,
    ):
        headers = {"X-API-Key": TEST_API_KEY}
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=headers, limits=fresh, timeout=60
        ) as http:
            started = await http.post(START, json={"session_start": time.time()})
            session_id = started.json()["session_id"]
            batches = [
                {
                    "session_id": session_id,
                    "events": [event(event_id=str(uuid.uuid4())) for _ in range(EVENTS_PER_BATCH)],
                }
                for _ in range(BATCHES)
            ]
            db = await asyncpg.connect(dsn)
            holder = await asyncpg.connect(dsn)
            try:
                # Every batch updates its session's activity first: holding the session's row
                # keeps them all under way until the test lets go.
                holding = holder.transaction()
                await holding.start()
                await holder.execute(
                    "SELECT 1 FROM vr_sessions WHERE id = $1 FOR UPDATE", uuid.UUID(session_id)
                )
                sent = [asyncio.create_task(http.post(BATCH, json=batch)) for batch in batches]
                await batches_waiting(db, BATCHES)

                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                still_running = server.process.returncode is None
                await holding.rollback()
                answers = await asyncio.gather(*sent, return_exceptions=True)
                async with asyncio.timeout(EXIT_TIMEOUT_SECONDS):
                    exit_code = await server.process.wait()
                stored = await db.fetchval(
                    "SELECT count(*) FROM tracking_events WHERE session_id = $1",
                    uuid.UUID(session_id),
                )
            finally:
                await holder.close()
                await db.close()
    log = server.log_path.read_text(errors="replace")

    assert started.status_code == 201, started.text
    assert still_running, "uvicorn exited before the batches under way were answered"
    assert [
        answer.status_code if isinstance(answer, httpx.Response) else repr(answer)
        for answer in answers
    ] == [202] * BATCHES, log[-3000:]
    assert all(answer.json()["processed"] == EVENTS_PER_BATCH for answer in answers)
    assert stored == BATCHES * EVENTS_PER_BATCH
    assert exit_code == 0, log[-3000:]


def start_commands() -> dict[str, str]:
    railway = tomllib.loads((REPO_ROOT / "railway.toml").read_text())
    nixpacks = tomllib.loads((REPO_ROOT / "nixpacks.toml").read_text())
    procfile = (REPO_ROOT / "Procfile").read_text().removeprefix("web:").strip()
    return {
        "railway.toml": railway["deploy"]["startCommand"],
        "nixpacks.toml": nixpacks["start"]["cmd"],
        "Procfile": procfile.replace("${PORT:-8000}", "$PORT"),
    }


def test_every_deploy_file_starts_uvicorn_with_the_same_grace_period() -> None:
    commands = start_commands()
    graces = {name: GRACEFUL_OPTION.search(command) for name, command in commands.items()}

    assert all(graces.values()), commands
    assert len(set(commands.values())) == 1, commands


def test_railway_waits_longer_than_the_grace_period_and_the_pool_closing() -> None:
    railway = tomllib.loads((REPO_ROOT / "railway.toml").read_text())
    match = GRACEFUL_OPTION.search(railway["deploy"]["startCommand"])
    assert match is not None
    close_timeout = Settings.model_fields["DATABASE_CLOSE_TIMEOUT_SECONDS"].default

    assert railway["deploy"]["drainingSeconds"] > int(match[1]) + close_timeout
