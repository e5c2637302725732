"""The original Unreal client's traffic replayed through a live server (docs/unreal-client.md,
"Existing Blueprint clients"): several headsets at once, each from its own address, two of them
keyless (an unchanged build) and two with a key whose default labels name their property; each
plays tours one after another, sending its records one per request and then the summary in
its local time. One summary comes late (after the next tour's records), one is sent twice, one
tour never ends. Every session comes out with the views, POIs and durations its records carry
(the ground truth of its vocabulary twin, scripts/tours/original.py), and what the dashboard
reads says so."""

import asyncio
import json
import math
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.tours.floor_plans import floor_plans
from scripts.tours.generator import generate_tours
from scripts.tours.original import RECORD_TYPES, OriginalTour, as_original
from scripts.tours.truth import room_dwell, session_seconds
from tests.browser.browsing import CHROMIUM, CHROMIUM_ARGS, settle, table_rows, text
from tests.browser.shown import shown_count, shown_duration
from tests.conftest import REPO_ROOT, fresh_database
from tests.helpers import TEST_API_KEY
from tests.live_server import LiveServer, live_uvicorn

LEGACY = "/api/v1/unreal/session"
TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Headset:
    address: str
    key: str | None
    property_id: str | None
    zone: timezone
    tours: list[OriginalTour]
    unreliable: bool = False
    """Holds back its first summary until its next tour's records are in, and sends its
    other summaries twice."""


@dataclass
class Replayed:
    ends: dict[str, datetime]
    """FGuid -> the end its summary gave."""
    never_ended: list[OriginalTour]
    answers: list[httpx.Response]


@pytest.fixture(scope="module")
async def live(server_dsn: str, tmp_path_factory: Any) -> AsyncIterator[LiveServer]:
    log_path: Path = tmp_path_factory.mktemp("replay") / "uvicorn.log"
    async with (
        fresh_database(server_dsn, prefix="nexero_replay") as dsn,
        live_uvicorn(
            dsn,
            log_path,
            uvicorn_options=("--workers", "2"),
            LEGACY_LINK_TOLERANCE_SECONDS=str(TOLERANCE_SECONDS),
            # These headsets never retry a record: one equal to the one before is a new visit.
            LEGACY_RECORD_REPEAT_SECONDS="0",
            RATE_LIMIT_ENABLED="false",
            SESSION_SWEEP_INTERVAL_SECONDS="3600",
        ) as server,
    ):
        yield server


def headset_client(server: LiveServer, headset: Headset) -> httpx.AsyncClient:
    """A client whose requests come from the headset's own loopback address."""
    return httpx.AsyncClient(
        base_url=server.base_url,
        transport=httpx.AsyncHTTPTransport(local_address=headset.address),
        headers={"X-API-Key": headset.key} if headset.key else {},
        timeout=30,
    )


async def play(server: LiveServer, headset: Headset, replayed: Replayed) -> None:
    """The headset's tours one after another: records, then the summary ending now; the third
    tour never ends."""
    late: tuple[OriginalTour, datetime] | None = None
    async with headset_client(server, headset) as client:
        for number, tour in enumerate(headset.tours):
            for record in tour.records:
                replayed.answers.append(await client.post(LEGACY, json=record))
            if late is not None:
                replayed.answers.append(await client.post(LEGACY, json=late[0].summary(late[1])))
                late = None
            if number == 2:
                replayed.never_ended.append(tour)
                continue
            ends_at = datetime.fromtimestamp(math.floor(time.time()), tz=UTC)
            replayed.ends[tour.fguid] = ends_at
            if headset.unreliable and number == 0:
                late = (tour, ends_at)
            else:
                summary = tour.summary(ends_at)
                replayed.answers.append(await client.post(LEGACY, json=summary))
                if headset.unreliable:
                    replayed.answers.append(await client.post(LEGACY, json=summary))
            # The next tour begins past this one's tolerance, as a new visitor puts it on.
            await asyncio.sleep(ends_at.timestamp() + TOLERANCE_SECONDS + 1.1 - time.time())


