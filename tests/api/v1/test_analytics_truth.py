"""The analytics API against the ground truth: synthetic tours (scripts/tours/generator.py) go
through the real ingestion API into a project of their own, and every figure is compared,
exactly, with what plain Python computes from the tours alone (scripts/tours/truth.py, and the
lead, overview and funnel definitions of docs/analytics.md written out below).

Every check runs twice: with the tours sent in the vocabulary, and sent in a client's own
dialect (scripts/tours/dialects.py) read through the event mapping its project saved. The truth
is the same for both: that is the promise of a mapping."""

import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from app.config import Settings
from app.services.access.keys import AccessService
from scripts.tours.dialects import AGENCY, Dialect
from scripts.tours.generator import Tour, generate_tours, send_tours
from scripts.tours.truth import (
    customer_figures,
    divided_seconds,
    event_counts,
    place_stays,
    property_figures,
    rate,
    room_dwell,
    session_seconds,
)
from tests.api.v1.analytics_data import (
    SESSIONS,
    Tenant,
    get_ok,
)
from tests.conftest import create_project_key, serve_app

MAPPING = "/api/v1/admin/event-mapping"

SETTINGS = Settings(_env_file=None)
TOP = SETTINGS.ANALYTICS_TOP_MAX
# A start no other test uses: the generator's ids depend on it.
START = datetime(2023, 5, 1, tzinfo=UTC)
DAYS = 10
WHOLE = {"from": START.isoformat(), "to": (START + timedelta(days=DAYS + 1)).isoformat()}
ENGAGED = Decimal(str(SETTINGS.ANALYTICS_ENGAGED_MIN_SECONDS))
ROOM_INTEREST = Decimal(str(SETTINGS.ANALYTICS_ROOM_INTEREST_MIN_SECONDS))


VOCABULARY = Dialect(name="vocabulary", types={}, fields={})


@pytest.fixture(scope="module", params=[VOCABULARY, AGENCY], ids=lambda dialect: dialect.name)
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return request.param


@pytest.fixture(scope="module")
async def tenant(
    access: AccessService, database_dsn: str, dialect: Dialect
) -> AsyncIterator[Tenant]:
    """A project of its own per dialect, whose mapping reads that dialect."""
    project = await create_project_key(access, f"truth {dialect.name}")
    async with serve_app(database_dsn, api_key=project.key) as client:
        response = await client.put(MAPPING, json=dialect.mapping())
        assert response.status_code == 200, response.text
        yield Tenant(client=client, project_id=project.project_id, key=project.key)


@pytest.fixture(scope="module")
async def tours(tenant: Tenant, dialect: Dialect) -> list[Tour]:
    """The tours in the vocabulary (what the truth reads); sent in the dialect. Session ids are
    global, so each dialect's project gets the same tours under ids of their own."""
    generated = generate_tours(
        seed=4511,
        customers=12,
        properties=3,
        sessions_per_customer=(1, 4),
        start=START,
        days=DAYS,
        position_interval=4.0,
    )
    tours = [
        replace(
            tour,
            session_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dialect.name}/{tour.session_id}")),
        )
        for tour in generated
    ]
    spoken = [
        replace(tour, events=[dialect.event(event) for event in tour.events]) for tour in tours
    ]
    await send_tours(tenant.client, spoken)
    return tours


def by_name(items: list[dict], value: str) -> dict[str, float]:
    return {item.get("name", item.get("room")): item[value] for item in items}


async def test_generated_tours_cover_what_the_checks_need(tours: list[Tour]) -> None:
    """The checks below mean something only if the tours have open sessions, revisits,
    explicit and measured dwell, and more than one property and day."""
    stays = [stay for tour in tours for stay in place_stays(tour)]
    assert any(tour.session_end is None for tour in tours)
    assert any(stay.explicit for stay in stays) and any(not stay.explicit for stay in stays)
    assert len({tour.property_id for tour in tours}) == 3
    assert max(Counter((t.customer_id, t.property_id) for t in tours).values()) > 1
    assert len({session_day(tour) for tour in tours}) > 3


