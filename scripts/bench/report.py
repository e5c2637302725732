"""The benchmark's summary table, its comparisons with the ceiling, and its verdict on the
targets of this machine."""

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

# The targets of issue 5 on the 2-core machine, load generator included.
BATCH_EVENTS_PER_SECOND = 20_000
SINGLE_REQUESTS_PER_SECOND = 2_000
SESSIONS_PER_SECOND = 1_000
HALF_LOAD_P99_MS = 50
PEAK_RSS_MB = 200
# Issue 13's targets: shares of the plain reference measured in the same run, of the COPY
# ceiling, and the workers' CPU per event of batch-100.
BATCH_SHARE_OF_REFERENCE = 0.65
BATCH_SHARE_OF_CEILING = 0.75
REQUEST_SHARE_OF_REFERENCE = 0.8
APP_CPU_US_PER_BATCHED_EVENT = 20
# The growth run: batch-100 on the largest table at least this share of it on the smallest.
GROWTH_END_OVER_START = 0.9
# What each scenario is measured by when compared with the reference.
REFERENCE_MEASURES = {
    "trivial": "requests_per_second",
    "single": "requests_per_second",
    "sessions": "sessions_per_second",
    "batch-100": "events_per_second",
    "batch-1000": "events_per_second",
    "tour": "events_per_second",
}


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target this run measured: the goal, the figure, whether it is met."""
    scenarios = report["scenarios"]
    rows: list[dict[str, Any]] = []

    def at_least(target: str, measured: float | None, goal: float) -> None:
        met = measured is not None and measured >= goal
        rows.append({"target": target, "goal": f">= {goal:,}", "measured": measured, "met": met})

    def below(target: str, measured: float | None, goal: float) -> None:
        met = measured is not None and measured < goal
        rows.append({"target": target, "goal": f"< {goal:,}", "measured": measured, "met": met})

    def below_or_at(target: str, measured: float | None, goal: float) -> None:
        met = measured is not None and measured <= goal
        rows.append({"target": target, "goal": f"<= {goal:,}", "measured": measured, "met": met})

    if batch := scenarios.get("batch-100"):
        at_least("batch-100 events/s", batch["events_per_second"], BATCH_EVENTS_PER_SECOND)
        if (share := report.get("http_to_ceiling_ratio")) is not None:
            at_least("batch-100 / COPY ceiling", share, BATCH_SHARE_OF_CEILING)
        if (used := batch["server"].get("app_cpu_us_per_event")) is not None:
            below_or_at("app CPU us per batched event", used, APP_CPU_US_PER_BATCHED_EVENT)
    shares = report.get("to_reference") or {}
    for name, goal in (
        ("batch-100", BATCH_SHARE_OF_REFERENCE),
        ("single", REQUEST_SHARE_OF_REFERENCE),
        ("sessions", REQUEST_SHARE_OF_REFERENCE),
        ("trivial", REQUEST_SHARE_OF_REFERENCE),
    ):
        if name in shares:
            at_least(f"{name} / reference", shares[name]["ratio"], goal)
    if single := scenarios.get("single"):
        at_least("single requests/s", single["requests_per_second"], SINGLE_REQUESTS_PER_SECOND)
    if sessions := scenarios.get("sessions"):
        at_least("sessions/s (start+end)", sessions["sessions_per_second"], SESSIONS_PER_SECOND)
    if half := scenarios.get("half-load"):
        below("p99 at half of peak (ms)", half["latency_ms"]["p99"], HALF_LOAD_P99_MS)
    if (change := growth_change(report)) is not None:
        at_least("growth: events/s end / start", change["events_per_second"], GROWTH_END_OVER_START)
    peaks = [
        entry["server"]["peak_rss_mb_per_worker"]
        for entry in scenarios.values()
        if (entry.get("server") or {}).get("peak_rss_mb_per_worker") is not None
    ]
    if peaks:
        below("peak RSS per worker (MB)", max(peaks), PEAK_RSS_MB)
    failing = [name for name, entry in scenarios.items() if entry["errors"]]
    failing += [
        f"{name} (reference)"
        for name, entry in report.get("reference", {}).items()
        if entry["errors"]
    ]
    rows.append(
        {
            "target": "no failed requests",
            "goal": "0",
            "measured": len(failing),
            "met": not failing,
        }
    )
    return rows


def growth_change(report: dict[str, Any]) -> dict[str, Any] | None:
    """The growth run's largest table over its smallest: events/s, and the server's and the
    database's CPU per event (steadier than speed on a shared machine)."""
    growth = report.get("growth") or []
    if len(growth) < 2:
        return None
    start, end = growth[0], growth[-1]

    def over(key: str) -> float | None:
        if not start.get(key) or end.get(key) is None:
            return None
        return round(end[key] / start[key], 3)

    return {
        "from_rows": start["table_rows"],
        "to_rows": end["table_rows"],
        "events_per_second": over("events_per_second"),
        "server_cpu_us_per_event": over("server_cpu_us_per_event"),
        "db_cpu_us_per_event": over("db_cpu_us_per_event"),
    }


