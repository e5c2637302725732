"""Live viewers for the benchmark (--live-viewers): streams of the sessions the load writes to
(and project feeds), read in a thread of their own while a scenario runs. Each event a viewer
receives gives one delivery latency: the moment it arrived minus its received_at (the moment
the server received it; one machine, one clock)."""

import asyncio
import threading
import time
from datetime import datetime
from typing import Any

import httpx

PROJECT_FEEDS = 2
RECEIVED_AT = '"received_at" : "'


class LiveViewers:
    """`count` session streams (round robin over `session_ids`) and two project feeds."""

    def __init__(self, base_url: str, api_key: str, session_ids: list[str], *, count: int) -> None:
        self._base_url = base_url
        self._api_key = api_key
        self._session_ids = session_ids
        self._count = count
        self._latencies: list[float] = []
        self._messages = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "LiveViewers":
        self._thread.start()
        self._ready.wait(timeout=30)
        if self.errors:
            self.__exit__()
            raise RuntimeError(f"live viewers refused (LIVE_STREAMS_PER_KEY?): {self.errors[0]}")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def reset(self) -> None:
        self._latencies.clear()
        self._messages = 0

    def summary(self) -> dict[str, Any]:
        latencies = sorted(self._latencies)

        def quantile(share: float) -> float | None:
            if not latencies:
                return None
            return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 4)

        return {
            "viewers": self._count + PROJECT_FEEDS,
            "messages": self._messages,
            "events_delivered": len(latencies),
            "delivery_p50_seconds": quantile(0.5),
            "delivery_p95_seconds": quantile(0.95),
            "delivery_p99_seconds": quantile(0.99),
            "delivery_max_seconds": latencies[-1] if latencies else None,
        }

    def _run(self) -> None:
        asyncio.run(self._watch_all())

    async def _watch_all(self) -> None:
        headers = {"X-API-Key": self._api_key}
        limits = httpx.Limits(max_connections=self._count + PROJECT_FEEDS + 2)
        async with httpx.AsyncClient(
            base_url=self._base_url, headers=headers, timeout=None, limits=limits
        ) as client:
            urls = [
                f"/api/v1/sessions/{self._session_ids[index % len(self._session_ids)]}/live"
                for index in range(self._count)
            ] + ["/api/v1/live"] * PROJECT_FEEDS
            opened = [asyncio.Event() for _ in urls]
            tasks = [
                asyncio.create_task(self._watch(client, url, ready))
                for url, ready in zip(urls, opened, strict=True)
            ]
            await asyncio.gather(*(ready.wait() for ready in opened))
            self._ready.set()
            await asyncio.to_thread(self._stop.wait)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self, client: httpx.AsyncClient, url: str, ready: asyncio.Event) -> None:
        async with client.stream("GET", url) as response:
            ready.set()
            if response.status_code != 200:
                self.errors.append(f"{url}: {response.status_code} {await response.aread()}")
                return
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    self._messages += 1
                    if event == "tour_event":
                        # Not json.loads: the viewers must not starve the load generator.
                        start = line.index(RECEIVED_AT) + len(RECEIVED_AT)
                        received_at = line[start : line.index('"', start)]
                        sent = datetime.fromisoformat(received_at)
                        self._latencies.append(time.time() - sent.timestamp())
