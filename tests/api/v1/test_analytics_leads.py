"""Leads and customers on the hand-made January 2022 of analytics_data, where every score is
worked out by hand from the rule of docs/analytics.md: ranking, parts, tiers, pages, one
property, and the customer summary."""

from decimal import ROUND_HALF_UP, Decimal

from app.config import Settings
from tests.api.v1.analytics_data import JANUARY, Tenant, Tour, at, get_ok, record
from tests.conftest import serve_app

DEFAULTS = Settings(_env_file=None)


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


async def test_leads_are_ranked_by_score_with_their_parts(tenant: Tenant, january: None) -> None:
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


async def test_leads_page_by_cursor_and_filter_by_tier(tenant: Tenant, january: None) -> None:
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


async def test_leads_page_past_customers_with_long_non_ascii_ids(tenant: Tenant) -> None:
    """Customer ids of the longest storable length, in four-byte characters: the cursor after
    one must still be accepted."""
    names = ["\U0001f600" * DEFAULTS.MAX_LABEL_LENGTH, "\U0001f601" * DEFAULTS.MAX_LABEL_LENGTH]
    for name in names:
        start = at("2019-08-01T10:00:00")
        await record(tenant.client, Tour(start=start, end=start + 60, customer_id=name))
    august = {"from": "2019-08-01", "to": "2019-08-02"}

    first = await get_ok(tenant.client, "/api/v1/leads", limit=1, **august)
    second = await get_ok(
        tenant.client, "/api/v1/leads", limit=1, cursor=first["next_cursor"], **august
    )

    listed = [lead["customer_id"] for lead in first["leads"] + second["leads"]]
    assert sorted(listed) == sorted(names)
    assert second["next_cursor"] is None


async def test_leads_of_one_property(tenant: Tenant, january: None) -> None:
    page = await get_ok(tenant.client, "/api/v1/leads", property_id="prop_other", **JANUARY)

    assert lead_rows(page) == [
        expected_lead("cust_z", sessions=1, seconds="1000", revisits=0, rooms=1),
        expected_lead("cust_w", sessions=2, seconds="300", revisits=1, rooms=0),
    ]


async def test_tier_thresholds_are_settings(
    database_dsn: str, tenant: Tenant, january: None
) -> None:
    async with serve_app(
        database_dsn,
        api_key=tenant.key,
        ANALYTICS_LEAD_HOT_MIN_SCORE=43.7,
        ANALYTICS_LEAD_WARM_MIN_SCORE=32.7,
    ) as client:
        page = await get_ok(client, "/api/v1/leads", **JANUARY)

    assert [lead["tier"] for lead in page["leads"]] == ["hot", "warm", "warm", "cold"]
    assert page["tiers"] == {"hot": 1, "warm": 2, "cold": 1}


async def test_customer_summary(tenant: Tenant, january: None) -> None:
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


async def test_customer_summary_outside_their_sessions(tenant: Tenant, january: None) -> None:
    summary = await get_ok(
        tenant.client, "/api/v1/customers/cust_x", **{"from": "2022-02-01", "to": "2022-03-01"}
    )

    assert summary["lead"] is None
    assert summary["properties"] == []
    assert summary["top_rooms"] == {"total": 0, "items": []}


async def test_unknown_customer_is_404(tenant: Tenant, january: None) -> None:
    response = await tenant.client.get("/api/v1/customers/cust_nobody")

    assert response.status_code == 404
    assert response.json() == {"detail": "Customer not found"}