async def test_property_reports_match_the_truth(
    tenant: Tenant, tours: list[Tour], dialect: Dialect
) -> None:
    for property_id, truth in property_figures(tours).items():
        report = await get_ok(tenant.client, f"/api/v1/properties/{property_id}/report", top=TOP)

        assert report["sessions"] == truth.sessions
        assert report["open_sessions"] == truth.open_sessions
        assert report["unique_customers"] == truth.unique_customers
        assert report["median_duration_seconds"] == truth.median_session_seconds
        assert report["mean_duration_seconds"] == truth.mean_session_seconds
        rooms = report["rooms"]["items"]
        assert report["rooms"]["total"] == len(truth.room_dwell)
        assert by_name(rooms, "dwell_seconds") == truth.room_dwell
        assert by_name(rooms, "visits") == truth.room_visits
        assert [room["dwell_seconds"] for room in rooms] == sorted(
            truth.room_dwell.values(), reverse=True
        )
        for kind, counts, seconds in (
            ("pois", truth.poi_visits, truth.poi_dwell),
            ("views", truth.view_counts, truth.view_dwell),
            ("gaze_targets", truth.gaze_counts, truth.gaze_seconds),
        ):
            assert by_name(report[kind]["items"], "count") == counts, kind
            assert by_name(report[kind]["items"], "seconds") == seconds, kind
        assert by_name(report["interactions"]["items"], "count") == truth.interactions
        assert by_name(report["unit_selections"]["items"], "count") == truth.unit_selections
        assert report["event_counts"] == dialect.counts(truth.event_counts)


async def test_each_session_has_the_true_dwell_per_room(
    tenant: Tenant, tours: list[Tour], dialect: Dialect
) -> None:
    for tour in tours:
        detail = await get_ok(tenant.client, f"{SESSIONS}/{tour.session_id}")

        assert by_name(detail["rooms"], "dwell_seconds") == room_dwell(tour), tour.session_id
        assert detail["event_counts"] == dialect.counts(event_counts(tour))
        expected = session_seconds(tour)
        assert detail["session"]["duration_seconds"] == (
            None if expected is None else float(expected)
        )


def points(value: Decimal, target: float, weight: float) -> Decimal:
    target_exact = Decimal(str(target))
    exact = 100 * Decimal(str(weight)) * min(value, target_exact) / target_exact
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def tier(score: Decimal) -> str:
    if score >= Decimal(str(SETTINGS.ANALYTICS_LEAD_HOT_MIN_SCORE)):
        return "hot"
    if score >= Decimal(str(SETTINGS.ANALYTICS_LEAD_WARM_MIN_SCORE)):
        return "warm"
    return "cold"


def expected_leads(tours: list[Tour]) -> list[tuple]:
    """docs/analytics.md's lead score, from the tours alone."""
    by_customer: dict[str, list[Tour]] = defaultdict(list)
    for tour in tours:
        by_customer[tour.customer_id].append(tour)
    leads = []
    for customer_id, visits in by_customer.items():
        sessions = Decimal(len(visits))
        seconds = sum((session_seconds(tour) or Decimal(0) for tour in visits), Decimal(0))
        revisits = Decimal(sum(n - 1 for n in Counter(t.property_id for t in visits).values()))
        dwell: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for tour in visits:
            for stay in place_stays(tour):
                dwell[(tour.property_id, stay.place)] += stay.dwell
        rooms = Decimal(sum(1 for total in dwell.values() if total >= ROOM_INTEREST))
        parts = (
            points(
                sessions,
                SETTINGS.ANALYTICS_LEAD_SESSIONS_TARGET,
                SETTINGS.ANALYTICS_LEAD_WEIGHT_SESSIONS,
            ),
            points(
                seconds,
                SETTINGS.ANALYTICS_LEAD_TIME_TARGET_SECONDS,
                SETTINGS.ANALYTICS_LEAD_WEIGHT_TIME,
            ),
            points(
                revisits,
                SETTINGS.ANALYTICS_LEAD_REVISITS_TARGET,
                SETTINGS.ANALYTICS_LEAD_WEIGHT_REVISITS,
            ),
            points(
                rooms, SETTINGS.ANALYTICS_LEAD_ROOMS_TARGET, SETTINGS.ANALYTICS_LEAD_WEIGHT_ROOMS
            ),
        )
        score = sum(parts, Decimal(0))
        values = (int(sessions), float(seconds), int(revisits), int(rooms))
        leads.append((customer_id, float(score), tier(score), values, tuple(map(float, parts))))
    return sorted(leads, key=lambda lead: (-lead[1], lead[0]))


