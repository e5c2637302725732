"""Event mappings (docs/events.md, "Mappings"): saved as versions through the admin API,
checked before they are saved, audited, read by every report, and applied to the events stored
before them too."""

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.services.access.keys import AccessService, Scope
from tests.api.v1.analytics_data import SESSIONS, Tenant, get_ok
from tests.conftest import AppFactory, create_project_key, serve_app
from tests.helpers import BATCH, START

MAPPING = "/api/v1/admin/event-mapping"
REPORT = "/api/v1/properties/prop_mapped/report"
VIEW_CHANGED = {
    "source_type": "ViewChanged",
    "target_type": "room_view",
    "fields": {
        "room_name": "payload.room.name",
        "duration": {"path": "Ms", "unit": "milliseconds"},
    },
}


@pytest.fixture
async def admin(access: AccessService, database_dsn: str) -> AsyncIterator[Tenant]:
    """A fresh project per test, with an all-scope key."""
    project = await create_project_key(access, f"mapping {uuid.uuid4().hex[:8]}")
    async with serve_app(database_dsn, api_key=project.key) as client:
        yield Tenant(client=client, project_id=project.project_id, key=project.key)


async def put(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.put(MAPPING, json=body)


async def a_session_with(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> str:
    session_id = str(uuid.uuid4())
    start = time.time() - 600
    response = await client.post(
        START,
        json={"session_id": session_id, "session_start": start, "property_id": "prop_mapped"},
    )
    assert response.status_code == 201, response.text
    timed = [{**event, "timestamp": start + 10 * (index + 1)} for index, event in enumerate(events)]
    response = await client.post(BATCH, json={"session_id": session_id, "events": timed})
    assert response.json()["failed"] == 0, response.text
    return session_id


async def rooms(client: httpx.AsyncClient, session_id: str) -> dict[str, float]:
    detail = await get_ok(client, f"{SESSIONS}/{session_id}")
    return {room["room"]: room["dwell_seconds"] for room in detail["rooms"]}


async def test_a_project_starts_with_the_original_clients_mapping(admin: Tenant) -> None:
    mapping = await get_ok(admin.client, MAPPING)

    assert mapping == {
        "version": 0,
        "presets": ["unreal-original"],
        "rules": [],
        "created_at": None,
        "actor": None,
    }


async def test_each_save_is_a_new_version_kept_and_audited(admin: Tenant) -> None:
    first = await put(admin.client, {"presets": [], "rules": [VIEW_CHANGED]})
    second = await put(admin.client, {"presets": ["unreal-original"], "rules": []})

    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert first.json()["rules"][0]["fields"] == {
        "room_name": {"path": ["payload", "room", "name"], "unit": "seconds"},
        "duration": {"path": ["Ms"], "unit": "milliseconds"},
    }
    assert (await get_ok(admin.client, MAPPING))["version"] == 2
    versions = (await get_ok(admin.client, f"{MAPPING}/versions"))["versions"]
    assert [version["version"] for version in versions] == [2, 1]
    audit = await get_ok(admin.client, "/api/v1/admin/audit")
    saves = [entry for entry in audit["entries"] if entry["action"] == "event_mapping.save"]
    assert [entry["target"] for entry in saves] == ["version 2", "version 1"]
    assert saves[1]["details"]["rules"] == ["ViewChanged -> room_view"]


@pytest.mark.parametrize(
    ("rules", "presets", "location", "words"),
    [
        (
            [{**VIEW_CHANGED, "target_type": "room_visit"}],
            [],
            ["rules", 0, "target_type"],
            "not in the vocabulary",
        ),
        (
            [{**VIEW_CHANGED, "fields": {"room": "Room"}}],
            [],
            ["rules", 0, "fields", "room"],
            "room_view has no field 'room'",
        ),
        ([VIEW_CHANGED, VIEW_CHANGED], [], ["rules", 1, "source_type"], "mapped twice"),
        (
            [{"source_type": "view", "target_type": "room_view"}],
            [],
            ["rules", 0, "source_type"],
            "vocabulary type",
        ),
        (
            [
                {
                    "source_type": "Clicked",
                    "target_type": "interaction",
                    "fields": {"object": {"path": "Thing", "unit": "milliseconds"}},
                }
            ],
            [],
            ["rules", 0, "fields", "object", "unit"],
            "only durations take a unit",
        ),
        (
            [{**VIEW_CHANGED, "fields": {"room_name": "payload..name"}}],
            [],
            ["rules", 0, "fields", "room_name", "path"],
            "1 to 128 characters",
        ),
        (
            [{"source_type": "View Changed!", "target_type": "room_view"}],
            [],
            ["rules", 0, "source_type"],
            "must be an event type",
        ),
        ([], ["unreal-remastered"], ["presets", 0], "no built-in mapping"),
    ],
)
async def test_a_mapping_that_cannot_work_is_refused_naming_the_rule(
    admin: Tenant, rules: list, presets: list, location: list, words: str
) -> None:
    response = await put(admin.client, {"presets": presets, "rules": rules})

    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"] == ["body", *location] and words in p["msg"] for p in problems), problems
    assert (await get_ok(admin.client, MAPPING))["version"] == 0


async def test_a_mapping_says_which_presets_and_rules_it_holds(admin: Tenant) -> None:
    """Saving replaces the whole mapping: an empty body is refused, not read as "nothing"."""
    response = await put(admin.client, {})

    assert response.status_code == 422
    assert {tuple(problem["loc"]) for problem in response.json()["detail"]} == {
        ("body", "presets"),
        ("body", "rules"),
    }


async def test_rules_are_limited_by_a_setting(app_with: AppFactory, access: AccessService) -> None:
    project = await create_project_key(access, "mapping limit")
    rules = [{"source_type": f"Seen{index}", "target_type": "view"} for index in range(3)]
    async with app_with(EVENT_MAPPING_MAX_RULES=2) as client:
        client.headers["X-API-Key"] = project.key
        at_the_limit = await put(client, {"presets": [], "rules": rules[:2]})
        past_it = await put(client, {"presets": [], "rules": rules})

    assert at_the_limit.status_code == 200, at_the_limit.text
    assert past_it.status_code == 422
    assert past_it.json()["detail"][0]["loc"] == ["body", "rules"]


async def test_only_admin_keys_see_or_change_the_mapping(
    access: AccessService, database_dsn: str
) -> None:
    reader = await create_project_key(
        access, "mapping reader", frozenset({Scope.READ, Scope.INGEST})
    )
    async with serve_app(database_dsn, api_key=reader.key) as client:
        assert (await client.get(MAPPING)).status_code == 403
        assert (await put(client, {"presets": [], "rules": [VIEW_CHANGED]})).status_code == 403


async def test_a_saved_mapping_applies_to_the_events_stored_before_it(admin: Tenant) -> None:
    """Events stored under the client's own names count for nothing; the mapping saved later
    makes last month's figures right, and a corrected one changes them again."""
    client = admin.client
    session_id = await a_session_with(
        client,
        [
            {
                "event_type": "ViewChanged",
                "event_data": {
                    "payload": {"room": {"name": "Kitchen"}},
                    "Ms": 4500,
                    "Alt": "Pantry",
                },
            },
            {
                "event_type": "ViewChanged",
                "event_data": {"payload": {"room": {"name": "Study"}}, "Ms": "2500", "Alt": "Den"},
            },
            {"event_type": "position", "event_data": {"x": 1, "y": 2, "z": 160}},
        ],
    )
    unmapped = await rooms(client, session_id)
    unmapped_detail = await get_ok(client, f"{SESSIONS}/{session_id}")
    unmapped_report = await get_ok(client, REPORT)

    await put(client, {"presets": [], "rules": [VIEW_CHANGED]})
    mapped = await rooms(client, session_id)
    mapped_detail = await get_ok(client, f"{SESSIONS}/{session_id}")
    mapped_report = await get_ok(client, REPORT)
    corrected_rule = {**VIEW_CHANGED, "fields": {"room_name": "Alt"}}
    await put(client, {"presets": [], "rules": [corrected_rule]})
    corrected = await rooms(client, session_id)

    assert unmapped == {}
    assert (unmapped_detail["events_not_understood"], mapped_detail["events_not_understood"]) == (
        2,
        0,
    )
    assert unmapped_report["events_not_understood"] == {"ViewChanged": 2}
    assert unmapped_report["rooms"]["items"] == []
    assert mapped_report["events_not_understood"] == {}
    assert mapped_report["event_counts"] == {"ViewChanged": 2, "position": 1}
    assert mapped == {"Kitchen": 4.5, "Study": 2.5}
    assert corrected == {"Pantry": 10.0, "Den": 10.0}


async def test_the_original_clients_records_are_read_until_the_preset_is_turned_off(
    admin: Tenant,
) -> None:
    client = admin.client
    session_id = await a_session_with(
        client,
        [
            {"event_type": "View", "event_data": {"View": "Amenities", "TotalDuration": "0:06"}},
            {"event_type": "position", "event_data": {"x": 1, "y": 2, "z": 160}},
        ],
    )
    by_default = await rooms(client, session_id)

    await put(client, {"presets": [], "rules": []})
    turned_off = await rooms(client, session_id)

    assert by_default == {"Amenities": 6.0}
    assert turned_off == {}


async def test_one_projects_mapping_is_not_anothers(
    admin: Tenant, access: AccessService, database_dsn: str
) -> None:
    event = {"event_type": "ViewChanged", "event_data": {"payload": {"room": {"name": "Hall"}}}}
    other = await create_project_key(access, "mapping other")
    async with serve_app(database_dsn, api_key=other.key) as other_client:
        others_session = await a_session_with(other_client, [event])
        await put(admin.client, {"presets": [], "rules": [VIEW_CHANGED]})

        assert await rooms(other_client, others_session) == {}
        assert (await get_ok(other_client, MAPPING))["version"] == 0
