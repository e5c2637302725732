"""Reports on a small hand-made January 2022 where every figure is worked out by hand: the
property report, leads, the customer summary, overview KPIs, the daily series and the funnel."""

from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from app.config import Settings
from tests.api.v1.test_analytics_fixtures import (
    Tenant,
    Tour,
    at,
    get_ok,
    record,
    tenant_fixture,  # noqa: F401 (fixture tenant)
)

DEFAULTS = Settings(_env_file=None)
JANUARY = {"from": "2022-01-01", "to": "2022-02-01"}
REPORT = "/api/v1/properties/prop_r/report"


@pytest.fixture(scope="module")
async def january(tenant: Tenant) -> dict[str, str]:
    """Eight sessions; the comments give what each adds."""
    tours = {
        # cust_x at prop_r, 300 s: Living Room 100 (measured), Kitchen 40 + 100.
        "s1": Tour(
            start=at("2022-01-10T10:00:00"),
            end=at("2022-01-10T10:05:00"),
            customer_id="cust_x",
            property_id="prop_r",
            events=[
                (0, "room_view", {"room_name": "Living Room"}),
                (100, "room_view", {"room_name": "Kitchen", "duration": 40}),
                (150, "poi_visit", {"poi": "Island", "zone": "Kitchen", "duration": "6.5"}),
                (160, "gaze", {"target": "Window", "duration": 2}),
                (170, "gaze", {"target": "Window", "duration": "bad"}),
                (180, "interaction", {"object": "tap", "action": "on"}),
                (200, "room_view", {"room_name": "Kitchen"}),
                (250, "unit_selection", {"name": "Unit 7C", "sqft": "1250", "type": "2BHK"}),
            ],
        ),
        # cust_x again at prop_r, 60 s: Kitchen 60.
        "s2": Tour(
            start=at("2022-01-12T10:00:00"),
            end=at("2022-01-12T10:01:00"),
            customer_id="cust_x",
            property_id="prop_r",
            events=[
                (0, "room_view", {"room_name": "Kitchen"}),
                (10, "gaze", {"target": "Window", "duration": 1.5}),
                (20, "view", {"view_name": "Skyline", "duration": 9}),
            ],
        ),
        # cust_y at prop_r, still open: Balcony 45 (until the last activity).
        "s3": Tour(
            start=at("2022-01-12T15:00:00"),
            end=None,
            customer_id="cust_y",
            property_id="prop_r",
            events=[
                (0, "zone_enter", {"zone_name": "Balcony"}),
                (20, "interaction", {"object": "tap", "action": "off"}),
                (30, "interaction", {"object": " door ", "action": "open"}),
                (45, "position", {"x": 1, "y": 2, "z": 160}),
            ],
        ),
        # cust_z at prop_other, 1000 s: Study 1000.
        "s4": Tour(
            start=at("2022-01-11T10:00:00"),
            end=at("2022-01-11T10:16:40"),
            customer_id="cust_z",
            property_id="prop_other",
            events=[(0, "room_view", {"room_name": "Study"})],
        ),
        # cust_y at prop_r, 90 s, no events.
        "s5": Tour(
            start=at("2022-01-13T09:00:00"),
            end=at("2022-01-13T09:01:30"),
            customer_id="cust_y",
            property_id="prop_r",
        ),
        # Nobody in particular at prop_other, 30 s.
        "s6": Tour(
            start=at("2022-01-14T10:00:00"),
            end=at("2022-01-14T10:00:30"),
            customer_id=None,
            property_id="prop_other",
        ),
        # cust_w twice at prop_other the week before: 200 s and 100 s.
        "s7": Tour(
            start=at("2022-01-05T10:00:00"),
            end=at("2022-01-05T10:03:20"),
            customer_id="cust_w",
            property_id="prop_other",
        ),
        "s8": Tour(
            start=at("2022-01-06T10:00:00"),
            end=at("2022-01-06T10:01:40"),
            customer_id="cust_w",
            property_id="prop_other",
        ),
    }
    for tour in tours.values():
        await record(tenant.client, tour)
    return {name: tour.session_id for name, tour in tours.items()}


