"""What the benchmark sends: the scenarios' requests, built as raw HTTP/1.1 bytes.

Bodies are written with string templates rather than json.dumps so that building them costs the
load generator little; every event carries a fresh `event_id`, so nothing is a duplicate.
Imported by the harness (python -m scripts.bench) and by its load-generator processes.
"""

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

API = "/api/v1/unreal"
TOUR_GENERATOR = Path(__file__).resolve().parents[1] / "tours" / "generator.py"
# A batch is accepted with every event stored only if the answer says nothing failed.
ALL_STORED = b'"failed":0,'
ROOMS = ("Living Room", "Kitchen", "Master Bedroom", "Bathroom", "Balcony", "Hallway")
TARGETS = ("window", "fireplace", "kitchen_island", "view", "artwork", "ceiling")
OBJECTS = (("cabinet_door", "open"), ("light_switch", "toggle"), ("tap", "turn_on"))


@dataclass(frozen=True)
class Call:
    """One HTTP request, ready to write, and what a good answer to it contains."""

    raw: bytes
    events: int = 0
    expect: bytes | None = None


@dataclass(frozen=True)
class Operation:
    """What one connection does in one go: for a session cycle or a tour, several calls."""

    calls: tuple[Call, ...]
    sessions: int = 0

    @property
    def events(self) -> int:
        return sum(call.events for call in self.calls)


@dataclass(frozen=True)
class WorkloadSpec:
    """Everything a load-generator process needs to build a scenario's requests (picklable)."""

    kind: str
    """trivial, stub, single, batch, sessions or tour"""
    host: str
    api_key: str
    batch_size: int = 100
    session_ids: tuple[str, ...] = ()
    """One open session per connection, for single and batch: a headset per connection."""
    seed: int = 0
    tour_source: str = "builtin"


class Workload(Protocol):
    def next_operation(self, connection: int) -> Operation: ...


