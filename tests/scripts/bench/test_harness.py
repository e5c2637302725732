"""The benchmark harness (scripts/bench), run for about a second per scenario: it starts what
it needs, measures, writes a well-formed report and stops what it started. No speed is asserted
here: figures on a shared test machine mean nothing, and docs/performance.md holds the real ones."""

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
import pytest

from scripts.bench.report import growth_change, targets
from tests.conftest import REPO_ROOT

SCENARIOS = ["generator", "single", "sessions", "batch-100", "half-load", "tour", "ceiling"]
# --live-viewers 1 --live-rounds 1: batch-100 without and with viewers, then half load with them.
LIVE_SCENARIOS = ["batch-100-alone-1", "batch-100-viewers-1", "half-load-viewers"]
LIVE_STREAMS = 3
MAX_REQUESTS = 150
CONNECTIONS = 4
BENCH_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def bench_run(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.bench",
            "--database-url",
            server_dsn,
            "--workers",
            "2",
            "--connections",
            str(CONNECTIONS),
            "--seconds",
            "1",
            "--warmup",
            "0",
            "--max-requests",
            str(MAX_REQUESTS),
            "--scenarios",
            ",".join(SCENARIOS),
            "--live-viewers",
            "1",
            "--live-rounds",
            "1",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_SECONDS,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return {"report": json.loads(output.read_text()), "stdout": completed.stdout}


def test_every_scenario_is_measured_without_errors(bench_run: dict[str, Any]) -> None:
    scenarios = bench_run["report"]["scenarios"]
    assert set(scenarios) == set(SCENARIOS) - {"ceiling"} | set(LIVE_SCENARIOS)
    for name, entry in scenarios.items():
        assert entry["requests"] > 0, name
        assert entry["errors"] == 0, (name, entry["errors_by_kind"], entry["error_sample"])
        latency = entry["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"], name
        assert entry["requests_per_second"] > 0, name


def test_events_and_sessions_are_counted_per_request(bench_run: dict[str, Any]) -> None:
    scenarios = bench_run["report"]["scenarios"]
    assert scenarios["batch-100"]["events"] == 100 * scenarios["batch-100"]["requests"]
    assert scenarios["single"]["events"] == scenarios["single"]["requests"]
    assert scenarios["sessions"]["events"] == 0
    # A session whose start was answered just before the window opened counts when it ends.
    sessions = scenarios["sessions"]
    assert 0 < sessions["sessions"] <= sessions["requests"] // 2 + CONNECTIONS
    assert scenarios["tour"]["events"] > 0 and scenarios["tour"]["sessions"] > 0


def test_single_request_scenarios_stay_within_the_request_bound(
    bench_run: dict[str, Any],
) -> None:
    scenarios = bench_run["report"]["scenarios"]
    for name in ("generator", "single", "batch-100"):
        assert scenarios[name]["requests"] <= MAX_REQUESTS, name


def test_server_resources_are_reported_per_worker(bench_run: dict[str, Any]) -> None:
    for name, entry in bench_run["report"]["scenarios"].items():
        if name == "generator":  # the stub server, not the service
            continue
        server = entry["server"]
        assert len(server["workers"]) == 2, name
        assert all(worker["peak_rss_mb"] > 0 for worker in server["workers"]), name
        # The workers did the scenario's work, on this machine's cores.
        assert 0 < server["app_cpu_cores"] <= os.cpu_count(), name
        assert 0 < server["machine_cpu_cores"] <= os.cpu_count(), name
        streams = LIVE_STREAMS if "live" in entry else 0
        assert sum(server["connections_per_worker"]) == CONNECTIONS + streams, name


def test_the_reference_runs_the_same_scenarios_beside_nexero(bench_run: dict[str, Any]) -> None:
    report = bench_run["report"]
    compared = {"single", "sessions", "batch-100", "tour"}
    assert set(report["reference"]) == compared
    for name, entry in report["reference"].items():
        assert entry["errors"] == 0, (name, entry["errors_by_kind"], entry["error_sample"])
        assert entry["requests"] > 0, name
        ours = {worker["pid"] for worker in report["scenarios"][name]["server"]["workers"]}
        theirs = {worker["pid"] for worker in entry["server"]["workers"]}
        assert len(theirs) == 2 and not ours & theirs, name
    assert report["reference"]["batch-100"]["events"] == (
        100 * report["reference"]["batch-100"]["requests"]
    )
    # Its own database backends are measured, not Nexero's idle ones.
    assert report["reference"]["batch-100"]["server"]["db_cpu_cores"] > 0
    assert set(report["to_reference"]) == compared
    for name, entry in report["to_reference"].items():
        measure = entry["measure"]
        assert entry["nexero"] == report["scenarios"][name][measure], name
        assert entry["reference"] == report["reference"][name][measure], name
        assert entry["ratio"] == pytest.approx(entry["nexero"] / entry["reference"], abs=0.001)
        assert entry["cpu_ratio"] == pytest.approx(
            entry["reference_app_cpu_us"] / entry["nexero_app_cpu_us"], abs=0.001
        )
    assert "over the plain reference" in bench_run["stdout"]
    assert {"batch-100 / reference", "single / reference"} <= {
        row["target"] for row in report["targets"]
    }


def test_ceiling_is_measured_with_the_same_rows(bench_run: dict[str, Any]) -> None:
    report = bench_run["report"]
    methods = {(entry["method"], entry["writers"]) for entry in report["ceiling"]}
    assert methods == {("copy", 1), ("copy", 2), ("unnest x100", 2), ("staging x100", 2)}
    assert all(entry["rows_per_second"] > 0 for entry in report["ceiling"])
    assert report["http_to_ceiling_ratio"] > 0


def test_half_load_is_paced_at_half_of_the_peak(bench_run: dict[str, Any]) -> None:
    scenarios = bench_run["report"]["scenarios"]
    peak = scenarios["batch-100"]["requests_per_second"]
    assert scenarios["half-load"]["target_requests_per_second"] == pytest.approx(peak / 2, 0.01)


def test_live_viewers_cost_and_deliveries_are_reported(bench_run: dict[str, Any]) -> None:
    report = bench_run["report"]
    live = report["live"]
    (round_one,) = live["rounds"]
    scenarios = report["scenarios"]
    assert (
        round_one["events_per_second_without"]
        == (scenarios["batch-100-alone-1"]["events_per_second"])
    )
    assert (
        round_one["events_per_second_with"]
        == (scenarios["batch-100-viewers-1"]["events_per_second"])
    )
    for deliveries in (round_one["deliveries"], live["half_load"]["deliveries"]):
        viewers, server = deliveries["viewers"], deliveries["server"]
        assert viewers["viewers"] == LIVE_STREAMS and viewers["errors"] == []
        # The session stream watches a session the load writes to: it gets events, timed.
        assert viewers["events_delivered"] > 0 and viewers["messages"] > 0
        assert 0 <= viewers["delivery_p50_seconds"] <= viewers["delivery_p99_seconds"]
        assert server["writes"] > 0
    assert "live viewers" in bench_run["stdout"]


def test_targets_and_summary_are_reported(bench_run: dict[str, Any]) -> None:
    report = bench_run["report"]
    for row in report["targets"]:
        assert set(row) == {"target", "goal", "measured", "met"}
        assert isinstance(row["met"], bool)
    assert {row["target"] for row in report["targets"]} >= {
        "batch-100 events/s",
        "single requests/s",
        "sessions/s (start+end)",
        "p99 at half of peak (ms)",
    }
    assert "scenario" in bench_run["stdout"] and "targets" in bench_run["stdout"]
    assert report["meta"]["machine"]["cpus"] >= 1


async def test_what_the_bench_started_is_stopped(
    bench_run: dict[str, Any], server_dsn: str
) -> None:
    report = bench_run["report"]
    pids = {
        worker["pid"]
        for entry in [*report["scenarios"].values(), *report["reference"].values()]
        for worker in (entry.get("server") or {}).get("workers", [])
    }
    assert pids and not any(psutil.pid_exists(pid) for pid in pids)
    database = urlsplit(report["meta"]["database_url"]).path.lstrip("/")
    assert database.startswith("nexero_bench_")

    connection = await asyncpg.connect(server_dsn)
    try:
        exists = await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database
        )
    finally:
        await connection.close()
    assert not exists


def test_growth_compares_the_largest_table_with_the_smallest() -> None:
    slices = [
        {"table_rows": size, "events_per_second": speed, "server_cpu_us_per_event": cpu}
        | {"db_cpu_us_per_event": database_cpu}
        for size, speed, cpu, database_cpu in (
            (0, 20_000.0, 50.0, 25.0),
            (1_000_000, 19_000.0, 52.0, 26.0),
            (5_000_000, 17_000.0, 60.0, 30.0),
        )
    ]
    report = {"scenarios": {}, "growth": slices}

    change = growth_change(report)
    verdict = next(row for row in targets(report) if row["target"].startswith("growth"))

    assert change == {
        "from_rows": 0,
        "to_rows": 5_000_000,
        "events_per_second": 0.85,
        "server_cpu_us_per_event": 1.2,
        "db_cpu_us_per_event": 1.2,
    }
    assert verdict["measured"] == 0.85 and verdict["met"] is False
    assert growth_change({"growth": slices[:1]}) is None
