"""Heatmaps: exact counts for a hand-made dataset, the room rule, limits at and past their edge,
the PNG, project isolation, and the figures of generated tours computed independently."""

import math
import struct
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.services.access.keys import AccessService
from scripts.tours.generator import Tour, generate_tours, send_tours
from scripts.tours.truth import event_data, place_name
from tests.conftest import AppFactory, create_project_key, serve_app
from tests.helpers import BATCH, END, start_session

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = time.time() - 3 * 3600


def at(seconds: float) -> float:
    return T0 + seconds


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(at(seconds), tz=UTC).isoformat()


def position(seconds: float, **coordinates: Any) -> dict[str, Any]:
    return {"event_type": "position", "timestamp": at(seconds), "event_data": coordinates}


def place(event_type: str, seconds: float, **data: Any) -> dict[str, Any]:
    return {"event_type": event_type, "timestamp": at(seconds), "event_data": data}


# Session 1: every case of the room rule and of unreadable coordinates.
FIRST_SESSION_EVENTS = [
    position(0, x=10, y=10, z=150),  # before any place event: no room
    place("room_view", 1, room_name=" Kitchen "),
    position(2, x=55, y=20, z=150),
    position(3, x="120.5", y="20", z=150),  # numeric strings
    position(4, x="abc", y=0, z=0),  # skipped: x is not a number
    position(5, x=5),  # skipped: no y (and no z)
    place("zone_enter", 6, zone_name="Balcony"),
    position(7, x=300, y=-40, z=150),
    place("zone_exit", 8, zone_name="Balcony"),
    position(9, x=310, y=-45, z=150),  # after zone_exit: no room
    place("room_view", 10, room_name="   "),  # unnamed: not a place event
    position(11, x=0, y=0, z=150),  # still no room
    place("room_view", 12, room_name="Kitchen"),
    position(12, x=60, y=60, z=150),  # same instant as the room_view: in the Kitchen
    position(13, x=True, y=1, z=150),  # skipped: a boolean
    position(14, x=1e20, y=0, z=150),  # skipped: out of range
    position(15, x="1e2", y=" -0.5 ", z=150),  # (100, -0.5)
    place("gaze", 16, target="Window", duration=3),
]
# Session 2, started at 99 s: two samples in the Kitchen.
SECOND_SESSION_EVENTS = [
    place("room_view", 100, room_name="Kitchen"),
    position(101, x=55, y=20, z=150),
    position(102, x=55.0, y="20", z=150),
]


async def send_session(
    client: httpx.AsyncClient,
    property_id: str,
    events: list[dict],
    *,
    start: float = -1,
    end: float | None,
) -> str:
    session_id = await start_session(
        client, property_id=property_id, customer_id="cust_heat", session_start=at(start)
    )
    response = await client.post(BATCH, json={"session_id": session_id, "events": events})
    assert response.status_code == 202 and response.json()["failed"] == 0, response.text
    if end is not None:
        response = await client.post(END, json={"session_id": session_id, "session_end": end})
        assert response.status_code == 200, response.text
    return session_id


@pytest.fixture(scope="module")
async def dataset(client: httpx.AsyncClient) -> dict[str, str]:
    property_id = f"heat_{uuid.uuid4().hex[:8]}"
    first = await send_session(client, property_id, FIRST_SESSION_EVENTS, end=at(20))
    second = await send_session(client, property_id, SECOND_SESSION_EVENTS, start=99, end=None)
    other = await send_session(
        client, f"other_{uuid.uuid4().hex[:8]}", [position(1, x=1, y=1, z=1)], end=at(5)
    )
    return {"property": property_id, "first": first, "second": second, "other": other}


def heatmap_url(property_id: str, suffix: str = "") -> str:
    return f"/api/v1/properties/{property_id}/heatmap{suffix}"


def cells(body: dict) -> list[tuple[int, int, int]]:
    return [(cell["i"], cell["j"], cell["count"]) for cell in body["cells"]]


