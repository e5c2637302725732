"""The synthetic tour generator (scripts/tours/generator.py) and its ground truth
(scripts/tours/truth.py): deterministic, realistic tours that pass through the real API and are
stored as generated, and THE dwell rule on small hand-made tours."""

import json
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from app.stores.analytics.vocabulary import (
    HOURS_CLOCK_PATTERN,
    MINUTES_CLOCK_PATTERN,
    NUMERIC_TEXT_PATTERN,
)
from scripts.tours.floor_plans import floor_plans
from scripts.tours.generator import Tour, generate_tours, send_tours
from scripts.tours.truth import (
    HOURS_CLOCK,
    MINUTES_CLOCK,
    NUMERIC_TEXT,
    customer_figures,
    event_data,
    explicit_duration,
    last_activity_us,
    property_figures,
    room_dwell,
    timestamp_us,
)
from scripts.tours.upload import TourUploadError
from tests.conftest import AppFactory
from tests.helpers import count_events

START = datetime(2025, 3, 3, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VOCABULARY = {
    "room_view",
    "zone_enter",
    "zone_exit",
    "poi_visit",
    "view",
    "gaze",
    "interaction",
    "teleport",
    "position",
    "unit_selection",
    "menu_open",
    "screenshot_taken",
}
T0 = 1_741_000_000.0  # 2025-03-03T11:06:40Z


def small_generation(seed: int = 11) -> list[Tour]:
    return generate_tours(
        seed=seed, customers=3, properties=2, sessions_per_customer=(1, 3), start=START
    )


@pytest.fixture(scope="module")
def many_tours() -> list[Tour]:
    return generate_tours(seed=7, customers=20, properties=3, start=START)


# Generation


def test_same_seed_and_start_generate_the_same_tours_and_others_do_not() -> None:
    assert small_generation(11) == small_generation(11)
    assert small_generation(11) != small_generation(12)
    later = generate_tours(
        seed=11, customers=3, properties=2, sessions_per_customer=(1, 3), start=START.replace(day=4)
    )
    event_ids = {event["event_id"] for tour in small_generation(11) for event in tour.events}
    assert event_ids.isdisjoint(event["event_id"] for tour in later for event in tour.events)


def test_positions_stay_on_the_floor_plan_and_times_only_move_forward(
    many_tours: list[Tour],
) -> None:
    plans = floor_plans(seed=7, properties=3)
    for tour in many_tours:
        plan = plans[tour.property_id]
        times = [event["timestamp"] for event in tour.events]
        assert times == sorted(times) and len(set(times)) == len(times), tour.session_id
        assert tour.session_start < times[0]
        if tour.session_end is not None:
            assert times[-1] <= tour.session_end
        for event in tour.events:
            point = event_data(event).get("position") or event_data(event)
            if event["event_type"] in ("position", "teleport"):
                assert plan.walkable(point["x"], point["y"]), (tour.session_id, event)
                assert plan.floor_z + 140 < point["z"] < plan.floor_z + 200


def test_tours_use_the_whole_vocabulary_and_give_lead_scoring_something_to_rank(
    many_tours: list[Tour],
) -> None:
    types = Counter(event["event_type"] for tour in many_tours for event in tour.events)
    assert set(types) == VOCABULARY
    assert any(isinstance(event["event_data"], str) for tour in many_tours for event in tour.events)
    assert types["position"] > 10 * types["room_view"]
    customers = customer_figures(many_tours)
    assert max(customer.sessions for customer in customers.values()) >= 3
    assert any(customer.properties >= 2 for customer in customers.values())
    assert any(tour.session_end is None for tour in many_tours)
    assert any(tour.session_end is not None for tour in many_tours)


def test_durations_come_as_numbers_numeric_strings_garbage_and_not_at_all(
    many_tours: list[Tour],
) -> None:
    kinds: Counter[str] = Counter()
    for tour in many_tours:
        for event in tour.events:
            if event["event_type"] not in ("room_view", "gaze", "poi_visit", "view"):
                continue
            value = event_data(event).get("duration")
            if value is None:
                kinds["absent"] += 1
            elif explicit_duration(value) is None:
                kinds["garbage"] += 1
            elif isinstance(value, str):
                kinds["numeric string"] += 1
            else:
                kinds["number"] += 1
    assert all(kinds[kind] > 0 for kind in ("absent", "garbage", "numeric string", "number"))
    assert kinds["number"] > kinds["numeric string"] > kinds["garbage"]


# Through the real API


async def test_generated_tours_are_stored_exactly_as_generated(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    tours = small_generation(21)
    session_ids = [uuid.UUID(tour.session_id) for tour in tours]

    summary = await send_tours(client, tours, batch_size=100)

    assert summary.sessions == len(tours)
    assert summary.events == sum(len(tour.events) for tour in tours)
    assert summary.duplicates == 0
    sessions = {
        str(row["id"]): row
        for row in await db.fetch(
            "SELECT id, customer_id, property_id, device_type, started_at, ended_at, status, "
            "last_activity_at FROM vr_sessions WHERE id = any($1::uuid[])",
            session_ids,
        )
    }
    assert len(sessions) == len(tours)
    events = await db.fetch(
        "SELECT session_id, event_id, event_type, timestamp, event_data FROM tracking_events "
        "WHERE session_id = any($1::uuid[])",
        session_ids,
    )
    stored = {(str(row["session_id"]), str(row["event_id"])): row for row in events}
    for tour in tours:
        session = sessions[tour.session_id]
        labels = (session["customer_id"], session["property_id"], session["device_type"])
        assert labels == (tour.customer_id, tour.property_id, tour.device_type)
        assert _us(session["started_at"]) == timestamp_us(tour.session_start)
        if tour.session_end is None:
            assert session["status"] == "active"
            assert _us(session["last_activity_at"]) == last_activity_us(tour)
        else:
            assert _us(session["ended_at"]) == timestamp_us(tour.session_end)
        stored_types = Counter(
            row["event_type"] for key, row in stored.items() if key[0] == tour.session_id
        )
        assert stored_types == Counter(event["event_type"] for event in tour.events)
        for event in tour.events:
            row = stored[(tour.session_id, event["event_id"])]
            assert _us(row["timestamp"]) == timestamp_us(event["timestamp"])
            assert json.loads(row["event_data"]) == event_data(event)
    rejected = await db.fetchval(
        "SELECT count(*) FROM rejected_events WHERE session_id = any($1::uuid[])", session_ids
    )
    assert rejected == 0


async def test_sending_the_same_tours_again_stores_nothing_twice(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    tours = small_generation(31)[:2]
    await send_tours(client, tours, batch_size=250)

    again = await send_tours(client, tours, batch_size=250)

    assert again.duplicates == again.events == sum(len(tour.events) for tour in tours)
    stored = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = any($1::uuid[])",
        [uuid.UUID(tour.session_id) for tour in tours],
    )
    assert stored == again.events


async def test_send_tours_raises_when_an_event_is_not_stored(client: httpx.AsyncClient) -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 1),
            {"event_type": "not a type!", "timestamp": T0 + 2, "event_data": {}},
        ],
        end=T0 + 10,
    )

    with pytest.raises(TourUploadError, match="1 of 2"):
        await send_tours(client, [tour])


