"""Synthetic VR tours: realistic sessions for N customers and properties, sent through the real
ingestion API, with the figures an analytics API must then return (scripts/tour_truth.py).

    python scripts/tour_generator.py --base-url http://127.0.0.1:8000 --customers 20 \\
        --properties 3 --seed 7

Every property has a floor plan (rooms as rectangles in Unreal centimetres, left-handed, Z up,
doors onto a hallway); visitors walk between rooms along walkable paths or teleport, and the
headset reports its position about once a second. Generation is pure: the same seed and
arguments give the same tours, ids included. The event vocabulary is in docs/events.md.
"""

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

if __package__:  # imported as scripts.tour_generator (tests)
    from scripts.tour_truth import customer_figures, property_figures
else:  # run as python scripts/tour_generator.py
    from tour_truth import customer_figures, property_figures

START_PATH = "/api/v1/unreal/session/start"
BATCH_PATH = "/api/v1/unreal/tracking/batch"
END_PATH = "/api/v1/unreal/session/end"
DEVICES = ("Meta Quest 3", "Pico 4", "Valve Index")
HALLWAY = "Hallway"
FLOOR_HEIGHT_CM = 320
DOOR_MARGIN_CM = 60
# Durations real clients sent that mean nothing (docs/FIELD-NOTES): timer garbage, M:SS text,
# empty strings, negative and absurd numbers. The dwell rule treats them all as absent.
GARBAGE_DURATIONS = ("1,77,50,078:30:03", "0:14", "", -1.5, 177_500_783.0)


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle on the floor plane (X forward, Y right), in centimetres."""

    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return min(max(x, self.x0), self.x1), min(max(y, self.y0), self.y1)

    def random_point(self, rng: random.Random, margin: float = 40.0) -> tuple[float, float]:
        return (
            rng.uniform(self.x0 + margin, self.x1 - margin),
            rng.uniform(self.y0 + margin, self.y1 - margin),
        )


@dataclass(frozen=True)
class Room:
    name: str
    area: Rect
    door: tuple[float, float]
    """Centre of the doorway onto the hallway, on the shared wall."""
    pois: tuple[tuple[str, tuple[float, float]], ...]
    gaze_targets: tuple[str, ...]
    objects: tuple[tuple[str, tuple[str, ...]], ...]
    views: tuple[str, ...]


@dataclass(frozen=True)
class FloorPlan:
    property_id: str
    kind: str
    floor_z: float
    """Height of the floor (Z up): apartments sit on upper storeys."""
    hallway: Rect
    rooms: tuple[Room, ...]
    units: tuple[tuple[str, int, str], ...]
    """What a visitor can select: (name, square feet, type)."""

    def walkable(self, x: float, y: float) -> bool:
        return self.hallway.contains(x, y) or any(room.area.contains(x, y) for room in self.rooms)


@dataclass(frozen=True)
class Tour:
    """One session as the client sends it: the session body and its events as contract
    bodies ({event_type, timestamp (Unix seconds), event_data, event_id})."""

    session_id: str
    customer_id: str
    property_id: str
    device_type: str
    session_start: float
    session_end: float | None
    """None for a tour left open (the headset was taken off)."""
    events: list[dict[str, Any]] = field(default_factory=list)

    def start_body(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "session_start": self.session_start,
            "customer_id": self.customer_id,
            "property_id": self.property_id,
            "device_type": self.device_type,
        }


@dataclass(frozen=True)
class RoomKind:
    pois: tuple[str, ...]
    gaze_targets: tuple[str, ...]
    objects: tuple[tuple[str, tuple[str, ...]], ...] = ()
    views: tuple[str, ...] = ()


SWITCH = ("light_switch", ("toggle",))
CURTAINS = ("curtains", ("open", "close"))
WARDROBE = ("wardrobe_door", ("open", "close"))
ROOM_KINDS = {
    "Living Room": RoomKind(
        ("Sofa Set", "Fireplace"),
        ("Living Room Window", "TV Wall", "Chandelier"),
        (SWITCH, CURTAINS, ("tv", ("turn_on", "turn_off"))),
        ("City Skyline",),
    ),
    "Kitchen": RoomKind(
        ("Kitchen Island", "Range Hood"),
        ("Countertop", "Kitchen Window", "Pantry"),
        (("cabinet_door", ("open", "close")), ("fridge_door", ("open", "close")), SWITCH),
    ),
    "Dining Room": RoomKind(("Dining Table",), ("Pendant Lights", "Sideboard"), (SWITCH,)),
    "Master Bedroom": RoomKind(
        ("King Bed", "Walk-in Closet"), ("Bedroom Window", "Headboard"), (WARDROBE, CURTAINS)
    ),
    "Bedroom 2": RoomKind(("Study Desk",), ("Bunk Bed", "Bedroom 2 Window"), (WARDROBE,)),
    "Bathroom": RoomKind(
        ("Rain Shower",), ("Vanity Mirror", "Bathtub"), (("tap", ("turn_on", "turn_off")),)
    ),
    "Study": RoomKind(("Bookshelf",), ("Study Window", "Desk Lamp"), (SWITCH,)),
    "Home Theater": RoomKind(
        ("Projector Screen",), ("Recliners", "Acoustic Panels"), (("projector", ("turn_on",)),)
    ),
    "Balcony": RoomKind(
        ("Planters",),
        ("Railing", "Balcony View"),
        (("sliding_door", ("open", "close")),),
        ("City Skyline", "Sunset", "Amenities"),
    ),
    "Terrace": RoomKind(
        ("Jacuzzi", "Outdoor Kitchen"), ("Sea Horizon", "Pergola"), (), ("Sea View", "Sunset")
    ),
}
PROPERTY_KINDS = {
    "apartment": (
        ("Living Room", "Kitchen", "Dining Room", "Master Bedroom", "Bedroom 2", "Bathroom"),
        ("Balcony",),
        (("Unit 4A", 850, "1BHK"), ("Unit 7C", 1250, "2BHK"), ("Unit 12B", 1650, "3BHK")),
    ),
    "villa": (
        ("Living Room", "Kitchen", "Dining Room", "Master Bedroom", "Bedroom 2", "Study"),
        ("Home Theater", "Bathroom"),
        (("Villa Type A", 3200, "4BR Villa"), ("Villa Type B", 4100, "5BR Villa")),
    ),
    "penthouse": (
        ("Living Room", "Kitchen", "Master Bedroom", "Bathroom", "Terrace"),
        ("Study",),
        (("Penthouse North", 3800, "Penthouse"), ("Penthouse South", 4200, "Penthouse")),
    ),
}


def floor_plans(*, seed: int, properties: int) -> dict[str, FloorPlan]:
    """One floor plan per property: rooms on both sides of a hallway that starts at the
    entrance (X = 0), each with a door onto it."""
    rng = random.Random(f"{seed}:plans")
    plans = {}
    for index in range(properties):
        property_id = f"prop_{index + 1:03d}"
        kind = ("apartment", "villa", "penthouse")[index % 3]
        plans[property_id] = _floor_plan(rng, property_id, kind)
    return plans


def _floor_plan(rng: random.Random, property_id: str, kind: str) -> FloorPlan:
    always, optional, units = PROPERTY_KINDS[kind]
    names = list(always) + [name for name in optional if rng.random() < 0.7]
    # Whole centimetres: a position clamped to a wall stays inside once rounded to 0.1 cm.
    hall_width = rng.randint(180, 240)
    sides = {"left": 0, "right": 0}  # how far along X each side of the hallway is built
    rooms = []
    for position, name in enumerate(names):
        side = "left" if position % 2 == 0 else "right"
        width, depth = rng.randint(320, 620), rng.randint(300, 520)
        x0 = sides[side]
        sides[side] += width
        if side == "left":  # Y below the hallway
            area = Rect(x0, -depth, x0 + width, 0.0)
        else:
            area = Rect(x0, hall_width, x0 + width, hall_width + depth)
        door = (rng.randint(x0 + DOOR_MARGIN_CM, x0 + width - DOOR_MARGIN_CM), area.y1)
        if side == "right":
            door = (door[0], area.y0)
        room_kind = ROOM_KINDS[name]
        pois = tuple((poi, area.random_point(rng, margin=60)) for poi in room_kind.pois)
        rooms.append(
            Room(name, area, door, pois, room_kind.gaze_targets, room_kind.objects, room_kind.views)
        )
    storey = {"apartment": rng.randint(2, 18), "villa": 0, "penthouse": rng.randint(25, 40)}[kind]
    return FloorPlan(
        property_id=property_id,
        kind=kind,
        floor_z=storey * FLOOR_HEIGHT_CM,
        hallway=Rect(0.0, 0.0, max(sides.values()), hall_width),
        rooms=tuple(rooms),
        units=units,
    )


@dataclass(frozen=True)
class Customer:
    customer_id: str
    interest: float
    """0..1: how keen they are (more visits, longer stays, more unit selections)."""
    device_type: str
    favourite: str


def generate_tours(
    *,
    seed: int,
    customers: int,
    properties: int,
    sessions_per_customer: tuple[int, int] = (1, 4),
    start: datetime,
    days: int = 14,
    open_share: float = 0.15,
    position_interval: float = 1.0,
) -> list[Tour]:
    """Tours for `customers` customers over `properties` properties, starting within `days`
    days of `start`, sorted by start time. Keen customers come back, to the same property
    and to others; `open_share` of the tours are never ended. The same arguments give the
    same tours, ids included."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    low, high = sessions_per_customer
    if not 1 <= low <= high:
        raise ValueError("sessions_per_customer must be (low, high) with 1 <= low <= high")
    plans = floor_plans(seed=seed, properties=properties)
    # The start is part of the seed: tours of another period get other ids, so sending them
    # to a server that holds this period's is never mistaken for reusing event ids.
    rng = random.Random(f"{seed}:{int(start.timestamp())}:tours")
    tours = []
    for number in range(1, customers + 1):
        interest = rng.betavariate(1.3, 2.5)
        customer = Customer(
            customer_id=f"cust_{number:04d}",
            interest=interest,
            device_type=rng.choice(DEVICES),
            favourite=rng.choice(sorted(plans)),
        )
        visits = low + round((high - low) * interest**1.2 + rng.uniform(-0.4, 0.4))
        visits = min(max(visits, low), high)
        day_offsets = sorted(rng.randrange(days) for _ in range(visits))
        not_before = 0
        for day in day_offsets:
            day_start = int((start + timedelta(days=day)).timestamp())
            begins = max(not_before, day_start + rng.randint(9 * 3600, 20 * 3600))
            plan = plans[customer.favourite if rng.random() < 0.7 else rng.choice(sorted(plans))]
            device = customer.device_type if rng.random() < 0.9 else rng.choice(DEVICES)
            writer = _TourWriter(rng, plan, customer, begins, position_interval)
            tour = writer.write(
                session_id=_uuid(rng), device_type=device, left_open=rng.random() < open_share
            )
            tours.append(tour)
            not_before = math.ceil(writer.last_ms / 1000) + rng.randint(600, 7200)
    return sorted(tours, key=lambda tour: (tour.session_start, tour.session_id))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _straight_leg(
    rng: random.Random, area: Rect, start: tuple[float, float], end: tuple[float, float]
) -> Callable[[float], tuple[float, float]]:
    """Where a walker is along a straight leg: a few centimetres of sway, never outside the
    rectangle the leg crosses."""

    def at(fraction: float) -> tuple[float, float]:
        x = start[0] + (end[0] - start[0]) * fraction + rng.gauss(0, 5)
        y = start[1] + (end[1] - start[1]) * fraction + rng.gauss(0, 5)
        return area.clamp(x, y)

    return at


