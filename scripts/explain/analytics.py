"""EXPLAIN (ANALYZE, BUFFERS) of every analytics query on about a million events.

    .venv/bin/python -m scripts.explain.analytics \\
        --dsn postgresql://postgres@127.0.0.1:5432/test --events 1000000 > plans.md

Creates a scratch database on the server (dropped at the end unless --keep), applies the
migrations, fills it by COPY with synthetic tours (one project with about --events events over
40 properties, and a second project with a tenth of that), VACUUM ANALYZEs, then runs the real
store methods (app/stores/analytics/) through a connection that EXPLAINs each statement
before running it, and prints the plans as Markdown. Exits non-zero if a question about one
property, one customer or one session scans tracking_events sequentially.
"""

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from app.config import Settings
from app.domain.analytics import EventKey, SessionKey, SessionScope
from app.services.analytics.service import lead_rules
from app.stores.analytics.leads import AnalyticsLeadStore
from app.stores.analytics.properties import AnalyticsPropertyStore
from app.stores.analytics.reports import AnalyticsReportStore
from app.stores.analytics.sessions import AnalyticsStore

from .database import (
    COPY_CHUNK_ROWS,
    DEFAULT_PROJECT,
    add_project,
    analyse,
    copy_rows,
    scratch_database,
)

EVENTS_PER_SESSION = 200
PROPERTIES = 40
DAYS = 120
ROOMS = ("Living Room", "Kitchen", "Dining Room", "Master Bedroom", "Bedroom 2", "Bathroom")
ROOMS += ("Study", "Balcony", "Terrace")
DEVICES = ("Meta Quest 3", "Pico 4", "Valve Index")


@dataclass
class Seeded:
    sessions: int = 0
    events: int = 0
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    property_sessions: dict[str, int] = field(default_factory=dict)
    busiest_property: str = ""
    busiest_customer: str = ""
    busiest_session: uuid.UUID | None = None


