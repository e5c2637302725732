"""Sessions: the list (filters, cursor pages), the detail (its counts and timeline) and a
session's events page by page, on hand-made tours where every number is known. THE dwell rule
itself is in test_analytics_dwell."""

import uuid

import httpx
import pytest

from app.config import Settings
from tests.api.v1.analytics_data import SESSIONS, Tenant, Tour, at, get_ok, record

DEFAULTS = Settings(_env_file=None)


async def test_detail_has_the_session_its_counts_and_its_timeline_in_order(
    tenant: Tenant,
) -> None:
    start = at("2021-01-08T10:00:00")
    session_id = await record(
        tenant.client,
        Tour(
            start=start,
            end=start + 60.5,
            customer_id="cust_detail",
            property_id="prop_detail",
            device_type="Pico 4",
            events=[
                (1, "position", {"x": 0, "y": 0, "z": 160}),
                (2, "room_view", {"room_name": "Kitchen", "duration": 20}),
                (3, "position", {"x": 0, "y": 1, "z": 160}),
                (4, "interaction", {"object": "fridge_door", "action": "open"}),
                (30, "zone_enter", {"zone_name": "Balcony"}),
            ],
        ),
    )

    detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")

    session = detail["session"]
    assert session["id"] == session_id
    assert (session["customer_id"], session["property_id"], session["device_type"]) == (
        "cust_detail",
        "prop_detail",
        "Pico 4",
    )
    assert (session["status"], session["end_reason"]) == ("completed", "client")
    assert session["duration_seconds"] == 60.5
    assert detail["event_counts"] == {
        "interaction": 1,
        "position": 2,
        "room_view": 1,
        "zone_enter": 1,
    }
    assert detail["events_total"] == 5
    assert detail["timeline_total"] == 3
    assert detail["timeline_truncated"] is False
    timeline = [
        (entry["event_type"], entry["place"], entry["dwell_seconds"], entry["dwell_source"])
        for entry in detail["timeline"]
    ]
    assert timeline == [
        ("room_view", "Kitchen", 20.0, "explicit"),
        ("interaction", None, None, None),
        ("zone_enter", "Balcony", 30.5, "measured"),
    ]
    assert detail["timeline"][1]["event_data"] == {"object": "fridge_door", "action": "open"}


async def test_timeline_stops_at_its_limit_and_says_so(app_with, tenant: Tenant) -> None:
    start = at("2021-01-09T10:00:00")
    session_id = await record(
        tenant.client,
        Tour(
            start=start,
            end=start + 10,
            events=[(step, "gaze", {"target": f"T{step}"}) for step in range(4)],
        ),
    )
    async with app_with(ANALYTICS_TIMELINE_MAX_EVENTS=3) as client:
        response = await client.get(f"{SESSIONS}/{session_id}", headers={"X-API-Key": tenant.key})
    detail = response.json()
    assert [entry["event_data"]["target"] for entry in detail["timeline"]] == ["T0", "T1", "T2"]
    assert (detail["timeline_total"], detail["timeline_truncated"]) == (4, True)


async def test_unknown_or_malformed_session_ids(tenant: Tenant) -> None:
    missing = await tenant.client.get(f"{SESSIONS}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Session not found"}
    malformed = await tenant.client.get(f"{SESSIONS}/not-a-session")
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"] == ["path", "session_id"]
    events = await tenant.client.get(f"{SESSIONS}/{uuid.uuid4().hex.upper()}/events")
    assert events.status_code == 404


@pytest.fixture(scope="module")
async def listed(tenant: Tenant) -> dict[str, str]:
    """Five sessions of one property over three days, by name."""
    tours = {
        "first": Tour(start=at("2021-02-01T09:00:00"), end=at("2021-02-01T09:10:00")),
        "second": Tour(
            start=at("2021-02-01T12:00:00"), end=None, customer_id="cust_b", device_type="Pico 4"
        ),
        "third": Tour(start=at("2021-02-02T09:00:00"), end=at("2021-02-02T09:30:00")),
        # The same start as "third": the id decides.
        "fourth": Tour(start=at("2021-02-02T09:00:00"), end=None, customer_id="cust_b"),
        "fifth": Tour(start=at("2021-02-03T23:59:59"), end=at("2021-02-04T00:20:00")),
    }
    for tour in tours.values():
        tour.property_id = "prop_list"
        await record(tenant.client, tour)
    return {name: tour.session_id for name, tour in tours.items()}