async def test_property_report_has_every_figure(tenant: Tenant, january: dict) -> None:
    report = await get_ok(tenant.client, REPORT, **JANUARY)

    assert report["property_id"] == "prop_r"
    assert report["period"] == {
        "from": "2022-01-01T00:00:00+00:00",
        "to": "2022-02-01T00:00:00+00:00",
    }
    assert (report["sessions"], report["open_sessions"], report["unique_customers"]) == (4, 1, 2)
    # Ended sessions last 300, 60 and 90 s.
    assert (report["median_duration_seconds"], report["mean_duration_seconds"]) == (90.0, 150.0)
    assert report["rooms"] == {
        "total": 3,
        "items": [
            {
                "room": "Kitchen",
                "dwell_seconds": 200.0,
                "visits": 3,
                "sessions": 2,
                "dwell_per_session_seconds": 100.0,
                "rank_by_dwell": 1,
                "rank_by_dwell_per_session": 1,
            },
            {
                "room": "Living Room",
                "dwell_seconds": 100.0,
                "visits": 1,
                "sessions": 1,
                "dwell_per_session_seconds": 100.0,
                "rank_by_dwell": 2,
                "rank_by_dwell_per_session": 1,
            },
            {
                "room": "Balcony",
                "dwell_seconds": 45.0,
                "visits": 1,
                "sessions": 1,
                "dwell_per_session_seconds": 45.0,
                "rank_by_dwell": 3,
                "rank_by_dwell_per_session": 3,
            },
        ],
    }
    assert report["pois"] == {
        "total": 1,
        "items": [{"name": "Island", "count": 1, "sessions": 1, "seconds": 6.5}],
    }
    assert report["gaze_targets"] == {
        "total": 1,
        "items": [{"name": "Window", "count": 3, "sessions": 2, "seconds": 3.5}],
    }
    assert report["views"] == {
        "total": 1,
        "items": [{"name": "Skyline", "count": 1, "sessions": 1, "seconds": 9.0}],
    }
    assert report["interactions"] == {
        "total": 2,
        "items": [
            {"name": "tap", "count": 2, "sessions": 2},
            {"name": "door", "count": 1, "sessions": 1},
        ],
    }
    assert report["unit_selections"] == {
        "total": 1,
        "items": [{"name": "Unit 7C", "count": 1, "sessions": 1}],
    }
    assert report["event_counts"] == {
        "gaze": 3,
        "interaction": 3,
        "poi_visit": 1,
        "position": 1,
        "room_view": 4,
        "unit_selection": 1,
        "view": 1,
        "zone_enter": 1,
    }
    assert report["top"] == DEFAULTS.ANALYTICS_TOP_DEFAULT


async def test_property_report_over_part_of_the_period(tenant: Tenant, january: dict) -> None:
    report = await get_ok(tenant.client, REPORT, **{"from": "2022-01-12", "to": "2022-02-01"})

    # s2 (60 s), s3 (open) and s5 (90 s).
    assert (report["sessions"], report["open_sessions"], report["unique_customers"]) == (3, 1, 2)
    assert (report["median_duration_seconds"], report["mean_duration_seconds"]) == (75.0, 75.0)
    assert [(room["room"], room["dwell_seconds"]) for room in report["rooms"]["items"]] == [
        ("Kitchen", 60.0),
        ("Balcony", 45.0),
    ]


async def test_ranked_lists_hold_at_most_top_and_say_how_many_there_are(
    tenant: Tenant, january: dict
) -> None:
    report = await get_ok(tenant.client, REPORT, top=1, **JANUARY)

    assert report["top"] == 1
    assert report["rooms"]["total"] == 3
    assert [room["room"] for room in report["rooms"]["items"]] == ["Kitchen"]
    assert report["interactions"] == {
        "total": 2,
        "items": [{"name": "tap", "count": 2, "sessions": 2}],
    }


async def test_report_of_a_property_without_sessions(tenant: Tenant, january: dict) -> None:
    report = await get_ok(tenant.client, "/api/v1/properties/prop_none/report")

    assert (report["sessions"], report["unique_customers"]) == (0, 0)
    assert report["median_duration_seconds"] is None
    assert report["mean_duration_seconds"] is None
    assert report["rooms"] == {"total": 0, "items": []}
    assert report["event_counts"] == {}
    assert report["period"] == {"from": None, "to": None}


