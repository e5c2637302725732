"""A viewer that stops reading, through a real uvicorn: its socket stays open, events keep being
stored, and the server drops it (LIVE_VIEWER_QUEUE_MAX) instead of waiting for it, while
ingestion keeps answering and another viewer of the same session gets every event."""

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fresh_database
from tests.helpers import BATCH, TEST_API_KEY, start_session
from tests.live_server import LiveServer, live_uvicorn
from tests.sse import Message, messages, until

# Hang guards only: no wait here decides a test's outcome by its length.
HANG_SECONDS = 60
QUEUE_MAX = 100
EVENTS_PER_BATCH = 40
# Bytes of padding per event: a few batches fill what the kernel buffers for the stalled socket.
PADDING_BYTES = 12_000
# The most batches sent before the slow viewer must have been dropped (about 40 MB; the
# socket buffers and the queue hold a few MB).
MAX_BATCHES = 80
# The stalled viewer's receive buffer (the kernel may double it): small, so it fills soon.
STALLED_RECEIVE_BUFFER = 4096
DROPPED = "nexero_live_viewers_dropped_total"
STREAM_END = b"\r\n0\r\n\r\n"


@pytest.fixture(scope="module")
async def server(server_dsn: str, tmp_path_factory: Any) -> AsyncIterator[LiveServer]:
    directory: Path = tmp_path_factory.mktemp("slow_viewer")
    metrics = directory / "metrics"
    metrics.mkdir()
    async with (
        fresh_database(server_dsn, prefix="nexero_slow_viewer") as dsn,
        live_uvicorn(
            dsn,
            directory / "uvicorn.log",
            RATE_LIMIT_ENABLED="false",
            SESSION_SWEEP_INTERVAL_SECONDS="3600",
            LIVE_VIEWER_QUEUE_MAX=str(QUEUE_MAX),
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
        ) as live,
    ):
        yield live


def padded_events(batch: int) -> list[dict[str, Any]]:
    now = time.time()
    return [
        {
            "event_type": "room_view",
            "event_id": str(uuid.uuid4()),
            "timestamp": now,
            "event_data": {"room_name": f"Room {batch}-{step}", "note": "x" * PADDING_BYTES},
        }
        for step in range(EVENTS_PER_BATCH)
    ]


async def viewers_dropped(client: httpx.AsyncClient) -> float:
    exposition = (await client.get("/metrics")).raise_for_status().text
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == DROPPED:
                return sample.value
    return 0.0


async def stalled_viewer(server: LiveServer, path: str) -> socket.socket:
    """A stream opened on a socket that is then never read: it stays open, its buffers fill."""
    loop = asyncio.get_running_loop()
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RECEIVE_BUFFER)
    stalled.setblocking(False)
    address = httpx.URL(server.base_url)
    await loop.sock_connect(stalled, (address.host, address.port))
    request = f"GET {path} HTTP/1.1\r\nHost: {address.host}\r\nX-API-Key: {TEST_API_KEY}\r\n\r\n"
    await loop.sock_sendall(stalled, request.encode())
    return stalled


async def read_to_stream_end(stalled: socket.socket) -> bytes:
    """Everything the stalled socket was sent, once it reads again, up to its stream's end."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    while not received.endswith(STREAM_END):
        chunk = await loop.sock_recv(stalled, 1 << 16)
        if not chunk:
            break
        received += chunk
    return bytes(received)


def is_event(message: Message) -> bool:
    return message.event == "tour_event"


async def store_and_follow(
    client: httpx.AsyncClient, feed: AsyncIterator[Message], session_id: str, batch: int
) -> tuple[int, list[str], list[str]]:
    """Store one batch; the answer's status, the ids sent, and the ids the reading viewer got
    up to the batch's last (it keeps up with each batch before the next is sent)."""
    events = padded_events(batch)
    answer = await client.post(BATCH, json={"session_id": session_id, "events": events})
    sent = [event["event_id"] for event in events]
    arrived = await until(feed, lambda m: is_event(m) and m.data["event_id"] == sent[-1])
    return answer.status_code, sent, [m.data["event_id"] for m in arrived if is_event(m)]


async def test_a_viewer_that_stops_reading_is_dropped_and_slows_nothing(
    server: LiveServer,
) -> None:
    headers = {"X-API-Key": TEST_API_KEY}
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, timeout=HANG_SECONDS
    ) as client:
        session_id = await start_session(client)
        path = f"/api/v1/sessions/{session_id}/live"
        async with asyncio.timeout(HANG_SECONDS * 4), client.stream("GET", path) as response:
            assert response.status_code == 200
            feed = messages(response)
            assert (await anext(feed)).event == "state"
            stalled = await stalled_viewer(server, path)
            answers, sent, seen = [], [], []
            try:
                for batch in range(MAX_BATCHES + 1):
                    status, stored, got = await store_and_follow(client, feed, session_id, batch)
                    answers.append(status)
                    sent += stored
                    seen += got
                    if await viewers_dropped(client) >= 1:
                        break
                # Stored after the drop: the reading viewer still gets it.
                status, stored, got = await store_and_follow(client, feed, session_id, batch + 1)
                answers.append(status)
                sent += stored
                seen += got
                dropped = await viewers_dropped(client)
                # Reading again, the stalled viewer gets what was buffered, then its stream's
                # end (a browser would reconnect and resume after its Last-Event-ID).
                buffered = await read_to_stream_end(stalled)
            finally:
                stalled.close()
    assert set(answers) == {202}
    assert dropped == 1
    assert seen == sent
    assert buffered.endswith(STREAM_END)
    assert b"event: tour_event" in buffered
    log = await asyncio.to_thread(server.log_path.read_text)
    assert log.count("live viewer dropped") == 1
