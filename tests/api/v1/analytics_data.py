"""Hand-made data of the analytics tests: tours whose every number is known, recorded through
the ingestion API, and the project (`Tenant`) they are recorded in (tests/api/v1/conftest.py)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.helpers import BATCH, END, START

SESSIONS = "/api/v1/sessions"


@dataclass(frozen=True)
class Tenant:
    """A project of its own and a client that sends its key (ingest and read scopes)."""

    client: httpx.AsyncClient
    project_id: uuid.UUID
    key: str


def at(text: str) -> float:
    """Unix seconds of an ISO 8601 time (UTC when it has no offset)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class Tour:
    """A hand-made session: events are (seconds after the start, type, event_data)."""

    start: float
    end: float | None
    customer_id: str | None = "cust_a"
    property_id: str | None = "prop_a"
    device_type: str | None = "Meta Quest 3"
    events: Sequence[tuple[float, str, Any]] = ()
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))


async def record(client: httpx.AsyncClient, tour: Tour) -> str:
    """Send a tour through the ingestion API: start, one batch, end (if it has one)."""
    start = {"session_id": tour.session_id, "session_start": tour.start}
    for label in ("customer_id", "property_id", "device_type"):
        if getattr(tour, label) is not None:
            start[label] = getattr(tour, label)
    response = await client.post(START, json=start)
    assert response.status_code == 201, response.text
    if tour.events:
        events = [
            {"event_type": event_type, "timestamp": tour.start + offset, "event_data": data}
            for offset, event_type, data in tour.events
        ]
        response = await client.post(BATCH, json={"session_id": tour.session_id, "events": events})
        assert response.status_code == 202, response.text
        assert response.json()["processed"] == len(events), response.text
    if tour.end is not None:
        end = {"session_id": tour.session_id, "session_end": tour.end}
        response = await client.post(END, json=end)
        assert response.status_code == 200, response.text
    return tour.session_id


# A hand-made January 2022 where every figure is worked out by hand (test_analytics_reports.py
# and test_analytics_leads.py check them); the comments name each session (s1 to s8) and say
# what it adds.
JANUARY = {"from": "2022-01-01", "to": "2022-02-01"}


def january_tours() -> list[Tour]:
    return [
        # s1: cust_x at prop_r, 300 s: Living Room 100 (measured), Kitchen 40 + 100.
        Tour(
            start=at("2022-01-10T10:00:00"),
            end=at("2022-01-10T10:05:00"),
            customer_id="cust_x",
            property_id="prop_r",
            events=[
                (0, "room_view", {"room_name": "Living Room"}),
                (100, "room_view", {"room_name": "Kitchen", "duration": 40}),
                (150, "poi_visit", {"poi": "Island", "zone": "Kitchen", "duration": "6.5"}),
                (160, "gaze", {"target": "Window", "duration": 2}),
                (170, "gaze", {"target": "Window", "duration": "bad"}),
                (180, "interaction", {"object": "tap", "action": "on"}),
                (200, "room_view", {"room_name": "Kitchen"}),
                (250, "unit_selection", {"name": "Unit 7C", "sqft": "1250", "type": "2BHK"}),
            ],
        ),
        # s2: cust_x again at prop_r, 60 s: Kitchen 60.
        Tour(
            start=at("2022-01-12T10:00:00"),
            end=at("2022-01-12T10:01:00"),
            customer_id="cust_x",
            property_id="prop_r",
            events=[
                (0, "room_view", {"room_name": "Kitchen"}),
                (10, "gaze", {"target": "Window", "duration": 1.5}),
                (20, "view", {"view_name": "Skyline", "duration": 9}),
            ],
        ),
        # s3: cust_y at prop_r, still open: Balcony 45 (until the last activity).
        Tour(
            start=at("2022-01-12T15:00:00"),
            end=None,
            customer_id="cust_y",
            property_id="prop_r",
            events=[
                (0, "zone_enter", {"zone_name": "Balcony"}),
                (20, "interaction", {"object": "tap", "action": "off"}),
                (30, "interaction", {"object": " door ", "action": "open"}),
                (45, "position", {"x": 1, "y": 2, "z": 160}),
            ],
        ),
        # s4: cust_z at prop_other, 1000 s: Study 1000.
        Tour(
            start=at("2022-01-11T10:00:00"),
            end=at("2022-01-11T10:16:40"),
            customer_id="cust_z",
            property_id="prop_other",
            events=[(0, "room_view", {"room_name": "Study"})],
        ),
        # s5: cust_y at prop_r, 90 s, no events.
        Tour(
            start=at("2022-01-13T09:00:00"),
            end=at("2022-01-13T09:01:30"),
            customer_id="cust_y",
            property_id="prop_r",
        ),
        # s6: nobody in particular at prop_other, 30 s.
        Tour(
            start=at("2022-01-14T10:00:00"),
            end=at("2022-01-14T10:00:30"),
            customer_id=None,
            property_id="prop_other",
        ),
        # s7, s8: cust_w twice at prop_other the week before: 200 s and 100 s.
        Tour(
            start=at("2022-01-05T10:00:00"),
            end=at("2022-01-05T10:03:20"),
            customer_id="cust_w",
            property_id="prop_other",
        ),
        Tour(
            start=at("2022-01-06T10:00:00"),
            end=at("2022-01-06T10:01:40"),
            customer_id="cust_w",
            property_id="prop_other",
        ),
    ]


async def get_ok(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    return response.json()
