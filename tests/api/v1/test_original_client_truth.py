"""The same tours, two dialects, one report (docs/unreal-client.md): generated tours sent as the
original Unreal client sends them (scripts/tours/original.py: records with no session id, one
key per property whose default labels name it, a summary in the headset's local time) into one
project, and their twins in the documented vocabulary into another. Every figure the dashboard
shows (sessions, their rooms, property reports, leads, the overview) is the same in both, and
the twins' figures are the ground truth's (scripts/tours/truth.py).

The one rounding: the client's clock text holds whole seconds, so each room stay and POI is
its dwell rounded to the second, and the tour its length rounded down to one (the twin carries
the same whole seconds)."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from app.services.access.keys import AccessService
from scripts.tours.generator import Tour, generate_tours, send_tours
from scripts.tours.original import RECORD_TYPES, OriginalTour, as_original
from scripts.tours.truth import property_figures, room_dwell, session_seconds
from scripts.tours.upload import send_as_original_client
from tests.api.v1.analytics_data import SESSIONS, get_ok
from tests.conftest import create_project_key, serve_app, serve_headsets

# Headsets in India, California and London (the summary's local times reveal each offset).
ZONES = (timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), UTC)
DEVICE = "Meta Quest 3"


@dataclass(frozen=True)
class Sent:
    originals: list[OriginalTour]
    twins: list[Tour]
    """twins[i] is originals[i] in the vocabulary, as it was sent."""
    original_client: httpx.AsyncClient
    vocabulary_client: httpx.AsyncClient


def twin_id(tour: Tour) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin/{tour.session_id}"))


@pytest.fixture(scope="module")
async def sent(access: AccessService, database_dsn: str) -> AsyncIterator[Sent]:
    generated = generate_tours(
        seed=9151,
        customers=10,
        properties=2,
        sessions_per_customer=(1, 4),
        start=datetime(2024, 2, 1, tzinfo=UTC),
        days=5,
        position_interval=5.0,
    )
    tours = [replace(tour, device_type=DEVICE) for tour in generated if tour.session_end]
    originals = [
        as_original(tour, zone=ZONES[number % len(ZONES)]) for number, tour in enumerate(tours)
    ]
    field_project = await create_project_key(access, "original client truth")
    vocabulary_project = await create_project_key(access, "original client twins")
    build_keys = {}
    for property_id in sorted({tour.property_id for tour in tours}):
        created = await access.create_key(
            project_id=field_project.project_id,
            name=f"build for {property_id}",
            scopes=frozenset({"ingest"}),
            actor="tests",
            default_labels={"property_id": property_id, "device_type": DEVICE},
        )
        build_keys[property_id] = created.secret
    # These headsets never retry: a record equal to the one before is a second visit.
    async with (
        serve_headsets(database_dsn, LEGACY_RECORD_REPEAT_SECONDS=0) as headset,
        serve_app(database_dsn, api_key=vocabulary_project.key) as vocabulary_client,
    ):
        twins = []
        for number, original in enumerate(originals):
            # Each tour from a headset of its own: its build's key, its own address.
            client = headset(build_keys[original.tour.property_id], f"10.1.0.{number + 1}")
            ends_at = await send_as_original_client(client, original)
            twins.append(original.twin(ends_at, session_id=twin_id(original.tour)))
        await send_tours(vocabulary_client, twins)
        yield Sent(
            originals,
            twins,
            headset(field_project.key, "10.1.1.1"),
            vocabulary_client,
        )


def vocabulary_counts(counts: dict[str, int]) -> dict[str, int]:
    """Event counts by the type sent, with the records' types read as their vocabulary type."""
    by_record = {record: vocabulary for vocabulary, record in RECORD_TYPES.items()}
    return {by_record.get(kind, kind): count for kind, count in counts.items()}


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what names the dialect: event counts by type sent, and ids."""
    return {
        key: value
        for key, value in answer.items()
        if key not in {"event_counts", "session_id", "id", "client_session_id"}
    }


async def test_the_tours_give_the_checks_something_to_compare(sent: Sent) -> None:
    assert len(sent.originals) >= 8
    assert len({original.zone for original in sent.originals}) == len(ZONES)
    assert any(step.record.get("POI") for original in sent.originals for step in original.steps)
    assert any("Name" in record for original in sent.originals for record in original.records)
    assert all(room_dwell(twin) for twin in sent.twins)


async def test_each_session_has_its_twins_rooms_duration_and_counts(sent: Sent) -> None:
    for original, twin in zip(sent.originals, sent.twins, strict=True):
        detail = await get_ok(sent.original_client, f"{SESSIONS}/{original.fguid}")
        twin_detail = await get_ok(sent.vocabulary_client, f"{SESSIONS}/{twin.session_id}")

        assert detail["session"]["client_session_id"] == original.fguid
        assert detail["session"]["property_id"] == twin.property_id
        assert detail["session"]["local_time_rule"] == "session_end"
        assert {room["room"]: room["dwell_seconds"] for room in detail["rooms"]} == room_dwell(twin)
        assert detail["rooms"] == twin_detail["rooms"]
        assert detail["session"]["duration_seconds"] == float(session_seconds(twin))
        assert detail["session"]["started_at"] == twin_detail["session"]["started_at"]
        assert vocabulary_counts(detail["event_counts"]) == twin_detail["event_counts"]
        assert detail["events_not_understood"] == twin_detail["events_not_understood"] == 0


async def test_property_reports_are_the_twins_and_the_truths(sent: Sent) -> None:
    for property_id, truth in property_figures(sent.twins).items():
        path = f"/api/v1/properties/{property_id}/report"
        report = await get_ok(sent.original_client, path)
        twin_report = await get_ok(sent.vocabulary_client, path)

        assert figures(report) == figures(twin_report)
        assert vocabulary_counts(report["event_counts"]) == twin_report["event_counts"]
        assert report["sessions"] == truth.sessions
        assert report["median_duration_seconds"] == truth.median_session_seconds
        rooms = {room["room"]: room["dwell_seconds"] for room in report["rooms"]["items"]}
        assert rooms == truth.room_dwell
        pois = {poi["name"]: poi["count"] for poi in report["pois"]["items"]}
        assert pois == truth.poi_visits


# Each list, and a figure in it that is not empty when the tours are there.
DASHBOARD_LISTS = {
    "/api/v1/leads": lambda answer: answer["leads"],
    "/api/v1/properties": lambda answer: answer["properties"],
    "/api/v1/overview": lambda answer: answer["kpis"]["sessions"]["value"],
    "/api/v1/funnel": lambda answer: answer["steps"][1]["sessions"],
}


@pytest.mark.parametrize("path", DASHBOARD_LISTS)
async def test_what_the_dashboard_lists_is_the_same_in_both_dialects(sent: Sent, path: str) -> None:
    # The tours were sent within the last minutes: the period holds today and yesterday.
    today = datetime.now(UTC).date()
    period = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(days=1)).isoformat(),
    }

    answer = await get_ok(sent.original_client, path, **period)
    twin_answer = await get_ok(sent.vocabulary_client, path, **period)

    assert answer == twin_answer
    assert DASHBOARD_LISTS[path](answer)