def synthetic_tours(
    rng: random.Random, *, project_id: uuid.UUID, sessions: int, start: datetime, tag: str
) -> Iterator[tuple[tuple, list[tuple]]]:
    """(session row, event rows) of `sessions` tours: rooms with and without durations, zones,
    gazes, POIs, interactions, a few unit selections, and position samples for the rest."""
    customers = max(1, sessions // 3)
    for _ in range(sessions):
        session_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        started = start + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        length = rng.uniform(120, 1800)
        count = max(10, int(rng.gauss(EVENTS_PER_SESSION, 40)))
        offsets = sorted(rng.uniform(0, length) for _ in range(count))
        events = []
        for number, offset in enumerate(offsets):
            at = started + timedelta(seconds=offset)
            if number % 12 == 0:
                room = rng.choice(ROOMS)
                if rng.random() < 0.5:
                    duration = round(rng.uniform(5, 90), 2)
                    kind, data = "room_view", {"room_name": room, "duration": duration}
                else:
                    kind, data = "zone_enter", {"zone_name": room}
            elif number % 12 == 6 and rng.random() < 0.3:
                kind, data = "zone_exit", {"zone_name": rng.choice(ROOMS)}
            elif number % 12 in (3, 9):
                kind, data = "gaze", {"target": f"Target {rng.randrange(30)}", "duration": "2.5"}
            elif number % 24 == 5:
                kind, data = "poi_visit", {"poi": f"POI {rng.randrange(20)}", "duration": 8}
            elif number % 24 == 11:
                kind, data = "interaction", {"object": "light_switch", "action": "toggle"}
            elif number % 97 == 50:
                kind, data = "unit_selection", {"name": f"Unit {rng.randrange(6)}", "sqft": 900}
            else:
                kind = "position"
                data = {"x": round(rng.uniform(0, 900), 1), "y": round(rng.uniform(0, 600), 1)}
                data["z"] = 165.0
            event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            events.append((project_id, session_id, event_id, kind, at, at, json.dumps(data), at))
        last = started + timedelta(seconds=offsets[-1])
        ended = None if rng.random() < 0.1 else started + timedelta(seconds=length)
        session = (
            session_id,
            project_id,
            started,
            ended,
            "completed" if ended else "active",
            "client" if ended else None,
            f"{tag}cust_{rng.randrange(customers):05d}",
            f"{tag}prop_{rng.randrange(PROPERTIES):03d}",
            rng.choice(DEVICES),
            ended or last,
            ended or last,
        )
        yield session, events


async def fill(connection: asyncpg.Connection, *, events: int, seed: int) -> Seeded:
    rng = random.Random(seed)
    seeded = Seeded()
    start = datetime.now(UTC) - timedelta(days=DAYS + 1)
    other_project = await add_project(connection, "other")
    sessions_by_project = (
        (DEFAULT_PROJECT, events // EVENTS_PER_SESSION, ""),
        (other_project, events // EVENTS_PER_SESSION // 10, "b_"),
    )
    for project_id, sessions, tag in sessions_by_project:
        session_rows: list[tuple] = []
        event_rows: list[tuple] = []
        for session, session_events in synthetic_tours(
            rng, project_id=project_id, sessions=sessions, start=start, tag=tag
        ):
            session_rows.append(session)
            event_rows += session_events
            if len(event_rows) >= COPY_CHUNK_ROWS:
                await copy_rows(connection, session_rows, event_rows)
                session_rows, event_rows = [], []
        await copy_rows(connection, session_rows, event_rows)
    await analyse(connection)
    return await describe(connection, seeded)


async def describe(connection: asyncpg.Connection, seeded: Seeded) -> Seeded:
    """What the questions are about: the busiest property, customer and session."""
    seeded.sessions = await connection.fetchval("SELECT count(*) FROM vr_sessions")
    seeded.events = await connection.fetchval("SELECT count(*) FROM tracking_events")
    first = await connection.fetchval("SELECT min(started_at) FROM vr_sessions")
    seeded.start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    busiest = await connection.fetchrow(
        """
        SELECT property_id, count(*) AS sessions FROM vr_sessions WHERE project_id = $1
        GROUP BY property_id ORDER BY sessions DESC, property_id LIMIT 1
        """,
        DEFAULT_PROJECT,
    )
    seeded.busiest_property = busiest["property_id"]
    seeded.busiest_customer = await connection.fetchval(
        """
        SELECT customer_id FROM vr_sessions WHERE project_id = $1
        GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1
        """,
        DEFAULT_PROJECT,
    )
    seeded.busiest_session = await connection.fetchval(
        """
        SELECT session_id FROM tracking_events WHERE project_id = $1
        GROUP BY session_id ORDER BY count(*) DESC, session_id LIMIT 1
        """,
        DEFAULT_PROJECT,
    )
    return seeded


@dataclass
class Plan:
    sql: str
    text: str
    milliseconds: float


class ExplainingConnection:
    """Stands in for the stores' connection: EXPLAINs each statement, then runs it."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self.plans: list[Plan] = []

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        rows = await self._connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {sql}", *args)
        text = "\n".join(row[0] for row in rows)
        milliseconds = float(text.rsplit("Execution Time: ", 1)[1].split(" ")[0])
        self.plans.append(Plan(sql=sql, text=text, milliseconds=milliseconds))

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        await self._explain(sql, args)
        return await self._connection.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        await self._explain(sql, args)
        return await self._connection.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._explain(sql, args)
        return await self._connection.fetchval(sql, *args)


Call = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class Question:
    title: str
    call: Call
    narrow: bool
    """About one property, customer or session: must not scan tracking_events sequentially."""


def questions(seeded: Seeded) -> list[Question]:
    project = DEFAULT_PROJECT
    prop, customer, session = (
        seeded.busiest_property,
        seeded.busiest_customer,
        seeded.busiest_session,
    )
    assert session is not None
    starts, ends = seeded.start + timedelta(days=60), seeded.start + timedelta(days=90)
    previous = starts - (ends - starts)
    rules = lead_rules(Settings(_env_file=None))
    engaged, room_min = Decimal(120), Decimal(30)
    whole = SessionScope(project)
    in_month = SessionScope(project, started_from=starts, started_before=ends)
    of_property = SessionScope(project, property_id=prop)
    property_month = replace(in_month, property_id=prop)
    of_customer = SessionScope(project, customer_id=customer)
    later_sessions = SessionKey(started_at=starts, id=uuid.UUID(int=0))
    later_events = EventKey(
        timestamp=seeded.start + timedelta(days=DAYS / 2), created_at=None, id=uuid.UUID(int=0)
    )

    def sessions(connection: Any) -> AnalyticsStore:
        return AnalyticsStore(connection, project)

    def reports(connection: Any) -> AnalyticsReportStore:
        return AnalyticsReportStore(connection, project)

    def leads(connection: Any) -> AnalyticsLeadStore:
        return AnalyticsLeadStore(connection, project)

    def property_page(scope: SessionScope, after: str | None) -> Call:
        return lambda c: AnalyticsPropertyStore(c, project).list_properties(
            scope, after=after, limit=51
        )

    def overview(scope: SessionScope) -> Call:
        return lambda c: reports(c).overview(
            scope, starts=starts, ends=ends, previous_starts=previous, engaged_min_seconds=engaged
        )

    def funnel(scope: SessionScope) -> Call:
        return lambda c: reports(c).funnel(
            scope,
            engaged_min_seconds=engaged,
            room_interest_min_seconds=room_min,
            high_intent_min_rooms=3,
        )

    def lead_page(scope: SessionScope, limit: int) -> Call:
        return lambda c: leads(c).leads(scope, rules, tier=None, after=None, limit=limit)

    def session_page(scope: SessionScope, after: SessionKey | None) -> Call:
        order = "asc" if after else "desc"
        return lambda c: sessions(c).list_sessions(scope, after=after, order=order, limit=51)

    def event_page(after: EventKey | None) -> Call:
        return lambda c: sessions(c).session_events(
            session, event_type=None, after=after, limit=201
        )

    return [
        Question(
            "Sessions of the project: first page, newest first", session_page(whole, None), False
        ),
        Question(
            "Sessions of the project: a later page (cursor), oldest first",
            session_page(whole, later_sessions),
            False,
        ),
        Question("Sessions of one property in a month", session_page(property_month, None), True),
        Question("Sessions of one customer", session_page(of_customer, None), True),
        Question("Properties of the project: first page", property_page(whole, None), False),
        Question(
            "Properties of the project in a month: a later page (cursor)",
            property_page(in_month, f"prop_{PROPERTIES // 2:03d}"),
            False,
        ),
        Question("Session detail: the session", lambda c: sessions(c).get_session(session), True),
        Question(
            "Session detail: dwell per room", lambda c: sessions(c).session_rooms(session), True
        ),
        Question(
            "Session detail: events by type",
            lambda c: sessions(c).session_event_counts(session),
            True,
        ),
        Question(
            "Session detail: timeline",
            lambda c: sessions(c).session_timeline(session, limit=2000),
            True,
        ),
        Question("Events of a session: first page", event_page(None), True),
        Question("Events of a session: a later page (cursor)", event_page(later_events), True),
        Question(
            "Property report (all time): sessions and durations",
            lambda c: reports(c).session_figures(of_property),
            True,
        ),
        Question(
            "Property report (all time): rooms",
            lambda c: reports(c).ranked_rooms(of_property, top=20),
            True,
        ),
        Question(
            "Property report (all time): POIs, views, gazes, interactions, units",
            lambda c: reports(c).ranked_names(of_property, top=20),
            True,
        ),
        Question(
            "Property report (all time): events by type",
            lambda c: reports(c).event_counts(of_property),
            True,
        ),
        Question(
            "Property report (a month): rooms",
            lambda c: reports(c).ranked_rooms(property_month, top=20),
            True,
        ),
        Question("Leads of the project (a month)", lead_page(in_month, 51), False),
        Question("Leads of one property (all time)", lead_page(of_property, 51), True),
        Question(
            "Customer summary: the customer exists",
            lambda c: leads(c).customer_exists(customer),
            True,
        ),
        Question("Customer summary: lead score", lead_page(of_customer, 1), True),
        Question(
            "Customer summary: time per property",
            lambda c: leads(c).time_per_property(of_customer),
            True,
        ),
        Question(
            "Customer summary: top rooms",
            lambda c: leads(c).customer_rooms(of_customer, top=20),
            True,
        ),
        Question("Overview of the project (a month and the month before)", overview(whole), False),
        Question(
            "Overview of one property (a month and the month before)", overview(of_property), True
        ),
        Question(
            "Daily series of the project (a month)",
            lambda c: reports(c).daily(
                whole, starts=starts, ends=ends, engaged_min_seconds=engaged
            ),
            False,
        ),
        Question(
            "Daily series of one property (a month)",
            lambda c: reports(c).daily(
                of_property, starts=starts, ends=ends, engaged_min_seconds=engaged
            ),
            True,
        ),
        Question("Funnel of the project (a month)", funnel(in_month), False),
        Question("Funnel of one property (all time)", funnel(of_property), True),
    ]


SEQUENTIAL_EVENTS_SCAN = "Seq Scan on tracking_events"


async def explain_all(connection: asyncpg.Connection, seeded: Seeded) -> tuple[str, list[str]]:
    """Markdown with every plan, and the titles of narrow questions that scan events."""
    lines: list[str] = []
    offending: list[str] = []
    for question in questions(seeded):
        explaining = ExplainingConnection(connection)
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            await question.call(explaining)
        for number, plan in enumerate(explaining.plans, start=1):
            scans = SEQUENTIAL_EVENTS_SCAN in plan.text
            if question.narrow and scans:
                offending.append(question.title)
            suffix = f" (statement {number})" if len(explaining.plans) > 1 else ""
            verdict = (
                "sequential scan of tracking_events"
                if scans
                else "no sequential scan of tracking_events"
            )
            lines += [
                f"### {question.title}{suffix}",
                "",
                f"{plan.milliseconds:.1f} ms; {verdict}.",
                "",
                "```",
                plan.text,
                "```",
                "",
            ]
    return "\n".join(lines), offending


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="a server where databases may be created")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--database", help="explain on this database, filled by an earlier run with --keep"
    )
    return parser.parse_args()


async def main(arguments: argparse.Namespace) -> int:
    filled = 0.0
    async with scratch_database(
        arguments.dsn,
        prefix="nexero_explain_analytics",
        keep=arguments.keep,
        existing=arguments.database,
    ) as connection:
        began = time.perf_counter()
        if arguments.database:
            seeded = await describe(connection, Seeded())
        else:
            seeded = await fill(connection, events=arguments.events, seed=arguments.seed)
            filled = time.perf_counter() - began
        version = await connection.fetchval("SHOW server_version")
        report, offending = await explain_all(connection, seeded)
    how = f"filled by COPY in {filled:.0f} s, then VACUUM ANALYZE" if filled else "reused"
    print(
        f"PostgreSQL {version}; {seeded.events} events in {seeded.sessions} sessions "
        f"({how}). Questions about property `{seeded.busiest_property}`, customer "
        f"`{seeded.busiest_customer}` and session `{seeded.busiest_session}` (the busiest of "
        "each), and about a month (days 60 to 90 of the data).\n"
    )
    print(report)
    if offending:
        print("Sequential scans of tracking_events for a narrow question:", file=sys.stderr)
        for title in offending:
            print(f"  {title}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_arguments())))