async def test_top_is_bounded_by_its_setting(tenant: Tenant) -> None:
    maximum = DEFAULTS.ANALYTICS_TOP_MAX
    at_edge = await tenant.client.get(REPORT, params={"top": maximum})
    past_edge = await tenant.client.get(REPORT, params={"top": maximum + 1})

    assert at_edge.status_code == 200
    assert past_edge.status_code == 422
    assert past_edge.json()["detail"][0]["loc"] == ["query", "top"]


def points(value: Decimal, target: Decimal, weight: Decimal) -> Decimal:
    """docs/analytics.md: round(100 * weight * min(value, target) / target, 1)."""
    exact = 100 * weight * min(value, target) / target
    return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def expected_lead(
    customer: str, *, sessions: int, seconds: str, revisits: int, rooms: int
) -> tuple[str, float, float, float, float, float]:
    parts = [
        points(Decimal(sessions), Decimal(3), Decimal("0.25")),
        points(Decimal(seconds), Decimal(1800), Decimal("0.35")),
        points(Decimal(revisits), Decimal(2), Decimal("0.2")),
        points(Decimal(rooms), Decimal(4), Decimal("0.2")),
    ]
    return (customer, float(sum(parts)), *map(float, parts))


def lead_rows(page: dict) -> list[tuple[str, float, float, float, float, float]]:
    return [
        (
            lead["customer_id"],
            lead["score"],
            *(lead["parts"][part]["points"] for part in LEAD_PARTS),
        )
        for lead in page["leads"]
    ]


LEAD_PARTS = ("sessions", "total_time_seconds", "revisits", "rooms_of_interest")
# cust_x: 2 sessions (360 s), 1 revisit, rooms of interest Living Room 100 and Kitchen 200.
# cust_y: 2 sessions (90 s ended), 1 revisit, Balcony 45. cust_z: 1 session, 1000 s, Study.
# cust_w: 2 sessions (300 s), 1 revisit, no rooms. The anonymous s6 is nobody's lead.
LEADS = [
    expected_lead("cust_x", sessions=2, seconds="360", revisits=1, rooms=2),
    expected_lead("cust_y", sessions=2, seconds="90", revisits=1, rooms=1),
    expected_lead("cust_z", sessions=1, seconds="1000", revisits=0, rooms=1),
    expected_lead("cust_w", sessions=2, seconds="300", revisits=1, rooms=0),
]


async def test_leads_are_ranked_by_score_with_their_parts(tenant: Tenant, january: dict) -> None:
    page = await get_ok(tenant.client, "/api/v1/leads", **JANUARY)

    assert [lead[:2] for lead in LEADS] == [
        ("cust_x", 43.7),
        ("cust_y", 33.5),
        ("cust_z", 32.7),
        ("cust_w", 32.5),
    ]
    assert lead_rows(page) == LEADS
    assert [lead["tier"] for lead in page["leads"]] == ["warm", "cold", "cold", "cold"]
    assert (page["total"], page["tiers"]) == (4, {"hot": 0, "warm": 1, "cold": 3})
    assert page["next_cursor"] is None
    first = page["leads"][0]
    assert {part: first["parts"][part]["value"] for part in LEAD_PARTS} == {
        "sessions": 2,
        "total_time_seconds": 360.0,
        "revisits": 1,
        "rooms_of_interest": 2,
    }
    assert (first["properties"], first["first_session_at"], first["last_session_at"]) == (
        1,
        "2022-01-10T10:00:00+00:00",
        "2022-01-12T10:00:00+00:00",
    )
    assert page["scoring"] == {
        "sessions": {"target": 3.0, "weight": 0.25},
        "total_time_seconds": {"target": 1800.0, "weight": 0.35},
        "revisits": {"target": 2.0, "weight": 0.2},
        "rooms_of_interest": {"target": 4.0, "weight": 0.2},
        "room_interest_min_seconds": 30.0,
        "hot_min_score": 70.0,
        "warm_min_score": 40.0,
    }