def cell(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def server_cpu_us_per_event(entry: dict[str, Any]) -> float | None:
    """The service's and its database backends' CPU per event stored, in µs."""
    server = entry["server"]
    parts = [server.get("app_cpu_us_per_event"), server.get("db_cpu_us_per_event")]
    return round(sum(parts), 1) if None not in parts else None


def live_cost(pairs: list[dict[str, Any]], half: dict[str, Any]) -> dict[str, Any]:
    """What live viewers cost batch-100, from pairs of runs without and with them (same run),
    and how fast they were served, saturated and at half load."""

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 1)

    rounds = []
    for pair in pairs:
        without, with_viewers = pair["without"], pair["with"]
        rounds.append(
            {
                "events_per_second_without": without["events_per_second"],
                "events_per_second_with": with_viewers["events_per_second"],
                "drop": round(
                    1 - with_viewers["events_per_second"] / without["events_per_second"], 4
                ),
                "server_cpu_us_per_event_without": server_cpu_us_per_event(without),
                "server_cpu_us_per_event_with": server_cpu_us_per_event(with_viewers),
                "other_cpu_cores_without": without["server"].get("other_cpu_cores"),
                "other_cpu_cores_with": with_viewers["server"].get("other_cpu_cores"),
                "deliveries": with_viewers["live"],
            }
        )
    without_rate = mean([entry["events_per_second_without"] for entry in rounds])
    with_rate = mean([entry["events_per_second_with"] for entry in rounds])
    cpu_without = [entry["server_cpu_us_per_event_without"] for entry in rounds]
    cpu_with = [entry["server_cpu_us_per_event_with"] for entry in rounds]
    measured = None not in cpu_without + cpu_with
    return {
        "rounds": rounds,
        "events_per_second_without": without_rate,
        "events_per_second_with": with_rate,
        "drop": round(1 - with_rate / without_rate, 4),
        "server_cpu_us_per_event_without": mean(cpu_without) if measured else None,
        "server_cpu_us_per_event_with": mean(cpu_with) if measured else None,
        "server_cpu_increase": (
            round(mean(cpu_with) / mean(cpu_without) - 1, 4) if measured else None
        ),
        "half_load": {
            "target_requests_per_second": half.get("target_requests_per_second"),
            "events_per_second": half["events_per_second"],
            "deliveries": half["live"],
        },
    }


def print_live(live: dict[str, Any]) -> None:
    print("\nlive viewers (batch-100 without and with them, same run; order alternates)")
    for number, entry in enumerate(live["rounds"], start=1):
        print(
            f"  round {number}: {entry['events_per_second_without']:,.0f} -> "
            f"{entry['events_per_second_with']:,.0f} events/s ({entry['drop']:+.1%} drop); "
            f"server CPU {cell(entry['server_cpu_us_per_event_without'], 1)} -> "
            f"{cell(entry['server_cpu_us_per_event_with'], 1)} us/event; other "
            f"{cell(entry['other_cpu_cores_without'], 2)} / "
            f"{cell(entry['other_cpu_cores_with'], 2)} cores"
        )
        print(f"    {delivery_line(entry['deliveries'])}")
    increase = live["server_cpu_increase"]
    print(
        f"  mean: {live['events_per_second_without']:,.0f} -> "
        f"{live['events_per_second_with']:,.0f} events/s ({live['drop']:+.1%} drop); "
        f"server CPU {cell(live['server_cpu_us_per_event_without'], 1)} -> "
        f"{cell(live['server_cpu_us_per_event_with'], 1)} us/event "
        f"({'-' if increase is None else f'{increase:+.1%}'})"
    )
    half = live["half_load"]
    print(
        f"  half load ({cell(half['target_requests_per_second'], 1)} req/s due, "
        f"{half['events_per_second']:,.0f} events/s): {delivery_line(half['deliveries'])}"
    )


