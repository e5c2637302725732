"""The event catalogue (docs/events.md, "The catalogue"): every type and field a project's
clients send, judged as the analytics read it through the mapping in force, with the values
they could not read; bounded by its settings, read scope, one project's events only."""

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.services.access.keys import AccessService, Scope
from tests.api.v1.analytics_data import Tenant, get_ok
from tests.conftest import create_project_key, serve_app
from tests.helpers import BATCH, START

CATALOGUE = "/api/v1/events/catalogue"
MAPPING = "/api/v1/admin/event-mapping"
VIEW_CHANGED = {
    "event_type": "ViewChanged",
    "event_data": {"payload": {"room": {"name": "Kitchen"}}, "Ms": "42500"},
}
UNIT_SELECTED = {"event_type": "unit_selected", "event_data": {"Unit": "7C", "Area": "1250"}}
AGENCY_RULES = [
    {
        "source_type": "ViewChanged",
        "target_type": "room_view",
        "fields": {
            "room_name": "payload.room.name",
            "duration": {"path": "Ms", "unit": "milliseconds"},
        },
    },
    {
        "source_type": "unit_selected",
        "target_type": "unit_selection",
        "fields": {"name": "Unit", "sqft": "Area"},
    },
]


@asynccontextmanager
async def project(
    access: AccessService, database_dsn: str, **settings: Any
) -> AsyncIterator[Tenant]:
    """A fresh project with an all-scope key, served by an app with these settings."""
    created = await create_project_key(access, f"catalogue {uuid.uuid4().hex[:8]}")
    async with serve_app(database_dsn, api_key=created.key, **settings) as client:
        yield Tenant(client=client, project_id=created.project_id, key=created.key)


@pytest.fixture
async def tenant(access: AccessService, database_dsn: str) -> AsyncIterator[Tenant]:
    async with project(access, database_dsn) as fresh:
        yield fresh


async def send(
    client: httpx.AsyncClient, events: list[dict[str, Any]], *, start: float | None = None
) -> None:
    """One session holding `events`, ten seconds apart from `start` (default: ten minutes
    ago)."""
    session_id = str(uuid.uuid4())
    start = time.time() - 600 if start is None else start
    response = await client.post(
        START, json={"session_id": session_id, "session_start": start, "property_id": "prop_c"}
    )
    assert response.status_code == 201, response.text
    timed = [{**event, "timestamp": start + 10 * (index + 1)} for index, event in enumerate(events)]
    response = await client.post(BATCH, json={"session_id": session_id, "events": timed})
    assert response.json()["failed"] == 0, response.text


def by_type(catalogue: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["event_type"]: entry for entry in catalogue["types"]}


