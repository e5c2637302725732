"""The Live page in real browsers: two tabs, each on its own server (two replicas on one
database), both show a tour that a third client sends, as it happens."""

import io
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.browser.browsing import CHROMIUM, screenshot
from tests.conftest import fresh_database
from tests.helpers import BATCH, TEST_API_KEY, start_session
from tests.live_server import LiveServer, live_uvicorn

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing", allow_module_level=True)
pytest.importorskip("playwright.async_api", reason="the playwright package is missing")


@pytest.fixture(scope="module")
async def replicas(server_dsn: str, tmp_path_factory: Any) -> AsyncIterator[list[LiveServer]]:
    logs = tmp_path_factory.mktemp("live-browser")
    settings = {"RATE_LIMIT_ENABLED": "false", "SESSION_SWEEP_INTERVAL_SECONDS": "3600"}
    async with (
        fresh_database(server_dsn, prefix="nexero_live_browser") as dsn,
        live_uvicorn(dsn, logs / "a.log", **settings) as first,
        live_uvicorn(dsn, logs / "b.log", **settings) as second,
    ):
        yield [first, second]


async def open_tab(browser: Any, server: LiveServer, fragment: str) -> Any:
    tab = await open_tab_at(browser, server, fragment)
    await tab.wait_for_selector("[data-testid=live-status]:text('Live')")
    return tab


async def open_tab_at(browser: Any, server: LiveServer, fragment: str) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(20_000)
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    tab.problems = problems
    await tab.goto(f"{server.base_url}/dashboard#{fragment}")
    await tab.fill("[data-testid=key-input]", TEST_API_KEY)
    await tab.click("[data-testid=key-submit]")
    return tab


async def send(client: httpx.AsyncClient, session_id: str, events: list[dict[str, Any]]) -> None:
    answer = await client.post(BATCH, json={"session_id": session_id, "events": events})
    assert answer.status_code == 202 and answer.json()["failed"] == 0, answer.text