@pytest.fixture(scope="module")
async def replay(live: LiveServer) -> tuple[list[Headset], Replayed]:
    generated = generate_tours(
        seed=2718,
        customers=16,
        properties=2,
        sessions_per_customer=(1, 2),
        start=datetime(2024, 6, 1, tzinfo=UTC),
        days=3,
        position_interval=5.0,
    )
    closed = [tour for tour in generated if tour.session_end is not None]
    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as admin:
        switched = await admin.patch(
            "/api/v1/admin/project", json={"accepts_keyless_records": True}
        )
        assert switched.status_code == 200, switched.text
        keys = {}
        for property_id in ("prop_001", "prop_002"):
            created = await admin.post(
                "/api/v1/admin/keys",
                json={
                    "name": f"build {property_id}",
                    "scopes": ["ingest"],
                    "default_labels": {"property_id": property_id},
                },
            )
            assert created.status_code == 201, created.text
            keys[property_id] = created.json()["key"]
    plans = [
        ("127.0.0.2", None, None, timezone(timedelta(hours=5, minutes=30))),
        ("127.0.0.3", None, None, timezone(timedelta(hours=-5))),
        ("127.0.0.4", keys["prop_001"], "prop_001", timezone(timedelta(hours=1))),
        ("127.0.0.5", keys["prop_002"], "prop_002", UTC),
    ]
    # An unchanged build (keyless) sends no customer; one given a key may add it.
    headsets = [
        Headset(
            address,
            key,
            property_id,
            zone,
            [
                as_original(tour, zone=zone, customer_in_summary=key is not None)
                for tour in closed[number * 3 : number * 3 + 3]
            ],
            unreliable=number == 0,
        )
        for number, (address, key, property_id, zone) in enumerate(plans)
    ]
    replayed = Replayed(ends={}, never_ended=[], answers=[])
    async with asyncio.timeout(120):
        await asyncio.gather(*(play(live, headset, replayed) for headset in headsets))
    return headsets, replayed


