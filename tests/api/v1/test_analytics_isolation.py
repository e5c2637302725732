"""Access: every analytics route needs a key with the read scope, and answers about that key's
project only. Another project's data, even under the same property and customer ids, never
shows; another project's session is as absent as one that never existed."""

import httpx
import pytest

from app.services.access.keys import AccessService, Scope
from tests.api.v1.analytics_data import SESSIONS, Tenant, Tour, at, get_ok, record
from tests.conftest import create_project_key, serve_app

PERIOD = {"from": "2020-06-01", "to": "2020-07-01"}


def other_tour(property_id: str, customer_id: str, day: int) -> Tour:
    start = at(f"2020-06-{day:02d}T10:00:00")
    return Tour(
        start=start,
        end=start + 600,
        customer_id=customer_id,
        property_id=property_id,
        events=[
            (0, "room_view", {"room_name": "Kitchen"}),
            (10, "unit_selection", {"name": "Unit 1"}),
            (20, "gaze", {"target": "Window", "duration": 5}),
            (30, "position", {"x": 1, "y": 1, "z": 160}),
        ],
    )


@pytest.fixture(scope="module")
async def other_session(access: AccessService, database_dsn: str, tenant: Tenant) -> str:
    """A second project with the same property and customer ids as the tenant's, and more;
    the id of one of its sessions."""
    other = await create_project_key(
        access, "analytics other project", frozenset({Scope.INGEST, Scope.READ})
    )
    async with serve_app(database_dsn, api_key=other.key) as client:
        shared = await record(client, other_tour("prop_iso", "cust_iso", 2))
        await record(client, other_tour("prop_iso", "cust_iso", 3))
        await record(client, other_tour("prop_only_b", "cust_only_b", 4))
        # Seen through its own key, so that the assertions below can fail.
        assert (await get_ok(client, f"{SESSIONS}/{shared}"))["session"]["id"] == shared
        report = await get_ok(client, "/api/v1/properties/prop_iso/report")
        assert report["sessions"] == 2
        listed = await get_ok(client, "/api/v1/properties", **PERIOD)
        assert [row["property_id"] for row in listed["properties"]] == ["prop_iso", "prop_only_b"]
    # The tenant has one session under the shared ids, without events.
    start = at("2020-06-10T10:00:00")
    mine = Tour(start=start, end=start + 60, customer_id="cust_iso", property_id="prop_iso")
    await record(tenant.client, mine)
    return shared


async def test_another_projects_session_is_not_found(tenant: Tenant, other_session: str) -> None:
    for path in (f"{SESSIONS}/{other_session}", f"{SESSIONS}/{other_session}/events"):
        response = await tenant.client.get(path)
        assert response.status_code == 404, path


async def test_lists_and_reports_hold_only_the_callers_project(
    tenant: Tenant, other_session: str
) -> None:
    sessions = await get_ok(tenant.client, SESSIONS, **PERIOD)
    assert [session["customer_id"] for session in sessions["sessions"]] == ["cust_iso"]
    assert (await get_ok(tenant.client, SESSIONS, property_id="prop_only_b"))["sessions"] == []

    report = await get_ok(tenant.client, "/api/v1/properties/prop_iso/report", **PERIOD)
    assert (report["sessions"], report["unique_customers"]) == (1, 1)
    assert report["rooms"]["total"] == report["gaze_targets"]["total"] == 0
    assert report["unit_selections"]["total"] == 0
    assert report["event_counts"] == {}
    empty = await get_ok(tenant.client, "/api/v1/properties/prop_only_b/report")
    assert empty["sessions"] == 0

    properties = await get_ok(tenant.client, "/api/v1/properties", **PERIOD)
    assert [(row["property_id"], row["sessions"]) for row in properties["properties"]] == [
        ("prop_iso", 1)
    ]


async def test_leads_and_customers_hold_only_the_callers_project(
    tenant: Tenant, other_session: str
) -> None:
    leads = await get_ok(tenant.client, "/api/v1/leads", **PERIOD)
    assert [
        (lead["customer_id"], lead["parts"]["sessions"]["value"]) for lead in leads["leads"]
    ] == [("cust_iso", 1)]

    summary = await get_ok(tenant.client, "/api/v1/customers/cust_iso")
    assert summary["lead"]["parts"]["sessions"]["value"] == 1
    assert summary["top_rooms"]["total"] == 0
    assert [row["sessions"] for row in summary["properties"]] == [1]
    missing = await tenant.client.get("/api/v1/customers/cust_only_b")
    assert missing.status_code == 404


async def test_kpis_series_and_funnel_hold_only_the_callers_project(
    tenant: Tenant, other_session: str
) -> None:
    overview = await get_ok(tenant.client, "/api/v1/overview", **PERIOD)
    assert overview["kpis"]["sessions"]["value"] == 1
    assert overview["kpis"]["unique_customers"]["value"] == 1

    series = await get_ok(tenant.client, "/api/v1/overview/daily", **PERIOD)
    assert sum(day["sessions"] for day in series["days"]) == 1

    funnel = await get_ok(tenant.client, "/api/v1/funnel", **PERIOD)
    assert [step["sessions"] for step in funnel["steps"]] == [1, 0, 0]


ROUTES = [
    "/api/v1/sessions",
    "/api/v1/sessions/5f0c7d2e-3b1a-4c5d-8e9f-0a1b2c3d4e5f",
    "/api/v1/sessions/5f0c7d2e-3b1a-4c5d-8e9f-0a1b2c3d4e5f/events",
    "/api/v1/properties",
    "/api/v1/properties/prop_iso/report",
    "/api/v1/leads",
    "/api/v1/customers/cust_iso",
    "/api/v1/overview?from=2020-06-01&to=2020-07-01",
    "/api/v1/overview/daily?from=2020-06-01&to=2020-07-01",
    "/api/v1/funnel",
]


@pytest.mark.parametrize("path", ROUTES)
async def test_every_route_needs_a_key_with_the_read_scope(
    access: AccessService, tenant: Tenant, path: str
) -> None:
    ingest_only_key = await create_project_key(
        access, "analytics ingest only", frozenset({Scope.INGEST})
    )
    without_key = await tenant.client.get(path, headers={"X-API-Key": ""})
    ingest_only = await tenant.client.get(path, headers={"X-API-Key": ingest_only_key.key})
    bearer = await tenant.client.get(
        path, headers={"X-API-Key": "", "Authorization": f"Bearer {tenant.key}"}
    )

    assert without_key.status_code == 401
    assert ingest_only.status_code == 403
    assert bearer.status_code in (200, 404)


async def test_read_only_key_reads(access: AccessService, client: httpx.AsyncClient) -> None:
    read_only = await create_project_key(access, "analytics read only", frozenset({Scope.READ}))
    response = await client.get("/api/v1/funnel", headers={"X-API-Key": read_only.key})

    assert response.status_code == 200
    assert [step["sessions"] for step in response.json()["steps"]] == [0, 0, 0]