async def test_leads_page_by_cursor_and_filter_by_tier(tenant: Tenant, january: dict) -> None:
    customers = []
    cursor = None
    while True:
        page = await get_ok(tenant.client, "/api/v1/leads", limit=1, cursor=cursor, **JANUARY)
        customers += [lead["customer_id"] for lead in page["leads"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    cold = await get_ok(tenant.client, "/api/v1/leads", tier="cold", **JANUARY)

    assert customers == ["cust_x", "cust_y", "cust_z", "cust_w"]
    assert [lead["customer_id"] for lead in cold["leads"]] == ["cust_y", "cust_z", "cust_w"]
    assert cold["tiers"] == {"hot": 0, "warm": 1, "cold": 3}


async def test_leads_of_one_property(tenant: Tenant, january: dict) -> None:
    page = await get_ok(tenant.client, "/api/v1/leads", property_id="prop_other", **JANUARY)

    assert lead_rows(page) == [
        expected_lead("cust_z", sessions=1, seconds="1000", revisits=0, rooms=1),
        expected_lead("cust_w", sessions=2, seconds="300", revisits=1, rooms=0),
    ]


async def test_tier_thresholds_are_settings(app_with, tenant: Tenant, january: dict) -> None:
    async with app_with(
        ANALYTICS_LEAD_HOT_MIN_SCORE=43.7, ANALYTICS_LEAD_WARM_MIN_SCORE=32.7
    ) as client:
        client.headers["X-API-Key"] = tenant.key
        page = await get_ok(client, "/api/v1/leads", **JANUARY)

    assert [lead["tier"] for lead in page["leads"]] == ["hot", "warm", "warm", "cold"]
    assert page["tiers"] == {"hot": 1, "warm": 2, "cold": 1}


async def test_customer_summary(tenant: Tenant, january: dict) -> None:
    summary = await get_ok(tenant.client, "/api/v1/customers/cust_x")

    assert summary["customer_id"] == "cust_x"
    assert lead_rows({"leads": [summary["lead"]]}) == LEADS[:1]
    assert summary["properties"] == [
        {
            "property_id": "prop_r",
            "sessions": 2,
            "open_sessions": 0,
            "total_time_seconds": 360.0,
            "first_session_at": "2022-01-10T10:00:00+00:00",
            "last_session_at": "2022-01-12T10:00:00+00:00",
        }
    ]
    assert summary["top_rooms"] == {
        "total": 2,
        "items": [
            {"property_id": "prop_r", "room": "Kitchen", "dwell_seconds": 200.0, "sessions": 2},
            {"property_id": "prop_r", "room": "Living Room", "dwell_seconds": 100.0, "sessions": 1},
        ],
    }


async def test_customer_summary_outside_their_sessions(tenant: Tenant, january: dict) -> None:
    summary = await get_ok(
        tenant.client, "/api/v1/customers/cust_x", **{"from": "2022-02-01", "to": "2022-03-01"}
    )

    assert summary["lead"] is None
    assert summary["properties"] == []
    assert summary["top_rooms"] == {"total": 0, "items": []}


async def test_unknown_customer_is_404(tenant: Tenant, january: dict) -> None:
    response = await tenant.client.get("/api/v1/customers/cust_nobody")

    assert response.status_code == 404
    assert response.json() == {"detail": "Customer not found"}


def ratio(numerator: int, denominator: int) -> Decimal:
    return Decimal(numerator) / Decimal(denominator)


async def test_overview_compares_with_the_previous_equal_period(
    tenant: Tenant, january: dict
) -> None:
    overview = await get_ok(
        tenant.client, "/api/v1/overview", **{"from": "2022-01-10", "to": "2022-01-17"}
    )

    assert overview["period"] == {
        "from": "2022-01-10T00:00:00+00:00",
        "to": "2022-01-17T00:00:00+00:00",
    }
    assert overview["previous_period"] == {
        "from": "2022-01-03T00:00:00+00:00",
        "to": "2022-01-10T00:00:00+00:00",
    }
    assert overview["engaged_min_seconds"] == 120.0
    kpis = overview["kpis"]
    # Now: s1 300 s, s4 1000, s2 60, s3 open, s5 90, s6 30 (anonymous). Before: s7 200, s8 100.
    assert kpis["sessions"] == {"value": 6, "previous": 2, "change": 4, "relative_change": 2.0}
    assert kpis["unique_customers"] == {
        "value": 3,
        "previous": 1,
        "change": 2,
        "relative_change": 2.0,
    }
    assert kpis["median_duration_seconds"] == {
        "value": 90.0,
        "previous": 150.0,
        "change": -60.0,
        "relative_change": -0.4,
    }
    assert kpis["engaged_sessions"] == {
        "value": 2,
        "previous": 1,
        "change": 1,
        "relative_change": 1.0,
    }
    rate, previous_rate = ratio(2, 6), ratio(1, 2)
    assert kpis["engaged_rate"] == {
        "value": float(rate),
        "previous": 0.5,
        "change": float(rate - previous_rate),
        "relative_change": float((rate - previous_rate) / previous_rate),
    }


async def test_overview_change_against_nothing_is_null(tenant: Tenant, january: dict) -> None:
    overview = await get_ok(
        tenant.client,
        "/api/v1/overview",
        property_id="prop_r",
        **{"from": "2022-01-10", "to": "2022-01-17"},
    )

    kpis = overview["kpis"]
    assert kpis["sessions"] == {"value": 4, "previous": 0, "change": 4, "relative_change": None}
    assert kpis["median_duration_seconds"] == {
        "value": 90.0,
        "previous": None,
        "change": None,
        "relative_change": None,
    }
    assert kpis["engaged_rate"]["previous"] is None


@pytest.mark.parametrize("missing", ["from", "to"])
async def test_overview_needs_a_whole_period(tenant: Tenant, missing: str) -> None:
    params = {"from": "2022-01-10", "to": "2022-01-17"}
    del params[missing]

    for path in ("/api/v1/overview", "/api/v1/overview/daily"):
        response = await tenant.client.get(path, params=params)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", missing]


async def test_overview_whose_previous_period_would_start_before_year_one(
    tenant: Tenant,
) -> None:
    response = await tenant.client.get(
        "/api/v1/overview", params={"from": "0002-01-01", "to": "0004-01-01"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "from"]


def day(date: str, sessions: int, customers: int, engaged: int, median: float | None) -> dict:
    return {
        "date": date,
        "sessions": sessions,
        "unique_customers": customers,
        "engaged_sessions": engaged,
        "median_duration_seconds": median,
    }


async def test_daily_series_has_every_utc_day_zeros_included(tenant: Tenant, january: dict) -> None:
    series = await get_ok(
        tenant.client, "/api/v1/overview/daily", **{"from": "2022-01-10", "to": "2022-01-16"}
    )

    assert series["days"] == [
        day("2022-01-10", 1, 1, 1, 300.0),
        day("2022-01-11", 1, 1, 1, 1000.0),
        day("2022-01-12", 2, 2, 0, 60.0),
        day("2022-01-13", 1, 1, 0, 90.0),
        day("2022-01-14", 1, 0, 0, 30.0),
        day("2022-01-15", 0, 0, 0, None),
    ]


async def test_daily_series_of_a_period_between_midday_and_midday(
    tenant: Tenant, january: dict
) -> None:
    series = await get_ok(
        tenant.client,
        "/api/v1/overview/daily",
        property_id="prop_r",
        **{"from": "2022-01-12T12:00:00Z", "to": "2022-01-13T12:00:00Z"},
    )

    assert series["days"] == [day("2022-01-12", 1, 1, 0, None), day("2022-01-13", 1, 1, 0, 90.0)]


async def test_daily_series_length_is_bounded_by_its_setting(tenant: Tenant) -> None:
    maximum = DEFAULTS.ANALYTICS_SERIES_MAX_DAYS
    at_edge = await tenant.client.get(
        "/api/v1/overview/daily", params={"from": "2020-01-01", "to": "2022-01-01"}
    )
    past_edge = await tenant.client.get(
        "/api/v1/overview/daily", params={"from": "2020-01-01", "to": "2022-01-02"}
    )

    assert maximum == 731
    assert at_edge.status_code == 200
    assert len(at_edge.json()["days"]) == maximum
    assert past_edge.status_code == 422
    assert past_edge.json()["detail"][0]["loc"] == ["query", "to"]


def steps(funnel: dict) -> list[tuple[str, int, float | None, float | None]]:
    return [
        (step["step"], step["sessions"], step["rate_from_previous"], step["rate_from_start"])
        for step in funnel["steps"]
    ]


async def test_funnel_from_started_to_high_intent(tenant: Tenant, january: dict) -> None:
    funnel = await get_ok(tenant.client, "/api/v1/funnel", property_id="prop_r", **JANUARY)

    # Only s1 lasted 120 s; it selected a unit (its 2 rooms of interest are fewer than 3).
    assert steps(funnel) == [
        ("started", 4, None, 1.0),
        ("engaged", 1, 0.25, 0.25),
        ("high_intent", 1, 1.0, 0.25),
    ]
    assert funnel["high_intent_reasons"] == {"unit_selection": 1, "rooms_of_interest": 0}
    assert funnel["thresholds"] == {
        "engaged_min_seconds": 120.0,
        "room_interest_min_seconds": 30.0,
        "high_intent_min_rooms": 3,
    }


async def test_funnel_thresholds_are_settings(app_with, tenant: Tenant, january: dict) -> None:
    async with app_with(
        ANALYTICS_ENGAGED_MIN_SECONDS=60, ANALYTICS_HIGH_INTENT_MIN_ROOMS=2
    ) as client:
        client.headers["X-API-Key"] = tenant.key
        funnel = await get_ok(client, "/api/v1/funnel", property_id="prop_r", **JANUARY)

    # Engaged: s1 (300 s), s2 (60 s), s5 (90 s); only s1 has 2 rooms of 30 s or more.
    assert steps(funnel) == [
        ("started", 4, None, 1.0),
        ("engaged", 3, 0.75, 0.75),
        ("high_intent", 1, float(ratio(1, 3)), 0.25),
    ]
    assert funnel["high_intent_reasons"] == {"unit_selection": 1, "rooms_of_interest": 1}


async def test_funnel_without_sessions(tenant: Tenant) -> None:
    funnel = await get_ok(tenant.client, "/api/v1/funnel", property_id="prop_none")

    assert steps(funnel) == [
        ("started", 0, None, None),
        ("engaged", 0, None, None),
        ("high_intent", 0, None, None),
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/leads", {"tier": "lukewarm"}, "tier"),
        ("/api/v1/leads", {"cursor": "eyJrIjoibGVhZHMiLCJ2IjpbIjFlOTk5OTkiLCJ4Il19"}, "cursor"),
        ("/api/v1/leads", {"limit": DEFAULTS.ANALYTICS_PAGE_SIZE_MAX + 1}, "limit"),
        ("/api/v1/funnel", {"from": "2022-02-01", "to": "2022-01-01"}, "to"),
        ("/api/v1/overview", {"from": "2022-01-01", "to": "not a date"}, "to"),
        ("/api/v1/customers/cust_x", {"top": 0}, "top"),
        (REPORT, {"from": "2022-01-01T25:00:00"}, "from"),
        ("/api/v1/leads", {"property_id": "prop\x00r"}, "property_id"),
    ],
)
async def test_bad_report_parameters_are_422_naming_the_parameter(
    tenant: Tenant, path: str, params: dict, field: str
) -> None:
    response = await tenant.client.get(path, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_every_route_is_documented_with_an_example(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    routes = {
        "/api/v1/sessions": "SessionListResponse",
        "/api/v1/sessions/{session_id}": "SessionDetailResponse",
        "/api/v1/sessions/{session_id}/events": "EventListResponse",
        "/api/v1/properties/{property_id}/report": "PropertyReportResponse",
        "/api/v1/leads": "LeadListResponse",
        "/api/v1/customers/{customer_id}": "CustomerSummaryResponse",
        "/api/v1/overview": "OverviewResponse",
        "/api/v1/overview/daily": "DailySeriesResponse",
        "/api/v1/funnel": "FunnelResponse",
    }
    for path, model in routes.items():
        operation = schema["paths"][path]["get"]
        assert operation["tags"] == ["analytics"]
        assert {"401", "403", "429", "503"} <= set(operation["responses"])
        assert schema["components"]["schemas"][model]["examples"], model


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/customers/cust%00x", "customer_id"),
        ("/api/v1/properties/p%00r/report", "property_id"),
    ],
)
async def test_ids_postgresql_cannot_hold_are_422_naming_them(
    tenant: Tenant, path: str, field: str
) -> None:
    response = await tenant.client.get(path)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", field]
