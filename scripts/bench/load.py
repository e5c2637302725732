"""The load generator: keep-alive HTTP/1.1 over raw asyncio streams (uvloop when installed), in
one or more processes, bounded in seconds and in requests.

Each connection runs operations (one request, or a session cycle, or a whole tour) one after
another; with a rate, operations are paced and latency is measured from when a request was due,
so a slow server cannot hide its queueing (no coordinated omission). Only requests completed
inside the measured window count; a warm-up before it opens pools and fills caches.
"""

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import queue as queue_module
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from typing import Any

from .workloads import Call, Workload, WorkloadSpec, build, http_request

READY_TIMEOUT_SECONDS = 60
CONNECT_GAP_SECONDS = 0.01
STUB_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@dataclass(frozen=True)
class LoadPlan:
    address: tuple[str, int]
    workload: WorkloadSpec
    connections: int
    processes: int
    seconds: float
    warmup_seconds: float
    max_requests: int | None = None
    operations_per_second: float | None = None
    """None: as fast as the server answers (closed loop). Else paced, spread over connections."""
    timeout_seconds: float = 30.0


@dataclass
class LoadResult:
    """What the generator saw inside the measured window, summed over its processes."""

    seconds: float = 0.0
    requests: int = 0
    operations: int = 0
    events: int = 0
    sessions: int = 0
    request_bytes: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_sample: str | None = None
    latencies: array = field(default_factory=lambda: array("d"))
    generator_cpu_seconds: float = 0.0

    def merge(self, other: "LoadResult") -> None:
        self.seconds = max(self.seconds, other.seconds)
        self.requests += other.requests
        self.operations += other.operations
        self.events += other.events
        self.sessions += other.sessions
        self.request_bytes += other.request_bytes
        self.errors.update(other.errors)
        self.error_sample = self.error_sample or other.error_sample
        self.latencies.extend(other.latencies)
        self.generator_cpu_seconds += other.generator_cpu_seconds

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        seconds = self.seconds or 1.0
        return {
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "requests_per_second": round(self.requests / seconds, 1),
            "events": self.events,
            "events_per_second": round(self.events / seconds, 1),
            "sessions": self.sessions,
            "sessions_per_second": round(self.sessions / seconds, 1),
            "mean_request_bytes": round(self.request_bytes / self.requests) if self.requests else 0,
            "latency_ms": {
                "p50": percentile(ordered, 50),
                "p95": percentile(ordered, 95),
                "p99": percentile(ordered, 99),
                "max": round(ordered[-1] * 1000, 2) if ordered else None,
            },
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "error_sample": self.error_sample,
            "generator_cpu_cores": round(self.generator_cpu_seconds / seconds, 3),
        }


