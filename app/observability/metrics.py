"""Prometheus metrics, added up across the server's worker processes (prometheus-client's
multiprocess mode; where the files live: app.observability.metrics_directory). Served at
/metrics to keys with the metrics scope; what each one means: docs/operations.md.

Every label takes values from a short, fixed set (route templates, methods, status codes,
reason classes, causes, scopes): never a session, customer, project or key id, so the number
of series stays bounded whatever clients send.
"""

import asyncio
import contextlib
import os
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from app.observability.metrics_directory import process_is_alive, settle_directory

# prometheus-client chooses its multiprocess storage when it is imported: settle it first.
METRICS_DIRECTORY: Path = settle_directory()

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import (  # noqa: E402
    MultiProcessCollector,
    mark_process_dead,
)

EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; a batch of 100 takes a few milliseconds, an export can stream for minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
# Seconds from an event's request to a live viewer's stream (the goal: within 1 s).
LIVE_DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
# Why an event was not stored, by the field to blame; "database" when PostgreSQL refused it,
# "malformed" when it was not even an object.
REJECTION_FIELDS = frozenset({"event_type", "timestamp", "event_data", "event_id", "session_id"})
DATABASE_REFUSAL_PREFIX = "database rejected"
WORKER_FILE = re.compile(r"_(\d+)\.db$")

