"""Measure Nexero's ingestion speed against the physical limit of the machine it runs on.

    .venv/bin/python -m scripts.bench                     # every scenario, 10 s each
    .venv/bin/python -m scripts.bench --seconds 3 --scenarios batch-100,single
    .venv/bin/python -m scripts.bench --growth 0,1000000,5000000

Starts what it needs (a throw-away database on DATABASE_URL's server, or on an embedded
PostgreSQL; the service under uvicorn, and beside it a plain reference service,
scripts/bench/reference.py), drives both from a load generator on loopback, scenario by scenario,
measures the same events written with COPY (the ceiling), prints one summary table with every
scenario as a ratio to the reference, writes the results as JSON and stops what it started.
docs/performance.md explains each scenario and the figures.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from . import database, reference
from .live_viewers import LiveViewers, delivery_buckets, server_delivery
from .load import LoadPlan, LoadResult, run_load
from .profile import Profiler
from .report import (
    cpu_ratio,
    live_cost,
    machine,
    print_summary,
    ratio,
    reference_ratios,
    targets,
)
from .services import (
    BENCH_DIR,
    AppServer,
    ResourceMonitor,
    bench_database,
    connections_per_worker,
    embedded_server,
    free_port,
    is_local,
    redacted,
    spread_is_fair,
)
from .stub import stub_server
from .workloads import WorkloadSpec, new_session_id, tour_generator_available

REPO_ROOT = Path(__file__).resolve().parents[2]
HTTP_SCENARIOS = ("generator", "trivial", "single", "sessions", "batch-100", "batch-1000", "tour")
# The scenarios the plain reference runs too, right after Nexero's, under the same load.
REFERENCE_SCENARIOS = ("trivial", "single", "sessions", "batch-100", "batch-1000", "tour")
# half-load right after the peak it halves; the ceiling last, as it writes the most.
ALL_SCENARIOS = (
    "generator",
    "trivial",
    "single",
    "sessions",
    "batch-100",
    "half-load",
    "batch-1000",
    "tour",
    "ceiling",
)
SCENARIO_WORKLOADS = {
    "generator": ("stub", 0),
    "trivial": ("trivial", 0),
    "single": ("single", 1),
    "sessions": ("sessions", 0),
    "batch-100": ("batch", 100),
    "batch-1000": ("batch", 1000),
    "tour": ("tour", 100),
    "half-load": ("batch", 100),
}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="PostgreSQL server to use (env DATABASE_URL); a throw-away database is created on "
        "it. Default: an embedded PostgreSQL in --data-dir",
    )
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "pgdata")
    parser.add_argument(
        "--use-database-as-is",
        action="store_true",
        help="write into the URL's own database instead of creating a throw-away one",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="client connections")
    parser.add_argument("--load-processes", type=int, default=1, help="generator processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds each")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--max-requests", type=int, default=None, help="per scenario")
    parser.add_argument(
        "--scenarios",
        default=",".join(ALL_SCENARIOS),
        help=f"comma-separated, from {', '.join(ALL_SCENARIOS)}",
    )
    parser.add_argument(
        "--growth",
        default=None,
        help="table sizes for the growth scenario, e.g. 0,1000000,5000000 (rows)",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "bench-results.json")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record the workers with py-spy into DIR (during --profile-scenarios)",
    )
    parser.add_argument(
        "--profile-scenarios",
        default="batch-100",
        help="comma-separated scenarios to profile with --profile (default batch-100)",
    )
    parser.add_argument(
        "--live-viewers",
        type=int,
        default=0,
        help="after the scenarios, run batch-100 without and with this many live session "
        "streams (and two project feeds) open, --live-rounds times in turn, then with them at "
        "half the rate reached without: the viewers' cost and delivery latencies",
    )
    parser.add_argument(
        "--live-rounds",
        type=int,
        default=2,
        help="pairs of batch-100 runs without and with viewers (default 2; order alternates)",
    )
    parser.add_argument("--app-dir", type=Path, default=REPO_ROOT, help="where app/ is")
    parser.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run each HTTP scenario against the plain reference service too (default on)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the service, e.g. DATABASE_POOL_MAX_SIZE=20",
    )
    arguments = parser.parse_args(argv)
    arguments.scenarios = [name.strip() for name in arguments.scenarios.split(",") if name]
    unknown = set(arguments.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    arguments.profile_scenarios = arguments.profile_scenarios.split(",")
    if arguments.growth:
        arguments.growth = [int(float(size)) for size in arguments.growth.split(",")]
    return arguments


class Bench:
    def __init__(
        self,
        arguments: argparse.Namespace,
        dsn: str,
        server: AppServer,
        reference_server: AppServer | None = None,
    ) -> None:
        self.arguments = arguments
        self.dsn = dsn
        self.server = server
        self.reference_server = reference_server
        self.session_ids: list[str] = []
        self.results: dict[str, Any] = {
            "scenarios": {},
            "reference": {},
            "ceiling": [],
            "growth": [],
        }

    def spec(self, scenario: str, *, host: str) -> WorkloadSpec:
        kind, batch_size = SCENARIO_WORKLOADS[scenario]
        return WorkloadSpec(
            kind=kind,
            host=host,
            api_key=self.server.api_key,
            batch_size=batch_size or 100,
            session_ids=tuple(self.session_ids),
            seed=int(time.time() * 1000) % 1_000_000_007,
            tour_source="tour_generator" if tour_generator_available() else "builtin",
        )

    def plan(self, scenario: str, port: int, **changes: Any) -> LoadPlan:
        arguments = self.arguments
        return LoadPlan(
            address=("127.0.0.1", port),
            workload=self.spec(scenario, host=f"127.0.0.1:{port}"),
            connections=arguments.connections,
            processes=arguments.load_processes,
            seconds=arguments.seconds,
            warmup_seconds=arguments.warmup,
            max_requests=arguments.max_requests,
            **changes,
        )

    def open_sessions(self) -> None:
        """One open session per connection, as each headset has its own (the same ids in the
        reference)."""
        self.session_ids = [new_session_id() for _ in range(self.arguments.connections)]
        for server in (self.server, self.reference_server):
            if server is not None:
                self._open_sessions_in(server)

    def _open_sessions_in(self, server: AppServer) -> None:
        headers = {"X-API-Key": server.api_key}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
            for index, session_id in enumerate(self.session_ids):
                body = {
                    "session_id": session_id,
                    "session_start": time.time() - 3600,
                    "customer_id": f"bench_customer_{index}",
                    "property_id": "prop_bench",
                    "device_type": "Meta Quest 3",
                }
                response = client.post("/api/v1/unreal/session/start", json=body)
                if response.status_code != 201:
                    raise RuntimeError(f"session start: {response.status_code} {response.text}")

    def measure(
        self, scenario: str, plan: LoadPlan, *, server: AppServer | None = None
    ) -> dict[str, Any]:
        """Run one load plan against the service (or `server`) with its workers watched."""
        server = server or self.server
        application_names = (
            [reference.APPLICATION_NAME]
            if server is self.reference_server
            else database.SERVICE_APPLICATION_NAMES
        )
        monitor = ResourceMonitor(
            server.worker_pids(),
            backend_pids=lambda: (
                asyncio.run(database.backend_pids(self.dsn, application_names))
                if is_local(self.dsn)
                else []
            ),
        )
        profiler = None
        if self.arguments.profile and scenario in self.arguments.profile_scenarios:
            profiler = Profiler(self.arguments.profile, scenario)

        def opened() -> None:
            monitor.open()
            if profiler:
                profiler.start(server.worker_pids(), plan.seconds)

        resources: dict[str, Any] = {}
        spread: dict[int, int] = {}

        def fair() -> bool:
            spread.clear()
            spread.update(connections_per_worker(server.worker_pids(), server.port))
            return spread_is_fair(spread, plan.connections)

        def closed(_: object) -> None:
            resources.update(monitor.close())

        result = run_load(plan, on_open=opened, on_close=closed, spread_is_fair=fair)
        resources["connections_per_worker"] = list(spread.values())
        return self.record(
            scenario, result, resources, profiler, reference=server is self.reference_server
        )

    def record(
        self,
        scenario: str,
        result: LoadResult,
        resources: dict[str, Any],
        profiler: Profiler | None,
        *,
        reference: bool = False,
    ) -> dict[str, Any]:
        entry = {**result.summary(), "server": resources}
        if "machine_cpu_cores" in resources:
            # What else ran on the machine meanwhile: on a shared machine, the figures are only
            # as good as this is small.
            ours = entry["generator_cpu_cores"] + resources["app_cpu_cores"]
            ours += resources["db_cpu_cores"] or 0.0
            resources["other_cpu_cores"] = round(max(0.0, resources["machine_cpu_cores"] - ours), 3)
        # CPU per unit of work: steadier than throughput when the machine is shared.
        for unit, count in (("event", entry["events"]), ("request", entry["requests"])):
            for part in ("app", "db"):
                cores = resources.get(f"{part}_cpu_cores")
                if count and cores is not None:
                    used = cores * entry["seconds"] / count
                    resources[f"{part}_cpu_us_per_{unit}"] = round(used * 1e6, 1)
        if profiler:
            entry["profile"] = profiler.finish()
        self.results["reference" if reference else "scenarios"][scenario] = entry
        label = f"{scenario} (reference)" if reference else scenario
        print(f"  {label}: {one_line(entry)}", file=sys.stderr)
        return entry

    def run_generator_ceiling(self) -> None:
        port = free_port()
        with stub_server(port):
            result = run_load(self.plan("generator", port))
        self.record("generator", result, {}, None)

    def run_http(self, scenario: str) -> None:
        self.measure(scenario, self.plan(scenario, self.server.port))
        if self.reference_server is not None and scenario in REFERENCE_SCENARIOS:
            self.measure(
                scenario,
                self.plan(scenario, self.reference_server.port),
                server=self.reference_server,
            )

    def run_with_viewers(self, count: int, rounds: int) -> None:
        """batch-100 without viewers and with `count` session streams and the project feeds,
        in pairs whose order alternates (so that a drift of the machine or the table's growth
        favours neither), then with viewers at half the rate reached without them."""
        asyncio.run(database.analyze_events(self.dsn))
        pairs = []
        for round_number in range(1, rounds + 1):
            order = (False, True) if round_number % 2 else (True, False)
            pair = {}
            for watched in order:
                name = f"batch-100-{'viewers' if watched else 'alone'}-{round_number}"
                plan = self.plan("batch-100", self.server.port)
                entry = self.measure_live(name, plan, count if watched else 0)
                pair["with" if watched else "without"] = entry
            pairs.append(pair)
        alone = sum(pair["without"]["requests_per_second"] for pair in pairs) / len(pairs)
        half = self.plan("half-load", self.server.port, operations_per_second=alone / 2)
        half_entry = self.measure_live("half-load-viewers", half, count)
        half_entry["target_requests_per_second"] = round(alone / 2, 1)
        self.results["live"] = live_cost(pairs, half_entry)

    def measure_live(self, scenario: str, plan: LoadPlan, count: int) -> dict[str, Any]:
        """One load plan, with `count` session streams and the project feeds open (none with
        0); with them, the deliveries as the viewers saw them and as the server timed them."""
        if not count:
            return self.measure(scenario, plan)
        server = self.server
        viewers = LiveViewers(server.base_url, server.api_key, self.session_ids, count=count)
        with viewers:
            before = delivery_buckets(server.base_url, server.api_key)
            entry = self.measure(scenario, plan)
            time.sleep(1)  # the last events' deliveries
            after = delivery_buckets(server.base_url, server.api_key)
        entry["live"] = {"viewers": viewers.summary(), "server": server_delivery(before, after)}
        print(f"  {scenario} deliveries: {entry['live']}", file=sys.stderr)
        return entry

    def run_half_load(self) -> None:
        peak = self.results["scenarios"].get("batch-100")
        if peak is None:
            print("  half-load needs batch-100 in the same run: skipped", file=sys.stderr)
            return
        rate = peak["requests_per_second"] / 2
        entry = self.measure(
            "half-load", self.plan("half-load", self.server.port, operations_per_second=rate)
        )
        entry["target_requests_per_second"] = round(rate, 1)

    def run_ceiling(self) -> None:
        """The same number of events as batch-100 stored, written with no HTTP."""
        stored = self.results["scenarios"].get("batch-100", {}).get("events", 0)
        rows = max(10_000, min(stored, 2_000_000))

        async def measure_all() -> list[dict[str, Any]]:
            connection = await database.asyncpg.connect(self.dsn)
            try:
                source = await database.event_rows(connection, self.session_ids)
            finally:
                await connection.close()
            measured = []
            for writers in (1, 2):
                measured.append(
                    await database.copy_ceiling(self.dsn, source, rows=rows, writers=writers)
                )
            for method in ("unnest", "staging"):
                measured.append(
                    await database.statement_ceiling(
                        self.dsn, source, rows=rows, writers=2, batch_size=100, method=method
                    )
                )
            return measured

        for entry in asyncio.run(measure_all()):
            self.results["ceiling"].append(entry)
            print(
                f"  ceiling {entry['method']} x{entry['writers']} writers: "
                f"{entry['rows_per_second']:,.0f} rows/s",
                file=sys.stderr,
            )

    def run_growth(self, sizes: list[int]) -> None:
        seconds = self.arguments.seconds
        for size in sizes:
            filled = asyncio.run(database.fill_events(self.dsn, self.session_ids, target_rows=size))
            entry = self.measure(f"growth-{size}", self.plan("batch-100", self.server.port))
            events = entry["events"] or 1
            server = entry["server"]
            cpu = (server.get("app_cpu_cores") or 0) + (server.get("db_cpu_cores") or 0)
            self.results["growth"].append(
                {
                    "table_rows": size,
                    "fill": filled,
                    "events_per_second": entry["events_per_second"],
                    "wall_us_per_event": round(1e6 * seconds / events, 2),
                    "server_cpu_us_per_event": round(1e6 * cpu * seconds / events, 2),
                    "db_cpu_us_per_event": server.get("db_cpu_us_per_event"),
                    "p99_ms": entry["latency_ms"]["p99"],
                }
            )


def one_line(entry: dict[str, Any]) -> str:
    latency = entry["latency_ms"]
    return (
        f"{entry['requests_per_second']:,.0f} req/s, {entry['events_per_second']:,.0f} events/s, "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, errors {entry['errors']}"
    )


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started_at": started.isoformat(),
        "machine": machine(),
        "workers": arguments.workers,
        "connections": arguments.connections,
        "load_processes": arguments.load_processes,
        "seconds_per_scenario": arguments.seconds,
        "warmup_seconds": arguments.warmup,
        "service_env": arguments.env,
    }
    with contextlib.ExitStack() as stack:
        server_dsn = arguments.database_url
        meta["database"] = "DATABASE_URL" if server_dsn else "embedded"
        if not server_dsn:
            server_dsn = stack.enter_context(embedded_server(arguments.data_dir))
        dsn = stack.enter_context(
            bench_database(
                server_dsn, fresh=not arguments.use_database_as_is, keep=arguments.keep_database
            )
        )
        meta["database_url"] = redacted(dsn)
        server = AppServer(
            app_dir=arguments.app_dir,
            dsn=dsn,
            workers=arguments.workers,
            log_path=BENCH_DIR / f"uvicorn-{started:%Y%m%d-%H%M%S}.log",
            extra_env=dict(item.split("=", 1) for item in arguments.env),
        )
        stack.enter_context(server)
        meta["server_log"] = str(server.log_path)
        reference_server = None
        if arguments.reference and set(arguments.scenarios) & set(REFERENCE_SCENARIOS):
            asyncio.run(reference.create_schema(dsn))
            reference_server = AppServer(
                app_dir=REPO_ROOT,
                dsn=dsn,
                workers=arguments.workers,
                log_path=BENCH_DIR / f"reference-{started:%Y%m%d-%H%M%S}.log",
                extra_env={"REFERENCE_DATABASE_URL": dsn},
                target="scripts.bench.reference:app",
            )
            stack.enter_context(reference_server)
        bench = Bench(arguments, dsn, server, reference_server)
        bench.open_sessions()
        for scenario in arguments.scenarios:
            if scenario == "generator":
                bench.run_generator_ceiling()
            elif scenario in HTTP_SCENARIOS:
                bench.run_http(scenario)
            elif scenario == "ceiling":
                bench.run_ceiling()
            elif scenario == "half-load":
                bench.run_half_load()
        if arguments.live_viewers:
            bench.run_with_viewers(arguments.live_viewers, arguments.live_rounds)
        if arguments.growth:
            bench.run_growth(arguments.growth)
        meta["table"] = asyncio.run(database.table_report(dsn))
    meta["machine"]["load_average_after"] = os.getloadavg()
    meta["finished_at"] = datetime.now(UTC).isoformat()
    report = {"meta": meta, **bench.results}
    report["http_to_ceiling_ratio"] = ratio(report)
    report["http_to_ceiling_cpu_ratio"] = cpu_ratio(report)
    report["to_reference"] = reference_ratios(report)
    report["targets"] = targets(report)
    return report


def main() -> None:
    arguments = parse_arguments()
    report = run(arguments)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print_summary(report)
    print(f"\nresults: {arguments.output}")


if __name__ == "__main__":
    main()