def percentile(ordered: list[float], rank: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(rank / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 2)


class Window:
    """The measured window of one process: when it starts and ends, and its request budget."""

    def __init__(self, plan: LoadPlan, begin_at: float) -> None:
        self.opens_at = begin_at + plan.warmup_seconds
        self.closes_at = self.opens_at + plan.seconds
        self.budget = None
        if plan.max_requests is not None:
            self.budget = -(-plan.max_requests // plan.processes)
        self.started = 0
        self.last_finished = self.opens_at
        self.result = LoadResult(seconds=plan.seconds)

    def may_start(self, now: float) -> bool:
        """Whether another request may go: the window is open and the budget, which counts
        every request sent (warm-up included), is not spent."""
        return now < self.closes_at and (self.budget is None or self.started < self.budget)

    def note_start(self) -> None:
        self.started += 1

    def counts(self, finished: float) -> bool:
        return self.opens_at <= finished < self.closes_at

    def close(self) -> LoadResult:
        """The result; with the budget spent early, the window is the time it took."""
        if self.budget is not None and self.started >= self.budget:
            used = self.last_finished - self.opens_at
            self.result.seconds = max(0.001, min(self.result.seconds, used))
        return self.result


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, closing = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            closing = b"close" in value.lower()
    if not chunked:
        return status, await reader.readexactly(length), closing
    body = bytearray()
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += await reader.readexactly(size + 2)
        del body[-2:]
    await reader.readuntil(b"\r\n")
    return status, bytes(body), closing


class Connection:
    def __init__(self, address: tuple[str, int], timeout_seconds: float) -> None:
        self._address = address
        self._timeout = timeout_seconds
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self, probe: bytes) -> None:
        """Connect and make one request, so the server has taken the connection for good."""
        await self.send(probe)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        try:
            async with asyncio.timeout(self._timeout):
                writer.write(raw)
                status, body, closing = await read_response(reader)
        except BaseException:
            self.close()
            raise
        if closing:
            self.close()
        return status, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def judge(call: Call, status: int, body: bytes) -> str | None:
    """None for a good answer, else the kind of error."""
    if not 200 <= status < 300:
        return f"HTTP {status}"
    if call.expect is not None and call.expect not in body:
        return "events not stored"
    return None


async def drive(
    plan: LoadPlan,
    workload: Workload,
    window: Window,
    connection: "Connection",
    *,
    index: int,
    begin_at: float,
) -> None:
    """One connection: operations until the window closes or the budget is spent."""
    interval = None
    due = begin_at
    if plan.operations_per_second:
        interval = plan.connections / plan.operations_per_second
        due += interval * (index / plan.connections)
    result = window.result
    await asyncio.sleep(max(0.0, begin_at - time.monotonic()))
    try:
        while window.may_start(time.monotonic()):
            operation = workload.next_operation(index)
            if interval is not None:
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            operation_ok = True
            for position, call in enumerate(operation.calls):
                if position and not window.may_start(time.monotonic()):
                    operation_ok = False
                    break
                started = time.monotonic()
                if interval is not None and position == 0:
                    started = min(started, due)
                window.note_start()
                try:
                    status, body = await connection.send(call.raw)
                    problem = judge(call, status, body)
                    if problem and result.error_sample is None:
                        result.error_sample = f"{problem}: {body[:300].decode(errors='replace')}"
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                    problem = f"connection: {error.__class__.__name__}"
                finished = time.monotonic()
                if window.counts(finished):
                    window.last_finished = finished
                    result.requests += 1
                    result.request_bytes += len(call.raw)
                    result.latencies.append(finished - started)
                    if problem:
                        result.errors[problem] += 1
                    else:
                        result.events += call.events
                operation_ok = operation_ok and not problem
                if problem:
                    break
            if window.counts(time.monotonic()):
                result.operations += 1
                result.sessions += operation.sessions if operation_ok else 0
            if interval is not None:
                due += interval
    finally:
        connection.close()


async def generate(
    plan: LoadPlan, workload: Workload, connections: dict[int, Connection], begin_at: float
) -> LoadResult:
    window = Window(plan, begin_at)
    cpu = CpuWindow(window)
    watcher = asyncio.create_task(cpu.watch())
    await asyncio.gather(
        *(
            drive(plan, workload, window, connection, index=index, begin_at=begin_at)
            for index, connection in connections.items()
        )
    )
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    result = window.close()
    result.generator_cpu_seconds = cpu.seconds
    return result


class CpuWindow:
    """This process's CPU time inside the window."""

    def __init__(self, window: Window) -> None:
        self._window = window
        self.seconds = 0.0

    async def watch(self) -> None:
        await asyncio.sleep(max(0.0, self._window.opens_at - time.monotonic()))
        first = os.times()
        try:
            await asyncio.sleep(max(0.0, self._window.closes_at - time.monotonic()))
        finally:
            last = os.times()
            self.seconds = (last.user - first.user) + (last.system - first.system)


def use_fast_event_loop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def connect_then_generate(
    plan: LoadPlan, workload: Workload, process: int, signals: "Signals"
) -> LoadResult:
    """Open this process's connections one by one, each with a probe request (so that the
    server's workers, which accept from one shared socket, each get a share), say so, and run
    the plan when told to."""
    probe = http_request(plan.workload, "GET", "/")
    connections: dict[int, Connection] = {}
    for index in range(process, plan.connections, plan.processes):
        connection = Connection(plan.address, plan.timeout_seconds)
        await connection.open(probe)
        connections[index] = connection
        await asyncio.sleep(CONNECT_GAP_SECONDS)
    signals.ready.put(process)
    await asyncio.to_thread(signals.go.wait, READY_TIMEOUT_SECONDS)
    if signals.cancelled.is_set():
        return LoadResult()
    return await generate(plan, workload, connections, signals.begin_at.value)


@dataclass(frozen=True)
class Signals:
    """How the parent and its generator processes keep in step."""

    ready: Any
    go: EventType
    cancelled: EventType
    begin_at: Any
    results: Any


def generator_process(plan: LoadPlan, process: int, signals: Signals) -> None:
    use_fast_event_loop()
    # One workload for the process's connections, built before the start; its own seed, so
    # that no two processes mint the same ids.
    workload = build(dataclasses.replace(plan.workload, seed=plan.workload.seed * 64 + process))
    result = asyncio.run(connect_then_generate(plan, workload, process, signals))
    signals.results.put(result)


def start_generators(plan: LoadPlan) -> tuple[list[Any], Signals]:
    context = multiprocessing.get_context("spawn")
    signals = Signals(
        ready=context.Queue(),
        go=context.Event(),
        cancelled=context.Event(),
        begin_at=context.Value("d", 0.0),
        results=context.Queue(),
    )
    processes = [
        context.Process(target=generator_process, args=(plan, index, signals), daemon=True)
        for index in range(plan.processes)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        receive(signals.ready, processes, timeout_seconds=READY_TIMEOUT_SECONDS)
    return processes, signals


def stop_generators(processes: list[Any]) -> None:
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


def run_load(
    plan: LoadPlan,
    *,
    on_open: Any = None,
    on_close: Any = None,
    spread_is_fair: Any = None,
    attempts: int = 5,
) -> LoadResult:
    """Run the plan in `plan.processes` processes; `on_open()` and `on_close()` are called in
    this process when the measured window opens and closes (to sample the server). Once
    connected, `spread_is_fair()` may refuse how the server's workers took the connections:
    the generators then connect again (at most `attempts` times)."""
    for attempt in range(attempts):
        processes, signals = start_generators(plan)
        if spread_is_fair is None or spread_is_fair() or attempt == attempts - 1:
            break
        signals.cancelled.set()
        signals.go.set()
        stop_generators(processes)
    try:
        signals.begin_at.value = time.monotonic() + 0.1
        signals.go.set()
        opens_at = signals.begin_at.value + plan.warmup_seconds
        time.sleep(max(0.0, opens_at - time.monotonic()))
        opened = on_open() if on_open else None
        time.sleep(max(0.0, opens_at + plan.seconds - time.monotonic()))
        if on_close:
            on_close(opened)
        total = LoadResult()
        for _ in processes:
            waited = plan.timeout_seconds + READY_TIMEOUT_SECONDS
            total.merge(receive(signals.results, processes, timeout_seconds=waited))
        # With a request budget the window may end early: throughput is over the time used.
        total.seconds = min(total.seconds, plan.seconds)
        return total
    finally:
        stop_generators(processes)


def receive(queue: Any, processes: list[Any], *, timeout_seconds: float) -> Any:
    """The next item from a generator process, failing fast if one of them died."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        with contextlib.suppress(queue_module.Empty):
            return queue.get(timeout=0.5)
        crashed = [process for process in processes if process.exitcode not in (None, 0)]
        if crashed:
            raise RuntimeError(f"load generator process failed (exit {crashed[0].exitcode})")
        if time.monotonic() > deadline:
            raise TimeoutError("load generator processes did not answer")
