"""The list of properties: every property with sessions started in the period, with exact
counts, paged by cursor to the last one (no property is cut off), limits at and past their
edge. Isolation between projects is in test_analytics_isolation."""

import pytest

from app.config import Settings
from tests.api.v1.analytics_data import Tenant, Tour, at, get_ok, record
from tests.conftest import serve_app

PROPERTIES = "/api/v1/properties"
DEFAULTS = Settings(_env_file=None)
MARCH = {"from": "2021-03-01", "to": "2021-04-01"}


def tour(start: str, property_id: str | None, customer_id: str | None) -> Tour:
    return Tour(start=at(start), end=None, property_id=property_id, customer_id=customer_id)


@pytest.fixture(scope="module")
async def march(tenant: Tenant) -> None:
    """Sessions around March 2021; the comments say what each adds to March's list."""
    for session in [
        # prop_b: 4 sessions of customers c1 and c2 (one session has no customer).
        tour("2021-03-01T00:00:00", "prop_b", "c1"),
        tour("2021-03-05T10:00:00", "prop_b", "c2"),
        tour("2021-03-20T10:00:00", "prop_b", "c1"),
        tour("2021-03-31T23:59:59.5", "prop_b", None),
        # prop_a: 1 session.
        tour("2021-03-10T08:30:00", "prop_a", "c3"),
        # No property: in no list.
        tour("2021-03-11T09:00:00", None, "c1"),
        # prop_c: just before March, and on April 1st (`to` is exclusive).
        tour("2021-02-28T23:59:59", "prop_c", "c4"),
        tour("2021-04-01T00:00:00", "prop_c", "c4"),
    ]:
        await record(tenant.client, session)


def rows(page: dict) -> list[tuple[str, int, int, str]]:
    return [
        (row["property_id"], row["sessions"], row["unique_customers"], row["last_session_at"])
        for row in page["properties"]
    ]


async def test_properties_of_a_period_with_their_counts(tenant: Tenant, march: None) -> None:
    page = await get_ok(tenant.client, PROPERTIES, **MARCH)

    assert rows(page) == [
        ("prop_a", 1, 1, "2021-03-10T08:30:00+00:00"),
        ("prop_b", 4, 2, "2021-03-31T23:59:59.500000+00:00"),
    ]
    assert page["period"] == {
        "from": "2021-03-01T00:00:00+00:00",
        "to": "2021-04-01T00:00:00+00:00",
    }
    assert (page["next_cursor"], page["limit"]) == (None, DEFAULTS.ANALYTICS_PAGE_SIZE_DEFAULT)


async def test_without_a_period_every_property_is_listed(tenant: Tenant, march: None) -> None:
    page = await get_ok(tenant.client, PROPERTIES)

    assert rows(page) == [
        ("prop_a", 1, 1, "2021-03-10T08:30:00+00:00"),
        ("prop_b", 4, 2, "2021-03-31T23:59:59.500000+00:00"),
        ("prop_c", 2, 1, "2021-04-01T00:00:00+00:00"),
    ]
    assert page["period"] == {"from": None, "to": None}


async def test_pages_continue_by_cursor_to_the_last_property(tenant: Tenant, march: None) -> None:
    first = await get_ok(tenant.client, PROPERTIES, limit=2)
    second = await get_ok(tenant.client, PROPERTIES, limit=2, cursor=first["next_cursor"])

    assert [row[0] for row in rows(first)] == ["prop_a", "prop_b"]
    assert first["next_cursor"] is not None
    assert rows(second) == [("prop_c", 2, 1, "2021-04-01T00:00:00+00:00")]
    assert second["next_cursor"] is None


async def test_a_page_that_ends_exactly_at_the_last_property_says_so(
    tenant: Tenant, march: None
) -> None:
    page = await get_ok(tenant.client, PROPERTIES, limit=3)

    assert len(page["properties"]) == 3
    assert page["next_cursor"] is None


async def test_page_size_default_and_maximum_are_settings(
    database_dsn: str, tenant: Tenant, march: None
) -> None:
    async with serve_app(
        database_dsn,
        api_key=tenant.key,
        ANALYTICS_PAGE_SIZE_DEFAULT=1,
        ANALYTICS_PAGE_SIZE_MAX=2,
    ) as client:
        by_default = await get_ok(client, PROPERTIES)
        at_edge = await get_ok(client, PROPERTIES, limit=2)
        past_edge = await client.get(PROPERTIES, params={"limit": 3})

    assert ([row[0] for row in rows(by_default)], by_default["limit"]) == (["prop_a"], 1)
    assert [row[0] for row in rows(at_edge)] == ["prop_a", "prop_b"]
    assert past_edge.status_code == 422
    assert past_edge.json()["detail"] == [
        {"type": "value_error", "loc": ["query", "limit"], "msg": "must be at most 2"}
    ]


async def test_default_maximum_page_size_is_accepted_and_one_more_is_not(tenant: Tenant) -> None:
    maximum = DEFAULTS.ANALYTICS_PAGE_SIZE_MAX
    at_edge = await tenant.client.get(PROPERTIES, params={"limit": maximum})
    past_edge = await tenant.client.get(PROPERTIES, params={"limit": maximum + 1})

    assert at_edge.status_code == 200
    assert at_edge.json()["limit"] == maximum
    assert past_edge.status_code == 422
    assert past_edge.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_long_non_ascii_property_ids_page_through(tenant: Tenant) -> None:
    """Ids of the longest storable length, in four-byte characters: the cursor after one
    must still be accepted."""
    length = DEFAULTS.MAX_LABEL_LENGTH
    names = ["\U0001f3e0" * length, "\U0001f3e1" * length]
    for name in names:
        start = at("2019-07-01T10:00:00")
        await record(tenant.client, Tour(start=start, end=start + 60, property_id=name))
    july = {"from": "2019-07-01", "to": "2019-07-02"}

    first = await get_ok(tenant.client, PROPERTIES, limit=1, **july)
    second = await get_ok(tenant.client, PROPERTIES, limit=1, cursor=first["next_cursor"], **july)

    listed = [row["property_id"] for row in first["properties"] + second["properties"]]
    assert sorted(listed) == sorted(names)
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        # A sessions cursor does not continue the list of properties.
        ({"cursor": "eyJrIjoic2Vzc2lvbnM6ZGVzYyIsInYiOltdfQ"}, "cursor"),
        ({"from": "2021-03-02", "to": "2021-03-01"}, "to"),
        ({"from": "2021-03-01T10:00:00"}, "from"),
    ],
)
async def test_bad_parameters_are_422_naming_them(tenant: Tenant, params: dict, field: str) -> None:
    response = await tenant.client.get(PROPERTIES, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]
