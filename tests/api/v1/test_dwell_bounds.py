"""No stay longer than its tour (docs/events.md, docs/ingestion.md): whatever the headset's
clock, whether requests carry sent_at, heartbeats, late and out-of-order events, every stay
lies within its session on every report. The situations that once produced absurd figures come
first, then tours with random clocks and habits checked against the bounds on every report."""

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api.v1.analytics_data import SESSIONS, Tenant, at, get_ok
from tests.helpers import BATCH, END, START

DAY = 86_400.0


def heartbeat_url(session_id: str) -> str:
    return f"/api/v1/unreal/session/{session_id}/heartbeat"


def seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def tour_span(session: dict[str, Any]) -> float:
    """The longest any stay of the session may be: from its start to its end, or to its last
    activity while it is open."""
    close = session["ended_at"] or session["last_activity_at"]
    return seconds(close) - seconds(session["started_at"])


async def post_ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def test_a_far_off_clock_corrected_by_a_batch_moves_the_whole_session(
    tenant: Tenant,
) -> None:
    """Start and end without sent_at, a batch with it, from a headset 414 days behind: the
    batch's sent_at moves the start that was stored before it, and converts the end sent after
    it, so the Terrace's dwell stays inside the 149 s tour (it was 35,765,447 s)."""
    client = tenant.client
    behind = 414 * DAY
    real_start = time.time() - 200
    client_clock = real_start - behind
    session_id = str(uuid.uuid4())
    await post_ok(
        client,
        START,
        {"session_id": session_id, "session_start": client_clock, "property_id": "prop_skew"},
    )
    events = [
        {
            "event_type": "room_view",
            "timestamp": client_clock + 10,
            "event_data": {"room_name": "Hall"},
        },
        {
            "event_type": "room_view",
            "timestamp": client_clock + 40,
            "event_data": {"room_name": "Terrace"},
        },
    ]
    await post_ok(
        client,
        BATCH,
        {"session_id": session_id, "sent_at": time.time() - behind, "events": events},
    )
    await post_ok(client, END, {"session_id": session_id, "session_end": client_clock + 149})

    detail = await get_ok(client, f"{SESSIONS}/{session_id}")

    session = detail["session"]
    assert session["duration_seconds"] == pytest.approx(149, abs=0.001)
    assert abs(seconds(session["started_at"]) - real_start) < 5
    assert {room["room"]: room["dwell_seconds"] for room in detail["rooms"]} == pytest.approx(
        {"Hall": 30.0, "Terrace": 109.0}, abs=0.01
    )


async def test_an_end_with_sent_at_moves_a_session_that_had_none(tenant: Tenant) -> None:
    client = tenant.client
    behind = 30 * DAY
    real_start = time.time() - 100
    session_id = str(uuid.uuid4())
    await post_ok(client, START, {"session_id": session_id, "session_start": real_start - behind})
    await post_ok(
        client,
        END,
        {
            "session_id": session_id,
            "session_end": real_start - behind + 90,
            "sent_at": time.time() - behind,
        },
    )

    session = (await get_ok(client, f"{SESSIONS}/{session_id}"))["session"]

    assert session["duration_seconds"] == pytest.approx(90, abs=0.001)
    assert abs(seconds(session["started_at"]) - real_start) < 5


async def test_a_heartbeat_does_not_stretch_the_last_stay_of_an_open_session(
    tenant: Tenant,
) -> None:
    """Events in the headset's own (old) clock, then a heartbeat: the Kitchen's 60 s stay on,
    where it used to run to the server's now (34,240,800 s)."""
    client = tenant.client
    start = at("2025-11-01T10:00:00")
    session_id = str(uuid.uuid4())
    await post_ok(client, START, {"session_id": session_id, "session_start": start})
    events = [
        {
            "event_type": "zone_enter",
            "timestamp": start + 5,
            "event_data": {"zone_name": "Kitchen"},
        },
        {
            "event_type": "position",
            "timestamp": start + 65,
            "event_data": {"x": 1, "y": 2, "z": 160},
        },
    ]
    await post_ok(client, BATCH, {"session_id": session_id, "events": events})
    before = await get_ok(client, f"{SESSIONS}/{session_id}")

    await post_ok(client, heartbeat_url(session_id), {})
    after = await get_ok(client, f"{SESSIONS}/{session_id}")

    assert before["rooms"] == [{"room": "Kitchen", "dwell_seconds": 60.0, "visits": 1}]
    assert after["rooms"] == before["rooms"]
    assert after["session"]["last_activity_at"] == before["session"]["last_activity_at"]


async def test_a_clock_reset_during_the_tour_leaves_the_earlier_times_alone(
    tenant: Tenant,
) -> None:
    """The start was sent on a good clock; then the headset's clock fell back to 1970. The
    batch's sent_at converts its own events but must not throw the start 56 years ahead."""
    client = tenant.client
    real_start = time.time() - 60
    session_id = str(uuid.uuid4())
    await post_ok(client, START, {"session_id": session_id, "session_start": real_start})
    reset_clock = 3 * DAY
    events = [
        {
            "event_type": "room_view",
            "timestamp": reset_clock - 20,
            "event_data": {"room_name": "Den"},
        },
    ]
    await post_ok(
        client, BATCH, {"session_id": session_id, "sent_at": reset_clock, "events": events}
    )

    detail = await get_ok(client, f"{SESSIONS}/{session_id}")

    assert abs(seconds(detail["session"]["started_at"]) - real_start) < 1
    assert 0 <= detail["rooms"][0]["dwell_seconds"] <= tour_span(detail["session"])