async def test_property_heatmap_counts_every_usable_sample_exactly(client, dataset):
    response = await client.get(heatmap_url(dataset["property"]), params={"bin_size": 50})
    assert response.status_code == 200, response.text
    body = response.json()
    # Both sessions: 12 + 2 samples, 4 unreadable. By hand: x from 0 to 310, y from -45 to 60.
    assert body["samples"] == {"used": 10, "skipped": 4, "other_storeys": 0}
    assert body["grid"] == {"origin": [0.0, -50.0], "bin_size": [50.0, 50.0], "shape": [7, 3]}
    assert cells(body) == [(2, 0, 1), (6, 0, 2), (0, 1, 2), (1, 1, 3), (2, 1, 1), (1, 2, 1)]
    assert body["max_count"] == 3
    assert body["plane"] == "xy" and body["axes"] == ["x", "y"] and body["unit"] == "cm"
    assert body["counts"] is None


async def test_room_holds_the_samples_after_its_latest_place_event(client, dataset):
    response = await client.get(
        heatmap_url(dataset["property"]), params={"bin_size": 50, "room": " Kitchen "}
    )
    body = response.json()
    # Samples 2, 3, 12, 15 of session 1 and both of session 2; 4 of them unreadable.
    assert body["samples"] == {"used": 6, "skipped": 4, "other_storeys": 0}
    assert body["grid"] == {"origin": [50.0, -50.0], "bin_size": [50.0, 50.0], "shape": [2, 3]}
    assert cells(body) == [(1, 0, 1), (0, 1, 3), (1, 1, 1), (0, 2, 1)]
    assert body["filters"]["room"] == "Kitchen"


async def test_zone_exit_ends_a_stay_and_an_unknown_room_has_no_samples(client, dataset):
    balcony = await client.get(heatmap_url(dataset["property"]), params={"room": "Balcony"})
    assert balcony.json()["samples"] == {"used": 1, "skipped": 0, "other_storeys": 0}
    assert cells(balcony.json()) == [(0, 0, 1)]
    nowhere = await client.get(heatmap_url(dataset["property"]), params={"room": "Attic"})
    assert nowhere.status_code == 200
    assert nowhere.json()["samples"] == {"used": 0, "skipped": 0, "other_storeys": 0}
    assert nowhere.json()["grid"] is None and nowhere.json()["cells"] == []


async def test_bins_span_the_extent_and_the_far_edge_joins_the_last_cell(client, dataset):
    response = await client.get(
        heatmap_url(dataset["property"]),
        params={"bins": 2, "session_id": dataset["first"], "layout": "dense"},
    )
    body = response.json()
    assert body["grid"] == {"origin": [0.0, -45.0], "bin_size": [155.0, 52.5], "shape": [2, 2]}
    assert body["counts"] == [[2, 2], [4, 0]]
    assert body["cells"] is None
    assert body["samples"] == {"used": 8, "skipped": 4, "other_storeys": 0}


async def test_side_plane_with_one_height_gets_cells_of_one_centimetre(client, dataset):
    response = await client.get(
        heatmap_url(dataset["property"]),
        params={"plane": "xz", "bins": 1, "session_id": dataset["first"]},
    )
    body = response.json()
    assert body["axes"] == ["x", "z"]
    # Sample 4 has a z but no usable x; sample 5 has an x but no z.
    assert body["samples"] == {"used": 8, "skipped": 4, "other_storeys": 0}
    assert body["grid"] == {"origin": [0.0, 150.0], "bin_size": [310.0, 1.0], "shape": [1, 1]}
    assert cells(body) == [(0, 0, 8)]


async def test_period_selects_the_sessions_that_started_in_it(client, dataset):
    second_only = await client.get(heatmap_url(dataset["property"]), params={"from": iso(99)})
    assert second_only.json()["samples"] == {"used": 2, "skipped": 0, "other_storeys": 0}
    assert second_only.json()["filters"]["from"] == (
        datetime.fromtimestamp(at(99), tz=UTC).isoformat().replace("+00:00", "Z")
    )
    # Half-open: the session that started at 99 s is out, all of the first one's samples in.
    first_only = await client.get(
        heatmap_url(dataset["property"]),
        params={"from": iso(-1), "to": iso(99), "room": "Kitchen"},
    )
    assert first_only.json()["samples"] == {"used": 4, "skipped": 4, "other_storeys": 0}
    none = await client.get(heatmap_url(dataset["property"]), params={"to": iso(-1)})
    assert none.json()["samples"] == {"used": 0, "skipped": 0, "other_storeys": 0}


