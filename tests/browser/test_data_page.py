"""The dashboard's Data page, and what the session and property pages say about events no
figure reads, in a real browser: a live server holding an agency's own dialect beside the
vocabulary, garbage durations and blank names; every number shown is the catalogue's answer."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.browsing import (
    CHROMIUM,
    SeededDashboard,
    api,
    fragment,
    screenshot,
    settle,
    sign_in,
    table_rows,
    text,
)
from tests.browser.shown import shown_count
from tests.helpers import BATCH, START, TEST_API_KEY, create_key
from tests.live_server import LiveServer

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)
pytest.importorskip("playwright.async_api", reason="the playwright package is missing")

DIALECT_SESSION = str(uuid.uuid4())
VOCABULARY_SESSION = str(uuid.uuid4())
DIALECT_EVENTS = [
    {
        "event_type": "ViewChanged",
        "event_data": {"payload": {"room": {"name": "Kitchen"}}, "Ms": "42500"},
    },
    {
        "event_type": "ViewChanged",
        "event_data": {"payload": {"room": {"name": "Hall"}}, "Ms": "8000"},
    },
    {"event_type": "unit_selected", "event_data": {"Unit": "7C", "Area": "1250"}},
]
VOCABULARY_EVENTS = [
    {"event_type": "room_view", "event_data": {"room_name": "  ", "duration": "garbage"}},
    {"event_type": "room_view", "event_data": {"room_name": "Kitchen", "duration": 10}},
]
AGENCY_MAPPING = {
    "presets": ["unreal-original"],
    "rules": [
        {
            "source_type": "ViewChanged",
            "target_type": "room_view",
            "fields": {
                "room_name": "payload.room.name",
                "duration": {"path": "Ms", "unit": "milliseconds"},
            },
        }
    ],
}
DEFAULT_MAPPING = {"presets": ["unreal-original"], "rules": []}


async def record(
    client: httpx.AsyncClient, session_id: str, property_id: str, events: list[dict[str, Any]]
) -> None:
    start = time.time() - 3600
    response = await client.post(
        START,
        json={"session_id": session_id, "session_start": start, "property_id": property_id},
    )
    assert response.status_code == 201, response.text
    timed = [{**event, "timestamp": start + 10 * (index + 1)} for index, event in enumerate(events)]
    response = await client.post(BATCH, json={"session_id": session_id, "events": timed})
    assert response.json()["failed"] == 0, response.text


@pytest.fixture(scope="module")
async def seeded(live_dashboard_server: LiveServer) -> SeededDashboard:
    """One session in an agency's own dialect (prop_dialect), one in the vocabulary with a
    blank name and a garbage duration (prop_vocabulary); a read-only key for the browser."""
    today = datetime.now(UTC).date()
    async with httpx.AsyncClient(
        base_url=live_dashboard_server.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as admin:
        await record(admin, DIALECT_SESSION, "prop_dialect", DIALECT_EVENTS)
        await record(admin, VOCABULARY_SESSION, "prop_vocabulary", VOCABULARY_EVENTS)
        reader = await create_key(admin, "read", name="data page browser test")
        ingester = await create_key(admin, "ingest", name="data page browser test (ingest)")
    return SeededDashboard(
        server=live_dashboard_server,
        read_key=reader["key"],
        ingest_key=ingester["key"],
        tours=[],
        first_day=today - timedelta(days=6),
        last_day=today,
    )


async def save_mapping(seeded: SeededDashboard, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(
        base_url=seeded.server.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as admin:
        response = await admin.put("/api/v1/admin/event-mapping", json=body)
    assert response.status_code == 200, response.text


async def row_classes(page: Any, testid: str, attribute: str) -> dict[str, str]:
    """Each row's data attribute -> its class (uncounted rows are highlighted)."""
    return await page.locator(f"[data-testid={testid}-row]").evaluate_all(
        "(rows, attribute) => Object.fromEntries(rows.map((row) => "
        "[row.dataset[attribute], row.className]))",
        attribute,
    )


