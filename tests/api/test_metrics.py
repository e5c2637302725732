"""/metrics in process: who may read it, what its labels may hold, and the figures no load test
reaches easily (503s by cause, exports running, the pool's waiting requests, workers that
died). The two-worker scrape after a known load is in test_metrics_live.py."""

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from app.db.database import Database
from app.observability import metrics, metrics_directory
from app.services.access.keys import AccessService, Scope
from app.services.analytics.exports import ExportSlots
from tests.api.test_metrics_live import Samples, samples_of, value
from tests.conftest import AppFactory, create_project_key, serve_with_busy_pool
from tests.helpers import KEYS, START, create_key, key_header, status_url

PROMETHEUS_TEXT = "text/plain"


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(PROMETHEUS_TEXT)
    return samples_of(response.text)


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# --- who may read it ---------------------------------------------------------------------------


async def test_metrics_need_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/metrics")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "scopes", [("ingest",), ("read",), ("admin",), ("ingest", "read", "admin")]
)
async def test_metrics_need_the_metrics_scope(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, scopes: tuple[str, ...]
) -> None:
    key = await create_key(client, *scopes)

    response = await anonymous.get("/metrics", headers=key_header(key["key"]))

    assert response.status_code == 403
    assert response.json() == {"detail": "This API key lacks the metrics scope"}


async def test_metrics_take_the_key_as_a_bearer_token_too(
    access: AccessService, anonymous: httpx.AsyncClient
) -> None:
    project = await create_project_key(
        access, f"monitoring {uuid.uuid4().hex[:8]}", frozenset({Scope.METRICS})
    )

    scraped = await anonymous.get("/metrics", headers={"Authorization": f"Bearer {project.key}"})
    wrong_scheme = await anonymous.get(
        "/metrics", headers={"Authorization": f"Basic {project.key}"}
    )

    assert scraped.status_code == 200
    assert "nexero_http_requests_total" in scraped.text
    assert wrong_scheme.status_code == 401


async def test_a_key_with_only_the_metrics_scope_reads_metrics_and_nothing_else(
    access: AccessService, anonymous: httpx.AsyncClient
) -> None:
    project = await create_project_key(
        access, f"monitoring {uuid.uuid4().hex[:8]}", frozenset({Scope.METRICS})
    )
    headers = key_header(project.key)

    scraped = await anonymous.get("/metrics", headers=headers)
    read = await anonymous.get("/api/v1/sessions", headers=headers)
    ingest = await anonymous.post(START, json={"session_start": time.time()}, headers=headers)

    assert scraped.status_code == 200
    assert (read.status_code, ingest.status_code) == (403, 403)