def http_request(spec: WorkloadSpec, method: str, path: str, body: str | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {spec.host}\r\nX-API-Key: {spec.api_key}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    payload = body.encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


def event_content(number: int) -> tuple[str, str]:
    """The type and event_data (compact JSON) of the `number`-th event: the usual VR kinds, so
    the HTTP scenarios and the COPY ceiling store the same rows."""
    room = ROOMS[number % len(ROOMS)]
    kind = number % 5
    if kind == 0:
        return "room_view", f'{{"room_name":"{room}","duration":{number % 40 + 0.5}}}'
    if kind == 1:
        target = TARGETS[number % len(TARGETS)]
        return "gaze", f'{{"target":"{room} {target}","duration":{number % 7 + 0.25}}}'
    if kind == 2:
        obj, action = OBJECTS[number % len(OBJECTS)]
        return "interaction", f'{{"object":"{obj}","action":"{action}","room":"{room}"}}'
    x, y = (number * 37) % 1600 - 800, (number * 53) % 1600 - 800
    return "position", f'{{"x":{x}.5,"y":{y}.25,"z":170.0,"yaw":{number % 360}.0}}'


class EventWriter:
    """Event JSON with a new event_id each (a per-writer random prefix and a counter, so it
    costs no random numbers per event)."""

    def __init__(self, seed: int) -> None:
        prefix = random.Random(seed).getrandbits(80).to_bytes(10, "big").hex()
        self._prefix = f"{prefix[:8]}-{prefix[8:12]}-{prefix[12:16]}-{prefix[16:20]}-"
        self._count = 0

    def next_id(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:012x}"

    def event(self, timestamp: float) -> str:
        event_id = self.next_id()
        event_type, data = event_content(self._count)
        return (
            f'{{"event_type":"{event_type}","timestamp":{timestamp:.3f},'
            f'"event_id":"{event_id}","event_data":{data}}}'
        )

    def events(self, count: int, *, timestamp: float) -> str:
        return ",".join(self.event(timestamp + index * 0.01) for index in range(count))


class Trivial:
    def __init__(self, spec: WorkloadSpec) -> None:
        self._operation = Operation((Call(http_request(spec, "GET", "/")),))

    def next_operation(self, connection: int) -> Operation:
        return self._operation


class SingleEvents:
    def __init__(self, spec: WorkloadSpec) -> None:
        self._spec = spec
        self._writer = EventWriter(spec.seed)

    def next_operation(self, connection: int) -> Operation:
        session_id = self._spec.session_ids[connection]
        event = self._writer.event(time.time() - 1.0)
        body = f'{{"session_id":"{session_id}",{event[1:]}'
        path = f"{API}/tracking/event"
        return Operation((Call(http_request(self._spec, "POST", path, body), events=1),))


class Batches:
    def __init__(self, spec: WorkloadSpec) -> None:
        self._spec = spec
        self._writer = EventWriter(spec.seed)

    def next_operation(self, connection: int) -> Operation:
        size = self._spec.batch_size
        events = self._writer.events(size, timestamp=time.time() - 5.0)
        body = f'{{"session_id":"{self._spec.session_ids[connection]}","events":[{events}]}}'
        raw = http_request(self._spec, "POST", f"{API}/tracking/batch", body)
        return Operation((Call(raw, events=size, expect=ALL_STORED),))


class SessionCycles:
    """Start a session with the client's own id, then end it: one VR visit without events."""

    def __init__(self, spec: WorkloadSpec) -> None:
        self._spec = spec
        self._writer = EventWriter(spec.seed)

    def next_operation(self, connection: int) -> Operation:
        session_id = self._writer.next_id()
        now = time.time()
        start = (
            f'{{"session_id":"{session_id}","session_start":{now - 60:.3f},'
            f'"customer_id":"bench_customer_{connection}","property_id":"prop_bench",'
            f'"device_type":"Meta Quest 3"}}'
        )
        end = f'{{"session_id":"{session_id}","session_end":{now:.3f}}}'
        return Operation(
            (
                Call(http_request(self._spec, "POST", f"{API}/session/start", start)),
                Call(http_request(self._spec, "POST", f"{API}/session/end", end)),
            ),
            sessions=1,
        )


class Tours:
    """Whole tours: start, the tour's events in batches, end (15% of generated tours are left
    open). From scripts/tours/generator.py when it is there, else built-in tours of a few
    hundred mixed events. A pool of tours is made before the run and replayed, each time under
    a new session id (event ids are unique per session, so a replay stores every event)."""

    PLACEHOLDER = "00000000-0000-4000-8000-00000000b3c4"

    def __init__(self, spec: WorkloadSpec) -> None:
        self._spec = spec
        self._writer = EventWriter(spec.seed)
        tours = generated_tours(spec) if spec.tour_source == "tour_generator" else None
        self._pool = [self._template(tour) for tour in tours or self._builtin_tours(spec.seed)]
        self._next = spec.seed

    def next_operation(self, connection: int) -> Operation:
        self._next += 1
        template = self._pool[self._next % len(self._pool)]
        session_id = self._writer.next_id().encode()
        placeholder = self.PLACEHOLDER.encode()
        calls = tuple(
            Call(call.raw.replace(placeholder, session_id), call.events, call.expect)
            for call in template.calls
        )
        return Operation(calls, sessions=1)

    def _builtin_tours(self, seed: int) -> list[dict[str, Any]]:
        rng = random.Random(seed)
        tours = []
        for _ in range(40):
            started = time.time() - 3600
            count = rng.randint(150, 450)
            events = [
                json.loads(self._writer.event(started + index * 1.2)) for index in range(count)
            ]
            session = {
                "session_start": started,
                "session_end": started + count * 1.2 + 5,
                "customer_id": f"bench_customer_{rng.randint(1, 200)}",
                "property_id": f"prop_bench_{rng.randint(1, 5)}",
                "device_type": "Meta Quest 3",
            }
            tours.append({"session": session, "events": events})
        return tours

    def _template(self, tour: dict[str, Any]) -> Operation:
        """The tour's requests with a placeholder where the session id goes (of the same
        length, so Content-Length holds)."""
        session_id = self.PLACEHOLDER
        session = {**tour["session"], "session_id": session_id}
        end = session.pop("session_end", None)
        start = http_request(self._spec, "POST", f"{API}/session/start", json.dumps(session))
        calls = [Call(start)]
        events = tour["events"]
        size = self._spec.batch_size
        for first in range(0, len(events), size):
            chunk = events[first : first + size]
            body = json.dumps({"session_id": session_id, "events": chunk})
            raw = http_request(self._spec, "POST", f"{API}/tracking/batch", body)
            calls.append(Call(raw, events=len(chunk), expect=ALL_STORED))
        if end is not None:
            body = json.dumps({"session_id": session_id, "session_end": end})
            calls.append(Call(http_request(self._spec, "POST", f"{API}/session/end", body)))
        return Operation(tuple(calls), sessions=1)


def tour_generator_available() -> bool:
    return TOUR_GENERATOR.exists()


def generated_tours(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """About 60 tours from scripts/tours/generator.py (30 customers, 3 properties, over the two
    weeks before now), as {"session": start body + session_end, "events": [...]}."""
    from ..tours import generator as tour_generator

    start = datetime.now(UTC) - timedelta(days=15)
    tours = tour_generator.generate_tours(seed=spec.seed, customers=30, properties=3, start=start)
    return [
        {"session": {**tour.start_body(), "session_end": tour.session_end}, "events": tour.events}
        for tour in tours
    ]


def build(spec: WorkloadSpec) -> Workload:
    kinds = {
        "trivial": Trivial,
        "stub": Trivial,
        "single": SingleEvents,
        "batch": Batches,
        "sessions": SessionCycles,
        "tour": Tours,
    }
    return kinds[spec.kind](spec)


def new_session_id() -> str:
    return str(uuid.uuid4())