def delivery_line(deliveries: dict[str, Any]) -> str:
    viewers, server = deliveries["viewers"], deliveries["server"]
    return (
        f"delivery seen by the viewers p50/p95/p99 {cell(viewers['delivery_p50_seconds'], 3)}/"
        f"{cell(viewers['delivery_p95_seconds'], 3)}/{cell(viewers['delivery_p99_seconds'], 3)} s "
        f"({viewers['events_delivered']:,} events, viewers' CPU "
        f"{cell(viewers['viewer_cpu_cores'], 2)}); server's writes p50/p95/p99 <= "
        f"{cell(server['p50_at_most_seconds'], 2)}/{cell(server['p95_at_most_seconds'], 2)}/"
        f"{cell(server['p99_at_most_seconds'], 2)} s"
    )


def print_summary(report: dict[str, Any]) -> None:
    meta = report["meta"]
    machine = meta["machine"]
    print(
        f"\nNexero benchmark, {meta['started_at'][:19]}Z, commit {machine['commit']}: "
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), load average before "
        f"{machine['load_average'][0]:.2f}, after {machine['load_average_after'][0]:.2f}; "
        f"{meta['workers']} workers, {meta['connections']} connections, "
        f"{meta['seconds_per_scenario']:g} s per scenario"
    )
    header = (
        f"{'scenario':<12} {'req/s':>9} {'events/s':>10} {'sess/s':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'app cpu':>7} {'db cpu':>6} "
        f"{'gen cpu':>7} {'other':>6} {'rss MB':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for name, entry in report["scenarios"].items():
        latency = entry["latency_ms"]
        server = entry.get("server") or {}
        print(
            f"{name:<12} {cell(entry['requests_per_second']):>9} "
            f"{cell(entry['events_per_second']):>10} {cell(entry['sessions_per_second']):>8} "
            f"{cell(latency['p50'], 1):>7} {cell(latency['p95'], 1):>7} "
            f"{cell(latency['p99'], 1):>7} {entry['errors']:>6} "
            f"{cell(server.get('app_cpu_cores'), 2):>7} {cell(server.get('db_cpu_cores'), 2):>6} "
            f"{cell(entry['generator_cpu_cores'], 2):>7} "
            f"{cell(server.get('other_cpu_cores'), 2):>6} "
            f"{cell(server.get('peak_rss_mb_per_worker'), 1):>7}"
        )
    if report.get("to_reference"):
        print("\nNexero over the plain reference (scripts/bench/reference.py), same run")
        for name, entry in report["to_reference"].items():
            print(
                f"  {name:<12} {entry['measure']:<20} {cell(entry['nexero']):>9} / "
                f"{cell(entry['reference']):>9} = {cell(entry['ratio'], 2):>5}; "
                f"app CPU per unit {cell(entry['nexero_app_cpu_us'], 1)} / "
                f"{cell(entry['reference_app_cpu_us'], 1)} us "
                f"(by CPU {cell(entry['cpu_ratio'], 2)}); "
                f"p99 {cell(entry['nexero_p99_ms'], 1)} / {cell(entry['reference_p99_ms'], 1)} ms"
            )
    if report["ceiling"]:
        print("\nno HTTP, same rows into tracking_events")
        for entry in report["ceiling"]:
            print(
                f"  {entry['method']:<14} {entry['writers']} writer(s) "
                f"{entry['rows']:>9,} rows {entry['rows_per_second']:>10,.0f} rows/s, "
                f"CPU per row: db {cell(entry['db_cpu_us_per_row'], 1)} us, "
                f"client {cell(entry['client_cpu_us_per_row'], 1)} us, "
                f"other {cell(entry['other_cpu_cores'], 2)} cores"
            )
        print(
            f"  batch-100 over the COPY ceiling: {cell(report['http_to_ceiling_ratio'], 3)} "
            f"by speed, {cell(report.get('http_to_ceiling_cpu_ratio'), 3)} by CPU per event"
        )
    if report.get("live"):
        print_live(report["live"])
    if report["growth"]:
        print("\ngrowth: batch-100 as tracking_events grows")
        for entry in report["growth"]:
            print(
                f"  {entry['table_rows']:>10,} rows: {entry['events_per_second']:>9,.0f} events/s, "
                f"{entry['wall_us_per_event']:>6} us/event wall, "
                f"{entry['server_cpu_us_per_event']:>6} us/event server CPU "
                f"({cell(entry.get('db_cpu_us_per_event'), 1)} database), "
                f"p99 {entry['p99_ms']} ms, filled in {entry['fill']['seconds']} s"
            )
        if (change := growth_change(report)) is not None:
            print(
                f"  {change['to_rows']:,} rows over {change['from_rows']:,}: events/s "
                f"{cell(change['events_per_second'], 3)}, server CPU per event "
                f"{cell(change['server_cpu_us_per_event'], 3)}, database CPU per event "
                f"{cell(change['db_cpu_us_per_event'], 3)}"
            )
    if report["targets"]:
        print("\ntargets")
        for row in report["targets"]:
            verdict = {True: "met", False: "MISSED", None: "-"}[row["met"]]
            measured = row["measured"]
            digits = 2 if isinstance(measured, float) and measured < 10 else 1
            print(f"  {row['target']:<30} {row['goal']:>9} {cell(measured, digits):>10}  {verdict}")


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "commit": commit or None,
    }