async def test_unknown_property_and_foreign_sessions_answer_404(client, dataset):
    unknown = await client.get(heatmap_url("no_such_property"))
    assert unknown.status_code == 404
    other = await client.get(
        heatmap_url(dataset["property"]), params={"session_id": dataset["other"]}
    )
    assert other.status_code == 404 and "property" in other.json()["detail"]
    missing = await client.get(
        heatmap_url(dataset["property"]), params={"session_id": str(uuid.uuid4())}
    )
    assert missing.status_code == 404


NASTY_COORDINATES = [
    '{"x": 1e-400, "y": 1}',  # a number too small for float8
    '{"x": 1e300, "y": 1}',  # one too large for a position
    '{"x": "1e400", "y": 1}',  # a three-digit exponent
    '{"x": "' + "9" * 70 + '", "y": 1}',  # too long
    '{"x": "\u0661\u0662", "y": 1}',  # digits, but not ASCII ones
    '{"x": "NaN", "y": 1}',
    '{"x": "-Infinity", "y": 1}',
    '{"x": 1e16, "y": 1}',  # past 1e15 cm
    '{"x": [1], "y": 1}',
    '{"x": null, "y": 1}',
    '{"x": {"value": 1}, "y": 1}',
    "[1, 2]",
    "null",
    '{"x": "  7.5e1 ", "y": "-1E+01"}',  # the one usable sample: (75, -10)
]


