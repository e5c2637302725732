"""Live viewers for the benchmark (--live-viewers): streams of the sessions the load writes to
(and project feeds), read in a process of their own while a scenario runs, on raw sockets with
as little parsing as can be (no HTTP client library, no JSON), so that the viewers' side costs
the machine little and does not itself delay what it measures.

Each event a viewer receives gives one delivery latency: the moment its bytes were read from
the socket minus its received_at (when the server received its request; one machine, one
clock). Events stored before a stream opened (its backlog) are counted apart, not timed."""

import asyncio
import contextlib
import math
import multiprocessing
import queue as queue_module
import time
from array import array
from datetime import datetime
from multiprocessing.synchronize import Event as EventType
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

PROJECT_FEEDS = 2
DELIVERY_METRIC = "nexero_live_delivery_seconds"
RECEIVED_AT = b'"received_at" : "'
READY_TIMEOUT_SECONDS = 30
READ_BYTES = 1 << 16


def quantile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 4)


class LiveViewers:
    """`count` session streams (round robin over `session_ids`) and two project feeds."""

    def __init__(self, base_url: str, api_key: str, session_ids: list[str], *, count: int) -> None:
        parts = urlsplit(base_url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._api_key = api_key
        self._paths = [
            f"/api/v1/sessions/{session_ids[index % len(session_ids)]}/live"
            for index in range(count)
        ] + ["/api/v1/live"] * PROJECT_FEEDS
        self._count = count
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        self._results = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(
            target=watch_in_process,
            args=(self._address, api_key, self._paths, self._ready, self._stop, self._results),
            daemon=True,
        )
        self._result: dict[str, Any] = {}

    def __enter__(self) -> "LiveViewers":
        self._process.start()
        try:
            refused = self._ready.get(timeout=READY_TIMEOUT_SECONDS)
        except queue_module.Empty:
            refused = "the viewers did not connect in time"
        if refused:
            self.__exit__()
            raise RuntimeError(f"live viewers refused (LIVE_STREAMS_PER_KEY?): {refused}")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        with contextlib.suppress(queue_module.Empty):
            self._result = self._results.get(timeout=READY_TIMEOUT_SECONDS)
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def summary(self) -> dict[str, Any]:
        """Available once the viewers stopped (after the `with` block)."""
        latencies = sorted(self._result.get("latencies", []))
        return {
            "viewers": len(self._paths),
            "messages": self._result.get("messages", 0),
            "backlog_events": self._result.get("backlog_events", 0),
            "errors": self._result.get("errors", []),
            "events_delivered": len(latencies),
            "viewer_cpu_cores": self._result.get("cpu_cores"),
            "delivery_p50_seconds": quantile(latencies, 0.5),
            "delivery_p95_seconds": quantile(latencies, 0.95),
            "delivery_p99_seconds": quantile(latencies, 0.99),
            "delivery_max_seconds": round(latencies[-1], 4) if latencies else None,
        }


def watch_in_process(
    address: tuple[str, int],
    api_key: str,
    paths: list[str],
    ready: Any,
    stop: EventType,
    results: Any,
) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    tally = Tally()
    started, cpu_at_start = time.monotonic(), time.process_time()
    refused = asyncio.run(watch_all(address, api_key, paths, ready, stop, tally))
    if refused:
        results.put({})
        return
    results.put(
        {
            "latencies": tally.latencies,
            "messages": tally.messages,
            "backlog_events": tally.backlog_events,
            "errors": tally.errors,
            "cpu_cores": round(
                (time.process_time() - cpu_at_start) / (time.monotonic() - started), 3
            ),
        }
    )


class Tally:
    def __init__(self) -> None:
        self.latencies = array("d")
        self.messages = 0
        self.backlog_events = 0
        self.errors: list[str] = []

    def read(self, lines: list[bytes], arrived: float, opened_at: float, event: bytes) -> bytes:
        """Count the complete lines read at `arrived`; the event name last seen is carried
        from one read to the next."""
        for line in lines:
            if line.startswith(b"event:"):
                event = line[6:].strip()
            elif line.startswith(b"data:"):
                self.messages += 1
                if event == b"tour_event":
                    start = line.index(RECEIVED_AT) + len(RECEIVED_AT)
                    received_at = line[start : line.index(b'"', start)].decode()
                    sent = datetime.fromisoformat(received_at).timestamp()
                    if sent < opened_at:
                        self.backlog_events += 1
                    else:
                        self.latencies.append(arrived - sent)
        return event


async def watch_all(
    address: tuple[str, int],
    api_key: str,
    paths: list[str],
    ready: Any,
    stop: EventType,
    tally: Tally,
) -> str | None:
    """None once every stream ran until `stop`, else why one was refused."""
    opened = [await open_stream(address, api_key, path) for path in paths]
    refused = [answer for answer in opened if isinstance(answer, str)]
    if refused:
        ready.put(refused[0])
        return refused[0]
    ready.put(None)
    readers = [asyncio.create_task(read_stream(streams, tally)) for streams in opened]
    await asyncio.to_thread(stop.wait)
    for reader in readers:
        reader.cancel()
    for outcome in await asyncio.gather(*readers, return_exceptions=True):
        if isinstance(outcome, Exception):
            tally.errors.append(repr(outcome))
    return None


async def open_stream(address: tuple[str, int], api_key: str, path: str) -> Any:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {address[0]}\r\nX-API-Key: {api_key}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if head[9:12] != b"200":
        writer.close()
        return f"{path}: {head[:12].decode(errors='replace')}"
    return reader, writer, time.time()


async def read_stream(streams: Any, tally: Tally) -> None:
    reader, writer, opened_at = streams
    pending, event = b"", b""
    try:
        while chunk := await reader.read(READ_BYTES):
            arrived = time.time()
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            event = tally.read(lines, arrived, opened_at, event)
    finally:
        writer.close()


def delivery_buckets(base_url: str, api_key: str) -> dict[float, float]:
    """The server's own delivery histogram (nexero_live_delivery_seconds, every worker's):
    writes counted per upper bound in seconds, cumulative."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30) as client:
        exposition = client.get("/metrics").raise_for_status().text
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name == DELIVERY_METRIC:
            for sample in family.samples:
                if sample.name == f"{DELIVERY_METRIC}_bucket":
                    buckets[float(sample.labels["le"])] = sample.value
    return buckets


def server_delivery(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """Quantiles of the writes between two scrapes, as the histogram's upper bounds: "p95 <=
    0.25" means 95% of the writes came at most 0.25 s after their oldest event's request."""
    counts = sorted((bound, after[bound] - before.get(bound, 0.0)) for bound in after)
    total = counts[-1][1] if counts else 0.0

    def bound_of(share: float) -> float | None:
        for bound, cumulative in counts:
            if total and cumulative >= share * total:
                return None if math.isinf(bound) else bound
        return None

    return {
        "writes": int(total),
        "p50_at_most_seconds": bound_of(0.5),
        "p95_at_most_seconds": bound_of(0.95),
        "p99_at_most_seconds": bound_of(0.99),
    }
