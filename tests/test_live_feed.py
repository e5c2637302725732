"""The live feed through real servers: two replicas (separate uvicorn processes) on one
database, so that what one stores must reach a viewer of the other through PostgreSQL."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import fresh_database
from tests.helpers import BATCH, TEST_API_KEY, create_key, start_session
from tests.live_server import LiveServer, live_uvicorn
from tests.sse import Message, messages, until

# A hang guard only: the wait for a message never decides a test's outcome.
HANG_SECONDS = 30
STREAMS_PER_KEY = 3


@pytest.fixture(scope="module")
async def replicas(server_dsn: str, tmp_path_factory: Any) -> AsyncIterator[list[LiveServer]]:
    logs: Path = tmp_path_factory.mktemp("live")
    settings = {
        "RATE_LIMIT_ENABLED": "false",
        "SESSION_SWEEP_INTERVAL_SECONDS": "3600",
        "LIVE_STREAMS_PER_KEY": str(STREAMS_PER_KEY),
        "LIVE_KEEPALIVE_SECONDS": "1",
    }
    async with (
        fresh_database(server_dsn, prefix="nexero_live") as dsn,
        live_uvicorn(dsn, logs / "a.log", **settings) as first,
        live_uvicorn(dsn, logs / "b.log", uvicorn_options=("--workers", "2"), **settings) as second,
    ):
        yield [first, second]


@asynccontextmanager
async def client_of(
    server: LiveServer, key: str = TEST_API_KEY
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"X-API-Key": key}, timeout=HANG_SECONDS
    ) as client:
        yield client


@asynccontextmanager
async def stream(
    client: httpx.AsyncClient, url: str, **options: Any
) -> AsyncIterator[AsyncIterator[Message]]:
    async with asyncio.timeout(HANG_SECONDS), client.stream("GET", url, **options) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield messages(response)


def room_views(*rooms: str, at: float | None = None) -> list[dict[str, Any]]:
    start = time.time() - 60 if at is None else at
    return [
        {
            "event_type": "room_view",
            "event_id": str(uuid.uuid4()),
            "timestamp": start + step,
            "event_data": {"room_name": room},
        }
        for step, room in enumerate(rooms)
    ]


async def send(client: httpx.AsyncClient, session_id: str, events: list[dict[str, Any]]) -> None:
    response = await client.post(BATCH, json={"session_id": session_id, "events": events})
    assert response.status_code == 202, response.text
    assert response.json()["failed"] == 0


def is_event(message: Message) -> bool:
    return message.event == "tour_event"


async def test_an_event_stored_through_one_replica_reaches_a_viewer_of_another(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[0]) as writer, client_of(replicas[1]) as reader:
        session_id = await start_session(writer)
        async with stream(reader, f"/api/v1/sessions/{session_id}/live") as feed:
            first = await anext(feed)
            assert first.event == "state"
            assert first.data["tour"]["current_room"] is None
            sent = room_views("Hall", "Kitchen")
            await send(writer, session_id, sent)
            seen = await until(feed, is_event, count=2)
            events = [message.data for message in seen if is_event(message)]
            assert [event["event_id"] for event in events] == [e["event_id"] for e in sent]
            assert [event["kind"] for event in events] == ["room_view", "room_view"]
            state = await until(feed, lambda m: m.event == "state")
            assert state[-1].data["tour"]["current_room"] == "Kitchen"
            assert {room["room"] for room in state[-1].data["rooms"]} == {"Hall", "Kitchen"}


async def test_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[0]) as writer, client_of(replicas[1]) as reader:
        session_id = await start_session(writer)
        before = room_views("Hall", "Kitchen", "Den")
        await send(writer, session_id, before)
        url = f"/api/v1/sessions/{session_id}/live"
        async with stream(reader, url) as feed:
            seen = [m for m in await until(feed, is_event, count=3) if is_event(m)]
        assert [m.data["event_id"] for m in seen] == [e["event_id"] for e in before]
        positions = [int(m.id) for m in seen]
        assert positions == sorted(positions) and len(set(positions)) == 3
        # Away for a while: two batches stored meanwhile, through the other replica.
        missed = room_views("Bath", "Garden", at=time.time() - 30)
        await send(writer, session_id, missed[:1])
        await send(writer, session_id, missed[1:])
        headers = {"Last-Event-ID": str(positions[1])}
        async with stream(reader, url, headers=headers) as feed:
            resumed = [m for m in await until(feed, is_event, count=3) if is_event(m)]
            later = room_views("Attic", at=time.time() - 10)
            await send(writer, session_id, later)
            resumed += [m for m in await until(feed, is_event) if is_event(m)]
        expected = [before[2], *missed, *later]
        assert [m.data["event_id"] for m in resumed] == [e["event_id"] for e in expected]


async def test_the_project_feed_shows_tours_in_progress_with_room_and_signal(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[0]) as writer, client_of(replicas[1]) as reader:
        async with stream(reader, "/api/v1/live") as feed:
            snapshot = await anext(feed)
            assert snapshot.event == "tours"
            session_id = await start_session(writer, customer_id="live-visitor")
            selection = {
                "event_type": "unit_selection",
                "timestamp": time.time(),
                "event_data": {"name": "Penthouse B"},
            }
            await send(writer, session_id, [*room_views("Lounge"), selection])

            def tour_with_signal(message: Message) -> bool:
                return (
                    message.event == "tour"
                    and message.data["id"] == session_id
                    and message.data["signal_type"] == "unit_selection"
                )

            tour = (await until(feed, tour_with_signal))[-1].data
            assert tour["current_room"] == "Lounge"
            assert tour["signal_name"] == "Penthouse B"
            assert tour["customer_id"] == "live-visitor"
            assert tour["status"] == "active"


async def test_a_stream_token_opens_a_stream_without_the_key_and_only_its_own(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[0]) as writer:
        session_id = await start_session(writer)
        other_id = await start_session(writer)
        answer = await writer.post("/api/v1/live/token", json={"session_id": session_id})
        assert answer.status_code == 200, answer.text
        token = answer.json()["token"]
    async with httpx.AsyncClient(base_url=replicas[1].base_url, timeout=HANG_SECONDS) as browser:
        url = f"/api/v1/sessions/{session_id}/live"
        async with stream(browser, url, params={"token": token}) as feed:
            assert (await anext(feed)).event == "state"
        refused = await browser.get(f"/api/v1/sessions/{other_id}/live", params={"token": token})
        assert refused.status_code == 401
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert (await browser.get(url, params={"token": forged})).status_code == 401
        # A key is never taken from the URL.
        assert (await browser.get(url, params={"token": TEST_API_KEY})).status_code == 401


async def test_a_key_holds_at_most_its_limit_of_streams_across_replicas(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[0]) as admin:
        key = (await create_key(admin, "read", name="viewer"))["key"]
    async with client_of(replicas[0], key) as first, client_of(replicas[1], key) as second:
        async with (
            stream(first, "/api/v1/live"),
            stream(second, "/api/v1/live"),
            stream(second, "/api/v1/live"),
        ):
            refused = await first.get("/api/v1/live")
            assert refused.status_code == 429
            assert "LIVE_STREAMS_PER_KEY" in refused.json()["detail"]
            assert "Retry-After" in refused.headers
        # Closed streams stop counting (the count is updated just after a stream ends).
        async with asyncio.timeout(HANG_SECONDS):
            while True:
                async with first.stream("GET", "/api/v1/live") as again:
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.2)


async def test_an_unknown_session_or_bad_last_event_id_is_refused(
    replicas: list[LiveServer],
) -> None:
    async with client_of(replicas[1]) as reader:
        missing = await reader.get(f"/api/v1/sessions/{uuid.uuid4()}/live")
        assert missing.status_code == 404
        session_id = await start_session(reader)
        bad = await reader.get(
            f"/api/v1/sessions/{session_id}/live", headers={"Last-Event-ID": "yesterday"}
        )
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]