def ratio(report: dict[str, Any]) -> float | None:
    """batch-100's events/s over the best COPY rows/s of the same run."""
    copies = [entry["rows_per_second"] for entry in report["ceiling"] if entry["method"] == "copy"]
    batch = report["scenarios"].get("batch-100")
    if not copies or batch is None:
        return None
    return round(batch["events_per_second"] / max(copies), 3)


def cpu_ratio(report: dict[str, Any]) -> float | None:
    """The same comparison by CPU cost, which a busy neighbour disturbs much less than speed:
    CPU per row of the cheapest COPY (client and database) over CPU per event of batch-100
    (service, database and load generator). On a machine of its own, throughput is about
    the cores over the CPU per event, so this is the ratio the cores would allow."""
    copies = [
        entry["db_cpu_us_per_row"] + entry["client_cpu_us_per_row"]
        for entry in report["ceiling"]
        if entry["method"] == "copy" and entry["db_cpu_us_per_row"] is not None
    ]
    batch = report["scenarios"].get("batch-100")
    if not copies or batch is None or not batch["events"]:
        return None
    server = batch["server"]
    per_event = server.get("app_cpu_us_per_event", 0) + server.get("db_cpu_us_per_event", 0)
    per_event += 1e6 * batch["generator_cpu_cores"] * batch["seconds"] / batch["events"]
    return round(min(copies) / per_event, 3)


def reference_ratios(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each scenario both ran, Nexero's figure over the reference's (requests, events or
    sessions per second, as the scenario counts), with CPU per unit and p99 beside it."""
    ratios = {}
    for name, measure in REFERENCE_MEASURES.items():
        ours = report["scenarios"].get(name)
        theirs = report.get("reference", {}).get(name)
        if ours is None or theirs is None or not theirs[measure]:
            continue
        unit = "event" if measure == "events_per_second" else "request"
        our_cpu = ours["server"].get(f"app_cpu_us_per_{unit}")
        their_cpu = theirs["server"].get(f"app_cpu_us_per_{unit}")
        ratios[name] = {
            "measure": measure,
            "nexero": ours[measure],
            "reference": theirs[measure],
            "ratio": round(ours[measure] / theirs[measure], 3),
            # The reference's worker CPU per unit over Nexero's: what the ratio would be if
            # the workers' CPU were all that limited both (steadier on a busy machine).
            "cpu_ratio": round(their_cpu / our_cpu, 3) if our_cpu and their_cpu else None,
            "nexero_app_cpu_us": our_cpu,
            "reference_app_cpu_us": their_cpu,
            "nexero_p99_ms": ours["latency_ms"]["p99"],
            "reference_p99_ms": theirs["latency_ms"]["p99"],
        }
    return ratios
