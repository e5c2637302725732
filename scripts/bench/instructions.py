"""CPU instructions per request, Nexero against the plain reference, counted by valgrind.

Each app runs in a process of its own under `valgrind --tool=callgrind`, served in process:
the ASGI app is called directly with the HTTP benchmark's own requests (scripts/bench/workloads.py),
its lifespan run as uvicorn runs it, its database real. No HTTP server and no socket to the
client, so what is counted is the app's own work per request, and the calls it makes to
PostgreSQL. Instructions, unlike seconds, do not depend on what else the machine runs: the
ratio holds on a shared machine where timings drift by a third from one run to the next.

    .venv/bin/python -m scripts.bench.instructions --database-url postgresql://... \
        [--scenarios trivial,single,sessions,batch-100] [--requests 300] [--app-dir DIR]

How the measured stretch is cut out: the runner calls os.getppid() just before and just after
each scenario's measured requests, and callgrind writes its counts each time the C library's
getppid is entered (--dump-before), so the part between two such calls holds exactly those
requests (nothing else in either app calls it).
"""

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .services import BENCH_DIR, bench_database, embedded_server
from .workloads import Operation, WorkloadSpec, build, new_session_id

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("nexero", "reference")
SCENARIOS = {"trivial": "trivial", "single": "single", "sessions": "sessions", "batch-100": "batch"}
WARMUP_REQUESTS = 30
MARKER_FUNCTION = "getppid"
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench.instructions",
        description="Instructions per request, Nexero over the plain reference (callgrind).",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL server to use (env DATABASE_URL); a throw-away database is created on "
        "it. Default: an embedded PostgreSQL in --data-dir",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "pgdata")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--requests", type=int, default=300, help="measured operations per scenario"
    )
    parser.add_argument("--app-dir", type=Path, default=REPO_ROOT, help="where app/ is")
    parser.add_argument("--run", choices=TARGETS, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    unknown = set(arguments.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if arguments.requests < 1:
        parser.error("--requests must be at least 1")
    return arguments


def parsed_request(raw: bytes) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    """Method, path, headers (names in lower case) and body of a raw HTTP/1.1 request."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    method, path, _ = request_line.decode().split(" ")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return method, path, headers, body


async def call(app: ASGIApp, raw: bytes) -> tuple[int, bytes]:
    """One request through the app, as uvicorn would hand it over; its status and body."""
    method, path, headers, body = parsed_request(raw)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # a client that keeps the connection open
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in answer if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
    return status, content


async def serve_scenarios(app: Any, api_key: str, scenarios: list[str], requests: int) -> None:
    """Open a session (for the event scenarios), then per scenario: warm up, mark, send
    `requests` operations, mark. Any answer but a 2xx (for a batch: with every event stored)
    stops the run."""
    session_id = new_session_id()
    host = "127.0.0.1:8000"
    async with app.router.lifespan_context(app):
        start = (
            f'{{"session_id":"{session_id}","session_start":{time.time() - 3600:.3f},'
            f'"customer_id":"bench_customer_0","property_id":"prop_bench",'
            f'"device_type":"Meta Quest 3"}}'
        )
        opening = (
            f"POST /api/v1/unreal/session/start HTTP/1.1\r\nHost: {host}\r\n"
            f"X-API-Key: {api_key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(start)}\r\n\r\n{start}"
        ).encode()
        await checked(app, opening)
        for number, scenario in enumerate(scenarios):
            # A seed of its own: event ids are unique per seed, and the session is shared.
            spec = WorkloadSpec(
                kind=SCENARIOS[scenario],
                host=host,
                api_key=api_key,
                session_ids=(session_id,),
                seed=number,
            )
            workload = build(spec)
            for _ in range(WARMUP_REQUESTS):
                await run_operation(app, workload.next_operation(0))
            operations = [workload.next_operation(0) for _ in range(requests)]
            os.getppid()
            for operation in operations:
                await run_operation(app, operation)
            os.getppid()


async def run_operation(app: Any, operation: Operation) -> None:
    for step in operation.calls:
        await checked(app, step.raw, expect=step.expect)


async def checked(app: Any, raw: bytes, *, expect: bytes | None = None) -> None:
    """Send one request; a status but 2xx, or an answer without `expect`, stops the run."""
    status, content = await call(app, raw)
    if not 200 <= status < 300 or (expect is not None and expect not in content):
        raise RuntimeError(f"{status}: {content[:300]!r}")


def run_target(arguments: argparse.Namespace) -> None:
    """In the process valgrind watches: import the target's app and serve the scenarios."""
    api_key = os.environ["NEXERO_BOOTSTRAP_KEY"]
    if arguments.run == "nexero":
        sys.path.insert(0, str(arguments.app_dir))
        from app.main import app
    else:
        from .reference import app
    asyncio.run(serve_scenarios(app, api_key, arguments.scenarios.split(","), arguments.requests))


def measured_parts(directory: Path, target: str) -> list[int]:
    """The instructions of each measured stretch: the parts that end at a closing mark
    (every second part, from the second on; the first ends at the first opening mark)."""
    parts: dict[int, int] = {}
    for path in directory.glob(f"{target}.*"):
        text = path.read_text(errors="replace")
        number = re.search(r"^part: (\d+)$", text, re.MULTILINE)
        totals = re.search(r"^totals: (\d+)$", text, re.MULTILINE)
        if number and totals:
            parts[int(number.group(1))] = int(totals.group(1))
    return [parts[number] for number in sorted(parts) if number % 2 == 0]


def callgrind_command(directory: Path, label: str) -> list[str]:
    """valgrind's command line, before the program: counts written to `directory/label.*`,
    a part each time getppid is entered."""
    return [
        "valgrind",
        "--tool=callgrind",
        f"--dump-before={MARKER_FUNCTION}",
        f"--callgrind-out-file={directory / label}.%p",
    ]


def count(arguments: argparse.Namespace, dsn: str) -> dict[str, list[int]]:
    """Both targets under callgrind at once (one core each); their measured parts."""
    from . import reference

    asyncio.run(reference.create_schema(dsn))
    api_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REFERENCE_DATABASE_URL": dsn,
        "NEXERO_BOOTSTRAP_KEY": api_key,
        "RATE_LIMIT_ENABLED": "false",
    }
    with tempfile.TemporaryDirectory(prefix="nexero-instructions-") as folder:
        directory = Path(folder)
        runs = {}
        for target in TARGETS:
            command = [
                *callgrind_command(directory, target),
                sys.executable,
                "-m",
                "scripts.bench.instructions",
                "--run",
                target,
                "--scenarios",
                arguments.scenarios,
                "--requests",
                str(arguments.requests),
                "--app-dir",
                str(arguments.app_dir),
                "--database-url",
                dsn,
            ]
            log = (directory / f"{target}.log").open("wb")
            runs[target] = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        for target, process in runs.items():
            if process.wait() != 0:
                tail = (directory / f"{target}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{target} failed under valgrind:\n{tail}")
        return {target: measured_parts(directory, target) for target in TARGETS}


def report(arguments: argparse.Namespace, counts: dict[str, list[int]]) -> list[dict[str, Any]]:
    rows = []
    for index, scenario in enumerate(arguments.scenarios.split(",")):
        nexero, plain = (counts[target][index] / arguments.requests for target in TARGETS)
        rows.append(
            {
                "scenario": scenario,
                "nexero_instructions": round(nexero),
                "reference_instructions": round(plain),
                "reference_over_nexero": round(plain / nexero, 3),
            }
        )
    return rows


def main() -> None:
    arguments = parse_arguments()
    if arguments.run:
        run_target(arguments)
        return
    with contextlib.ExitStack() as stack:
        server_dsn = arguments.database_url or stack.enter_context(
            embedded_server(arguments.data_dir)
        )
        dsn = stack.enter_context(bench_database(server_dsn, fresh=True, keep=False))
        counts = count(arguments, dsn)
    unit = {"batch-100": "batch of 100", "sessions": "start + end"}
    print(f"instructions per operation, {arguments.requests} operations per scenario (callgrind)")
    print(f"{'scenario':<11} {'Nexero':>12} {'reference':>12} {'ratio':>6}  operation")
    for row in report(arguments, counts):
        print(
            f"{row['scenario']:<11} {row['nexero_instructions']:>12,} "
            f"{row['reference_instructions']:>12,} {row['reference_over_nexero']:>6.2f}  "
            f"{unit.get(row['scenario'], 'request')}"
        )


if __name__ == "__main__":
    main()