async def test_unreadable_coordinates_are_counted_as_skipped_never_an_error(client, db):
    """Values the API would never pass on, written straight into the table."""
    property_id = f"nasty_{uuid.uuid4().hex[:8]}"
    session_id = await start_session(client, property_id=property_id, session_start=at(0))
    for number, text in enumerate(NASTY_COORDINATES):
        await db.execute(
            """
            INSERT INTO tracking_events (project_id, session_id, event_id, event_type, timestamp,
                                         client_timestamp, event_data, received_at)
            SELECT project_id, id, gen_random_uuid(), 'position', started_at + $2 * interval '1s',
                   started_at, $3::jsonb, now()
            FROM vr_sessions WHERE id = $1
            """,
            uuid.UUID(session_id),
            number,
            text,
        )
    response = await client.get(heatmap_url(property_id), params={"bin_size": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["samples"] == {"used": 1, "skipped": len(NASTY_COORDINATES) - 1, "other_storeys": 0}
    assert body["grid"] == {"origin": [70.0, -10.0], "bin_size": [10.0, 10.0], "shape": [1, 1]}
    assert cells(body) == [(0, 0, 1)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bins": 0}, "bins"),
        ({"bins": 501}, "bins"),
        ({"bins": 4, "bin_size": 10}, "bins"),
        ({"bin_size": 0}, "bin_size"),
        ({"bin_size": "nan"}, "bin_size"),
        ({"bin_size": "inf"}, "bin_size"),
        ({"bin_size": 1e10}, "bin_size"),
        ({"plane": "xx"}, "plane"),
        ({"layout": "grid"}, "layout"),
        ({"room": "  "}, "room"),
        ({"session_id": "not-a-uuid"}, "session_id"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-03-01T10:00:00"}, "from"),
        ({"to": "2025-02-30"}, "to"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "to"),
        ({"from": "2025-03-01", "to": "2025-03-01"}, "to"),
    ],
)
async def test_bad_parameters_answer_422_naming_the_field(client, dataset, params, field):
    response = await client.get(heatmap_url(dataset["property"]), params=params)
    assert response.status_code == 422, response.text
    assert ["query", field] in [problem["loc"] for problem in response.json()["detail"]]


async def test_bins_limit_is_allowed_at_the_edge(client, dataset):
    response = await client.get(heatmap_url(dataset["property"]), params={"bins": 500})
    assert response.status_code == 200
    assert response.json()["grid"]["shape"] == [500, 500]


async def test_bin_size_making_too_many_cells_is_refused_past_the_setting(
    app_with: AppFactory, dataset
):
    async with app_with(ANALYTICS_HEATMAP_MAX_BINS=7) as limited:
        url = heatmap_url(dataset["property"])
        first = {"session_id": dataset["first"]}
        # 0..310 in cells of 45 cm: 7 cells, the most allowed; 44 cm makes 8.
        assert (await limited.get(url, params={**first, "bin_size": 45})).status_code == 200
        refused = await limited.get(url, params={**first, "bin_size": 44})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "bin_size"]
        assert "8 x 4" in refused.json()["detail"][0]["msg"]
        assert (await limited.get(url, params={"bins": 7})).status_code == 200
        assert (await limited.get(url, params={"bins": 8})).status_code == 422
        # Without bins or bin_size the default is capped by the setting.
        default = await limited.get(url)
        assert default.json()["grid"]["shape"] == [7, 7]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_png_is_an_image_of_the_requested_size(client, dataset):
    default = await client.get(
        heatmap_url(dataset["property"], ".png"), params={"bin_size": 50, "room": "Kitchen"}
    )
    assert default.status_code == 200
    assert default.headers["content-type"] == "image/png"
    assert png_size(default.content) == (900, 700)


@pytest.mark.parametrize(("width", "height"), [(200, 200), (2000, 200), (200, 2000)])
async def test_png_sizes_at_the_limits(client, dataset, width, height):
    response = await client.get(
        heatmap_url(dataset["property"], ".png"),
        params={"plane": "yz", "width": width, "height": height, "scale": "log"},
    )
    assert response.status_code == 200
    assert png_size(response.content) == (width, height)


async def test_png_without_samples_is_still_an_image(client, dataset):
    response = await client.get(
        heatmap_url(dataset["property"], ".png"), params={"room": "Attic", "width": 640}
    )
    assert response.status_code == 200
    assert png_size(response.content) == (640, 700)


@pytest.mark.parametrize(
    "params",
    [{"width": 199}, {"height": 2001}, {"scale": "sqrt"}, {"bins": 4, "bin_size": 1}],
)
async def test_png_bad_parameters_answer_422(client, dataset, params):
    response = await client.get(heatmap_url(dataset["property"], ".png"), params=params)
    assert response.status_code == 422


async def test_png_unknown_property_answers_404(client):
    assert (await client.get(heatmap_url("no_such_property", ".png"))).status_code == 404


async def test_heatmap_needs_a_key(client, dataset):
    response = await client.get(heatmap_url(dataset["property"]), headers={"X-API-Key": ""})
    assert response.status_code == 401


# Another project, with generated tours.


@pytest.fixture(scope="module")
async def tours_project(
    access: AccessService, database_dsn: str
) -> AsyncIterator[tuple[httpx.AsyncClient, list[Tour]]]:
    # A fixed start: the generated tours (which rooms each visits) depend on it.
    start = datetime(2024, 6, 1, tzinfo=UTC)
    tours = generate_tours(seed=11, customers=8, properties=2, start=start, days=14)
    heatmap_tours = await create_project_key(access, "heatmap tours")
    async with serve_app(database_dsn, api_key=heatmap_tours.key) as other:
        await send_tours(other, tours)
        yield other, tours


def expected_cells(
    points: list[tuple[float, float]], *, bin_size: float
) -> tuple[list[float], list[int], list[tuple[int, int, int]]]:
    """The documented binning, in plain Python floats."""
    us, vs = [u for u, _ in points], [v for _, v in points]
    origin = [math.floor(min(us) / bin_size) * bin_size, math.floor(min(vs) / bin_size) * bin_size]
    shape = [
        math.floor((max(us) - origin[0]) / bin_size) + 1,
        math.floor((max(vs) - origin[1]) / bin_size) + 1,
    ]
    counts: Counter[tuple[int, int]] = Counter()
    for u, v in points:
        i = min(max(math.floor((u - origin[0]) / bin_size), 0), shape[0] - 1)
        j = min(max(math.floor((v - origin[1]) / bin_size), 0), shape[1] - 1)
        counts[(i, j)] += 1
    listed = sorted(((i, j, count) for (i, j), count in counts.items()), key=lambda c: (c[1], c[0]))
    return origin, shape, listed


def room_positions(tour: Tour, room: str | None) -> list[tuple[float, float]]:
    """The tour's (x, y) samples, those taken in `room` only when given: the place of the latest
    named room_view or zone_enter, cleared by a named zone_exit (events are in time order)."""
    current = None
    points = []
    for event in tour.events:
        kind = event["event_type"]
        name = place_name(event)
        if name is not None:
            current = None if kind == "zone_exit" else name
        elif kind == "position" and (room is None or current == room):
            data = event_data(event)
            points.append((float(data["x"]), float(data["y"])))
    return points


@pytest.mark.parametrize("room", [None, "Living Room", "Hallway"])
async def test_generated_tours_heatmap_matches_the_samples_sent(tours_project, room):
    other, tours = tours_project
    property_id = "prop_001"
    points = [
        point
        for tour in tours
        if tour.property_id == property_id
        for point in room_positions(tour, room)
    ]
    assert points, "the generator should visit this room"
    origin, shape, listed = expected_cells(points, bin_size=40.0)
    params: dict[str, Any] = {"bin_size": 40}
    if room is not None:
        params["room"] = room
    response = await other.get(heatmap_url(property_id), params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["samples"] == {"used": len(points), "skipped": 0, "other_storeys": 0}
    assert body["grid"] == {"origin": origin, "bin_size": [40.0, 40.0], "shape": shape}
    assert cells(body) == listed


async def test_one_projects_property_is_not_found_with_another_projects_key(
    client, tours_project, dataset
):
    other, _ = tours_project
    assert (await other.get(heatmap_url(dataset["property"]))).status_code == 404
    foreign_session = await other.get(
        heatmap_url(dataset["property"]), params={"session_id": dataset["first"]}
    )
    assert foreign_session.status_code == 404


def in_a_dialect(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a client with its own names sends it: positions as HeadPose with the
    coordinates under `loc.X`..., rooms as ViewChanged naming `payload.room`, zones as Zone."""
    data = event["event_data"]
    if event["event_type"] == "position":
        pose = {"loc": {axis.upper(): value for axis, value in data.items()}}
        return {**event, "event_type": "HeadPose", "event_data": pose}
    if event["event_type"] == "room_view":
        return {
            **event,
            "event_type": "ViewChanged",
            "event_data": {"payload": {"room": data["room_name"]}},
        }
    return event


DIALECT_MAPPING = {
    "presets": [],
    "rules": [
        {
            "source_type": "HeadPose",
            "target_type": "position",
            "fields": {axis: f"loc.{axis.upper()}" for axis in ("x", "y", "z")},
        },
        {
            "source_type": "ViewChanged",
            "target_type": "room_view",
            "fields": {"room_name": "payload.room"},
        },
    ],
}


async def test_heatmaps_read_positions_and_rooms_through_the_projects_mapping(
    client: httpx.AsyncClient, dataset: dict[str, str], database_dsn: str, access: AccessService
) -> None:
    tenant = await create_project_key(access, f"heatmap dialect {uuid.uuid4().hex[:6]}")
    property_id = dataset["property"]
    async with serve_app(database_dsn, api_key=tenant.key) as dialect:
        unmapped_first = await send_session(
            dialect, property_id, [in_a_dialect(e) for e in FIRST_SESSION_EVENTS], end=at(20)
        )
        await send_session(
            dialect,
            property_id,
            [in_a_dialect(e) for e in SECOND_SESSION_EVENTS],
            start=99,
            end=None,
        )
        before = (await dialect.get(heatmap_url(property_id), params={"bin_size": 50})).json()
        saved = await dialect.put("/api/v1/admin/event-mapping", json=DIALECT_MAPPING)
        answers = {}
        for params in (
            {"bin_size": 50},
            {"bin_size": 50, "room": "Kitchen"},
            {"plane": "xz", "bins": 8},
        ):
            mapped = await dialect.get(heatmap_url(property_id), params=params)
            vocabulary = await client.get(heatmap_url(property_id), params=params)
            answers[str(params)] = (mapped.json(), vocabulary.json())

    assert unmapped_first and saved.status_code == 200, saved.text
    assert before["samples"] == {"used": 0, "skipped": 0, "other_storeys": 0}
    for params, (mapped, vocabulary) in answers.items():
        assert mapped["samples"]["used"] > 0, params
        assert {key: mapped[key] for key in ("samples", "grid", "cells")} == {
            key: vocabulary[key] for key in ("samples", "grid", "cells")
        }, params