class _TourWriter:
    """Plays one visit through a floor plan and writes its events in time order. Times are
    whole milliseconds, strictly increasing, so no two place events share a timestamp."""

    def __init__(
        self,
        rng: random.Random,
        plan: FloorPlan,
        customer: Customer,
        start_seconds: int,
        position_interval: float,
    ) -> None:
        self.rng = rng
        self.plan = plan
        self.customer = customer
        self.start_seconds = start_seconds
        self.interval_ms = round(position_interval * 1000)
        self.now_ms = start_seconds * 1000 + rng.randint(200, 3000)
        self.last_ms = start_seconds * 1000
        self.next_sample_ms = self.now_ms
        self.events: list[dict[str, Any]] = []
        self.eye_height = rng.uniform(155, 178)
        self.speed = rng.uniform(90, 140)  # cm/s
        self.style = rng.choice(("timed", "untimed", "zones", "mixed"))
        self.x, self.y = 50.0, plan.hallway.y1 / 2
        self.area = plan.hallway
        self.zone: str | None = None

    def write(self, *, session_id: str, device_type: str, left_open: bool) -> Tour:
        rng = self.rng
        if rng.random() < 0.5:
            self.emit("menu_open", {})
            self.stand(rng.uniform(1, 4))
        rooms = list(self.plan.rooms)
        count = min(len(rooms), 2 + round(rng.uniform(1, 5) * (0.5 + self.customer.interest)))
        visiting = [rooms[0], *rng.sample(rooms[1:], count - 1)]
        for index, room in enumerate(visiting):
            teleport = index > 0 and rng.random() < 0.25
            self.visit(room, teleport=teleport)
            if rng.random() < 0.05 + 0.2 * self.customer.interest:
                self.select_units()
        self.stand(rng.uniform(0.5, 3))
        end = None if left_open else math.ceil(self.last_ms / 1000) + rng.randint(1, 15)
        for event in self.events:
            # Blueprint JSON plugins often send event_data as a string holding the object.
            if event["event_type"] != "position" and rng.random() < 0.03:
                event["event_data"] = json.dumps(event["event_data"])
        return Tour(
            session_id=session_id,
            customer_id=self.customer.customer_id,
            property_id=self.plan.property_id,
            device_type=device_type,
            session_start=float(self.start_seconds),
            session_end=None if end is None else float(end),
            events=self.events,
        )

    # Events and time

    def emit(self, event_type: str, event_data: dict[str, Any]) -> dict[str, Any]:
        at = max(self.now_ms, self.last_ms + 1)
        self.last_ms = self.now_ms = at
        body: dict[str, Any] = {
            "event_type": event_type,
            "timestamp": at / 1000,
            "event_data": event_data,
            "event_id": _uuid(self.rng),
        }
        self.events.append(body)
        return body

    def pass_time(self, seconds: float, place: Callable[[float], tuple[float, float]]) -> None:
        """Let `seconds` pass, reporting the position about every interval; `place(fraction)`
        says where the visitor is along the way."""
        begin = self.now_ms
        end = begin + max(1, round(seconds * 1000))
        while self.next_sample_ms <= end:
            self.now_ms = max(self.next_sample_ms, self.now_ms)
            fraction = min(1.0, (self.now_ms - begin) / (end - begin))
            self.x, self.y = place(fraction)
            self.emit("position", self.position())
            jitter = self.rng.randint(-self.interval_ms // 10, self.interval_ms // 10)
            self.next_sample_ms = self.now_ms + self.interval_ms + jitter
        self.now_ms = max(end, self.now_ms)
        self.x, self.y = place(1.0)

    def stand(self, seconds: float) -> None:
        """Stay put; the headset still moves a little."""
        x, y, area, rng = self.x, self.y, self.area, self.rng
        self.pass_time(seconds, lambda _: area.clamp(x + rng.gauss(0, 3), y + rng.gauss(0, 3)))
        self.x, self.y = x, y

    def walk(self, path: Sequence[tuple[Rect, tuple[float, float]]]) -> None:
        """Walk a path of (rectangle the leg stays in, point the leg ends at)."""
        for area, (to_x, to_y) in path:
            from_x, from_y = self.x, self.y
            distance = math.hypot(to_x - from_x, to_y - from_y)
            if distance < 1:
                continue
            along = _straight_leg(self.rng, area, (from_x, from_y), (to_x, to_y))
            self.area = area
            self.pass_time(distance / self.speed * self.rng.uniform(0.9, 1.2), along)
            self.x, self.y = to_x, to_y

    def position(self) -> dict[str, float]:
        z = self.plan.floor_z + self.eye_height + self.rng.gauss(0, 2)
        return {"x": round(self.x, 1), "y": round(self.y, 1), "z": round(z, 1)}

    # What a visitor does

    def visit(self, room: Room, *, teleport: bool) -> None:
        rng = self.rng
        if teleport:
            self.leave_zone()
            target = room.area.random_point(rng)
            self.x, self.y = target
            self.area = room.area
            self.emit("teleport", {"to": room.name, "position": self.position()})
            self.now_ms += rng.randint(200, 600)  # the fade
        else:
            if self.area is not self.plan.hallway:
                self.walk([(self.area, self.current_door())])
                self.leave_zone()
                self.enter_zone(HALLWAY)
            hall_y = self.plan.hallway.y1 / 2
            self.walk(
                [
                    (self.plan.hallway, (self.x, hall_y)),
                    (self.plan.hallway, (room.door[0], hall_y)),
                    (self.plan.hallway, room.door),
                ]
            )
            self.leave_zone()
            self.area = room.area
        placed = self.enter_room(room)
        entered_ms = self.now_ms
        stay = rng.uniform(30, 90) * (0.6 + self.customer.interest)
        while (self.now_ms - entered_ms) / 1000 < stay:
            self.activity(room)
        if placed is not None:
            stayed = (self.now_ms - entered_ms) / 1000
            placed["event_data"]["duration"] = self.reported_duration(stayed)

    def current_door(self) -> tuple[float, float]:
        return next(room.door for room in self.plan.rooms if room.area is self.area)

    def enter_room(self, room: Room) -> dict[str, Any] | None:
        """The place event on entering; returns the event whose duration is to be filled in
        once the stay is over, if this client reports durations."""
        style = self.style
        if style == "mixed":
            style = self.rng.choice(("timed", "untimed", "zones"))
        if style == "zones":
            self.enter_zone(room.name)
            return None
        data: dict[str, Any] = {"room_name": self.client_name(room.name)}
        if self.rng.random() < 0.3:
            data["position"] = self.position()
            yaw = round(self.rng.uniform(-180, 180), 1)
            data["rotation"] = {"pitch": 0.0, "yaw": yaw, "roll": 0.0}
        event = self.emit("room_view", data)
        timed = style == "timed" and self.rng.random() < 0.9
        return event if timed else None

    def client_name(self, name: str) -> str:
        """Names as clients send them: now and then padded with spaces, rarely empty."""
        draw = self.rng.random()
        if draw < 0.02:
            return ""
        if draw < 0.05:
            return f" {name} "
        return name

    def enter_zone(self, name: str) -> None:
        if self.style in ("zones", "mixed"):
            self.emit("zone_enter", {"zone_name": self.client_name(name)})
            self.zone = name

    def leave_zone(self) -> None:
        if self.zone is not None:
            self.emit("zone_exit", {"zone_name": self.zone})
            self.zone = None

    def activity(self, room: Room) -> None:
        """One thing a visitor does in a room, drawn by how often visitors do it."""
        rng = self.rng
        choices = {
            self.visit_poi: 4 if room.pois else 0,
            self.gaze: 5,
            self.interact: 2 if room.objects else 0,
            self.enjoy_view: 2 if room.views else 0,
            self.take_screenshot: 0.3 + self.customer.interest,
            self.look_around: 3,
        }
        action = rng.choices(list(choices), weights=list(choices.values()))[0]
        action(room)

    def visit_poi(self, room: Room) -> None:
        poi, point = self.rng.choice(room.pois)
        self.walk([(room.area, point)])
        seconds = self.rng.uniform(4, 18)
        duration = self.reported_duration(seconds)
        self.emit("poi_visit", {"poi": poi, "zone": room.name, "duration": duration})
        self.stand(seconds)

    def gaze(self, room: Room) -> None:
        seconds = self.rng.uniform(1.5, 8)
        target = self.rng.choice(room.gaze_targets)
        self.emit("gaze", {"target": target, "duration": self.reported_duration(seconds)})
        self.stand(seconds)

    def interact(self, room: Room) -> None:
        item, actions = self.rng.choice(room.objects)
        self.emit("interaction", {"object": item, "action": self.rng.choice(actions)})
        self.stand(self.rng.uniform(1, 3))

    def enjoy_view(self, room: Room) -> None:
        seconds = self.rng.uniform(5, 15)
        view = self.rng.choice(room.views)
        self.emit("view", {"view_name": view, "duration": self.reported_duration(seconds)})
        self.stand(seconds)

    def take_screenshot(self, room: Room) -> None:
        self.emit("screenshot_taken", {})
        self.stand(self.rng.uniform(0.5, 2))

    def look_around(self, room: Room) -> None:
        self.walk([(room.area, room.area.random_point(self.rng))])
        self.stand(self.rng.uniform(1, 5))

    def select_units(self) -> None:
        rng = self.rng
        self.emit("menu_open", {})
        for name, sqft, kind in rng.sample(self.plan.units, rng.randint(1, len(self.plan.units))):
            self.stand(rng.uniform(2, 6))
            self.emit(
                "unit_selection",
                {"name": name, "sqft": sqft if rng.random() < 0.5 else str(sqft), "type": kind},
            )
        self.stand(rng.uniform(1, 3))

    def reported_duration(self, seconds: float) -> float | str:
        """A client's measure of a duration: noisy, often a numeric string, now and then
        garbage."""
        draw = self.rng.random()
        if draw < 0.04:
            return self.rng.choice(GARBAGE_DURATIONS)
        measured = round(max(0.0, seconds + self.rng.gauss(0, 0.4)), 2)
        return f"{measured:.2f}" if draw < 0.3 else measured


# Sending


class TourUploadError(RuntimeError):
    """The API answered a tour's request with anything but full success."""


@dataclass
class UploadSummary:
    sessions: int = 0
    events: int = 0
    duplicates: int = 0


async def send_tours(
    client: httpx.AsyncClient,
    tours: Iterable[Tour],
    *,
    batch_size: int = 100,
    concurrency: int = 4,
) -> UploadSummary:
    """Send each tour through the real API (session/start, tracking/batch in batches,
    session/end), `concurrency` tours at a time. Raises TourUploadError on any non-2xx answer
    or any event not processed. Safe to repeat: ids make retries duplicates, not copies."""
    pending = iter(list(tours))
    summary = UploadSummary()

    async def worker() -> None:
        for tour in pending:
            await _send_tour(client, tour, batch_size=batch_size, summary=summary)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return summary


async def _send_tour(
    client: httpx.AsyncClient, tour: Tour, *, batch_size: int, summary: UploadSummary
) -> None:
    await _post(client, START_PATH, tour.start_body(), expected=201)
    for first in range(0, len(tour.events), batch_size):
        batch = tour.events[first : first + batch_size]
        body = {"session_id": tour.session_id, "events": batch}
        answer = await _post(client, BATCH_PATH, body, expected=202)
        if answer.get("failed") != 0 or answer.get("processed") != len(batch):
            raise TourUploadError(
                f"session {tour.session_id}: batch at event {first} not fully processed: "
                f"{answer.get('processed')} of {len(batch)}, errors {answer.get('errors')}"
            )
        summary.events += len(batch)
        summary.duplicates += len(answer.get("duplicates") or [])
    if tour.session_end is not None:
        end = {"session_id": tour.session_id, "session_end": tour.session_end}
        await _post(client, END_PATH, end, expected=200)
    summary.sessions += 1


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], *, expected: int
) -> dict[str, Any]:
    response = await client.post(path, json=body)
    if response.status_code != expected:
        request_id = response.headers.get("X-Request-ID", "-")
        raise TourUploadError(
            f"POST {path} answered {response.status_code} (expected {expected}, request id "
            f"{request_id}): {response.text[:300]}"
        )
    return response.json()


