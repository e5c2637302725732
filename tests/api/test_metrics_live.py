"""/metrics on a live uvicorn with two workers: after a known load, every scrape (whichever
worker answers it) shows exactly that load, added up across both workers' files."""

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import fresh_database
from tests.helpers import BATCH, COMPLETE, END, EVENT, START, TEST_API_KEY, event
from tests.live_server import LiveServer, live_uvicorn

WORKERS = 2
POOL_MAX_SIZE = 5
# Short enough for the sweep to close the sessions left open while the test waits.
SESSION_TIMEOUT_MINUTES = 0.1
SWEEP_TIMEOUT_SECONDS = 30
SCRAPES = 6
READ_BURST = 2
# Requests that sent their load through new connections at once, so that both workers serve.
PARALLEL_STARTS = 12

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples_of(exposition: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests_answered(samples: Samples, route: str, method: str, status: int) -> float:
    return value(
        samples, "nexero_http_requests_total", route=route, method=method, status=str(status)
    )


async def send_known_load(server: LiveServer) -> dict[str, int]:
    """The load, and the session ids left open (to be timed out)."""
    now = time.time()
    headers = {"X-API-Key": TEST_API_KEY}
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, limits=fresh, timeout=30
    ) as http:

        async def start() -> str:
            response = await http.post(START, json={"session_start": now, "property_id": "p1"})
            assert response.status_code == 201, response.text
            return response.json()["session_id"]

        sessions = await asyncio.gather(*(start() for _ in range(PARALLEL_STARTS)))
        ended, with_events = sessions[0], sessions[1]
        anonymous = await http.post(START, json={"session_start": now}, headers={"X-API-Key": ""})
        assert anonymous.status_code == 401
        complete = await http.post(COMPLETE, json={"session_start": now - 60, "session_end": now})
        assert complete.status_code == 201, complete.text

        mixed = {
            "session_id": ended,
            "events": [
                *(event(event_id=str(uuid.uuid4())) for _ in range(5)),
                event("bad type!"),
                event(timestamp="not a time"),
            ],
        }
        valid = {
            "session_id": ended,
            "events": [event(event_id=str(uuid.uuid4())) for _ in range(3)],
        }
        single = {"session_id": with_events, **event(event_id=str(uuid.uuid4()))}
        too_long_type = {"session_id": with_events, **event("t" * 65)}
        answers = [
            await http.post(BATCH, json=mixed),
            await http.post(BATCH, json=valid),
            await http.post(BATCH, json=valid),
            await http.post(EVENT, json=single),
            await http.post(EVENT, json=single),
        ]
        assert [answer.status_code for answer in answers] == [202] * 5, answers[-1].text
        assert answers[0].json()["failed"] == 2
        refused = await http.post(EVENT, json=too_long_type)
        assert refused.status_code == 422, refused.text
        end = await http.post(END, json={"session_id": ended, "session_end": now + 1})
        assert end.status_code == 200, end.text
        reads = [(await http.get("/api/v1/sessions")).status_code for _ in range(READ_BURST + 1)]
        assert reads == [200] * READ_BURST + [429]
    return {"open_sessions": PARALLEL_STARTS - 1}


async def wait_for_timeouts(db: asyncpg.Connection, count: int) -> None:
    async with asyncio.timeout(SWEEP_TIMEOUT_SECONDS):
        timed_out = 0
        while timed_out < count:
            await asyncio.sleep(0.2)
            timed_out = await db.fetchval(
                "SELECT count(*) FROM vr_sessions WHERE end_reason = 'timed_out'"
            )
    # The sweep that closed them counts them right after its UPDATE returns.
    await asyncio.sleep(0.5)


