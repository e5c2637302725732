"""EXPLAIN (ANALYZE, BUFFERS) of the event catalogue's one statement on about a million events.

    python -m scripts.explain.catalogue --dsn postgresql://postgres@127.0.0.1:5432/test \\
        --events 1000000 > docs/explain/catalogue.md

Creates a scratch database on the server (dropped at the end unless --keep; --existing reuses a
kept one), fills it as scripts/explain/heatmap_export.py does (generated tours over --days days
up to today, one project of about --events events and a second, smaller one), then prints the
plan of exactly the SQL the service runs (app/stores/analytics/catalogue.py) at the default
settings, at CATALOGUE_MAX_DAYS with a mapping that reads nested paths, and with the largest
CATALOGUE_MAX_EVENTS over the whole history. Exits non-zero if a bounded question scans
tracking_events sequentially, does not walk idx_events_project_timestamp, or reads more events
than its bound.
"""

import argparse
import asyncio
import os
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.config import Settings
from app.db.database import set_up_connection
from app.domain.catalogue import read_fields
from app.domain.vocabulary import DEFAULT_MAPPING, EventMapping, FieldSource, TypeRule
from app.stores.analytics.catalogue import CATALOGUE_SQL, PLANNER_SETTINGS, judges_parameter

from .database import DEFAULT_PROJECT, scratch_database
from .heatmap_export import fill, readable

DEFAULTS = Settings(_env_file=None)
UPPER_MAX_EVENTS = next(
    bound.le
    for bound in Settings.model_fields["CATALOGUE_MAX_EVENTS"].metadata
    if hasattr(bound, "le")
)
# An agency's dialect beside the presets: a nested path the statement digs out of every event
# of the type.
AGENCY_MAPPING = EventMapping(
    version=1,
    presets=DEFAULT_MAPPING.presets,
    rules=(
        TypeRule(
            "ViewChanged",
            "room_view",
            {
                "room_name": FieldSource(path=("payload", "room", "name")),
                "duration": FieldSource(path=("Ms",), unit="milliseconds"),
            },
        ),
    ),
)
INDEX = "idx_events_project_timestamp"
# The events read: the rows the backward walk of the index hands over before the LIMIT stops it.
READ_ROWS = re.compile(
    rf"Index Scan Backward using {INDEX} on tracking_events .*?actual time=\S+ rows=(\d+)"
)


def arguments(
    start: datetime, end: datetime, mapping: EventMapping, *, max_events: int
) -> list[Any]:
    return [
        DEFAULT_PROJECT,
        start,
        end,
        max_events,
        judges_parameter(read_fields(mapping)),
        DEFAULTS.CATALOGUE_EXAMPLES,
        DEFAULTS.CATALOGUE_EXAMPLE_MAX_CHARS,
        DEFAULTS.CATALOGUE_MAX_TYPES,
        DEFAULTS.CATALOGUE_MAX_FIELDS,
    ]


def questions(now: datetime, *, days: int) -> list[tuple[str, list[Any], int]]:
    """(title, arguments, the most events it may read)."""
    default_start = now - timedelta(days=DEFAULTS.CATALOGUE_DEFAULT_DAYS)
    future = now + timedelta(seconds=DEFAULTS.MAX_FUTURE_SECONDS)
    widest_start = now - timedelta(days=DEFAULTS.CATALOGUE_MAX_DAYS)
    everything = now - timedelta(days=days + 2)
    return [
        (
            f"Defaults: the last {DEFAULTS.CATALOGUE_DEFAULT_DAYS} days, the newest "
            f"{DEFAULTS.CATALOGUE_MAX_EVENTS:,} events",
            arguments(
                default_start, future, DEFAULT_MAPPING, max_events=DEFAULTS.CATALOGUE_MAX_EVENTS
            ),
            DEFAULTS.CATALOGUE_MAX_EVENTS,
        ),
        (
            f"CATALOGUE_MAX_DAYS ({DEFAULTS.CATALOGUE_MAX_DAYS} days), a mapping with a nested "
            f"path, the newest {DEFAULTS.CATALOGUE_MAX_EVENTS:,} events",
            arguments(
                widest_start, future, AGENCY_MAPPING, max_events=DEFAULTS.CATALOGUE_MAX_EVENTS
            ),
            DEFAULTS.CATALOGUE_MAX_EVENTS,
        ),
        (
            f"The whole history with CATALOGUE_MAX_EVENTS at its upper bound "
            f"({UPPER_MAX_EVENTS:,}): every event of the project is read",
            arguments(everything, future, DEFAULT_MAPPING, max_events=UPPER_MAX_EVENTS),
            UPPER_MAX_EVENTS,
        ),
    ]


async def explain(dsn: str, *, events: int, days: int, keep: bool, existing: str | None) -> int:
    failures = 0
    async with scratch_database(
        dsn, prefix="nexero_explain_catalogue", keep=keep, existing=existing
    ) as connection:
        began = time.perf_counter()
        if existing is None:
            await fill(connection, events=events, days=days)
        # As the app's pool does: jsonb parameters as Python values (after the COPY of text).
        await set_up_connection(connection)
        counts = await connection.fetch(
            "SELECT project_id, count(*) AS events FROM tracking_events GROUP BY project_id"
        )
        total = sum(row["events"] for row in counts)
        print(f"# The event catalogue's plans on {total:,} events")
        print()
        print(
            "`.venv/bin/python -m scripts.explain.catalogue --events 1000000` (generated tours "
            f"over {days} days up to today); {'filled' if existing is None else 'reused'} in "
            f"{time.perf_counter() - began:.0f} s: "
            + ", ".join(
                f"project {str(row['project_id'])[:8]}: {row['events']:,} events" for row in counts
            )
            + f". PostgreSQL {await connection.fetchval('SHOW server_version')}, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start. "
            "Settings at their defaults except where a title says otherwise; the statement runs "
            "as the store runs it (`PLANNER_SETTINGS`)."
        )
        now = datetime.now(UTC)
        for title, values, most in questions(now, days=days):
            async with connection.transaction():
                # As the store runs it (app/stores/analytics/catalogue.py).
                await connection.execute(PLANNER_SETTINGS)
                plan = await connection.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS) {CATALOGUE_SQL}", *values
                )
            text = "\n".join(readable(row[0]) for row in plan)
            problems = []
            if "Seq Scan on tracking_events" in text:
                problems.append("a sequential scan of tracking_events")
            read = READ_ROWS.search(text)
            if read is None:
                problems.append(f"not read by {INDEX} backwards")
            elif int(read[1]) > most + 2:
                # The limit's one more row (is the period complete?), and the one row the
                # row_number() window reads ahead.
                problems.append(f"{read[1]} events read, past {most + 2}")
            verdict = f" — FAILS: {'; '.join(problems)}" if problems else ""
            failures += bool(problems)
            read_text = f"{int(read[1]):,} events read from the index; " if read else ""
            [execution] = re.findall(r"Execution Time: ([\d.]+) ms", text)
            print(f"\n## {title}{verdict}\n\n{read_text}{float(execution):,.0f} ms.\n")
            print(f"```\n{text}\n```")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--existing", help="a database a --keep run filled, used as it is")
    options = parser.parse_args()
    return asyncio.run(
        explain(
            options.dsn,
            events=options.events,
            days=options.days,
            keep=options.keep,
            existing=options.existing,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
