"""Play tours in real time, as headsets would: each tour starts now (under a new session id) and
its events are sent when they happen, a second's worth per request, `speed` times faster than
they were recorded. For the Live page (docs/dashboard.md, "Live")."""

import asyncio
import time
import uuid
from dataclasses import replace
from typing import Any

import httpx

from .upload import BATCH_PATH, END_PATH, START_PATH
from .visits import Tour

# At most this long between two requests of one tour, however sparse its events.
SEND_EVERY_SECONDS = 1.0
# Events per request at most (a fast replay may have many due at once).
MAX_BATCH = 500


def starting_now(tour: Tour, *, speed: float) -> Tour:
    """The tour moved to start now, its times compressed by `speed`."""
    now = time.time()

    def moved(moment: float) -> float:
        return now + (moment - tour.session_start) / speed

    events = [{**event, "timestamp": moved(event["timestamp"])} for event in tour.events]
    for event in events:
        event.pop("event_id", None)  # a new tour: new ids
    end = None if tour.session_end is None else moved(tour.session_end)
    return replace(
        tour, session_id=str(uuid.uuid4()), session_start=now, session_end=end, events=events
    )


async def play(client: httpx.AsyncClient, tour: Tour, *, speed: float) -> None:
    """Send the tour as it happens; returns when it has ended."""
    live = starting_now(tour, speed=speed)
    answer = await client.post(START_PATH, json=live.start_body())
    answer.raise_for_status()
    pending: list[dict[str, Any]] = sorted(live.events, key=lambda event: event["timestamp"])
    while pending:
        due_until = time.time()
        due = [event for event in pending[:MAX_BATCH] if event["timestamp"] <= due_until]
        if due:
            pending = pending[len(due) :]
            body = {"session_id": live.session_id, "events": due}
            (await client.post(BATCH_PATH, json=body)).raise_for_status()
        if pending:
            wait = pending[0]["timestamp"] - time.time()
            await asyncio.sleep(min(SEND_EVERY_SECONDS, max(0.0, wait)))
    if live.session_end is not None:
        await asyncio.sleep(max(0.0, live.session_end - time.time()))
        end = {"session_id": live.session_id, "session_end": live.session_end}
        (await client.post(END_PATH, json=end)).raise_for_status()


async def play_all(client: httpx.AsyncClient, tours: list[Tour], *, speed: float) -> None:
    await asyncio.gather(*(play(client, tour, speed=speed) for tour in tours))
