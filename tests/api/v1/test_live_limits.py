"""The live feed's limits at and past their edges, through the app (each stream ends after
LIVE_STREAM_MAX_SECONDS, so its whole answer can be read)."""

import json
import time
import uuid
from typing import Any

import httpx

from tests.conftest import AppFactory
from tests.helpers import BATCH, start_session

SHORT_STREAM = {"LIVE_STREAM_MAX_SECONDS": 0.3}


def messages_of(text: str) -> list[tuple[str, Any]]:
    found = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "data" in fields:
            found.append((fields.get("event", "message"), json.loads(fields["data"])))
    return found


async def session_with_events(client: httpx.AsyncClient, count: int) -> tuple[str, list[str]]:
    session_id = await start_session(client)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    now = time.time()
    for step, event_id in enumerate(ids):  # one request each: one position each
        body = {
            "session_id": session_id,
            "events": [
                {
                    "event_type": "room_view",
                    "event_id": event_id,
                    "timestamp": now + step,
                    "event_data": {"room_name": f"Room {step}"},
                }
            ],
        }
        assert (await client.post(BATCH, json=body)).status_code == 202
    return session_id, ids


async def streamed_event_ids(client: httpx.AsyncClient, session_id: str) -> list[str]:
    answer = await client.get(f"/api/v1/sessions/{session_id}/live")
    assert answer.status_code == 200, answer.text
    return [data["event_id"] for event, data in messages_of(answer.text) if event == "tour_event"]


async def test_a_new_viewer_gets_the_latest_backlog_events_at_most(app_with: AppFactory) -> None:
    async with app_with(**SHORT_STREAM, LIVE_BACKLOG_MAX_EVENTS=3) as client:
        session_id, ids = await session_with_events(client, 3)
        assert await streamed_event_ids(client, session_id) == ids  # at the edge: all
    async with app_with(**SHORT_STREAM, LIVE_BACKLOG_MAX_EVENTS=2) as client:
        assert await streamed_event_ids(client, session_id) == ids[1:]  # past it: the latest


async def test_the_project_feed_lists_at_most_its_limit_of_tours(app_with: AppFactory) -> None:
    async with app_with(**SHORT_STREAM, LIVE_TOURS_MAX=1) as client:
        await start_session(client)
        newest = await start_session(client)
        answer = await client.get("/api/v1/live")
        assert answer.status_code == 200
        tours = [data for event, data in messages_of(answer.text) if event == "tours"][0]
        assert [tour["id"] for tour in tours["tours"]] == [newest]


async def test_resuming_after_the_last_event_sends_nothing_again(app_with: AppFactory) -> None:
    async with app_with(**SHORT_STREAM) as client:
        session_id, ids = await session_with_events(client, 2)
        first = await client.get(f"/api/v1/sessions/{session_id}/live")
        positions = [
            data["position"] for event, data in messages_of(first.text) if event == "tour_event"
        ]
        resumed = await client.get(
            f"/api/v1/sessions/{session_id}/live",
            headers={"Last-Event-ID": str(positions[-1])},
        )
        assert [e for e, _ in messages_of(resumed.text) if e == "tour_event"] == []
        from_first = await client.get(
            f"/api/v1/sessions/{session_id}/live", params={"last_event_id": positions[0]}
        )
        sent = [d["event_id"] for e, d in messages_of(from_first.text) if e == "tour_event"]
        assert sent == ids[1:]
