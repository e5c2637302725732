"""Play a whole Unreal Engine VR tour against a running Nexero API and report each step.

    BASE_URL=http://127.0.0.1:8000 python scripts/test_unreal_client.py

Exits 1 if any step fails or the server cannot be reached.
"""

import argparse
import gzip
import json
import random
import time
import uuid
from typing import Any

import httpx
from _client_common import (
    Outcome,
    Step,
    add_connection_arguments,
    build_client,
    expect_object,
    run_and_exit,
    unexpected_status,
)

HEALTH_FIELDS = ("status", "timestamp", "environment", "database", "version", "uptime")
START_FIELDS = ("status", "message", "session_id")
END_FIELDS = ("status", "message", "session_id", "duration_seconds")
EVENT_FIELDS = ("status", "timestamp", "event_id", "duplicate")
BATCH_FIELDS = (
    "status",
    "total_events",
    "processed",
    "failed",
    "success_rate",
    "timestamp",
    "errors",
    "duplicates",
)
OVERSIZED_BODY_BYTES = 1_572_864  # 1.5 MiB, past the server's 1 MiB limit


def new_event_id() -> str:
    return str(uuid.uuid4())


def position(rng: random.Random) -> dict[str, float]:
    """A point in Unreal units (centimetres, Z up)."""
    return {
        "x": round(rng.uniform(-800, 800), 1),
        "y": round(rng.uniform(-800, 800), 1),
        "z": 170.0,
    }


def tour_events(rng: random.Random, *, start: float) -> list[dict[str, Any]]:
    """About twenty events of every kind; every other timestamp a numeric string, as Blueprints
    send them."""
    rooms = ["Living Room", "Kitchen", "Master Bedroom", "Balcony"]
    kinds: list[tuple[str, dict[str, Any]]] = []
    for room in rooms:
        kinds.append(("zone_enter", {"zone_name": room}))
        kinds.append(("room_view", {"room_name": room, "duration": f"{rng.uniform(3, 30):.1f}"}))
        kinds.append(
            ("gaze", {"target": f"{room} window", "duration": round(rng.uniform(1, 5), 2)})
        )
        kinds.append(("position", position(rng)))
    kinds += [
        ("poi_visit", {"poi": "Gym", "zone": "Amenities", "duration": "0:14"}),
        ("interaction", {"object": "cabinet_door", "action": "open"}),
        ("teleport", {"to": "Balcony", "position": position(rng)}),
        ("interaction", {"object": "light_switch", "action": "toggle"}),
    ]
    events = []
    for offset, (event_type, event_data) in enumerate(kinds):
        timestamp: float | str = start + offset * 0.05
        if offset % 2:
            timestamp = f"{timestamp:.3f}"
        events.append(
            {
                "event_type": event_type,
                "timestamp": timestamp,
                "event_id": new_event_id(),
                "event_data": event_data,
            }
        )
    return events


def position_events(rng: random.Random, *, start: float, count: int) -> list[dict[str, Any]]:
    return [
        {
            "event_type": "position",
            "timestamp": start + index * 0.02,
            "event_id": new_event_id(),
            "event_data": position(rng),
        }
        for index in range(count)
    ]


