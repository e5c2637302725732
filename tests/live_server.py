"""A real `uvicorn app.main:app` process on a free loopback port, for the tests that need what
an outside client sees (the client scripts, the dashboard in a browser)."""

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import TEST_API_KEY

STARTUP_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    log_path: Path
    process: asyncio.subprocess.Process
    """uvicorn's own process (the supervisor, with --workers)."""

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


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


@asynccontextmanager
async def live_uvicorn(
    dsn: str, log_path: Path, *, uvicorn_options: Sequence[str] = (), **settings: str
) -> AsyncIterator[LiveServer]:
    """uvicorn serving the app on the database `dsn` (bootstrap key: TEST_API_KEY), with more
    `settings` in its environment and `uvicorn_options` on its command line (`--workers 2`),
    logging to `log_path`; stopped when the block ends (unless it stopped already)."""
    port = free_loopback_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "ENVIRONMENT": "test",
        "NEXERO_BOOTSTRAP_KEY": TEST_API_KEY,
        **settings,
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
            *uvicorn_options,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = LiveServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path, process=process)
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