async def test_send_tours_raises_on_a_refused_request(client: httpx.AsyncClient) -> None:
    tour = hand_made_tour([place("room_view", "Kitchen", T0 + 1)], end=T0 + 10)
    too_early = replace(tour, session_start=946_684_799.0)  # before 2000

    with pytest.raises(TourUploadError, match="session/start answered 422"):
        await send_tours(client, [too_early])


# THE dwell rule, on hand-made tours


def hand_made_tour(events: list[dict[str, Any]], *, end: float | None, start: float = T0) -> Tour:
    return Tour(
        session_id=str(uuid.uuid4()),
        customer_id="cust_hand",
        property_id="prop_hand",
        device_type="Meta Quest 3",
        session_start=start,
        session_end=end,
        events=[{"event_id": str(uuid.uuid4()), **event} for event in events],
    )


def place(event_type: str, name: Any, at: float, **data: Any) -> dict[str, Any]:
    field = "room_name" if event_type == "room_view" else "zone_name"
    return {"event_type": event_type, "timestamp": at, "event_data": {field: name, **data}}


def other(event_type: str, at: float, **data: Any) -> dict[str, Any]:
    return {"event_type": event_type, "timestamp": at, "event_data": data}


def test_an_explicit_duration_shorter_than_the_stay_is_the_dwell() -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 10, duration=4.5),
            place("room_view", "Bathroom", T0 + 20, duration=0),
            place("zone_enter", "Balcony", T0 + 30, duration=86400),
        ],
        end=T0 + 86500,
    )

    assert room_dwell(tour) == {"Balcony": 86400.0, "Bathroom": 0.0, "Kitchen": 4.5}


def test_an_explicit_duration_stops_at_the_next_place_event_and_at_the_end() -> None:
    """Stays never overlap nor outlast the tour: a duration longer than the time to the next
    place event, or to the session's end, is cut there."""
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 10, duration=42.5),
            place("room_view", "Bathroom", T0 + 11, duration=0),
            place("zone_enter", "Balcony", T0 + 12, duration=86400),
        ],
        end=T0 + 20,
    )

    assert room_dwell(tour) == {"Balcony": 8.0, "Bathroom": 0.0, "Kitchen": 1.0}


