"""What each read of the live feed costs, on a database a benchmark run kept: the CPU of the
PostgreSQL backend serving it (read from /proc, so the server must run on this machine) and of
this process (the worker's side: asyncpg, rows to objects), per call, through the service's own
reader (app/services/live/reader.py).

    .venv/bin/python -m scripts.bench --scenarios batch-100 --live-viewers 1 --keep-database ...
    .venv/bin/python -m scripts.bench.live_reads \\
        --database-url postgresql://postgres@127.0.0.1:5432/nexero_bench_<kept>

Reads the session with the most events, as a live viewer's worker would: its state, its newest
events after a position, and the tour lines of every session (a project feed's refresh).
docs/performance.md turns these into the viewers' cost per second.
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import psutil

from app.db.database import Database
from app.services.live.reader import LiveReader

CALLS = 50


async def cost_per_call(
    backend: psutil.Process, read: Callable[[], Awaitable[Any]], calls: int
) -> dict[str, float]:
    await read()  # prepared statements and caches, as in a running worker
    backend_before, own_before = sum(backend.cpu_times()[:2]), time.process_time()
    started = time.perf_counter()
    for _ in range(calls):
        await read()
    wall = time.perf_counter() - started
    backend_used = sum(backend.cpu_times()[:2]) - backend_before
    own_used = time.process_time() - own_before
    return {
        "database_cpu_ms": round(1000 * backend_used / calls, 2),
        "worker_cpu_ms": round(1000 * own_used / calls, 2),
        "wall_ms": round(1000 * wall / calls, 2),
    }


async def measure(dsn: str, calls: int) -> dict[str, Any]:
    database = await Database.connect(
        dsn,
        min_size=1,
        max_size=1,
        statement_cache_size=None,
        connect_timeout_seconds=10,
        acquire_timeout_seconds=10,
        command_timeout_seconds=60,
    )
    try:
        async with database.connection() as connection:
            backend = psutil.Process(await connection.fetchval("SELECT pg_backend_pid()"))
            project_id, session_id, events, position = await connection.fetchrow(
                "SELECT project_id, session_id, count(*), max(live_position) "
                "FROM tracking_events GROUP BY project_id, session_id "
                "ORDER BY count(*) DESC LIMIT 1"
            )
            sessions = await connection.fetch(
                "SELECT id FROM vr_sessions WHERE project_id = $1", project_id
            )
        session_ids = [row["id"] for row in sessions]
        reader = LiveReader(database)
        reads: dict[str, Callable[[], Awaitable[Any]]] = {
            "session state": lambda: reader.session_state(project_id, session_id),
            "tour lines of every session": lambda: reader.tours(
                project_id, session_ids=session_ids, limit=len(session_ids)
            ),
        }
        for count in (0, 10, 100):
            reads[f"events after a position: {count}"] = lambda count=count: reader.events_after(
                project_id, session_id, after=position - count, limit=500
            )
        costs = {name: await cost_per_call(backend, read, calls) for name, read in reads.items()}
        return {"session_events": events, "sessions": len(session_ids), "reads": costs}
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench.live_reads", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", required=True, help="a database the bench kept")
    parser.add_argument("--calls", type=int, default=CALLS, help="calls per read (default 50)")
    arguments = parser.parse_args()
    try:
        measured = asyncio.run(measure(arguments.database_url, arguments.calls))
    except (OSError, asyncpg.PostgresError) as error:
        raise SystemExit(f"cannot measure: {error!r}") from error
    print(
        f"session with {measured['session_events']:,} events, "
        f"project of {measured['sessions']} sessions; per call:"
    )
    for name, cost in measured["reads"].items():
        print(
            f"  {name:<34} database {cost['database_cpu_ms']:6.2f} ms, "
            f"worker {cost['worker_cpu_ms']:5.2f} ms, wall {cost['wall_ms']:6.2f} ms"
        )


if __name__ == "__main__":
    main()