async def read(live: LiveServer, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(
        base_url=live.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
    ) as reader:
        response = await reader.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def vocabulary_counts(counts: dict[str, int]) -> dict[str, int]:
    by_record = {record: vocabulary for vocabulary, record in RECORD_TYPES.items()}
    return {by_record.get(kind, kind): count for kind, count in counts.items()}


async def test_every_record_and_summary_is_answered_201(
    replay: tuple[list[Headset], Replayed],
) -> None:
    headsets, replayed = replay
    records = sum(len(tour.records) for headset in headsets for tour in headset.tours)

    assert records >= 150
    assert [answer.status_code for answer in replayed.answers] == [201] * len(replayed.answers)


async def test_each_ended_tour_is_a_session_with_its_views_pois_and_durations(
    live: LiveServer, replay: tuple[list[Headset], Replayed]
) -> None:
    headsets, replayed = replay
    for headset in headsets:
        for tour in headset.tours:
            if tour.fguid not in replayed.ends:
                continue
            twin = tour.twin(replayed.ends[tour.fguid], session_id=str(uuid.uuid4()))
            detail = await read(live, f"/api/v1/sessions/{tour.fguid}")
            events = await read(live, f"/api/v1/sessions/{tour.fguid}/events", limit=1000)

            assert detail["session"]["client_session_id"] == tour.fguid
            assert detail["session"]["property_id"] == headset.property_id
            assert detail["session"]["customer_id"] == (
                tour.tour.customer_id if headset.key else None
            )
            assert detail["session"]["duration_seconds"] == float(session_seconds(twin))
            assert {room["room"]: room["dwell_seconds"] for room in detail["rooms"]} == (
                room_dwell(twin)
            ), tour.fguid
            assert vocabulary_counts(detail["event_counts"]) == {
                kind: sum(1 for event in twin.events if event["event_type"] == kind)
                for kind in {event["event_type"] for event in twin.events}
            }
            assert [event["event_data"] for event in events["events"]] == tour.records


async def test_a_tour_that_never_ended_waits_unclaimed(
    live: LiveServer, replay: tuple[list[Headset], Replayed]
) -> None:
    _, replayed = replay
    waiting = await read(live, "/api/v1/unclaimed")

    assert waiting["records_total"] == sum(len(tour.records) for tour in replayed.never_ended)


async def test_what_the_dashboard_reads_shows_the_replayed_tours(
    live: LiveServer, replay: tuple[list[Headset], Replayed]
) -> None:
    headsets, replayed = replay
    today = (datetime.now(UTC) - timedelta(hours=1)).date()
    period = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    sessions = await read(live, "/api/v1/sessions", limit=100, **period)
    report = await read(live, "/api/v1/properties/prop_001/report", **period)
    expected_rooms: dict[str, float] = {}
    for tour in headsets[2].tours:
        if tour.fguid in replayed.ends:
            twin = tour.twin(replayed.ends[tour.fguid], session_id=str(uuid.uuid4()))
            for room, seconds in room_dwell(twin).items():
                expected_rooms[room] = round(expected_rooms.get(room, 0) + seconds, 3)

    assert len(sessions["sessions"]) == len(replayed.ends)
    assert {room["room"]: room["dwell_seconds"] for room in report["rooms"]["items"]} == (
        expected_rooms
    )


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)",
)
async def test_the_dashboard_shows_a_replayed_session_and_its_rooms(
    live: LiveServer, replay: tuple[list[Headset], Replayed]
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    headsets, replayed = replay
    tour = next(tour for tour in headsets[2].tours if tour.fguid in replayed.ends)
    session_id = str(uuid.UUID(tour.fguid))
    detail = await read(live, f"/api/v1/sessions/{session_id}")

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            await page.goto(f"{live.base_url}/dashboard#/sessions/{session_id}")
            await page.fill("[data-testid=key-input]", TEST_API_KEY)
            await settle(page, lambda: page.click("[data-testid=key-submit]"))
            rows = await table_rows(page, "session-rooms", ["room", "dwell", "visits"])
            property_shown = await text(page, "session-property")
            await settle(page, lambda: page.click("nav a[data-page=overview]"))
            waiting = await text(page, "overview-unclaimed")
        finally:
            await browser.close()

    assert rows and rows == [
        (room["room"], shown_duration(room["dwell_seconds"]), shown_count(room["visits"]))
        for room in detail["rooms"]
    ]
    assert property_shown == headsets[2].property_id
    unclaimed = sum(len(tour.records) for tour in replayed.never_ended)
    assert waiting.startswith(f"{unclaimed} records of the original Unreal client wait")


async def test_the_generator_sends_tours_as_the_original_client_with_their_truth(
    server_dsn: str, tmp_path: Path
) -> None:
    truth_path = tmp_path / "truth.json"
    async with (
        fresh_database(server_dsn, prefix="nexero_original_cli") as dsn,
        live_uvicorn(
            dsn,
            tmp_path / "uvicorn.log",
            LEGACY_LINK_TOLERANCE_SECONDS="1",
            LEGACY_RECORD_REPEAT_SECONDS="0",
        ) as server,
        httpx.AsyncClient(
            base_url=server.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=30
        ) as admin,
    ):
        # The build's key names its property: the original client's records do not.
        [property_id] = floor_plans(seed=7, properties=1)
        created = await admin.post(
            "/api/v1/admin/keys",
            json={
                "name": "build",
                "scopes": ["ingest"],
                "default_labels": {"property_id": property_id},
            },
        )
        assert created.status_code == 201, created.text
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scripts.tours.generator",
            "--as-original-client",
            "--utc-offset=-08:00",
            "--link-tolerance=1",
            "--customers=3",
            "--properties=1",
            f"--truth={truth_path}",
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "BASE_URL": server.base_url,
                "NEXERO_API_KEY": created.json()["key"],
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(120):
            output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()
        truth = json.loads(truth_path.read_text())["properties"]
        expected = truth[property_id]
        report = await read(server, f"/api/v1/properties/{property_id}/report")

    assert report["sessions"] == expected["sessions"] > 0
    assert {room["room"]: room["dwell_seconds"] for room in report["rooms"]["items"]} == (
        expected["room_dwell"]
    )
    assert {poi["name"]: poi["count"] for poi in report["pois"]["items"]} == expected["poi_visits"]