def test_a_place_event_before_the_start_dwells_from_the_start() -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 - 30, duration=40),
            place("room_view", "Study", T0 + 20),
        ],
        end=T0 + 25,
    )

    assert room_dwell(tour) == {"Kitchen": 10.0, "Study": 5.0}


def test_without_a_duration_dwell_runs_to_the_next_place_event_zone_exit_included() -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 10),
            other("gaze", T0 + 15, target="Countertop", duration=3),
            place("zone_enter", "Hallway", T0 + 22.5),
            place("zone_exit", "Hallway", T0 + 30.25),
            other("position", T0 + 31, x=1.0, y=2.0, z=160.0),
            place("room_view", "Kitchen", T0 + 40),
        ],
        end=T0 + 55,
    )

    # Kitchen 12.5 s then 15 s to the end; Hallway until its exit; nothing between exit and
    # the next room_view belongs to any place.
    assert room_dwell(tour) == {"Hallway": 7.75, "Kitchen": 27.5}


def test_the_last_place_of_a_closed_session_runs_until_ended_at() -> None:
    tour = hand_made_tour(
        [place("room_view", "Study", T0 + 5), other("position", T0 + 70, x=0, y=0, z=0)],
        end=T0 + 65.125,
    )

    assert room_dwell(tour) == {"Study": 60.125}


def test_the_last_place_of_an_open_session_runs_until_its_last_activity() -> None:
    tour = hand_made_tour(
        [
            place("zone_enter", "Terrace", T0 + 5),
            other("screenshot_taken", T0 + 9.5),
            other("position", T0 + 12.75, x=0, y=0, z=0),
        ],
        end=None,
    )

    assert last_activity_us(tour) == timestamp_us(T0 + 12.75)
    assert room_dwell(tour) == {"Terrace": 7.75}


def test_an_open_session_without_later_activity_gives_the_last_place_no_time() -> None:
    tour = hand_made_tour([place("room_view", "Study", T0 + 5)], end=None)

    assert room_dwell(tour) == {"Study": 0.0}


def test_numeric_string_durations_count_as_numbers() -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 1, duration="2.5"),
            place("room_view", "Kitchen", T0 + 5, duration=" 1 "),
            place("zone_enter", "Study", T0 + 10, duration="1e0"),
        ],
        end=T0 + 30,
    )

    # Measured, they would be 4 + 5 and 20.
    assert room_dwell(tour) == {"Kitchen": 3.5, "Study": 1.0}


@pytest.mark.parametrize(
    ("clock", "seconds"),
    [
        ("0:14", "14"),
        ("0:06", "6"),
        ("0:6", "6"),
        (" 2:05.5 ", "125.5"),
        ("1:00:00", "3600"),
        ("23:59:59.999999", "86399.999999"),
        ("24:00:00", "86400"),
        ("1440:00", "86400"),
    ],
)
def test_clock_text_durations_are_seconds(clock: str, seconds: str) -> None:
    assert explicit_duration(clock) == Decimal(seconds)


@pytest.mark.parametrize(
    "garbage",
    [
        "0:75",
        "1,77,50,078:30:03",
        "24:00:01",
        "1440:01",
        "1:2:3",
        "0:14:",
        "",
        "  ",
        "NaN",
        "Infinity",
        "abc",
        -1,
        "-0.5",
        86400.001,
        177_500_783,
        True,
        None,
        [5],
        {"seconds": 5},
    ],
)
def test_garbage_durations_count_as_absent(garbage: Any) -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 1, duration=garbage),
            place("room_view", "Study", T0 + 4.5, duration=2),
        ],
        end=T0 + 10,
    )

    assert explicit_duration(garbage) is None
    assert room_dwell(tour) == {"Kitchen": 3.5, "Study": 2.0}


def test_a_place_event_after_the_end_has_no_dwell_and_the_one_before_stops_at_the_end() -> None:
    tour = hand_made_tour(
        [place("room_view", "Kitchen", T0 + 1), place("room_view", "Study", T0 + 30)],
        end=T0 + 20,
    )

    assert room_dwell(tour) == {"Kitchen": 19.0, "Study": 0.0}


def test_equal_timestamps_keep_the_order_sent() -> None:
    tour = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 1),
            place("room_view", "Study", T0 + 5),
            place("room_view", "Bathroom", T0 + 5),
        ],
        end=T0 + 9,
    )

    assert room_dwell(tour) == {"Bathroom": 4.0, "Kitchen": 4.0, "Study": 0.0}


def test_events_sent_out_of_order_are_taken_in_time_order() -> None:
    tour = hand_made_tour(
        [place("room_view", "Study", T0 + 8), place("room_view", "Kitchen", T0 + 2)],
        end=T0 + 10,
    )

    assert room_dwell(tour) == {"Kitchen": 6.0, "Study": 2.0}