http_requests = Counter(
    "nexero_http_requests",
    "HTTP requests answered, by route template, method and status (499: the client left).",
    ["route", "method", "status"],
    registry=None,
)
http_request_duration = Histogram(
    "nexero_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
events_stored = Counter(
    "nexero_events_stored", "Events stored (batches and single events).", registry=None
)
events_duplicate = Counter(
    "nexero_events_duplicate",
    "Events received again (a retry) and not stored twice.",
    registry=None,
)
events_rejected = Counter(
    "nexero_events_rejected",
    "Events refused, by reason class: the field to blame, database or malformed.",
    ["reason"],
    registry=None,
)
sessions_started = Counter(
    "nexero_sessions_started",
    "Session starts and complete sessions answered 201 (a client's retry counts again).",
    registry=None,
)
sessions_ended = Counter(
    "nexero_sessions_ended",
    "Session ends answered 200 and complete sessions answered 201 (a retry counts again).",
    registry=None,
)
sessions_timed_out = Counter(
    "nexero_sessions_timed_out", "Sessions closed by the inactivity sweep.", registry=None
)
unavailable = Counter(
    "nexero_unavailable",
    "API requests answered 503, by cause: database, rate_limiter, export_capacity, other.",
    ["cause"],
    registry=None,
)
rate_limited = Counter(
    "nexero_rate_limited",
    "Requests refused with 429, by the scope whose bucket was empty.",
    ["scope"],
    registry=None,
)
exports_running = Gauge(
    "nexero_exports_running",
    "Exports streaming now.",
    multiprocess_mode="livesum",
    registry=None,
)
live_viewers_dropped = Counter(
    "nexero_live_viewers_dropped",
    "Live streams ended because their viewer fell LIVE_VIEWER_QUEUE_MAX messages behind.",
    registry=None,
)
live_delivery = Histogram(
    "nexero_live_delivery_seconds",
    "Time from the arrival of the request that stored an event to its live stream's write of "
    "it; observed once per write, for the oldest event in it.",
    buckets=LIVE_DELIVERY_BUCKETS,
    registry=None,
)
pool_size = Gauge(
    "nexero_database_pool_size",
    "Open connections in the workers' pools.",
    multiprocess_mode="livesum",
    registry=None,
)
pool_max_size = Gauge(
    "nexero_database_pool_max_size",
    "The most connections the workers' pools may open (DATABASE_POOL_MAX_SIZE each).",
    multiprocess_mode="livesum",
    registry=None,
)
pool_in_use = Gauge(
    "nexero_database_pool_in_use",
    "Connections handed out, the most at once in each worker's last sampling second.",
    multiprocess_mode="livesum",
    registry=None,
)
pool_waiting = Gauge(
    "nexero_database_pool_waiting",
    "Requests waiting for a connection, the most at once in each worker's last second.",
    multiprocess_mode="livesum",
    registry=None,
)


class RequestSeries:
    """Requests counted and timed in plain memory, written to the shared files by flush()
    (every second, before this worker answers a scrape, and at shutdown): the three
    memory-mapped writes of a counter and a histogram cost about 7 µs, too much for every
    request; this costs well under one."""

    def __init__(self) -> None:
        # (route, method, status) -> [requests, seconds in all, requests per latency bucket]
        self._pending: dict[tuple[str, str, int], list] = {}

    def observe(self, *, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method if method in KNOWN_METHODS else "other", status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = [0, 0.0, [0] * (len(LATENCY_BUCKETS) + 1)]
        pending[0] += 1
        pending[1] += seconds
        # The first bucket whose bound is at least `seconds` (the last one is +Inf).
        pending[2][bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (route, method, status), (count, seconds, buckets) in pending.items():
            http_requests.labels(route, method, str(status)).inc(count)
            duration = http_request_duration.labels(route, method)
            # Histogram has no public way to add many observations at once; its sum and
            # per-bucket values are what observe() itself increments (prometheus-client 0.26).
            duration._sum.inc(seconds)
            for bucket, requests_in_bucket in enumerate(buckets):
                if requests_in_bucket:
                    duration._buckets[bucket].inc(requests_in_bucket)


request_series = RequestSeries()
"""This worker's request figures, gathered in memory (observe: no I/O) and written by flush()
into prometheus-client's memory-mapped files: stores into mapped pages, no system call in the
common case (a file grows only when a new label set appears), so the loop is not blocked."""


def rejection_reason(field: str | None, reason: str) -> str:
    """The reason class of a refused event (a bounded label)."""
    if field:
        name = field.split(".")[0]
        return name if name in REJECTION_FIELDS else "other"
    return "database" if reason.startswith(DATABASE_REFUSAL_PREFIX) else "malformed"


def count_events(
    *, stored: int, duplicates: int, rejections: Iterable[tuple[str | None, str]] = ()
) -> None:
    """What became of the events of one request; `rejections` as (field, reason)."""
    if stored:
        events_stored.inc(stored)
    if duplicates:
        events_duplicate.inc(duplicates)
    for field, reason in rejections:
        events_rejected.labels(rejection_reason(field, reason)).inc()


class PoolFigures(NamedTuple):
    size: int
    max_size: int
    in_use: int
    waiting: int


def publish_pool(figures: PoolFigures) -> None:
    pool_size.set(figures.size)
    pool_max_size.set(figures.max_size)
    pool_in_use.set(figures.in_use)
    pool_waiting.set(figures.waiting)


async def publish_every(interval_seconds: float, pool_figures: Callable[[], PoolFigures]) -> None:
    """Run until cancelled: write this worker's pending request figures and its pool's once
    per interval; when cancelled (shutdown), the last requests, and a pool that holds nothing."""
    try:
        while True:
            request_series.flush()
            publish_pool(pool_figures())
            await asyncio.sleep(interval_seconds)
    finally:
        request_series.flush()
        publish_pool(PoolFigures(size=0, max_size=0, in_use=0, waiting=0))


def forget_dead_workers() -> None:
    """Drop the live gauges (pool, exports) of workers that died without saying so; their
    counters stay, so that totals never go backwards."""
    pids = set()
    for path in METRICS_DIRECTORY.glob("*.db"):
        match = WORKER_FILE.search(path.name)
        if match:
            pids.add(int(match[1]))
    for pid in pids - {os.getpid()}:
        if not process_is_alive(pid):
            # Workers starting together all forget the same dead one: a file another removed
            # first is no error (it failed a worker's start-up).
            with contextlib.suppress(FileNotFoundError):
                mark_process_dead(pid, str(METRICS_DIRECTORY))


def exposition() -> bytes:
    """Every live worker's gauges and every worker's counters added up, in Prometheus's text
    format (reads files: call it off the event loop)."""
    forget_dead_workers()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(METRICS_DIRECTORY))
    return generate_latest(registry)