async def test_a_projects_admin_key_cannot_grant_the_metrics_scope(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(KEYS, json={"name": "grafana", "scopes": ["metrics"]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "scopes", 0]


async def test_a_metrics_key_made_by_the_operator_is_listed_with_its_scope(
    client: httpx.AsyncClient, access: AccessService
) -> None:
    project = await create_project_key(access, f"listed {uuid.uuid4().hex[:8]}")
    await access.create_key(
        project_id=project.project_id,
        name="prometheus",
        scopes=frozenset({Scope.METRICS}),
        actor="cli (tests)",
    )

    listed = await client.get(KEYS, headers=key_header(project.key))

    assert listed.status_code == 200
    assert ["metrics"] in [key["scopes"] for key in listed.json()]


async def test_metrics_route_is_not_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/metrics" not in paths


# --- bounded labels ----------------------------------------------------------------------------


async def test_labels_hold_route_templates_and_known_methods_never_ids_or_paths(
    client: httpx.AsyncClient,
) -> None:
    session_id = str(uuid.uuid4())
    secret_path = "/api/v1/customers/someone@example.com"
    before = await scrape(client)

    await client.get(status_url(session_id))
    await client.get(secret_path)
    await client.request("PROPFIND", "/health")
    await client.get("/no/such/page")
    exposition = (await client.get("/metrics")).text
    after = samples_of(exposition)

    assert session_id not in exposition
    assert "someone@example.com" not in exposition
    status_route = "/api/v1/unreal/session/{session_id}/status"
    for route, method, status in [
        (status_route, "GET", "404"),
        ("/api/v1/customers/{customer_id}", "GET", "404"),
        ("/health", "other", "405"),
        ("unmatched", "GET", "404"),
    ]:
        labels = {"route": route, "method": method, "status": status}
        assert (
            value(after, "nexero_http_requests_total", **labels)
            - value(before, "nexero_http_requests_total", **labels)
            == 1
        ), labels


# --- 503s by cause, exports running ------------------------------------------------------------


async def test_a_503_for_an_unreachable_database_is_counted_under_its_cause(
    client: httpx.AsyncClient, database_dsn: str
) -> None:
    before = value(await scrape(client), "nexero_unavailable_total", cause="database")

    async with serve_with_busy_pool(database_dsn, API_KEY_CACHE_SECONDS=30) as busy:
        answers = [
            await busy.post(START, json={"session_start": time.time()}),
            await busy.get("/api/v1/sessions"),
        ]

    assert [answer.status_code for answer in answers] == [503, 503]
    after = value(await scrape(client), "nexero_unavailable_total", cause="database")
    assert after - before == 2


async def test_a_503_for_an_unreachable_rate_limiter_is_counted_under_its_cause(
    client: httpx.AsyncClient, app_with: AppFactory
) -> None:
    before = value(await scrape(client), "nexero_unavailable_total", cause="rate_limiter")

    async with app_with(
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_BACKEND="redis",
        REDIS_URL="redis://127.0.0.1:1/0",
        RATE_LIMIT_TIMEOUT_SECONDS=0.5,
    ) as limited:
        answer = await limited.get(status_url(str(uuid.uuid4())))

    assert answer.status_code == 503
    after = value(await scrape(client), "nexero_unavailable_total", cause="rate_limiter")
    assert after - before == 1


async def test_exports_running_counts_each_held_export_slot(client: httpx.AsyncClient) -> None:
    slots = ExportSlots(total=2, per_project=2)
    project = uuid.uuid4()
    before = value(await scrape(client), "nexero_exports_running")

    async with slots.hold(project), slots.hold(project):
        during = value(await scrape(client), "nexero_exports_running")
    after = value(await scrape(client), "nexero_exports_running")

    assert during - before == 2
    assert after == before


# --- the pool ----------------------------------------------------------------------------------


async def test_pool_figures_count_a_request_waiting_for_the_only_connection(
    database_dsn: str,
) -> None:
    database = await Database.connect(
        database_dsn,
        min_size=1,
        max_size=1,
        statement_cache_size=None,
        connect_timeout_seconds=5,
        acquire_timeout_seconds=5,
        command_timeout_seconds=5,
    )
    try:
        database.pool_figures()
        async with database.connection():
            waiter = asyncio.create_task(database.connection().__aenter__())
            await asyncio.sleep(0.1)
            while_waiting = database.pool_figures()
        connection = await waiter
        await database._pool.release(connection)  # noqa: SLF001 - the waiter's connection
        just_after = database.pool_figures()
        quiet = database.pool_figures()
    finally:
        await database.close(timeout_seconds=5)

    assert while_waiting == metrics.PoolFigures(size=1, max_size=1, in_use=1, waiting=1)
    # The most that waited since the last look, then none.
    assert just_after.waiting == 1
    assert quiet == metrics.PoolFigures(size=1, max_size=1, in_use=0, waiting=0)


# --- workers that died -------------------------------------------------------------------------


def write_figure(
    directory: Path, file_prefix: str, pid: int, metric: str, sample: str, amount: float
) -> None:
    """A figure as a worker with process id `pid` would have written it."""
    figures = MmapedDict(str(directory / f"{file_prefix}_{pid}.db"))
    try:
        figures.write_value(mmap_key(metric, sample, [], [], "test figure"), amount, 0.0)
    finally:
        figures.close()


async def test_a_dead_workers_pool_is_dropped_and_its_counters_kept(
    client: httpx.AsyncClient,
) -> None:
    pid = dead_pid()
    directory = metrics.METRICS_DIRECTORY
    pool_size = "nexero_database_pool_size"
    write_figure(directory, "gauge_livesum", pid, pool_size, pool_size, 1000)
    timed_out = "nexero_sessions_timed_out"
    write_figure(directory, "counter", pid, timed_out, f"{timed_out}_total", 7)
    before = value(await scrape(client), "nexero_database_pool_size")

    figures = await scrape(client)

    assert not (directory / f"gauge_livesum_{pid}.db").exists()
    assert (directory / f"counter_{pid}.db").exists()
    # The live pool's own figure may change between the scrapes (it is published every
    # second); the dead worker's 1000 must be in neither.
    assert before < 1000 and value(figures, "nexero_database_pool_size") < 1000
    assert value(figures, "nexero_sessions_timed_out_total") >= 7


# --- where the files live ----------------------------------------------------------------------


def test_workers_of_one_server_share_a_directory_and_dead_servers_directories_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics_directory, "RUNS_FOLDER", tmp_path)
    stale = tmp_path / "stale-run"
    stale.mkdir()
    (stale / metrics_directory.OWNER_FILE).write_text(str(dead_pid()))
    live = tmp_path / "live-run"
    live.mkdir()
    (live / metrics_directory.OWNER_FILE).write_text("1")
    starting = tmp_path / "starting-run"
    starting.mkdir()

    first = metrics_directory.run_directory()
    again = metrics_directory.run_directory()

    assert first == again
    assert (first / metrics_directory.OWNER_FILE).read_text() == str(metrics_directory.server_pid())
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [first.name, "live-run", "starting-run"]
    )


def test_a_configured_directory_is_created_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = tmp_path / "metrics" / "nexero"
    monkeypatch.setenv(metrics_directory.ENVIRONMENT_VARIABLE, str(wanted))

    assert metrics_directory.settle_directory() == wanted
    assert wanted.is_dir()


def test_a_configured_directory_that_cannot_be_made_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv(metrics_directory.ENVIRONMENT_VARIABLE, str(a_file / "metrics"))

    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR=.* cannot be created"):
        metrics_directory.settle_directory()