def test_names_are_trimmed_and_empty_names_are_not_places() -> None:
    tour = hand_made_tour(
        [
            place("room_view", " Kitchen ", T0 + 1),
            place("room_view", "", T0 + 3),
            place("zone_enter", "   ", T0 + 4),
            place("zone_exit", "", T0 + 5),
            {"event_type": "room_view", "timestamp": T0 + 6, "event_data": {}},
            place("room_view", "Kitchen", T0 + 7),
        ],
        end=T0 + 8,
    )

    assert room_dwell(tour) == {"Kitchen": 7.0}


def test_event_data_sent_as_a_json_string_is_read_like_an_object() -> None:
    tour = hand_made_tour(
        [
            {
                "event_type": "room_view",
                "timestamp": T0 + 1,
                "event_data": json.dumps({"room_name": "Kitchen", "duration": "4.25"}),
            }
        ],
        end=T0 + 100,
    )

    assert room_dwell(tour) == {"Kitchen": 4.25}


def test_the_truth_reads_numbers_and_clock_text_with_the_sqls_own_patterns() -> None:
    """One rule (docs/events.md): ASCII digits, at most four exponent digits."""
    assert NUMERIC_TEXT.pattern == NUMERIC_TEXT_PATTERN
    assert (MINUTES_CLOCK.pattern, HOURS_CLOCK.pattern) == (
        MINUTES_CLOCK_PATTERN,
        HOURS_CLOCK_PATTERN,
    )
    assert explicit_duration("1e-0001") == Decimal("0.1")
    assert explicit_duration("1e-00001") is None
    assert explicit_duration("\u0661\u0662") is None


def test_explicit_durations_add_up_exactly() -> None:
    tour = hand_made_tour(
        [place("room_view", "Kitchen", T0 + step, duration=0.1) for step in range(3)],
        end=T0 + 10,
    )

    assert room_dwell(tour) == {"Kitchen": 0.3}
    assert explicit_duration(0.1) == Decimal("0.1")


def test_property_figures_count_timed_events_by_their_explicit_duration_only() -> None:
    first = hand_made_tour(
        [
            place("room_view", "Kitchen", T0 + 1),
            other("poi_visit", T0 + 2, poi="Kitchen Island", zone="Kitchen", duration="6.5"),
            other("poi_visit", T0 + 3, poi=" Kitchen Island", zone="Kitchen", duration="0:75"),
            other("gaze", T0 + 4, target="Countertop", duration=2.25),
            other("gaze", T0 + 5, target="Countertop"),
            other("view", T0 + 6, view_name="Sunset", duration=10),
            other("interaction", T0 + 7, object="tap", action="turn_on"),
            other("unit_selection", T0 + 8, name="Unit 7C", sqft="1250", type="2BHK"),
        ],
        end=T0 + 101,
    )
    second = hand_made_tour([place("zone_enter", "Kitchen", T0 + 500)], end=T0 + 560)
    third = hand_made_tour([], end=T0 + 80)
    still_open = hand_made_tour([], end=None)
    third_customer = replace(third, customer_id="cust_other")

    figures = property_figures([first, second, third_customer, still_open])["prop_hand"]

    assert (figures.sessions, figures.open_sessions, figures.unique_customers) == (4, 1, 2)
    assert figures.median_session_seconds == 101.0  # of 101, 560 and 80
    assert figures.mean_session_seconds == 247.0
    assert figures.room_dwell == {"Kitchen": 160.0}
    assert figures.room_visits == {"Kitchen": 2}
    assert (figures.poi_visits, figures.poi_dwell) == (
        {"Kitchen Island": 2},
        {"Kitchen Island": 6.5},
    )
    assert (figures.gaze_counts, figures.gaze_seconds) == ({"Countertop": 2}, {"Countertop": 2.25})
    assert (figures.view_counts, figures.view_dwell) == ({"Sunset": 1}, {"Sunset": 10.0})
    assert figures.interactions == {"tap": 1}
    assert figures.unit_selections == {"Unit 7C": 1}


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


async def test_tours_sent_past_the_rate_limit_wait_and_arrive_whole(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    """A service with its default rate limits: the sender waits as told, like a VR client."""
    tours = generate_tours(seed=5, customers=2, properties=1, start=START)
    async with app_with(
        RATE_LIMIT_ENABLED=True, RATE_LIMIT_INGEST_PER_SECOND=50, RATE_LIMIT_INGEST_BURST=5
    ) as client:
        summary = await send_tours(client, tours, batch_size=50)

    assert summary.sessions == len(tours)
    assert summary.events == sum(len(tour.events) for tour in tours)
    for tour in tours:
        assert await count_events(db, tour.session_id) == len(tour.events)
