"""Through a transaction pooler, as Supabase's on port 6543: PgBouncer in transaction mode, which
hands each transaction (or each statement outside one) to whichever server connection is free,
so nothing may rely on prepared statements or session state surviving between statements.

PgBouncer 1.18 (Debian 12) does not track prepared statements at all: if the app works through
it, it works through any transaction pooler. Needs the `pgbouncer` binary and a PostgreSQL
reached over TCP (TEST_DATABASE_URL); skipped otherwise.
"""

import asyncio
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import asyncpg
import pytest

from tests.conftest import AppFactory
from tests.helpers import BATCH, END, EVENT, count_events, event, fguid, start_session

POOLER_PORT = 6543  # Supabase's transaction pooler port: the app recognises it.
POOLER_USER = "postgres"  # PgBouncer refuses to run as root.


def wait_for_port(port: int, *, within_seconds: float) -> None:
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def pooler(server_dsn: str) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the test server; yields its host:port."""
    server = urlsplit(server_dsn)
    if shutil.which("pgbouncer") is None:
        pytest.skip("pgbouncer is not installed")
    if not server.hostname:
        pytest.skip("the test server is reached by a Unix socket; set TEST_DATABASE_URL")
    try:
        pwd.getpwnam(POOLER_USER)
    except KeyError:
        pytest.skip(f"no {POOLER_USER} user to run pgbouncer as")
    # Not under pytest's tmp_path: its parents are private to root, and PgBouncer runs as
    # another user.
    with tempfile.TemporaryDirectory(prefix="nexero-pgbouncer-") as name:
        yield from run_pgbouncer(Path(name), server)


def run_pgbouncer(folder: Path, server: SplitResult) -> Iterator[str]:
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"""
[databases]
* = host={server.hostname} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {POOLER_PORT}
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
unix_socket_dir =
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""
    )
    shutil.chown(folder, POOLER_USER)
    for path in folder.iterdir():
        shutil.chown(path, POOLER_USER)
    process = subprocess.Popen(
        ["pgbouncer", "-u", POOLER_USER, str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(POOLER_PORT, within_seconds=10)
        yield f"127.0.0.1:{POOLER_PORT}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def through(pooler: str, database_dsn: str) -> str:
    parts = urlsplit(database_dsn)
    return f"postgresql://{parts.username or 'postgres'}@{pooler}{parts.path}"


async def test_whole_ingestion_flow_works_through_a_transaction_pooler(
    pooler: str,
    database_dsn: str,
    app_with: AppFactory,
    db: asyncpg.Connection,
    database_refuses_poison: str,
) -> None:
    async with app_with(DATABASE_URL=through(pooler, database_dsn)) as client:
        assert (await client.get("/health")).json()["database"] == "connected"
        session_id = await start_session(client, session_id=fguid())
        events = [event(at=1728234590 + i, event_id=str(uuid.uuid4())) for i in range(20)]
        events[7]["event_type"] = database_refuses_poison  # forces the row-by-row fallback
        batch = {"session_id": session_id, "events": events}

        first = await client.post(BATCH, json=batch)
        retry = await client.post(BATCH, json=batch)
        single = await client.post(EVENT, json={"session_id": session_id, **event()})
        beat = await client.post(f"/api/v1/unreal/session/{session_id}/heartbeat")
        end = await client.post(END, json={"session_id": session_id, "session_end": time.time()})

    assert (first.json()["processed"], first.json()["failed"]) == (19, 1)
    assert len(retry.json()["duplicates"]) == 19
    assert single.status_code == 202
    assert beat.status_code == end.status_code == 200
    assert await count_events(db, session_id) == 20


async def test_concurrent_requests_through_a_transaction_pooler_never_mix_statements(
    pooler: str, database_dsn: str, app_with: AppFactory, db: asyncpg.Connection
) -> None:
    """Many connections share three server connections: any reliance on a prepared statement
    or session state surviving between transactions would fail here."""
    async with app_with(
        DATABASE_URL=through(pooler, database_dsn), DATABASE_POOL_MAX_SIZE=12
    ) as client:
        session_ids = [await start_session(client) for _ in range(6)]
        batches = [
            {"session_id": session_id, "events": [event(at=1728234590 + i) for i in range(30)]}
            for session_id in session_ids
            for _ in range(4)  # each batch four times at once: retries racing each other
        ]
        responses = await asyncio.gather(*(client.post(BATCH, json=b) for b in batches))
        statuses = await asyncio.gather(
            *(client.get(f"/api/v1/unreal/session/{s}/status") for s in session_ids)
        )

    assert [response.status_code for response in responses] == [202] * len(batches)
    assert all(response.json()["processed"] == 30 for response in responses)
    assert all(status.status_code == 200 for status in statuses)
    for session_id in session_ids:
        assert await count_events(db, session_id) == 30