class Tour:
    """One simulated headset session; each method is one step of the report."""

    def __init__(self, client: httpx.Client, *, customer_id: str, property_id: str) -> None:
        self.client = client
        self.rng = random.Random()
        self.fguid = uuid.uuid4().hex.upper()
        # Until the server answers, address the session by the canonical form of the FGuid.
        self.session_id = str(uuid.UUID(hex=self.fguid))
        self.started = time.time()
        self.start_body = {
            "session_id": self.fguid,
            "session_start": self.started,
            "customer_id": customer_id,
            "property_id": property_id,
            "device_type": "Meta Quest 3",
        }
        self.single_event: dict[str, Any] = {}
        self.batch: dict[str, Any] = {}
        self.end_body: dict[str, Any] = {}
        self.duration_seconds: Any = None

    def steps(self) -> list[Step]:
        return [
            Step("0", "GET /health", self.health),
            Step("1", "start session with client FGuid", self.start_session),
            Step("2", "retried start is idempotent", self.retry_start),
            Step("3a", "single event (string timestamp)", self.send_event),
            Step("3b", "retried event is a duplicate", self.retry_event),
            Step("4", "batch of mixed events", self.send_batch),
            Step("5", "retried batch stores nothing twice", self.retry_batch),
            Step("6", "batch with two bad events", self.send_partly_bad_batch),
            Step("7", "gzip-compressed batch", self.send_gzip_batch),
            Step("8", "oversized body", self.send_oversized_body),
            Step("9", "heartbeat", self.heartbeat),
            Step("10", "status while active", self.status_active),
            Step("11", "end session", self.end_session),
            Step("12", "retried end is idempotent", self.retry_end),
            Step("13", "status after end", self.status_completed),
            Step("14a", "status of unknown session", self.status_unknown),
            Step("14b", "event for unknown session", self.event_unknown),
        ]

    def health(self) -> Outcome:
        response = self.client.get("/health")
        body = expect_object(response, status=200, keys=HEALTH_FIELDS)
        if isinstance(body, Outcome):
            return body
        if body["database"] != "connected":
            return Outcome(False, f"database is {body['database']!r}", response)
        summary = f"{body['status']}, {body['environment']}, version {body['version']}"
        return Outcome(True, f"{summary}, database connected", response)

    def _post_start(self) -> tuple[str | None, Outcome]:
        response = self.client.post("/api/v1/unreal/session/start", json=self.start_body)
        body = expect_object(response, status=201, keys=START_FIELDS)
        if isinstance(body, Outcome):
            return None, body
        returned = str(body["session_id"])
        try:
            matches = uuid.UUID(returned) == uuid.UUID(hex=self.fguid)
        except ValueError:
            matches = False
        if not matches:
            return returned, Outcome(
                False, f"session_id {returned!r} is not the FGuid {self.fguid}", response
            )
        return returned, Outcome(True, f"session_id {returned}", response)

    def start_session(self) -> Outcome:
        returned, outcome = self._post_start()
        if returned and outcome.passed:
            self.session_id = returned
        return outcome

    def retry_start(self) -> Outcome:
        returned, outcome = self._post_start()
        if outcome.passed and returned != self.session_id:
            return Outcome(
                False,
                f"retry gave {returned}, first start gave {self.session_id}",
                outcome.response,
            )
        return outcome

    def _post_event(self, *, expect_duplicate: bool) -> Outcome:
        response = self.client.post("/api/v1/unreal/tracking/event", json=self.single_event)
        body = expect_object(response, status=202, keys=EVENT_FIELDS)
        if isinstance(body, Outcome):
            return body
        if body["status"] != "received":
            return Outcome(False, f"status {body['status']!r}", response)
        if body["event_id"] != self.single_event["event_id"]:
            return Outcome(False, f"event_id {body['event_id']!r} is not the one sent", response)
        if body["duplicate"] is not expect_duplicate:
            return Outcome(False, f"duplicate is {body['duplicate']!r}", response)
        return Outcome(True, f"received, duplicate={body['duplicate']}", response)

    def send_event(self) -> Outcome:
        self.single_event = {
            "session_id": self.session_id,
            "event_type": "room_view",
            "timestamp": f"{time.time():.3f}",
            "event_id": new_event_id(),
            "event_data": {
                "room_name": "Living Room",
                "duration": "15.5",
                "position": {"x": 10.5, "y": 2.0, "z": 15.3},
                "rotation": {"pitch": 0.0, "yaw": 90.0, "roll": 0.0},
            },
        }
        return self._post_event(expect_duplicate=False)

    def retry_event(self) -> Outcome:
        return self._post_event(expect_duplicate=True)

    def _post_batch(self, **request: Any) -> tuple[dict[str, Any] | None, Outcome]:
        response = self.client.post("/api/v1/unreal/tracking/batch", **request)
        body = expect_object(response, status=202, keys=BATCH_FIELDS)
        if isinstance(body, Outcome):
            return None, body
        if body["status"] != "received":
            return None, Outcome(False, f"status {body['status']!r}", response)
        return body, Outcome(True, batch_counts(body), response)

    def send_batch(self) -> Outcome:
        events = tour_events(self.rng, start=time.time())
        self.batch = {"session_id": self.session_id, "sent_at": time.time(), "events": events}
        body, outcome = self._post_batch(json=self.batch)
        if body is None:
            return outcome
        total = len(events)
        if body["total_events"] != total or body["processed"] != total or body["failed"] != 0:
            return Outcome(False, f"sent {total}: {batch_counts(body)}", outcome.response)
        if body["errors"] or body["duplicates"]:
            return Outcome(
                False,
                f"errors={body['errors']} duplicates={body['duplicates']}",
                outcome.response,
            )
        return outcome

    def retry_batch(self) -> Outcome:
        body, outcome = self._post_batch(json=self.batch)
        if body is None:
            return outcome
        total = len(self.batch["events"])
        duplicates = body["duplicates"]
        if body["processed"] != total or body["failed"] != 0:
            return Outcome(False, f"sent {total}: {batch_counts(body)}", outcome.response)
        if not isinstance(duplicates, list) or len(duplicates) != total:
            count = len(duplicates) if isinstance(duplicates, list) else duplicates
            return Outcome(False, f"{count} duplicates listed, expected {total}", outcome.response)
        sent = {(index, event["event_id"]) for index, event in enumerate(self.batch["events"])}
        listed = {
            (item.get("index"), item.get("event_id"))
            for item in duplicates
            if isinstance(item, dict)
        }
        if listed != sent:
            return Outcome(
                False, "duplicates do not match the sent {index, event_id}", outcome.response
            )
        return Outcome(True, f"{batch_counts(body)}, {total} duplicates", outcome.response)

    def send_partly_bad_batch(self) -> Outcome:
        now = time.time()
        events = tour_events(self.rng, start=now)[:3]
        events.append(
            {
                "event_type": "bad type!",
                "timestamp": now,
                "event_id": new_event_id(),
                "event_data": {},
            }
        )
        events.append(
            {
                "event_type": "room_view",
                "timestamp": "yesterday",
                "event_id": new_event_id(),
                "event_data": {"room_name": "Kitchen"},
            }
        )
        batch = {"session_id": self.session_id, "sent_at": time.time(), "events": events}
        body, outcome = self._post_batch(json=batch)
        if body is None:
            return outcome
        if body["processed"] != 3 or body["failed"] != 2:
            return Outcome(
                False, f"expected 3 processed, 2 failed: {batch_counts(body)}", outcome.response
            )
        errors = body["errors"]
        if not isinstance(errors, list) or not all(
            isinstance(item, dict) and {"index", "field", "reason"} <= item.keys()
            for item in errors
        ):
            return Outcome(False, f"errors lack index/field/reason: {errors}", outcome.response)
        by_index = {item["index"]: item for item in errors}
        if set(by_index) != {3, 4}:
            return Outcome(
                False, f"error indexes {sorted(by_index)}, expected [3, 4]", outcome.response
            )
        if "event_type" not in str(by_index[3]["field"]) or "timestamp" not in str(
            by_index[4]["field"]
        ):
            return Outcome(
                False,
                f"fields {by_index[3]['field']!r}, {by_index[4]['field']!r} "
                "do not name event_type and timestamp",
                outcome.response,
            )
        reasons = "; ".join(f"{item['index']}: {item['field']} {item['reason']}" for item in errors)
        return Outcome(True, f"{batch_counts(body)} ({reasons})", outcome.response)

    def send_gzip_batch(self) -> Outcome:
        events = position_events(self.rng, start=time.time(), count=50)
        batch = {"session_id": self.session_id, "sent_at": time.time(), "events": events}
        raw = json.dumps(batch).encode()
        compressed = gzip.compress(raw)
        body, outcome = self._post_batch(
            content=compressed,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        if body is None:
            return outcome
        if body["processed"] != 50:
            return Outcome(False, f"expected 50 processed: {batch_counts(body)}", outcome.response)
        return Outcome(
            True,
            f"{batch_counts(body)} ({len(compressed)} of {len(raw)} bytes sent)",
            outcome.response,
        )

    def send_oversized_body(self) -> Outcome:
        event = {
            "event_type": "position",
            "timestamp": time.time(),
            "event_id": new_event_id(),
            "event_data": {"padding": ""},
        }
        batch = {"session_id": self.session_id, "sent_at": time.time(), "events": [event]}
        padding = OVERSIZED_BODY_BYTES - len(json.dumps(batch).encode())
        event["event_data"] = {"padding": "x" * padding}
        raw = json.dumps(batch).encode()
        response = self.client.post(
            "/api/v1/unreal/tracking/batch",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        failure = unexpected_status(response, 413)
        return failure or Outcome(True, f"{len(raw)} bytes refused with 413", response)

    def heartbeat(self) -> Outcome:
        response = self.client.post(f"/api/v1/unreal/session/{self.session_id}/heartbeat", json={})
        body = expect_object(response, status=200, keys=("status", "session_id", "last_seen_at"))
        if isinstance(body, Outcome):
            return body
        if body["status"] != "ok" or body["session_id"] != self.session_id:
            return Outcome(False, f"unexpected body {body}", response)
        return Outcome(True, f"last_seen_at {body['last_seen_at']}", response)

    def _status(self) -> tuple[dict[str, Any] | None, Outcome]:
        response = self.client.get(f"/api/v1/unreal/session/{self.session_id}/status")
        body = expect_object(response, status=200, keys=("session_id", "status"))
        if isinstance(body, Outcome):
            return None, body
        return body, Outcome(True, "", response)

    def status_active(self) -> Outcome:
        body, outcome = self._status()
        if body is None:
            return outcome
        so_far = body.get("duration_so_far")
        if body["status"] != "active":
            return Outcome(False, f"status {body['status']!r}", outcome.response)
        if isinstance(so_far, bool) or not isinstance(so_far, int | float):
            return Outcome(False, f"duration_so_far {so_far!r} is not a number", outcome.response)
        return Outcome(True, f"active, duration_so_far {so_far}", outcome.response)

    def _post_end(self) -> tuple[dict[str, Any] | None, Outcome]:
        response = self.client.post("/api/v1/unreal/session/end", json=self.end_body)
        body = expect_object(response, status=200, keys=END_FIELDS)
        if isinstance(body, Outcome):
            return None, body
        if body["session_id"] != self.session_id:
            return None, Outcome(False, f"session_id {body['session_id']!r}", response)
        return body, Outcome(True, f"duration_seconds {body['duration_seconds']}", response)

    def end_session(self) -> Outcome:
        self.end_body = {"session_id": self.session_id, "session_end": time.time()}
        body, outcome = self._post_end()
        if body is not None:
            self.duration_seconds = body["duration_seconds"]
        return outcome

    def retry_end(self) -> Outcome:
        body, outcome = self._post_end()
        if body is not None and body["duration_seconds"] != self.duration_seconds:
            return Outcome(
                False,
                f"duration_seconds {body['duration_seconds']}, "
                f"first end said {self.duration_seconds}",
                outcome.response,
            )
        return outcome

    def status_completed(self) -> Outcome:
        body, outcome = self._status()
        if body is None:
            return outcome
        if body["status"] != "completed" or not body.get("ended_at"):
            return Outcome(
                False,
                f"status {body['status']!r}, ended_at {body.get('ended_at')!r}",
                outcome.response,
            )
        if body.get("end_reason") != "client":
            return Outcome(False, f"end_reason {body.get('end_reason')!r}", outcome.response)
        return Outcome(
            True,
            f"completed at {body['ended_at']}, end_reason client, "
            f"duration_seconds {body.get('duration_seconds')}",
            outcome.response,
        )

    def status_unknown(self) -> Outcome:
        unknown = uuid.uuid4()
        response = self.client.get(f"/api/v1/unreal/session/{unknown}/status")
        failure = unexpected_status(response, 404)
        return failure or Outcome(True, "404 for a random session id", response)

    def event_unknown(self) -> Outcome:
        event = {
            "session_id": str(uuid.uuid4()),
            "event_type": "room_view",
            "timestamp": f"{time.time():.3f}",
            "event_id": new_event_id(),
            "event_data": {"room_name": "Living Room"},
        }
        response = self.client.post("/api/v1/unreal/tracking/event", json=event)
        failure = unexpected_status(response, 404)
        return failure or Outcome(True, "404 for an event of a random session id", response)


def batch_counts(body: dict[str, Any]) -> str:
    return (
        f"{body.get('processed')}/{body.get('total_events')} processed, "
        f"{body.get('failed')} failed, success_rate {body.get('success_rate')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("--customer-id", default="cust_smoke_test")
    parser.add_argument("--property-id", default="prop_smoke_test")
    arguments = parser.parse_args()
    with build_client(
        base_url=arguments.base_url, api_key=arguments.api_key, timeout=arguments.timeout
    ) as client:
        tour = Tour(client, customer_id=arguments.customer_id, property_id=arguments.property_id)
        run_and_exit(title="Unreal VR tour", base_url=arguments.base_url, steps=tour.steps())


if __name__ == "__main__":
    main()
