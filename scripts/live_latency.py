"""How long an event takes from a headset's request to a live viewer's screen: one process sends
small batches to one server (or worker) while it watches the session's live stream on another,
and times each event from just before its request to its arrival on the stream.

    .venv/bin/python -m scripts.live_latency --writer http://127.0.0.1:8000 \\
        --viewer http://127.0.0.1:8001 --key "$NEXERO_KEY" --events 200 --rate 20

Bounded: --events at --rate per second (at most 1000 and 100/s). Prints p50/p95/p99/max."""

import argparse
import asyncio
import json
import time
import uuid

import httpx

MAX_EVENTS = 1000
MAX_RATE = 100.0


async def measure(writer: str, viewer: str, key: str, *, events: int, rate: float) -> dict:
    headers = {"X-API-Key": key}
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    async with (
        httpx.AsyncClient(base_url=writer, headers=headers, timeout=30) as write,
        httpx.AsyncClient(base_url=viewer, headers=headers, timeout=None) as read,
    ):
        started = await write.post(
            "/api/v1/unreal/session/start",
            json={"session_start": time.time(), "property_id": "latency-probe"},
        )
        started.raise_for_status()
        session_id = started.json()["session_id"]
        done = asyncio.Event()

        async def watch(ready: asyncio.Event) -> None:
            async with read.stream("GET", f"/api/v1/sessions/{session_id}/live") as response:
                response.raise_for_status()
                ready.set()
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "tour_event":
                        event_id = json.loads(line[5:])["event_id"]
                        if event_id in sent_at:
                            latencies.append(time.perf_counter() - sent_at[event_id])
                            if len(latencies) == events:
                                done.set()
                                return

        ready = asyncio.Event()
        watcher = asyncio.create_task(watch(ready))
        await ready.wait()
        for index in range(events):
            event_id = str(uuid.uuid4())
            body = {
                "session_id": session_id,
                "events": [
                    {
                        "event_type": "position",
                        "event_id": event_id,
                        "timestamp": time.time(),
                        "event_data": {"x": index, "y": index, "z": 0},
                    }
                ],
            }
            sent_at[event_id] = time.perf_counter()
            answer = await write.post("/api/v1/unreal/tracking/batch", json=body)
            answer.raise_for_status()
            await asyncio.sleep(1 / rate)
        try:
            await asyncio.wait_for(done.wait(), timeout=30)
        finally:
            watcher.cancel()
    latencies.sort()

    def quantile(share: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))], 4)

    return {
        "events_sent": events,
        "events_seen": len(latencies),
        "p50_seconds": quantile(0.5),
        "p95_seconds": quantile(0.95),
        "p99_seconds": quantile(0.99),
        "max_seconds": round(latencies[-1], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writer", required=True, help="the server the events are sent to")
    parser.add_argument("--viewer", required=True, help="the server the stream is read from")
    parser.add_argument("--key", required=True, help="a key with the ingest and read scopes")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    arguments = parser.parse_args()
    if not 1 <= arguments.events <= MAX_EVENTS or not 0 < arguments.rate <= MAX_RATE:
        parser.error(f"--events 1..{MAX_EVENTS}, --rate up to {MAX_RATE}")
    result = asyncio.run(
        measure(
            arguments.writer,
            arguments.viewer,
            arguments.key,
            events=arguments.events,
            rate=arguments.rate,
        )
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
