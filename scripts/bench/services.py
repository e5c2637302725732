"""What the benchmark starts and watches: a PostgreSQL database for the run, the service under
uvicorn, and the CPU and memory of its worker processes (psutil)."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

BENCH_DIR = Path(tempfile.gettempdir()) / "nexero-bench"
"""Where the harness keeps its logs, results and embedded PostgreSQL's data."""
STARTUP_TIMEOUT_SECONDS = 120
SHUTDOWN_TIMEOUT_SECONDS = 15
RSS_SAMPLE_SECONDS = 0.2
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_database(dsn: str, database: str) -> str:
    """The same server URL pointing at another database (the host may be in the query)."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def redacted(dsn: str) -> str:
    """The URL without its password, fit for a report."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def is_local(dsn: str) -> bool:
    """Whether the server runs on this machine, so psutil can see its processes."""
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    return host in ("", "localhost", "127.0.0.1", "::1") or "host=/" in parts.query


@contextlib.contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """pgserver's PostgreSQL with its data in `data_dir` (the service's embedded one)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()


@contextlib.contextmanager
def bench_database(server_dsn: str, *, fresh: bool, keep: bool) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards (unless `keep`), or with
    `fresh=False` the database of the URL itself."""
    if not fresh:
        yield server_dsn
        return
    import asyncio

    import asyncpg

    name = f"nexero_bench_{secrets.token_hex(6)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(server_dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_dsn, name)
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class AppServer:
    """`uvicorn app.main:app --workers N` on a free loopback port, as a subprocess; with
    `target` another ASGI app (the plain reference, scripts/bench/reference.py)."""

    app_dir: Path
    dsn: str
    workers: int
    log_path: Path
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    target: str = "app.main:app"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.dsn,
            "NEXERO_BOOTSTRAP_KEY": self.api_key,
            "RATE_LIMIT_ENABLED": "false",
            **self.extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.target,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.app_dir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"uvicorn exited; its log:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/health").status_code == 200 and self._all_workers_up():
                        return
                time.sleep(0.2)
        raise RuntimeError(
            f"uvicorn not healthy in {STARTUP_TIMEOUT_SECONDS} s:\n{self.log_tail()}"
        )

    def _all_workers_up(self) -> bool:
        return len(self.worker_pids()) == self.workers

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the master's spawned children, or the master itself
        with one worker."""
        if self.process is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(child.cmdline()):
                    pids.append(child.pid)
        return sorted(pids)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for pid in self.worker_pids():
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).kill()
            self.process.kill()
            self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def __enter__(self) -> "AppServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def connections_per_worker(worker_pids: list[int], port: int) -> dict[int, int]:
    """How many established client connections each worker holds on the service's port."""
    spread = {}
    for pid in worker_pids:
        try:
            held = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            held = []
        spread[pid] = sum(
            1 for c in held if c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
        )
    return spread


def spread_is_fair(spread: dict[int, int], connections: int) -> bool:
    """Each worker holds at least three quarters of its fair share of the connections. The
    workers accept from one shared socket, and an idle one may take every connection that
    arrives together, leaving the others idle: then the generator connects again."""
    if len(spread) < 2 or connections < len(spread):
        return True
    return min(spread.values()) >= int(0.75 * connections / len(spread))


def peak_rss_bytes(pid: int) -> int | None:
    """The process's lifetime peak resident memory (VmHWM), where the kernel tells it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class ResourceMonitor:
    """CPU time of the app workers and of the database backends serving them between `open()`
    and `close()`, and the workers' peak resident memory, sampled while it runs."""

    def __init__(self, worker_pids: list[int], backend_pids: Any = None) -> None:
        self._workers = {pid: psutil.Process(pid) for pid in worker_pids}
        self._backend_pids = backend_pids or (lambda: [])
        self._peak_rss: dict[int, int] = dict.fromkeys(worker_pids, 0)
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._opened_at = 0.0
        self._cpu_at_open: dict[int, float] = {}
        self._kernel_at_open: dict[int, float] = {}
        self._backends_at_open: dict[int, float] = {}
        self._machine_at_open = 0.0

    def open(self) -> None:
        self._opened_at = time.monotonic()
        self._cpu_at_open = {pid: cpu_seconds(p) for pid, p in self._workers.items()}
        self._kernel_at_open = {pid: kernel_seconds(p) for pid, p in self._workers.items()}
        self._backends_at_open = backend_cpu(self._backend_pids())
        self._machine_at_open = machine_busy_seconds()
        self._stop.clear()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            for pid, process in self._workers.items():
                with contextlib.suppress(psutil.Error):
                    self._peak_rss[pid] = max(self._peak_rss[pid], process.memory_info().rss)

    def close(self) -> dict[str, Any]:
        seconds = time.monotonic() - self._opened_at
        machine_cores = (machine_busy_seconds() - self._machine_at_open) / seconds
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        workers = []
        for pid, process in self._workers.items():
            used = cpu_seconds(process) - self._cpu_at_open.get(pid, 0.0)
            kernel = kernel_seconds(process) - self._kernel_at_open.get(pid, 0.0)
            workers.append(
                {
                    "pid": pid,
                    "cpu_cores": round(used / seconds, 3),
                    "kernel_share": round(kernel / used, 3) if used > 0 else None,
                    "peak_rss_mb": round(self._peak_rss[pid] / MIB, 1),
                    "lifetime_peak_rss_mb": round((peak_rss_bytes(pid) or 0) / MIB, 1),
                }
            )
        backends_now = backend_cpu(self._backend_pids())
        backend_seconds = sum(
            now - self._backends_at_open.get(pid, 0.0) for pid, now in backends_now.items()
        )
        return {
            "app_cpu_cores": round(sum(worker["cpu_cores"] for worker in workers), 3),
            "db_cpu_cores": round(backend_seconds / seconds, 3) if backends_now else None,
            "machine_cpu_cores": round(machine_cores, 3),
            "peak_rss_mb_per_worker": max((w["peak_rss_mb"] for w in workers), default=None),
            "workers": workers,
        }


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (everything but idle and I/O wait)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def kernel_seconds(process: psutil.Process) -> float:
    """The part of its CPU time the process spent in the kernel (system calls: the sockets)."""
    try:
        return process.cpu_times().system
    except psutil.Error:
        return 0.0


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def backend_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each database backend process visible from here."""
    seen = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            seen[pid] = cpu_seconds(psutil.Process(pid))
    return seen
