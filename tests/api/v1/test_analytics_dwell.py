"""THE dwell rule (docs/events.md) as the session detail applies it, on hand-made tours where
every number is known: every kind of duration, numeric strings read as the ground truth reads
them, open sessions, place events after the end or at the same instant."""

import uuid
from datetime import datetime

from scripts.tours.generator import Tour as GeneratedTour
from scripts.tours.generator import send_tours
from scripts.tours.truth import room_dwell
from tests.api.v1.analytics_data import SESSIONS, Tenant, Tour, at, get_ok, record
from tests.helpers import BATCH


def rooms_of(detail: dict) -> dict[str, tuple[float, int]]:
    return {room["room"]: (room["dwell_seconds"], room["visits"]) for room in detail["rooms"]}


async def test_dwell_follows_the_rule_for_every_kind_of_duration(tenant: Tenant) -> None:
    start = at("2021-01-04T10:00:00")
    session_id = await record(
        tenant.client,
        Tour(
            start=start,
            end=start + 100,
            events=[
                (0, "room_view", {"room_name": "Living Room"}),  # measured: 10
                (5, "gaze", {"target": "TV Wall", "duration": 3}),  # not a place event
                # explicit 12.5, cut at the next place event: 10
                (10, "room_view", {"room_name": " Kitchen ", "duration": "12.5"}),
                (20, "zone_enter", {"zone_name": "Balcony", "duration": "1,77,50,078:30:03"}),
                (22, "room_view", {"room_name": 5}),  # a number is no name: not a place event
                (30, "zone_exit", {"zone_name": "Balcony"}),  # ends Balcony: 10
                (40, "room_view", {"room_name": "  "}),  # blank: not a place event
                (45, "room_view", {"room_name": "Kitchen", "duration": -3}),  # measured: 5
                (50, "room_view", {"room_name": "Study", "duration": 86400.5}),  # measured: 10
                (60, "room_view", {"room_name": "Study", "duration": True}),  # measured: 10
                (70, "room_view", {"room_name": "Bedroom", "duration": 86400}),  # the edge: 10
                (80, "zone_enter", {"zone_name": "Hall", "duration": " 7e0 "}),  # explicit 7
                (90, "room_view", {"room_name": "Bedroom", "duration": ""}),  # until end: 10
                (95, "position", {"x": 1.0, "y": 2.0, "z": 160.0}),
            ],
        ),
    )

    detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")

    assert rooms_of(detail) == {
        "Bedroom": (20.0, 2),
        "Study": (20.0, 2),
        "Kitchen": (15.0, 2),
        "Balcony": (10.0, 1),
        "Living Room": (10.0, 1),
        "Hall": (7.0, 1),
    }
    assert [room["room"] for room in detail["rooms"]] == [
        "Bedroom",
        "Study",
        "Kitchen",
        "Balcony",
        "Living Room",
        "Hall",
    ]
    # Whose figure each stay starts from: the event's own valid duration, or the measure.
    sources = {
        round(datetime.fromisoformat(entry["timestamp"]).timestamp() - start): entry["dwell_source"]
        for entry in detail["timeline"]
        if entry["place"] is not None
    }
    explicit = {offset for offset, source in sources.items() if source == "explicit"}
    assert (explicit, len(sources)) == ({10, 70, 80}, 9)


# Durations given as strings at the edges of the numeric-string rule (docs/events.md), and
# whether each is read as a number.
NUMERIC_EDGES = [
    ("\u0661\u0662", False),  # Arabic-Indic digits: not ASCII
    ("\uff11\uff12", False),  # full-width digits
    ("1e-12345", False),  # five exponent digits
    ("1_000", False),  # Python's digit grouping
    ("1e-0001", True),  # four exponent digits: 0.1
    (" 12.5e0000 ", True),
    ("+.5E+0001", True),  # 5
    ("\u00a012\u3000", True),  # trimmed of the spaces str.strip() removes
]


async def test_numeric_strings_are_read_alike_by_the_api_and_the_ground_truth(
    tenant: Tenant,
) -> None:
    start = at("2021-01-09T10:00:00")
    events = [
        {
            "event_type": "room_view",
            "timestamp": start + 10 * number,
            "event_data": {"room_name": f"Room {number}", "duration": duration},
        }
        for number, (duration, _) in enumerate(NUMERIC_EDGES)
    ]
    tour = GeneratedTour(
        session_id=str(uuid.uuid4()),
        customer_id="cust_numeric",
        property_id="prop_numeric",
        device_type="Meta Quest 3",
        session_start=start,
        session_end=start + 10 * len(NUMERIC_EDGES),
        events=events,
    )
    await send_tours(tenant.client, [tour])

    detail = await get_ok(tenant.client, f"{SESSIONS}/{tour.session_id}")

    dwell = {room: seconds for room, (seconds, _) in rooms_of(detail).items()}
    assert dwell == room_dwell(tour)
    explicit = {entry["place"]: entry["dwell_source"] == "explicit" for entry in detail["timeline"]}
    assert explicit == {
        f"Room {number}": numeric for number, (_, numeric) in enumerate(NUMERIC_EDGES)
    }
    assert (dwell["Room 0"], dwell["Room 4"], dwell["Room 6"]) == (10.0, 0.1, 5.0)


async def test_last_place_of_an_open_session_lasts_until_its_last_activity(
    tenant: Tenant,
) -> None:
    start = at("2021-01-05T10:00:00")
    session_id = await record(
        tenant.client,
        Tour(
            start=start,
            end=None,
            events=[
                (0, "room_view", {"room_name": "Kitchen"}),
                (50.25, "position", {"x": 1.0, "y": 2.0, "z": 160.0}),
            ],
        ),
    )

    detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")

    assert detail["session"]["status"] == "active"
    assert detail["session"]["duration_seconds"] is None
    assert rooms_of(detail) == {"Kitchen": (50.25, 1)}


async def test_place_event_after_the_end_dwells_zero_and_the_one_before_stops_at_the_end(
    tenant: Tenant,
) -> None:
    start = at("2021-01-06T10:00:00")
    session_id = await record(
        tenant.client,
        Tour(
            start=start,
            end=start + 20,
            events=[(10, "room_view", {"room_name": "A"}), (30, "room_view", {"room_name": "B"})],
        ),
    )

    detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")

    assert rooms_of(detail) == {"A": (10.0, 1), "B": (0.0, 1)}


async def test_place_events_at_the_same_instant_follow_the_order_they_were_stored(
    tenant: Tenant,
) -> None:
    """Ties in time are broken by created_at. Row ids are random, so a rule that fell back to
    them would get one tie right half the time: twelve sessions make a lucky pass 1 in 4096."""
    start = at("2021-01-07T10:00:00")
    session_ids = []
    for _ in range(12):
        session_id = await record(tenant.client, Tour(start=start, end=start + 30))
        for name in ("First", "Second"):  # two requests: two transactions, two created_at
            event = {
                "event_type": "room_view",
                "timestamp": start + 10,
                "event_data": {"room_name": name},
            }
            response = await tenant.client.post(
                BATCH, json={"session_id": session_id, "events": [event]}
            )
            assert response.status_code == 202
        session_ids.append(session_id)

    for session_id in session_ids:
        detail = await get_ok(tenant.client, f"{SESSIONS}/{session_id}")
        assert rooms_of(detail) == {"Second": (20.0, 1), "First": (0.0, 1)}