# Headset clocks, as (server - headset) in seconds: on time, within the deadband, ahead by two
# hours, behind by ten days and by 414 days.
CLOCK_OFFSETS = (0.0, 4.0, -7200.0, 10 * DAY, 414 * DAY)
PLACES = ("Kitchen", "Living Room", "Terrace", "Study", "Bedroom")


@dataclass
class RandomTour:
    """A tour in real time, and how its headset reports it."""

    session_id: str
    real_start: float
    real_end: float
    ended: bool
    clock_offset: float
    sent_at_odds: float
    events: list[dict[str, Any]] = field(default_factory=list)

    def client_time(self, real: float) -> float:
        return real - self.clock_offset

    def sent_at(self, rng: random.Random) -> dict[str, float]:
        """A sent_at on the headset's clock, or none."""
        if rng.random() < self.sent_at_odds:
            return {"sent_at": self.client_time(time.time())}
        return {}


def random_tour(rng: random.Random) -> RandomTour:
    real_start = time.time() - rng.uniform(600, 3 * 3600)
    length = rng.uniform(20, 900)
    tour = RandomTour(
        session_id=str(uuid.uuid4()),
        real_start=real_start,
        real_end=real_start + length,
        ended=rng.random() < 0.7,
        clock_offset=rng.choice(CLOCK_OFFSETS),
        sent_at_odds=rng.choice((0.0, 0.5, 1.0)),
    )
    for _ in range(rng.randint(3, 25)):
        # Some before the start, some after the end (late, offline cache), most within.
        real = rng.uniform(real_start - 30, tour.real_end + 120)
        kind = rng.choice(("room_view", "zone_enter", "zone_exit", "position", "gaze"))
        data: dict[str, Any]
        if kind == "position":
            data = {"x": rng.uniform(0, 900), "y": rng.uniform(0, 900), "z": 160}
        elif kind == "gaze":
            data = {"target": "Window", "duration": rng.uniform(0, 5)}
        else:
            data = {"room_name" if kind == "room_view" else "zone_name": rng.choice(PLACES)}
            duration = rng.choice((None, rng.uniform(0, 60), rng.uniform(0, 5000), "0:14", 86400))
            if duration is not None and kind != "zone_exit":
                data["duration"] = duration
        tour.events.append(
            {"event_type": kind, "timestamp": tour.client_time(real), "event_data": data}
        )
    return tour


async def send_random_tour(client: httpx.AsyncClient, tour: RandomTour, rng: random.Random) -> None:
    """Start, the events in shuffled batches with heartbeats between them, the end, and some
    events only after the end; each request with sent_at or not, as the headset's habit is."""
    await post_ok(
        client,
        START,
        {
            "session_id": tour.session_id,
            "session_start": tour.client_time(tour.real_start),
            "property_id": PROPERTY,
            "customer_id": f"cust_{tour.session_id[:6]}",
            **tour.sent_at(rng),
        },
    )
    events = list(tour.events)
    rng.shuffle(events)
    late = events[: rng.randint(0, len(events) // 3)] if tour.ended else []
    now_events = events[len(late) :]
    while now_events:
        batch, now_events = now_events[: rng.randint(1, 6)], now_events[6:]
        await post_ok(
            client, BATCH, {"session_id": tour.session_id, "events": batch, **tour.sent_at(rng)}
        )
        if rng.random() < 0.5:
            await post_ok(client, heartbeat_url(tour.session_id), {})
    if tour.ended:
        await post_ok(
            client,
            END,
            {
                "session_id": tour.session_id,
                "session_end": tour.client_time(tour.real_end),
                **tour.sent_at(rng),
            },
        )
    if late:
        await post_ok(
            client, BATCH, {"session_id": tour.session_id, "events": late, **tour.sent_at(rng)}
        )


PROPERTY = "prop_random_clocks"


@pytest.fixture(scope="module")
async def random_tours(tenant: Tenant) -> list[str]:
    rng = random.Random(20261202)
    tours = [random_tour(rng) for _ in range(40)]
    for tour in tours:
        await send_random_tour(tenant.client, tour, rng)
    return [tour.session_id for tour in tours]


async def test_every_stay_of_every_session_lies_within_its_tour(
    tenant: Tenant, random_tours: list[str]
) -> None:
    for session_id in random_tours:
        detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")
        span = tour_span(detail["session"])
        dwell = [room["dwell_seconds"] for room in detail["rooms"]]
        stays = [entry["dwell_seconds"] for entry in detail["timeline"] if entry["place"]]

        assert span >= 0, detail["session"]
        assert all(0 <= stay <= span + 1e-6 for stay in stays), (session_id, stays, span)
        assert sum(dwell) <= span + 1e-6, (session_id, dwell, span)


async def test_no_report_shows_a_room_held_longer_than_its_tours(
    tenant: Tenant, random_tours: list[str]
) -> None:
    spans = {}
    for session_id in random_tours:
        session = (await get_ok(tenant.client, f"{SESSIONS}/{session_id}"))["session"]
        spans[session_id] = (session["customer_id"], tour_span(session))
    report = await get_ok(tenant.client, f"/api/v1/properties/{PROPERTY}/report?top=500")
    longest = max(span for _, span in spans.values())
    all_tours = sum(span for _, span in spans.values())

    rooms = report["rooms"]["items"]
    assert rooms
    assert sum(room["dwell_seconds"] for room in rooms) <= all_tours + 1e-6
    assert all(room["dwell_per_session_seconds"] <= longest + 1e-3 for room in rooms), rooms
    for customer_id, span in spans.values():
        summary = await get_ok(tenant.client, f"/api/v1/customers/{customer_id}?top=500")
        held = sum(room["dwell_seconds"] for room in summary["top_rooms"]["items"])
        assert held <= span + 1e-6, (customer_id, summary["top_rooms"], span)