def by_path(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {".".join(field["path"]): field for field in entry["fields"]}


def judged(entry: dict[str, Any]) -> dict[str, tuple[str, str | None, bool]]:
    return {
        path: (field["understood"], field["read_as"], field["counted"])
        for path, field in by_path(entry).items()
    }


async def test_vocabulary_types_are_read_as_the_vocabulary_defines_them(tenant: Tenant) -> None:
    await send(
        tenant.client,
        [
            {
                "event_type": "room_view",
                "event_data": {"room_name": "Kitchen", "duration": 12, "position": {"x": 1}},
            },
            {"event_type": "room_view", "event_data": {"room_name": "Hall", "extra": "x"}},
            {"event_type": "menu_open", "event_data": {}},
        ],
    )

    catalogue = await get_ok(tenant.client, CATALOGUE)
    types = by_type(catalogue)

    assert catalogue["events_read"] == 3
    assert catalogue["complete"] is True
    assert catalogue["mapping_version"] == 0
    room_view = types["room_view"]
    assert (room_view["understood"], room_view["read_as"], room_view["events"]) == (
        "vocabulary",
        "room_view",
        2,
    )
    assert judged(room_view) == {
        "room_name": ("vocabulary", "room_view.room_name", True),
        "duration": ("vocabulary", "room_view.duration", True),
        "position": ("vocabulary", "room_view.position", False),
        "extra": ("ignored", None, False),
    }
    fields = by_path(room_view)
    assert fields["room_name"]["events"] == 2
    assert sorted(fields["room_name"]["examples"]) == ["Hall", "Kitchen"]
    assert fields["room_name"]["unreadable"] == 0
    assert fields["extra"]["unreadable"] is None
    assert fields["room_name"]["first_seen_at"] < fields["room_name"]["last_seen_at"]
    assert fields["duration"]["first_seen_at"] == fields["duration"]["last_seen_at"]
    assert types["menu_open"]["fields"] == []
    assert types["menu_open"]["understood"] == "vocabulary"


async def test_a_custom_dialect_is_ignored_until_mapped_and_then_its_past_events_are_read(
    tenant: Tenant,
) -> None:
    await send(tenant.client, [VIEW_CHANGED, UNIT_SELECTED])

    before = by_type(await get_ok(tenant.client, CATALOGUE))

    assert {name: entry["understood"] for name, entry in before.items()} == {
        "ViewChanged": "ignored",
        "unit_selected": "ignored",
    }
    assert judged(before["ViewChanged"]) == {
        "payload": ("ignored", None, False),
        "Ms": ("ignored", None, False),
    }

    saved = await tenant.client.put(
        MAPPING, json={"presets": ["unreal-original"], "rules": AGENCY_RULES}
    )
    assert saved.status_code == 200, saved.text
    catalogue = await get_ok(tenant.client, CATALOGUE)
    after = by_type(catalogue)

    assert catalogue["mapping_version"] == 1
    assert (after["ViewChanged"]["understood"], after["ViewChanged"]["read_as"]) == (
        "mapped",
        "room_view",
    )
    assert judged(after["ViewChanged"]) == {
        "payload": ("mapped", "room_view.room_name", True),
        "payload.room.name": ("mapped", "room_view.room_name", True),
        "Ms": ("mapped", "room_view.duration", True),
    }
    assert by_path(after["ViewChanged"])["payload.room.name"]["examples"] == ["Kitchen"]
    assert by_path(after["ViewChanged"])["Ms"]["unreadable"] == 0
    assert by_path(after["unit_selected"])["Area"]["unreadable"] is None
    assert judged(after["unit_selected"]) == {
        "Unit": ("mapped", "unit_selection.name", True),
        "Area": ("mapped", "unit_selection.sqft", False),
    }


async def test_the_original_clients_records_are_mapped_by_the_preset(tenant: Tenant) -> None:
    await send(
        tenant.client,
        [
            {"event_type": "View", "event_data": {"View": "Kitchen", "TotalDuration": "0:42"}},
            {"event_type": "POI", "event_data": {"POI": "Sofa", "POI_Duration": "0:05"}},
        ],
    )

    types = by_type(await get_ok(tenant.client, CATALOGUE))

    assert (types["View"]["understood"], types["View"]["read_as"]) == ("mapped", "room_view")
    assert judged(types["View"]) == {
        "View": ("mapped", "room_view.room_name", True),
        "TotalDuration": ("mapped", "room_view.duration", True),
    }
    assert types["POI"]["read_as"] == "poi_visit"


async def test_garbage_durations_and_blank_names_are_counted_as_unreadable(
    tenant: Tenant,
) -> None:
    await send(
        tenant.client,
        [
            {"event_type": "room_view", "event_data": {"room_name": "  ", "duration": "abc"}},
            {"event_type": "room_view", "event_data": {"room_name": 7, "duration": 86401}},
            {"event_type": "room_view", "event_data": {"room_name": "Hall", "duration": -1}},
            {"event_type": "room_view", "event_data": {"room_name": None, "duration": "0:30"}},
            {
                "event_type": "View",
                "event_data": {"View": "", "TotalDuration": "1,77,50,078:30:03"},
            },
            {"event_type": "View", "event_data": {"View": "Bath", "TotalDuration": "86400"}},
            {"event_type": "position", "event_data": {"x": "12.5", "y": "north", "z": 3}},
        ],
    )

    types = by_type(await get_ok(tenant.client, CATALOGUE))

    room_view = by_path(types["room_view"])
    assert (room_view["room_name"]["events"], room_view["room_name"]["unreadable"]) == (4, 2)
    assert (room_view["duration"]["events"], room_view["duration"]["unreadable"]) == (4, 3)
    view = by_path(types["View"])
    assert (view["View"]["unreadable"], view["TotalDuration"]["unreadable"]) == (1, 1)
    position = by_path(types["position"])
    assert [position[axis]["unreadable"] for axis in "xyz"] == [0, 1, 0]


async def test_a_duration_in_milliseconds_is_judged_in_its_unit(tenant: Tenant) -> None:
    rules = [{**AGENCY_RULES[0]}]
    saved = await tenant.client.put(MAPPING, json={"presets": [], "rules": rules})
    assert saved.status_code == 200, saved.text
    # 86,400,000 ms is a day, valid; 86,400,001 ms is past it.
    await send(
        tenant.client,
        [
            {"event_type": "ViewChanged", "event_data": {"Ms": 86_400_000}},
            {"event_type": "ViewChanged", "event_data": {"Ms": 86_400_001}},
        ],
    )

    types = by_type(await get_ok(tenant.client, CATALOGUE))

    assert by_path(types["ViewChanged"])["Ms"]["unreadable"] == 1


async def test_examples_are_the_most_frequent_values_cut_to_their_length(
    access: AccessService, database_dsn: str
) -> None:
    async with project(
        access, database_dsn, CATALOGUE_EXAMPLES=2, CATALOGUE_EXAMPLE_MAX_CHARS=5
    ) as tenant:
        names = ["Hall", "Hall", "Hall", "Attic", "Attic", "Kitchen"]
        await send(
            tenant.client,
            [{"event_type": "room_view", "event_data": {"room_name": name}} for name in names],
        )

        types = by_type(await get_ok(tenant.client, CATALOGUE))

    assert by_path(types["room_view"])["room_name"]["examples"] == ["Hall", "Attic"]


async def test_an_example_longer_than_its_limit_is_cut(
    access: AccessService, database_dsn: str
) -> None:
    async with project(access, database_dsn, CATALOGUE_EXAMPLE_MAX_CHARS=5) as tenant:
        await send(
            tenant.client,
            [
                {"event_type": "room_view", "event_data": {"room_name": "Attic"}},
                {"event_type": "zone_exit", "event_data": {"zone_name": "Kitchen"}},
                {"event_type": "gaze", "event_data": {"target": {"deep": True}}},
            ],
        )

        types = by_type(await get_ok(tenant.client, CATALOGUE))

    assert by_path(types["room_view"])["room_name"]["examples"] == ["Attic"]
    assert by_path(types["zone_exit"])["zone_name"]["examples"] == ["Kitch"]
    assert by_path(types["gaze"])["target"]["examples"] == ['{"dee']


async def test_no_examples_when_none_are_asked_for(
    access: AccessService, database_dsn: str
) -> None:
    async with project(access, database_dsn, CATALOGUE_EXAMPLES=0) as tenant:
        await send(tenant.client, [{"event_type": "gaze", "event_data": {"target": "TV"}}])

        types = by_type(await get_ok(tenant.client, CATALOGUE))

    assert by_path(types["gaze"])["target"]["examples"] == []


@pytest.mark.parametrize(("events", "complete"), [(3, True), (4, False)])
async def test_at_most_the_newest_max_events_are_read(
    access: AccessService, database_dsn: str, events: int, complete: bool
) -> None:
    async with project(access, database_dsn, CATALOGUE_MAX_EVENTS=3) as tenant:
        start = time.time() - 600
        await send(
            tenant.client,
            [{"event_type": f"type_{index}", "event_data": {}} for index in range(events)],
            start=start,
        )

        catalogue = await get_ok(tenant.client, CATALOGUE)

    newest_three = {f"type_{index}" for index in range(events - 3, events)}
    assert catalogue["events_read"] == 3
    assert catalogue["complete"] is complete
    assert set(by_type(catalogue)) == newest_three
    assert datetime.fromisoformat(catalogue["read_from"]) == datetime.fromtimestamp(
        start + 10 * (events - 2), UTC
    )


@pytest.mark.parametrize(("types", "listed"), [(2, 2), (3, 2)])
async def test_at_most_max_types_are_listed_most_events_first(
    access: AccessService, database_dsn: str, types: int, listed: int
) -> None:
    async with project(access, database_dsn, CATALOGUE_MAX_TYPES=2) as tenant:
        # type_0 once, type_1 twice, type_2 three times.
        sent = [
            {"event_type": f"type_{index}", "event_data": {}}
            for index in range(types)
            for _ in range(index + 1)
        ]
        await send(tenant.client, sent)

        catalogue = await get_ok(tenant.client, CATALOGUE)

    assert catalogue["types_total"] == types
    assert [entry["event_type"] for entry in catalogue["types"]] == [
        f"type_{index}" for index in reversed(range(types))
    ][:listed]


@pytest.mark.parametrize(("fields", "listed"), [(2, 2), (3, 2)])
async def test_at_most_max_fields_are_listed_per_type(
    access: AccessService, database_dsn: str, fields: int, listed: int
) -> None:
    async with project(access, database_dsn, CATALOGUE_MAX_FIELDS=2) as tenant:
        data = {f"key_{index}": index for index in range(fields)}
        await send(tenant.client, [{"event_type": "custom", "event_data": data}])

        [entry] = (await get_ok(tenant.client, CATALOGUE))["types"]

    assert entry["fields_total"] == fields
    assert len(entry["fields"]) == listed


async def test_the_period_defaults_to_the_last_default_days(
    access: AccessService, database_dsn: str
) -> None:
    async with project(access, database_dsn, CATALOGUE_DEFAULT_DAYS=2) as tenant:
        now = time.time()
        await send(tenant.client, [{"event_type": "inside", "event_data": {}}], start=now - 86400)
        await send(
            tenant.client, [{"event_type": "outside", "event_data": {}}], start=now - 3 * 86400
        )

        catalogue = await get_ok(tenant.client, CATALOGUE)

    start = datetime.fromisoformat(catalogue["period"]["from"])
    end = datetime.fromisoformat(catalogue["period"]["to"])
    assert set(by_type(catalogue)) == {"inside"}
    assert timedelta(days=3) - timedelta(minutes=1) < end - start <= timedelta(days=3)


async def test_a_period_of_max_days_is_read_and_a_longer_one_refused(
    access: AccessService, database_dsn: str
) -> None:
    async with project(
        access, database_dsn, CATALOGUE_MAX_DAYS=5, CATALOGUE_DEFAULT_DAYS=5
    ) as tenant:
        await send(
            tenant.client,
            [{"event_type": "old", "event_data": {"a": 1}}],
            start=datetime(2024, 5, 30, tzinfo=UTC).timestamp(),
        )
        end = "2024-06-01T00:00:00Z"
        at_edge = await tenant.client.get(
            CATALOGUE, params={"from": "2024-05-27T00:00:00Z", "to": end}
        )
        past_edge = await tenant.client.get(
            CATALOGUE, params={"from": "2024-05-26T23:59:59Z", "to": end}
        )

    assert at_edge.status_code == 200, at_edge.text
    assert set(by_type(at_edge.json())) == {"old"}
    assert past_edge.status_code == 422
    [problem] = past_edge.json()["detail"]
    assert problem["loc"] == ["query", "from"]
    assert "5 days" in problem["msg"]


async def test_a_from_alone_counts_its_days_up_to_now(
    access: AccessService, database_dsn: str
) -> None:
    now = datetime.now(UTC)
    async with project(access, database_dsn, CATALOGUE_MAX_DAYS=5, CATALOGUE_DEFAULT_DAYS=5) as t:
        within = await t.client.get(
            CATALOGUE, params={"from": (now - timedelta(days=4)).isoformat()}
        )
        beyond = await t.client.get(
            CATALOGUE, params={"from": (now - timedelta(days=6)).isoformat()}
        )

    assert within.status_code == 200, within.text
    assert datetime.fromisoformat(within.json()["period"]["to"]) > now
    assert beyond.status_code == 422
    assert beyond.json()["detail"][0]["loc"] == ["query", "from"]


async def test_a_period_that_ends_before_it_starts_is_refused(tenant: Tenant) -> None:
    response = await tenant.client.get(CATALOGUE, params={"from": "2024-06-02", "to": "2024-06-01"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "to"]


async def test_an_empty_period_has_no_types(tenant: Tenant) -> None:
    catalogue = await get_ok(tenant.client, CATALOGUE, **{"from": "2021-01-01", "to": "2021-01-02"})

    assert catalogue["types"] == []
    assert (catalogue["events_read"], catalogue["types_total"]) == (0, 0)
    assert (catalogue["complete"], catalogue["read_from"]) == (True, None)


async def test_the_catalogue_needs_a_key_with_the_read_scope(
    access: AccessService, tenant: Tenant
) -> None:
    ingest_only = await create_project_key(access, "catalogue ingest", frozenset({Scope.INGEST}))
    read_only = await create_project_key(access, "catalogue read", frozenset({Scope.READ}))

    without_key = await tenant.client.get(CATALOGUE, headers={"X-API-Key": ""})
    ingest = await tenant.client.get(CATALOGUE, headers={"X-API-Key": ingest_only.key})
    read = await tenant.client.get(CATALOGUE, headers={"X-API-Key": read_only.key})

    assert without_key.status_code == 401
    assert ingest.status_code == 403
    assert read.status_code == 200


async def test_a_project_sees_only_its_own_events(
    access: AccessService, database_dsn: str, tenant: Tenant
) -> None:
    await send(tenant.client, [{"event_type": "mine", "event_data": {"secret": "ours"}}])
    async with project(access, database_dsn) as other:
        await send(other.client, [{"event_type": "theirs", "event_data": {"secret": "theirs"}}])
        theirs = await get_ok(other.client, CATALOGUE)

    mine = await get_ok(tenant.client, CATALOGUE)

    assert set(by_type(mine)) == {"mine"}
    assert set(by_type(theirs)) == {"theirs"}
