"""Limits on exports: how many run at once (per worker and per project, so that one project's
read key cannot block every other project's exports), and clients that stop reading (their
export is abandoned after ANALYTICS_EXPORT_STALL_SECONDS: slot, connection and snapshot
released), in process and against a live uvicorn with a raw socket that never reads."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from app.services.access.keys import AccessService
from tests.api.v1.export_files import (
    body_of,
    call_asgi,
    export_backends,
    idle_in_transaction,
    ignore,
    seed_events,
    started,
)
from tests.app_logs import logged_lines
from tests.conftest import ProjectKey, create_project_key, make_settings
from tests.live_server import LiveServer, live_uvicorn

SESSIONS = "/api/v1/exports/sessions"
EVENTS = "/api/v1/exports/events"
PER_PROJECT_SETTING = "ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT"
TOTAL_SETTING = "ANALYTICS_EXPORT_MAX_CONCURRENT"
T0 = float(int(time.time()) - 5 * 3600)
# About 13 MB of NDJSON: several times what a socket's buffers and uvicorn's write buffer hold
# (about 3 MB on Linux's default TCP settings), so a client that never reads blocks the export
# long before its end.
STALLED_EXPORT_ROWS = 40_000
# How long a test waits for something that happens within a second or two (never asserted as
# a duration: a generous bound so that a slow machine does not fail the test).
EVENTUALLY_SECONDS = 30
ABANDONED_MESSAGE = "export abandoned"


# Settings: checked at start-up.


def test_export_limit_defaults() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.ANALYTICS_EXPORT_MAX_CONCURRENT == 2
    assert defaults.ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT == 1
    assert defaults.ANALYTICS_EXPORT_STALL_SECONDS == 60


def test_a_per_project_limit_above_the_total_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match=f"{PER_PROJECT_SETTING} must not exceed"):
        Settings(_env_file=None, **{TOTAL_SETTING: 3, PER_PROJECT_SETTING: 4})
    at_the_edge = Settings(_env_file=None, **{TOTAL_SETTING: 3, PER_PROJECT_SETTING: 3})
    assert at_the_edge.ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (PER_PROJECT_SETTING, 0),
        ("ANALYTICS_EXPORT_STALL_SECONDS", 0),
        ("ANALYTICS_EXPORT_STALL_SECONDS", 3601),
    ],
)
def test_out_of_range_export_limits_are_refused_naming_the_setting(name: str, value: int) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(_env_file=None, **{name: value})


# Exports running at once.


@asynccontextmanager
async def running_export(asgi: Any, key: str) -> AsyncIterator[None]:
    """An export of the key's project that has started streaming and holds its slot for as
    long as the block runs (its client takes the first chunk only once the block ends)."""
    streaming = asyncio.Event()
    release = asyncio.Event()

    async def wait_for_release(message: dict) -> None:
        streaming.set()
        await release.wait()

    export = asyncio.create_task(call_asgi(asgi, key, SESSIONS, "", wait_for_release))
    try:
        async with asyncio.timeout(EVENTUALLY_SECONDS):
            await streaming.wait()
        yield
    finally:
        release.set()
        messages = await export
    assert messages[0]["status"] == 200


async def export_status(asgi: Any, key: str) -> tuple[int, dict[bytes, bytes], Any]:
    """Status, headers and JSON body (None for an export) of one sessions export."""
    messages = await call_asgi(asgi, key, SESSIONS, "", ignore)
    status = messages[0]["status"]
    headers = dict(messages[0]["headers"])
    body = json.loads(body_of(messages)) if status != 200 else None
    return status, headers, body


def refused_by(answer: tuple[int, dict[bytes, bytes], Any], setting: str) -> bool:
    status, headers, body = answer
    return status == 503 and b"retry-after" in headers and setting in body["detail"]


@pytest.fixture
async def projects(access: AccessService) -> list[ProjectKey]:
    return [await create_project_key(access, f"export limits {n}") for n in range(3)]


async def test_a_project_at_its_limit_answers_503_and_other_projects_still_export(
    database_dsn: str, projects: list[ProjectKey]
) -> None:
    first, second, _ = projects
    app = create_app(make_settings(database_dsn))  # 2 in all, 1 per project
    async with started(app) as asgi:
        async with running_export(asgi, first.key):
            busy = await export_status(asgi, first.key)
            assert refused_by(busy, PER_PROJECT_SETTING), busy
            assert "this project" in busy[2]["detail"]
            # The second slot is still free for everyone else.
            assert (await export_status(asgi, second.key))[0] == 200
        assert (await export_status(asgi, first.key))[0] == 200
        assert app.state.export_slots.running == 0


async def test_every_slot_taken_answers_503_naming_the_total_limit(
    database_dsn: str, projects: list[ProjectKey]
) -> None:
    first, second, third = projects
    app = create_app(make_settings(database_dsn))
    async with started(app) as asgi:
        async with running_export(asgi, first.key), running_export(asgi, second.key):
            busy = await export_status(asgi, third.key)
            assert refused_by(busy, TOTAL_SETTING), busy
            assert PER_PROJECT_SETTING not in busy[2]["detail"]
        assert (await export_status(asgi, third.key))[0] == 200


async def test_a_project_may_run_exactly_its_limit_at_once(
    database_dsn: str, projects: list[ProjectKey]
) -> None:
    first, second, _ = projects
    app = create_app(make_settings(database_dsn, **{TOTAL_SETTING: 3, PER_PROJECT_SETTING: 2}))
    async with started(app) as asgi:
        async with running_export(asgi, first.key), running_export(asgi, first.key):
            assert app.state.export_slots.running == 2
            assert refused_by(await export_status(asgi, first.key), PER_PROJECT_SETTING)
            assert (await export_status(asgi, second.key))[0] == 200


# Clients that stop reading.


@pytest.fixture(scope="module")
async def large_project(access: AccessService, db: asyncpg.Connection) -> ProjectKey:
    """A project with STALLED_EXPORT_ROWS events, written directly."""
    project = await create_project_key(access, "stalled exports")
    await seed_events(db, project.project_id, rows=STALLED_EXPORT_ROWS, start=T0)
    return project


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """The first truthy result of `check`, polled; the test fails if none comes in time."""
    try:
        async with asyncio.timeout(EVENTUALLY_SECONDS):
            while True:
                if result := await check():
                    return result
                # Polled: what is awaited happens in another process.
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"still waiting after {EVENTUALLY_SECONDS} s for {what}")


async def test_a_client_that_stops_reading_is_abandoned_in_process(
    database_dsn: str,
    db: asyncpg.Connection,
    large_project: ProjectKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = create_app(
        make_settings(
            database_dsn,
            ANALYTICS_EXPORT_CHUNK_ROWS=100,
            ANALYTICS_EXPORT_STALL_SECONDS=0.2,
            **{TOTAL_SETTING: 1},
        )
    )
    taken = 0

    async def stop_reading_after_three_chunks(message: dict) -> None:
        nonlocal taken
        if taken == 3:
            await asyncio.Event().wait()  # never takes another
        taken += 1

    async with started(app) as asgi:
        capsys.readouterr()
        try:
            async with asyncio.timeout(EVENTUALLY_SECONDS):
                messages = await call_asgi(
                    asgi,
                    large_project.key,
                    EVENTS,
                    "format=ndjson",
                    stop_reading_after_three_chunks,
                )
        except TimeoutError:
            pytest.fail(f"the export still waits for its client after {EVENTUALLY_SECONDS} s")
        output = capsys.readouterr().out
        # The response was never finished: the client can tell the export is not whole.
        assert all(m.get("more_body") for m in messages if m["type"] == "http.response.body")
        assert app.state.export_slots.running == 0
        assert not await idle_in_transaction(db)
        assert (await call_asgi(asgi, large_project.key, SESSIONS, "", ignore))[0]["status"] == 200
    [warning] = [line for line in logged_lines(output) if ABANDONED_MESSAGE in line["message"]]
    assert warning["level"] == "warning" and "exception" not in warning
    # The three chunks the client took (the fourth is the one it never took).
    assert (warning["rows_sent"], warning["rows"]) == (300, STALLED_EXPORT_ROWS)
    assert not [line for line in logged_lines(output) if line["level"] == "error"]


@asynccontextmanager
async def client_that_never_reads(server: LiveServer, key: str, path: str) -> AsyncIterator[None]:
    """A raw TCP client with a small receive buffer that asks for `path` (with its query) and
    then reads nothing, its connection kept open for as long as the block runs."""
    host, port = server.base_url.removeprefix("http://").split(":")
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(connection, (host, int(port)))
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n\r\n"
        await loop.sock_sendall(connection, request.encode())
        yield
    finally:
        connection.close()


def abandoned_lines(server: LiveServer) -> list[dict[str, Any]]:
    return [
        line
        for line in logged_lines(server.log_path.read_text(errors="replace"))
        if ABANDONED_MESSAGE in line["message"]
    ]


async def test_a_stalled_download_is_abandoned_and_releases_its_slot_and_snapshot(
    database_dsn: str, db: asyncpg.Connection, large_project: ProjectKey, tmp_path: Path
) -> None:
    """Flow control for real: uvicorn's send blocks once the socket buffers are full."""
    async with live_uvicorn(
        database_dsn,
        tmp_path / "uvicorn.log",
        PYTHONUNBUFFERED="1",
        RATE_LIMIT_ENABLED="false",
        ANALYTICS_EXPORT_STALL_SECONDS="1",
        ANALYTICS_EXPORT_CHUNK_ROWS="500",
        **{TOTAL_SETTING: "1", PER_PROJECT_SETTING: "1"},
    ) as server:
        async with client_that_never_reads(server, large_project.key, f"{EVENTS}?format=ndjson"):
            # The export started and holds its snapshot while it waits for the client...
            await eventually(lambda: export_backends(db), "the export to start")
            # ... until the stall limit: then it is abandoned, though the client is still
            # connected.
            [warning] = await eventually(
                lambda: asyncio.to_thread(abandoned_lines, server), "the export to be abandoned"
            )
            assert warning["level"] == "warning" and "exception" not in warning
            assert warning["rows"] == STALLED_EXPORT_ROWS
            assert 0 <= warning["rows_sent"] < STALLED_EXPORT_ROWS
            assert not await export_backends(db)
            assert not await idle_in_transaction(db)
            # The only slot (of the worker, and of the project) is free again.
            async with httpx.AsyncClient(
                base_url=server.base_url, headers={"X-API-Key": large_project.key}
            ) as http:
                again = await http.get(SESSIONS, params={"format": "ndjson"})
            assert again.status_code == 200, again.text
            assert json.loads(again.text.splitlines()[-1]) == {"complete": True, "rows": 50}
        log = await asyncio.to_thread(server.log_path.read_text, errors="replace")
        assert "Traceback" not in log