async def test_leads_match_the_truth(tenant: Tenant, tours: list[Tour]) -> None:
    page = await get_ok(tenant.client, "/api/v1/leads", limit=SETTINGS.ANALYTICS_PAGE_SIZE_MAX)
    parts = ("sessions", "total_time_seconds", "revisits", "rooms_of_interest")

    actual = [
        (
            lead["customer_id"],
            lead["score"],
            lead["tier"],
            tuple(lead["parts"][part]["value"] for part in parts),
            tuple(lead["parts"][part]["points"] for part in parts),
        )
        for lead in page["leads"]
    ]
    assert actual == expected_leads(tours)
    assert page["total"] == len(actual)
    tiers = dict.fromkeys(("hot", "warm", "cold"), 0)
    for lead in actual:
        tiers[lead[2]] += 1
    assert page["tiers"] == tiers


async def test_customer_summaries_match_the_truth(tenant: Tenant, tours: list[Tour]) -> None:
    for customer_id, truth in customer_figures(tours).items():
        summary = await get_ok(tenant.client, f"/api/v1/customers/{customer_id}", top=TOP)

        lead = summary["lead"]
        assert lead["parts"]["sessions"]["value"] == truth.sessions
        assert summary["activity"] == {
            "unit_selections": truth.unit_selections,
            "screenshots": truth.screenshots,
            "interactions": truth.interactions,
        }
        assert lead["properties"] == truth.properties
        assert lead["parts"]["total_time_seconds"]["value"] == truth.total_session_seconds
        visits = [tour for tour in tours if tour.customer_id == customer_id]
        per_property: dict[str, Decimal] = defaultdict(Decimal)
        for tour in visits:
            per_property[tour.property_id] += session_seconds(tour) or Decimal(0)
        assert {row["property_id"]: row["total_time_seconds"] for row in summary["properties"]} == {
            property_id: float(total) for property_id, total in per_property.items()
        }
        dwell: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for tour in visits:
            for stay in place_stays(tour):
                dwell[(tour.property_id, stay.place)] += stay.dwell
        assert {
            (row["property_id"], row["room"]): row["dwell_seconds"]
            for row in summary["top_rooms"]["items"]
        } == {key: float(total) for key, total in dwell.items()}


def session_day(tour: Tour) -> str:
    return datetime.fromtimestamp(tour.session_start, UTC).date().isoformat()


def median(tours: list[Tour]) -> float | None:
    durations = [seconds for tour in tours if (seconds := session_seconds(tour)) is not None]
    return divided_seconds(statistics.median(durations)) if durations else None


def engaged(tour: Tour) -> bool:
    seconds = session_seconds(tour)
    return seconds is not None and seconds >= ENGAGED


async def test_overview_matches_the_truth(tenant: Tenant, tours: list[Tour]) -> None:
    overview = await get_ok(tenant.client, "/api/v1/overview", **WHOLE)

    kpis = overview["kpis"]
    assert kpis["sessions"]["value"] == len(tours)
    assert kpis["unique_customers"]["value"] == len({tour.customer_id for tour in tours})
    assert kpis["median_duration_seconds"]["value"] == median(tours)
    engaged_sessions = sum(1 for tour in tours if engaged(tour))
    assert kpis["engaged_sessions"]["value"] == engaged_sessions
    assert kpis["engaged_rate"]["value"] == rate(Decimal(engaged_sessions) / len(tours))
    assert kpis["sessions"]["previous"] == 0
    assert kpis["sessions"]["relative_change"] is None


