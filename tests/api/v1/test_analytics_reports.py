"""Reports on the hand-made January 2022 of analytics_data, where every figure is worked out
by hand: the property report, overview KPIs, the daily series and the funnel; and what every
analytics route shares (parameters refused with a 422 naming them, examples in /docs). Leads
and customers are in test_analytics_leads."""

from decimal import Decimal

import httpx
import pytest

from app.config import Settings
from scripts.tours.truth import rate as truth_rate
from tests.api.v1.analytics_data import JANUARY, Tenant, get_ok
from tests.conftest import serve_app

DEFAULTS = Settings(_env_file=None)
REPORT = "/api/v1/properties/prop_r/report"


async def test_property_report_has_every_figure(tenant: Tenant, january: None) -> None:
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


async def test_property_report_over_part_of_the_period(tenant: Tenant, january: None) -> None:
    report = await get_ok(tenant.client, REPORT, **{"from": "2022-01-12", "to": "2022-02-01"})

    # s2 (60 s), s3 (open) and s5 (90 s).
    assert (report["sessions"], report["open_sessions"], report["unique_customers"]) == (3, 1, 2)
    assert (report["median_duration_seconds"], report["mean_duration_seconds"]) == (75.0, 75.0)
    assert [(room["room"], room["dwell_seconds"]) for room in report["rooms"]["items"]] == [
        ("Kitchen", 60.0),
        ("Balcony", 45.0),
    ]


async def test_ranked_lists_hold_at_most_top_and_say_how_many_there_are(
    tenant: Tenant, january: None
) -> None:
    report = await get_ok(tenant.client, REPORT, top=1, **JANUARY)

    assert report["top"] == 1
    assert report["rooms"]["total"] == 3
    assert [room["room"] for room in report["rooms"]["items"]] == ["Kitchen"]
    assert report["interactions"] == {
        "total": 2,
        "items": [{"name": "tap", "count": 2, "sessions": 2}],
    }


async def test_report_of_a_property_without_sessions(tenant: Tenant, january: None) -> None:
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


def ratio(numerator: int, denominator: int) -> Decimal:
    return Decimal(numerator) / Decimal(denominator)


async def test_overview_compares_with_the_previous_equal_period(
    tenant: Tenant, january: None
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
    # Computed exactly, answered to four decimals (docs/analytics.md, "Precision").
    assert kpis["engaged_rate"] == {
        "value": 0.3333,
        "previous": 0.5,
        "change": truth_rate(rate - previous_rate),
        "relative_change": truth_rate((rate - previous_rate) / previous_rate),
    }
    assert (kpis["engaged_rate"]["change"], kpis["engaged_rate"]["relative_change"]) == (
        -0.1667,
        -0.3333,
    )


async def test_overview_change_against_nothing_is_null(tenant: Tenant, january: None) -> None:
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


async def test_daily_series_has_every_utc_day_zeros_included(tenant: Tenant, january: None) -> None:
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
    tenant: Tenant, january: None
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


async def test_funnel_from_started_to_high_intent(tenant: Tenant, january: None) -> None:
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


async def test_funnel_thresholds_are_settings(
    database_dsn: str, tenant: Tenant, january: None
) -> None:
    async with serve_app(
        database_dsn,
        api_key=tenant.key,
        ANALYTICS_ENGAGED_MIN_SECONDS=60,
        ANALYTICS_HIGH_INTENT_MIN_ROOMS=2,
    ) as client:
        funnel = await get_ok(client, "/api/v1/funnel", property_id="prop_r", **JANUARY)

    # Engaged: s1 (300 s), s2 (60 s), s5 (90 s); only s1 has 2 rooms of 30 s or more.
    assert steps(funnel) == [
        ("started", 4, None, 1.0),
        ("engaged", 3, 0.75, 0.75),
        ("high_intent", 1, 0.3333, 0.25),
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
        "/api/v1/properties": "PropertyListResponse",
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