# Command line


def find_api_key(given: str | None) -> str | None:
    """--api-key, else env NEXERO_API_KEY, else the file .nexero/api-key (here or in the
    repository root)."""
    if given:
        return given
    if os.environ.get("NEXERO_API_KEY"):
        return os.environ["NEXERO_API_KEY"]
    for folder in (Path.cwd(), Path(__file__).resolve().parents[1]):
        key_file = folder / ".nexero" / "api-key"
        if key_file.is_file():
            return key_file.read_text().strip() or None
    return None


def _sessions_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError("expected N or LOW-HIGH, such as 1-4") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("expected 1 <= LOW <= HIGH")
    return bounds


def _start_date(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", help="env NEXERO_API_KEY or .nexero/api-key if not given")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--properties", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sessions-per-customer", type=_sessions_range, default=(1, 4))
    parser.add_argument("--days", type=int, default=14, help="days the tours are spread over")
    parser.add_argument(
        "--start",
        type=_start_date,
        help="ISO date of the first day (default: DAYS+1 days ago, midnight UTC)",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--truth", type=Path, help="write the expected figures to this JSON file")
    parser.add_argument("--dry-run", action="store_true", help="generate only; send nothing")
    return parser.parse_args(argv)


async def run(arguments: argparse.Namespace) -> int:
    start = arguments.start
    if start is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=arguments.days + 1)
    tours = generate_tours(
        seed=arguments.seed,
        customers=arguments.customers,
        properties=arguments.properties,
        sessions_per_customer=arguments.sessions_per_customer,
        start=start,
        days=arguments.days,
    )
    events = sum(len(tour.events) for tour in tours)
    print(f"generated {len(tours)} tours, {events} events (seed {arguments.seed}, from {start})")
    if arguments.truth:
        truth = {
            "properties": {key: asdict(value) for key, value in property_figures(tours).items()},
            "customers": {key: asdict(value) for key, value in customer_figures(tours).items()},
        }
        arguments.truth.write_text(json.dumps(truth, indent=2))
        print(f"expected figures written to {arguments.truth}")
    if arguments.dry_run:
        return 0
    api_key = find_api_key(arguments.api_key)
    headers = {"X-API-Key": api_key} if api_key else {}
    if not api_key:
        print("no API key given (--api-key, NEXERO_API_KEY, .nexero/api-key): sending none")
    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=arguments.base_url.rstrip("/"), headers=headers, timeout=arguments.timeout
    ) as client:
        try:
            summary = await send_tours(
                client, tours, batch_size=arguments.batch_size, concurrency=arguments.concurrency
            )
        except (TourUploadError, httpx.TransportError) as error:
            print(f"failed: {error}", file=sys.stderr)
            return 1
    elapsed = time.perf_counter() - began
    print(
        f"sent {summary.sessions} sessions and {summary.events} events to {arguments.base_url} "
        f"in {elapsed:.1f} s ({summary.events / elapsed:.0f} events/s), "
        f"{summary.duplicates} already stored"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_arguments())))