async def test_daily_series_matches_the_truth(tenant: Tenant, tours: list[Tour]) -> None:
    series = await get_ok(tenant.client, "/api/v1/overview/daily", **WHOLE)

    by_day: dict[str, list[Tour]] = defaultdict(list)
    for tour in tours:
        by_day[session_day(tour)].append(tour)
    days = [(START + timedelta(days=offset)).date().isoformat() for offset in range(DAYS + 1)]
    assert [
        (
            day["date"],
            day["sessions"],
            day["unique_customers"],
            day["engaged_sessions"],
            day["median_duration_seconds"],
        )
        for day in series["days"]
    ] == [
        (
            day,
            len(by_day[day]),
            len({tour.customer_id for tour in by_day[day]}),
            sum(1 for tour in by_day[day] if engaged(tour)),
            median(by_day[day]),
        )
        for day in days
    ]


def expected_funnel(
    tours: list[Tour], *, engaged_min: Decimal, room_min: Decimal, min_rooms: int
) -> tuple[list[int], dict[str, int]]:
    """docs/analytics.md's funnel, from the tours alone."""

    def rooms_of_interest(tour: Tour) -> int:
        dwell: dict[str, Decimal] = defaultdict(Decimal)
        for stay in place_stays(tour):
            dwell[stay.place] += stay.dwell
        return sum(1 for seconds in dwell.values() if seconds >= room_min)

    engaged_ids = {
        tour.session_id
        for tour in tours
        if (seconds := session_seconds(tour)) is not None and seconds >= engaged_min
    }
    selected = {tour.session_id for tour in tours if event_counts(tour).get("unit_selection")}
    roomy = {tour.session_id for tour in tours if rooms_of_interest(tour) >= min_rooms}
    high_intent = engaged_ids & (selected | roomy)
    reasons = {
        "unit_selection": len(engaged_ids & selected),
        "rooms_of_interest": len(engaged_ids & roomy),
    }
    return [len(tours), len(engaged_ids), len(high_intent)], reasons


async def test_funnel_matches_the_truth(tenant: Tenant, tours: list[Tour]) -> None:
    funnel = await get_ok(tenant.client, "/api/v1/funnel")

    sessions, reasons = expected_funnel(
        tours,
        engaged_min=ENGAGED,
        room_min=ROOM_INTEREST,
        min_rooms=SETTINGS.ANALYTICS_HIGH_INTENT_MIN_ROOMS,
    )
    assert [step["sessions"] for step in funnel["steps"]] == sessions
    assert funnel["high_intent_reasons"] == reasons


async def test_funnel_with_stricter_thresholds_matches_the_truth(
    app_with, tenant: Tenant, tours: list[Tour]
) -> None:
    async with app_with(
        ANALYTICS_ENGAGED_MIN_SECONDS=300,
        ANALYTICS_ROOM_INTEREST_MIN_SECONDS=80,
        ANALYTICS_HIGH_INTENT_MIN_ROOMS=3,
    ) as client:
        client.headers["X-API-Key"] = tenant.key
        funnel = await get_ok(client, "/api/v1/funnel")

    sessions, reasons = expected_funnel(
        tours, engaged_min=Decimal(300), room_min=Decimal(80), min_rooms=3
    )
    assert [step["sessions"] for step in funnel["steps"]] == sessions
    assert funnel["high_intent_reasons"] == reasons
    # Thresholds that split the tours at every step.
    assert sessions[0] > sessions[1] > sessions[2] > 0
    assert reasons["unit_selection"] != reasons["rooms_of_interest"]