async def test_two_tabs_on_two_servers_show_a_tour_sent_by_a_third_client(
    browser: Any, replicas: list[LiveServer], artifacts_dir: Path
) -> None:
    tabs = [await open_tab(browser, server, "/live") for server in replicas]
    async with httpx.AsyncClient(
        base_url=replicas[0].base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as headset:
        session_id = await start_session(headset, customer_id=f"visitor-{uuid.uuid4().hex[:6]}")
        row = f"[data-testid=live-tour][data-session-id='{session_id}']"
        for tab in tabs:
            await tab.wait_for_selector(row)
        now = time.time()
        await send(
            headset,
            session_id,
            [
                {"event_type": "room_view", "timestamp": now, "event_data": {"room_name": "Study"}},
                {
                    "event_type": "unit_selection",
                    "timestamp": now + 1,
                    "event_data": {"name": "Loft C"},
                },
            ],
        )
        for tab in tabs:
            room = await tab.wait_for_selector(f"{row} [data-testid=live-room]:text('Study')")
            assert await room.text_content() == "Study"
            signal = await tab.text_content(f"{row} [data-testid=live-signal]")
            assert signal == "unit_selection: Loft C"
        await screenshot(tabs[1], artifacts_dir, "live-tours")
        # The tour page: its events and path grow as they are sent.
        tour_tab = await open_tab(browser, replicas[1], f"/live/{session_id}")
        await tour_tab.wait_for_selector("[data-testid=live-current-room]:text('Study')")
        positions = [
            {
                "event_type": "position",
                "timestamp": now + 2 + step,
                "event_data": {"x": 100.0 * step, "y": 50.0 * step, "z": 0},
            }
            for step in range(3)
        ]
        await send(headset, session_id, positions)
        await tour_tab.wait_for_selector("[data-testid=path-view][data-points='3']")
        await send(
            headset,
            session_id,
            [
                {
                    "event_type": "room_view",
                    "timestamp": now + 9,
                    "event_data": {"room_name": "Hall"},
                }
            ],
        )
        await tour_tab.wait_for_selector("[data-testid=live-current-room]:text('Hall')")
        shown = await tour_tab.locator("[data-testid=live-event]").count()
        assert shown == 6
        await screenshot(tour_tab, artifacts_dir, "live-tour")
        # The tour ends: it leaves the list of tours in progress.
        ended = await headset.post(
            "/api/v1/unreal/session/end", json={"session_id": session_id, "session_end": now + 20}
        )
        assert ended.status_code in (200, 201), ended.text
        for tab in tabs:
            await tab.wait_for_selector(row, state="detached")
    for tab in [*tabs, tour_tab]:
        assert tab.problems == []
        await tab.context.close()


async def test_a_replay_follows_the_timeline_to_its_end(
    browser: Any, replicas: list[LiveServer], artifacts_dir: Path
) -> None:
    async with httpx.AsyncClient(
        base_url=replicas[0].base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as headset:
        start = time.time() - 600
        session_id = await start_session(headset, session_start=start)
        rooms = [(0, "Hall"), (20, "Kitchen"), (45, "Terrace")]
        events = [
            {"event_type": "room_view", "timestamp": start + at, "event_data": {"room_name": name}}
            for at, name in rooms
        ] + [
            {
                "event_type": "position",
                "timestamp": start + at,
                "event_data": {"x": at * 10.0, "y": (at % 7) * 30.0, "z": 0},
            }
            for at in range(0, 60, 5)
        ]
        await send(headset, session_id, events)
        ended = await headset.post(
            "/api/v1/unreal/session/end", json={"session_id": session_id, "session_end": start + 60}
        )
        assert ended.status_code in (200, 201), ended.text
    tab = await open_tab_at(browser, replicas[1], f"/sessions/{session_id}")
    replay = "[data-testid=replay]"
    await tab.wait_for_selector(f"{replay}[data-positions='12']")
    # The slider at 30 s: the timeline's room then is the Kitchen (20 s to 45 s).
    await tab.eval_on_selector(
        "[data-testid=replay-slider]",
        "slider => { slider.value = '30000'; slider.dispatchEvent(new Event('input')); }",
    )
    assert await tab.text_content("[data-testid=replay-room]") == "Kitchen"
    assert await tab.get_attribute(f"{replay} [data-testid=path-view]", "data-points") == "7"
    await tab.select_option("[data-testid=replay-speed]", "256")
    await tab.eval_on_selector(
        "[data-testid=replay-slider]",
        "slider => { slider.value = '0'; slider.dispatchEvent(new Event('input')); }",
    )
    await tab.click("[data-testid=replay-play]")
    await tab.wait_for_selector(f"{replay}[data-state='ended']")
    assert await tab.text_content("[data-testid=replay-room]") == "Terrace"
    assert await tab.get_attribute(f"{replay} [data-testid=path-view]", "data-points") == "12"
    await screenshot(tab, artifacts_dir, "replay")
    assert tab.problems == []
    await tab.context.close()


async def upload_plan(
    client: httpx.AsyncClient, property_id: str, storey: int, name: str, heights: tuple
) -> None:
    """A 400 x 300 plan whose edges are world x -1000 and 1000, y -750 and 750 (5 cm a pixel),
    spanning the heights (z_min, z_max)."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (0, 200, 0)).save(buffer, format="PNG")
    path = f"/api/v1/admin/properties/{property_id}/floor-plans/{storey}"
    uploaded = await client.put(
        f"{path}/image", content=buffer.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    box = {"left": -1000, "top": -750, "right": 1000, "bottom": 750}
    z_min, z_max = heights
    placement = {"name": name, "calibration": {"box": box}, "z_min": z_min, "z_max": z_max}
    placed = await client.put(path, json=placement)
    assert placed.status_code == 200, placed.text


def last_point(points: str) -> tuple[float, float]:
    u, v = points.split()[-1].split(",")
    return float(u), float(v)


async def test_live_paths_and_replays_are_drawn_over_the_floor_plan(
    browser: Any, replicas: list[LiveServer], artifacts_dir: Path
) -> None:
    property_id = f"planned-{uuid.uuid4().hex[:6]}"
    path_view = "[data-testid=path-view]"
    async with httpx.AsyncClient(
        base_url=replicas[0].base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as headset:
        await upload_plan(headset, property_id, 0, "Ground", (None, 300))
        await upload_plan(headset, property_id, 1, "First", (300, None))
        session_id = await start_session(headset, property_id=property_id)
        tab = await open_tab(browser, replicas[1], f"/live/{session_id}")
        await tab.wait_for_selector(f"{path_view}[data-plan='0']")
        assert (await tab.text_content("[data-testid=path-note]")).startswith(
            "Over the floor plan of storey 0 (Ground)"
        )
        now = time.time()
        # World (500, 250) is pixel (300, 200); (-1000, -750) the plan's top-left corner.
        walk = [(-1000.0, -750.0), (0.0, 0.0), (500.0, 250.0)]
        await send(
            headset,
            session_id,
            [
                {
                    "event_type": "position",
                    "timestamp": now + step,
                    "event_data": {"x": x, "y": y, "z": 160},
                }
                for step, (x, y) in enumerate(walk)
            ],
        )
        await tab.wait_for_selector(f"{path_view}[data-points='3']")
        points = await tab.get_attribute(f"{path_view} polyline", "points")
        assert points == "0,0 200,150 300,200"
        background = await tab.get_attribute(f"{path_view} image", "href")
        assert background.startswith("blob:")
        await screenshot(tab, artifacts_dir, "live-path-over-plan")
        # Up the stairs: the page turns to the first floor's plan, which holds one position.
        upstairs = {"x": 0.0, "y": 0.0, "z": 460}
        await send(
            headset,
            session_id,
            [{"event_type": "position", "timestamp": now + 4, "event_data": upstairs}],
        )
        await tab.wait_for_selector(f"{path_view}[data-plan='1'][data-points='1']")
        assert await tab.get_attribute(f"{path_view} polyline", "points") == "200,150"
        ended = await headset.post(
            "/api/v1/unreal/session/end", json={"session_id": session_id, "session_end": now + 5}
        )
        assert ended.status_code in (200, 201), ended.text
    # The replay of the same tour, on the other server, ends where the tour ended.
    replay = await open_tab_at(browser, replicas[0], f"/sessions/{session_id}")
    await replay.wait_for_selector(f"[data-testid=replay] {path_view}[data-plan='0']")
    await replay.select_option("[data-testid=replay-speed]", "16")
    await replay.click("[data-testid=replay-play]")
    await replay.wait_for_selector("[data-testid=replay][data-state='ended']")
    # It ended upstairs, as the tour did: on the first floor's plan, at its one position.
    shown = f"[data-testid=replay] {path_view}"
    assert await replay.get_attribute(shown, "data-plan") == "1"
    points = await replay.get_attribute(f"{shown} polyline", "points")
    assert last_point(points) == (200, 150)
    for page in (tab, replay):
        assert page.problems == []
        await page.context.close()


async def test_without_a_floor_plan_the_path_says_so(
    browser: Any, replicas: list[LiveServer]
) -> None:
    async with httpx.AsyncClient(
        base_url=replicas[0].base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as headset:
        session_id = await start_session(headset, property_id=f"bare-{uuid.uuid4().hex[:6]}")
    tab = await open_tab(browser, replicas[1], f"/live/{session_id}")
    await tab.wait_for_selector(
        "[data-testid=path-note]:text('No floor plan for this property: the path is drawn on "
        "a blank square.')"
    )
    assert await tab.get_attribute("[data-testid=path-view]", "data-plan") == "none"
    assert tab.problems == []
    await tab.context.close()
