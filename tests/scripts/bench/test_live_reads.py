"""scripts/bench/live_reads.py, as docs/performance.md runs it: on a database with a tour, it
times each read of the live feed and names it. No figure is asserted."""

import asyncio
import os
import sys
import time

from tests.conftest import REPO_ROOT, fresh_database, serve_app
from tests.helpers import BATCH, start_session

SCRIPT_TIMEOUT_SECONDS = 120
READS = (
    "session state",
    "tour lines of every session",
    "events after a position: 0",
    "events after a position: 100",
)


async def test_each_read_of_the_live_feed_is_timed(server_dsn: str) -> None:
    async with fresh_database(server_dsn, prefix="nexero_live_reads") as dsn:
        async with serve_app(dsn) as client:
            session_id = await start_session(client)
            now = time.time()
            events = [
                {
                    "event_type": "room_view",
                    "timestamp": now + step,
                    "event_data": {"room_name": f"Room {step}"},
                }
                for step in range(150)
            ]
            answer = await client.post(BATCH, json={"session_id": session_id, "events": events})
            assert answer.status_code == 202, answer.text
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scripts.bench.live_reads",
            "--database-url",
            dsn,
            "--calls",
            "3",
            cwd=REPO_ROOT,
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(SCRIPT_TIMEOUT_SECONDS):
            output, _ = await process.communicate()
    printed = output.decode()
    assert process.returncode == 0, printed
    assert "session with 150 events" in printed
    for read in READS:
        assert read in printed, read
