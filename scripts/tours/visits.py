"""One visit of a synthetic tour (scripts/tours/generator.py schedules them): a customer walks
through a property's floor plan (scripts/tours/floor_plans.py) along walkable paths or teleports,
looks, interacts and selects units, and their headset's client writes it all down as contract
events in time order, with the quirks of real clients (noisy, string and garbage durations,
padded or empty names, event_data sent as a JSON string)."""

import json
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .floor_plans import HALLWAY, FloorPlan, Rect, Room

# Durations real clients sent that mean nothing (docs/FIELD-NOTES): timer garbage, clock text
# that is no time (75 seconds), empty strings, negative and absurd numbers. The dwell rule
# treats them all as absent.
GARBAGE_DURATIONS = ("1,77,50,078:30:03", "0:75", "", -1.5, 177_500_783.0)


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
class Customer:
    customer_id: str
    interest: float
    """0..1: how keen they are (more visits, longer stays, more unit selections)."""
    device_type: str
    favourite: str


def random_uuid(rng: random.Random) -> str:
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


class TourWriter:
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
            "event_id": random_uuid(self.rng),
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