def per_worker_requests(directory: Path) -> dict[str, float]:
    """Requests counted in each worker's own file."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        merged = MultiProcessCollector.merge([str(path)])
        counts[path.name] = sum(
            sample.value
            for family in merged
            if family.name == "nexero_http_requests"
            for sample in family.samples
            if sample.name == "nexero_http_requests_total"
        )
    return counts


async def test_a_scrape_of_two_workers_shows_exactly_the_load_sent(
    server_dsn: str, tmp_path: Path
) -> None:
    metrics_directory = tmp_path / "metrics"
    async with (
        fresh_database(server_dsn, prefix="nexero_metrics") as dsn,
        live_uvicorn(
            dsn,
            tmp_path / "uvicorn.log",
            uvicorn_options=("--workers", str(WORKERS)),
            PROMETHEUS_MULTIPROC_DIR=str(metrics_directory),
            DATABASE_POOL_MAX_SIZE=str(POOL_MAX_SIZE),
            SESSION_TIMEOUT_MINUTES=str(SESSION_TIMEOUT_MINUTES),
            SESSION_SWEEP_INTERVAL_SECONDS="0.5",
            RATE_LIMIT_ENABLED="true",
            RATE_LIMIT_READ_PER_SECOND="0.001",
            RATE_LIMIT_READ_BURST=str(READ_BURST),
        ) as server,
    ):
        load = await send_known_load(server)
        db = await asyncpg.connect(dsn)
        try:
            await wait_for_timeouts(db, load["open_sessions"])
        finally:
            await db.close()
        # Pool figures are written once a second by each worker.
        await asyncio.sleep(1.5)
        async with httpx.AsyncClient(
            base_url=server.base_url,
            headers={"X-API-Key": TEST_API_KEY},
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as http:
            scrapes = [await http.get("/metrics") for _ in range(SCRAPES)]

    assert {scrape.status_code for scrape in scrapes} == {200}
    assert scrapes[0].headers["content-type"].startswith("text/plain")
    every_scrape = [samples_of(scrape.text) for scrape in scrapes]
    figures = every_scrape[-1]
    start, unreal = START, "/api/v1/unreal"
    assert requests_answered(figures, start, "POST", 201) == PARALLEL_STARTS
    assert requests_answered(figures, start, "POST", 401) == 1
    assert requests_answered(figures, f"{unreal}/session", "POST", 201) == 1
    assert requests_answered(figures, BATCH, "POST", 202) == 3
    assert requests_answered(figures, EVENT, "POST", 202) == 2
    assert requests_answered(figures, EVENT, "POST", 422) == 1
    assert requests_answered(figures, END, "POST", 200) == 1
    assert requests_answered(figures, "/api/v1/sessions", "GET", 200) == READ_BURST
    assert requests_answered(figures, "/api/v1/sessions", "GET", 429) == 1
    assert (
        value(
            figures,
            "nexero_http_request_duration_seconds_count",
            route=BATCH,
            method="POST",
        )
        == 3
    )
    assert value(figures, "nexero_events_stored_total") == 5 + 3 + 1
    assert value(figures, "nexero_events_duplicate_total") == 3 + 1
    assert value(figures, "nexero_events_rejected_total", reason="event_type") == 2
    assert value(figures, "nexero_events_rejected_total", reason="timestamp") == 1
    assert value(figures, "nexero_sessions_started_total") == PARALLEL_STARTS + 1
    assert value(figures, "nexero_sessions_ended_total") == 2
    assert value(figures, "nexero_sessions_timed_out_total") == load["open_sessions"]
    assert value(figures, "nexero_rate_limited_total", scope="read") == 1
    assert value(figures, "nexero_database_pool_max_size") == WORKERS * POOL_MAX_SIZE
    assert 1 <= value(figures, "nexero_database_pool_size") <= WORKERS * POOL_MAX_SIZE
    assert value(figures, "nexero_database_pool_waiting") == 0
    assert value(figures, "nexero_exports_running") == 0
    # Whichever worker answered, each scrape saw the same counters (but for the scrapes
    # themselves, which each one adds to the next).
    counters = [
        {
            key: count
            for key, count in scrape.items()
            if key[0].endswith("_total") and ("route", "/metrics") not in key[1]
        }
        for scrape in every_scrape
    ]
    assert all(scrape_counters == counters[-1] for scrape_counters in counters)
    # Both workers served part of the load: the totals above add up two processes' files.
    served = per_worker_requests(metrics_directory)
    assert len([count for count in served.values() if count > 0]) == WORKERS, served
