"""EXPLAIN (ANALYZE, BUFFERS) of the heatmap and export queries on about a million events.

    python -m scripts.explain.heatmap_export --dsn postgresql://postgres@127.0.0.1:5432/test \\
        --events 1000000 > plans.md

Creates a scratch database on the server (dropped at the end unless --keep), applies the
migrations, fills it with generated tours (scripts/tours/generator.py) by COPY: one project with
about --events events over ten properties and a second, smaller project, then prints each
query's plan as Markdown, exactly the SQL the service runs (app/stores/heatmaps.py,
app/stores/exports.py; for export rows, the DECLARE of their cursor, which is planned to
start fast, run to the end). Exits non-zero if a question about one property or one session scans
tracking_events sequentially.
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from app.domain.vocabulary import DEFAULT_MAPPING
from app.stores.exports import EVENTS, SESSIONS
from app.stores.heatmaps import BinningQuery, heatmap_statement

from ..tours.generator import Tour, generate_tours
from .database import (
    DEFAULT_PROJECT,
    add_project,
    analyse,
    copy_rows,
    scratch_database,
)

EVENTS_PER_CUSTOMER = 650  # what the generator averages with its defaults


def readable(line: str) -> str:
    """A plan line with invisible characters (the whitespace names are trimmed of) escaped."""
    return "".join(
        char
        if char == " " or (char.isprintable() and not char.isspace())
        else f"\\u{ord(char):04x}"
        for char in line
    )


def moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def rows_of(tours: list[Tour], project_id: uuid.UUID) -> tuple[list[tuple], list[tuple]]:
    sessions, events = [], []
    for tour in tours:
        session_id = uuid.UUID(tour.session_id)
        times = [float(event["timestamp"]) for event in tour.events]
        last = max([tour.session_start, *times])
        ended = moment(tour.session_end) if tour.session_end is not None else None
        sessions.append(
            (
                session_id,
                project_id,
                moment(tour.session_start),
                ended,
                "completed" if ended else "active",
                "client" if ended else None,
                tour.customer_id,
                tour.property_id,
                tour.device_type,
                moment(last),
                ended or moment(last),
            )
        )
        for event in tour.events:
            data = event["event_data"]
            at = moment(float(event["timestamp"]))
            events.append(
                (
                    project_id,
                    session_id,
                    uuid.UUID(event["event_id"]),
                    event["event_type"],
                    at,
                    at,
                    data if isinstance(data, str) else json.dumps(data),
                    at,
                )
            )
    return sessions, events


async def fill(connection: asyncpg.Connection, *, events: int, days: int) -> dict[str, Any]:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=days + 1)
    other_project = await add_project(connection, "other tenant")
    counts: Counter[str] = Counter()
    main_tours: list[Tour] = []
    for project_id, seed, customers, properties in (
        (DEFAULT_PROJECT, 1, max(1, events // EVENTS_PER_CUSTOMER), 10),
        (other_project, 2, max(1, events // EVENTS_PER_CUSTOMER // 10), 3),
    ):
        tours = generate_tours(
            seed=seed, customers=customers, properties=properties, start=start, days=days
        )
        session_rows, event_rows = rows_of(tours, project_id)
        await copy_rows(connection, session_rows, event_rows)
        counts[f"{project_id}:sessions"] = len(session_rows)
        counts[f"{project_id}:events"] = len(event_rows)
        if project_id == DEFAULT_PROJECT:
            main_tours = tours
    # The questions are about the busiest property, and its longest session.
    biggest = Counter(tour.property_id for tour in main_tours).most_common(1)[0][0]
    sample = max((t for t in main_tours if t.property_id == biggest), key=lambda t: len(t.events))
    await analyse(connection)
    return {
        "counts": counts,
        "property": biggest,
        "session": uuid.UUID(sample.session_id),
        "start": start,
        "other_project": other_project,
    }


def questions(data: dict[str, Any]) -> list[tuple[str, str, list[Any], bool]]:
    """(title, sql, arguments, must avoid a sequential scan of tracking_events)."""
    project, prop, session = DEFAULT_PROJECT, data["property"], data["session"]
    week = (data["start"] + timedelta(days=7), data["start"] + timedelta(days=14))
    month = (data["start"], data["start"] + timedelta(days=30))
    whole = BinningQuery(
        property_id=prop,
        axes=("x", "y"),
        bin_size=50.0,
        bins=None,
        max_bins=500,
        max_coordinate=1e15,
    )
    cases = (
        ("Heatmap of a property (xy, bin_size 50 cm, all time)", whole),
        (
            "Heatmap of a property, one room (`room=Living Room`, 64 bins)",
            replace(whole, bin_size=None, bins=64, room="Living Room"),
        ),
        (
            "Heatmap of one session (xz, bins 64)",
            replace(whole, axes=("x", "z"), bin_size=None, bins=64, session_id=session),
        ),
        ("Heatmap of a property over a week", replace(whole, start=week[0], end=week[1])),
    )
    heatmaps = [
        (title, *heatmap_statement(project, DEFAULT_MAPPING, query), True) for title, query in cases
    ]
    return [
        *heatmaps,
        (
            "Property exists (404 check)",
            "SELECT EXISTS (SELECT 1 FROM vr_sessions WHERE project_id = $1 AND property_id = $2)",
            [project, prop],
            True,
        ),
        (
            "Export events of a week: the row count",
            EVENTS.count_sql(by_property=False),
            [project, week[0], week[1]],
            True,
        ),
        (
            "Export events of a week: the rows (NDJSON)",
            EVENTS.declare_sql(as_json=True, by_property=False),
            [project, week[0], week[1]],
            True,
        ),
        (
            "Export events of one property, all time: the row count",
            EVENTS.count_sql(by_property=True),
            [project, None, None, prop],
            True,
        ),
        (
            "Export events of one property, all time: the rows (CSV)",
            EVENTS.declare_sql(as_json=False, by_property=True),
            [project, None, None, prop],
            True,
        ),
        (
            "Export sessions of 30 days (CSV)",
            SESSIONS.declare_sql(as_json=False, by_property=False),
            [project, month[0], month[1]],
            True,
        ),
        (
            "Export every event of the project (count): all rows, a sequential scan is right",
            EVENTS.count_sql(by_property=False),
            [project, None, None],
            False,
        ),
        (
            "Export every event of the project (NDJSON)",
            EVENTS.declare_sql(as_json=True, by_property=False),
            [project, None, None],
            False,
        ),
    ]


async def explain(dsn: str, *, events: int, days: int, keep: bool) -> int:
    failures = 0
    async with scratch_database(dsn, prefix="nexero_explain_heatmap", keep=keep) as connection:
        began = time.perf_counter()
        data = await fill(connection, events=events, days=days)
        print(f"# Plans on {sum(v for k, v in data['counts'].items() if 'events' in k)} events")
        print()
        print(
            f"Filled in {time.perf_counter() - began:.0f} s: "
            + ", ".join(
                f"{key.split(':')[1]} of project {key.split(':')[0][:8]}: {value}"
                for key, value in sorted(data["counts"].items())
            )
        )
        version = await connection.fetchval("SHOW server_version")
        print(f"PostgreSQL {version}; property `{data['property']}`; session `{data['session']}`.")
        for title, sql, arguments, selective in questions(data):
            # DECLARE (the exports' cursors) needs a transaction; it runs the query whole.
            async with connection.transaction():
                plan = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *arguments)
            text = "\n".join(readable(row[0]) for row in plan)
            seq_scan = "Seq Scan on tracking_events" in text
            verdict = ""
            if selective and seq_scan:
                verdict = " — FAILS: sequential scan of tracking_events"
                failures += 1
            print(f"\n## {title}{verdict}\n\n```\n{text}\n```")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    arguments = parser.parse_args()
    return asyncio.run(
        explain(arguments.dsn, events=arguments.events, days=arguments.days, keep=arguments.keep)
    )


if __name__ == "__main__":
    sys.exit(main())