def newest_first(listed: dict[str, str]) -> list[str]:
    third, fourth = sorted([listed["third"], listed["fourth"]], key=uuid.UUID)
    return [listed["fifth"], fourth, third, listed["second"], listed["first"]]


async def collect(client: httpx.AsyncClient, **params: object) -> tuple[list[str], list[int]]:
    """Every page of a listing: the session ids in order and the size of each page."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = await get_ok(client, SESSIONS, cursor=cursor, **params)
        ids += [session["id"] for session in page["sessions"]]
        sizes.append(len(page["sessions"]))
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, sizes


async def test_sessions_come_newest_first_in_pages_until_next_cursor_is_null(
    tenant: Tenant, listed: dict[str, str]
) -> None:
    ids, sizes = await collect(tenant.client, property_id="prop_list", limit=2)

    assert ids == newest_first(listed)
    assert sizes == [2, 2, 1]


async def test_sessions_in_ascending_order(tenant: Tenant, listed: dict[str, str]) -> None:
    ids, sizes = await collect(tenant.client, property_id="prop_list", limit=3, order="asc")

    assert ids == list(reversed(newest_first(listed)))
    assert sizes == [3, 2]


async def test_a_full_last_page_ends_with_a_null_cursor(
    tenant: Tenant, listed: dict[str, str]
) -> None:
    page = await get_ok(tenant.client, SESSIONS, property_id="prop_list", limit=5)

    assert len(page["sessions"]) == 5
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"customer_id": "cust_b"}, ["fourth", "second"]),
        ({"status": "completed"}, ["fifth", "third", "first"]),
        ({"device_type": "Pico 4"}, ["second"]),
        ({"from": "2021-02-02", "to": "2021-02-03"}, ["third", "fourth"]),
        ({"from": "2021-02-03T23:59:59Z"}, ["fifth"]),
        ({"to": "2021-02-01T12:00:00+00:00"}, ["first"]),
        ({"from": "2021-02-01T13:00:00 01:00", "to": "2021-02-02"}, ["second"]),
    ],
    ids=["customer", "status", "device", "dates", "from-instant", "to-exclusive", "offset"],
)
async def test_session_filters(
    tenant: Tenant, listed: dict[str, str], filters: dict, expected: list[str]
) -> None:
    page = await get_ok(tenant.client, SESSIONS, property_id="prop_list", **filters)

    assert sorted(session["id"] for session in page["sessions"]) == sorted(
        listed[name] for name in expected
    )


async def test_listed_session_has_its_fields(tenant: Tenant, listed: dict[str, str]) -> None:
    page = await get_ok(tenant.client, SESSIONS, property_id="prop_list", order="asc", limit=1)

    assert page["sessions"] == [
        {
            "id": listed["first"],
            "customer_id": "cust_a",
            "property_id": "prop_list",
            "device_type": "Meta Quest 3",
            "status": "completed",
            "end_reason": "client",
            "started_at": "2021-02-01T09:00:00+00:00",
            "ended_at": "2021-02-01T09:10:00+00:00",
            "last_activity_at": "2021-02-01T09:10:00+00:00",
            "duration_seconds": 600.0,
            "client_session_id": None,
            "local_time_rule": None,
        }
    ]
    assert page["limit"] == 1


async def test_page_size_is_bounded_by_its_setting(tenant: Tenant) -> None:
    maximum = DEFAULTS.ANALYTICS_PAGE_SIZE_MAX
    at_edge = await tenant.client.get(SESSIONS, params={"limit": maximum})
    past_edge = await tenant.client.get(SESSIONS, params={"limit": maximum + 1})
    zero = await tenant.client.get(SESSIONS, params={"limit": 0})
    default = await get_ok(tenant.client, SESSIONS)

    assert at_edge.status_code == 200
    assert at_edge.json()["limit"] == maximum
    assert default["limit"] == DEFAULTS.ANALYTICS_PAGE_SIZE_DEFAULT
    for refused in (past_edge, zero):
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2021-13-01"}, "to"),
        ({"from": "2021-02-02", "to": "2021-02-02"}, "to"),
        ({"from": "2021-02-03", "to": "2021-02-02"}, "to"),
        ({"status": "paused"}, "status"),
        ({"order": "sideways"}, "order"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "eyJrIjoibGVhZHMiLCJ2IjpbXX0"}, "cursor"),  # a leads cursor
        ({"property_id": "bad\x00id"}, "property_id"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "from"),
        ({"from": "2021-02-02T00:00:00"}, "from"),  # whose midnight?
    ],
)
async def test_bad_list_parameters_are_422_naming_the_parameter(
    tenant: Tenant, params: dict, field: str
) -> None:
    response = await tenant.client.get(SESSIONS, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_a_cursor_only_continues_the_order_it_came_from(
    tenant: Tenant, listed: dict[str, str]
) -> None:
    page = await get_ok(tenant.client, SESSIONS, property_id="prop_list", limit=1)

    response = await tenant.client.get(
        SESSIONS, params={"property_id": "prop_list", "order": "asc", "cursor": page["next_cursor"]}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.fixture(scope="module")
async def busy_session(tenant: Tenant) -> str:
    start = at("2021-03-01T10:00:00")
    events = [
        (step * 0.5, "position" if step % 2 else "gaze", {"step": step}) for step in range(11)
    ]
    return await record(tenant.client, Tour(start=start, end=start + 60, events=events))


async def test_events_come_in_timeline_order_page_by_page(
    tenant: Tenant, busy_session: str
) -> None:
    steps: list[int] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = await get_ok(
            tenant.client, f"{SESSIONS}/{busy_session}/events", limit=4, cursor=cursor
        )
        steps += [event["event_data"]["step"] for event in page["events"]]
        sizes.append(len(page["events"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert steps == list(range(11))
    assert sizes == [4, 4, 3]
    assert page["session_id"] == busy_session


async def test_events_of_one_type(tenant: Tenant, busy_session: str) -> None:
    page = await get_ok(tenant.client, f"{SESSIONS}/{busy_session}/events", event_type="position")

    assert [event["event_data"]["step"] for event in page["events"]] == [1, 3, 5, 7, 9]
    assert {event["event_type"] for event in page["events"]} == {"position"}
    assert page["limit"] == DEFAULTS.ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT


async def test_event_has_its_times_and_data(tenant: Tenant, busy_session: str) -> None:
    page = await get_ok(tenant.client, f"{SESSIONS}/{busy_session}/events", limit=1)

    event = page["events"][0]
    assert event["event_type"] == "gaze"
    assert event["timestamp"] == "2021-03-01T10:00:00+00:00"
    assert event["client_timestamp"] == "2021-03-01T10:00:00+00:00"
    assert event["event_data"] == {"step": 0}
    assert set(event) == {
        "id",
        "event_id",
        "event_type",
        "timestamp",
        "client_timestamp",
        "received_at",
        "event_data",
    }


async def test_event_cursor_belongs_to_its_session(tenant: Tenant, busy_session: str) -> None:
    page = await get_ok(tenant.client, f"{SESSIONS}/{busy_session}/events", limit=1)
    other = await record(tenant.client, Tour(start=at("2021-03-02T10:00:00"), end=None))

    response = await tenant.client.get(
        f"{SESSIONS}/{other}/events", params={"cursor": page["next_cursor"]}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_event_page_size_is_bounded_by_its_setting(tenant: Tenant, busy_session: str) -> None:
    maximum = DEFAULTS.ANALYTICS_EVENTS_PAGE_SIZE_MAX
    path = f"{SESSIONS}/{busy_session}/events"

    at_edge = await tenant.client.get(path, params={"limit": maximum})
    past_edge = await tenant.client.get(path, params={"limit": maximum + 1})

    assert at_edge.status_code == 200
    assert len(at_edge.json()["events"]) == 11
    assert past_edge.status_code == 422
    assert past_edge.json()["detail"][0]["loc"] == ["query", "limit"]