async def test_the_data_page_lists_the_catalogue_and_highlights_what_counts_for_nothing(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    catalogue = await api(seeded, "/events/catalogue", **seeded.api_period)
    types = {entry["event_type"]: entry for entry in catalogue["types"]}

    await sign_in(page, seeded, fragment("data", seeded.period))
    await screenshot(page, artifacts_dir, "data")

    assert await page.locator("[data-testid=page-data]").count() == 1
    assert sorted(await table_rows(page, "catalogue-types", ["type", "understood", "events"])) == [
        (name, entry["understood"], shown_count(entry["events"]))
        for name, entry in sorted(types.items())
    ]
    assert {name: entry["understood"] for name, entry in types.items()} == {
        "ViewChanged": "ignored",
        "unit_selected": "ignored",
        "room_view": "vocabulary",
    }
    assert await row_classes(page, "catalogue-types", "type") == {
        "ViewChanged": "uncounted",
        "unit_selected": "uncounted",
        "room_view": "",
    }
    warning = await text(page, "data-ignored")
    assert "3 events of 2 types count for nothing" in warning
    assert "docs/events.md#mappings-a-clients-own-vocabulary" in warning
    room_view = page.locator("[data-testid=data-fields][data-type=room_view]")
    fields = {
        cells[0]: cells[1:]
        for cells in [
            tuple(
                [
                    (await row.locator(f"[data-testid=catalogue-fields-{column}]").text_content())
                    or ""
                    for column in ("path", "understood", "unreadable")
                ]
            )
            for row in await room_view.locator("[data-testid=catalogue-fields-row]").all()
        ]
    }
    assert fields == {"room_name": ("vocabulary", "1"), "duration": ("vocabulary", "1")}


async def test_a_saved_mapping_turns_ignored_types_into_mapped_ones_on_the_data_page(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    await save_mapping(seeded, AGENCY_MAPPING)
    try:
        await sign_in(page, seeded, fragment("data", seeded.period))
        await screenshot(page, artifacts_dir, "data-mapped")
        types = await row_classes(page, "catalogue-types", "type")
        view_changed = page.locator("[data-testid=data-fields][data-type=ViewChanged]")
        paths = await view_changed.locator("[data-testid=catalogue-fields-row]").evaluate_all(
            "rows => Object.fromEntries(rows.map((row) => [row.dataset.path, row.className]))"
        )
    finally:
        await save_mapping(seeded, DEFAULT_MAPPING)

    assert types == {"ViewChanged": "", "unit_selected": "uncounted", "room_view": ""}
    assert paths == {"payload": "", "payload.room.name": "", "Ms": ""}
    assert "1 event of 1 type counts for nothing" in await text(page, "data-ignored")


async def test_the_session_page_says_how_many_events_no_figure_reads(
    page: Any, seeded: SeededDashboard
) -> None:
    detail = await api(seeded, f"/sessions/{DIALECT_SESSION}")

    await sign_in(page, seeded, fragment(f"sessions/{DIALECT_SESSION}", seeded.period))

    assert detail["events_not_understood"] == 3
    assert await text(page, "session-not-understood") == shown_count(3)
    note = await text(page, "session-not-understood-note")
    assert "3 events are of types no figure reads" in note
    await settle(page, lambda: page.click("[data-testid=session-not-understood-note] a >> nth=0"))
    assert await page.locator("[data-testid=page-data]").count() == 1


async def test_an_empty_property_report_says_why_when_its_sessions_sent_events(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    report = await api(seeded, "/properties/prop_dialect/report", **seeded.api_period)

    await sign_in(page, seeded, fragment("properties/prop_dialect", seeded.period))
    await screenshot(page, artifacts_dir, "property-empty-reason")

    assert report["rooms"]["total"] == 0
    assert report["events_not_understood"] == {"ViewChanged": 2, "unit_selected": 1}
    reason = await text(page, "property-empty-reason")
    assert "empty although its sessions sent 3 events" in reason
    assert "ViewChanged: 2, unit_selected: 1" in reason


async def test_a_property_whose_events_are_all_read_has_no_warning(
    page: Any, seeded: SeededDashboard
) -> None:
    await sign_in(page, seeded, fragment("properties/prop_vocabulary", seeded.period))

    assert await page.locator("[data-testid=property-empty-reason]").count() == 0
    assert await page.locator("[data-testid=property-not-understood]").count() == 0
    assert await page.locator("[data-testid=rooms-row]").count() == 1
