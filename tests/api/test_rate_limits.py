"""Rate limits per key and scope (token buckets), with both backends: PostgreSQL, and Redis.

Each test makes keys of its own, so it starts with full buckets. At a rate of one token per
1000 seconds nothing refills during a test: exactly `burst` requests pass, then 429."""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
from redis.exceptions import RedisError

from tests.conftest import AppFactory
from tests.helpers import EVENT, START, create_key, event, key_header, status_url

REDIS_TEST_URL = os.environ.get("NEXERO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_BUCKET_PREFIX = "nexero:rate:"
PROJECT = "/api/v1/admin/project"
BURST = 3
ONE_TOKEN_PER_1000_SECONDS = 0.001

KeyFactory = Callable[..., Awaitable[str]]


def any_status_url() -> str:
    """The status of a session that does not exist: a 404 that still spends a token."""
    return status_url(str(uuid.uuid4()))


def limits(backend: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Settings with rate limits on: burst BURST, no refill, for every scope."""
    settings: dict[str, Any] = {"RATE_LIMIT_ENABLED": True, **backend}
    for scope in ("INGEST", "READ", "ADMIN"):
        settings[f"RATE_LIMIT_{scope}_PER_SECOND"] = ONE_TOKEN_PER_1000_SECONDS
        settings[f"RATE_LIMIT_{scope}_BURST"] = BURST
    settings.update(overrides)
    return settings


@pytest.fixture(params=["postgres", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """The settings that choose a bucket backend."""
    if request.param == "postgres":
        yield {"RATE_LIMIT_BACKEND": "postgres"}
        return
    probe = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except (RedisError, OSError):
        pytest.skip(f"no Redis at {REDIS_TEST_URL} (set NEXERO_TEST_REDIS_URL)")
    finally:
        await probe.aclose()
    yield {"RATE_LIMIT_BACKEND": "redis", "REDIS_URL": REDIS_TEST_URL}


@pytest.fixture
async def new_key(client: httpx.AsyncClient) -> AsyncIterator[KeyFactory]:
    """Create keys (through the shared app, which has no rate limits); at the end, delete the
    Redis buckets of exactly these keys."""
    key_ids: list[str] = []

    async def create(*scopes: str) -> str:
        created = await create_key(client, *(scopes or ("ingest",)), name="rate limit test")
        key_ids.append(created["id"])
        return created["key"]

    yield create
    cleanup = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        for key_id in key_ids:
            async for bucket in cleanup.scan_iter(match=f"{REDIS_BUCKET_PREFIX}{key_id}:*"):
                await cleanup.delete(bucket)
    except (RedisError, OSError):
        pass  # no Redis here: the postgres-only runs made no buckets in it
    finally:
        await cleanup.aclose()


def assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json() == {"detail": "Too many requests for this API key, retry later"}
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


# --- one key, one scope ----------------------------------------------------------------------


async def get_status(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get(any_status_url(), headers=key_header(key))


async def post_event(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post(
        EVENT, json={"session_id": str(uuid.uuid4()), **event()}, headers=key_header(key)
    )


async def get_project(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.get(PROJECT, headers=key_header(key))


@pytest.mark.parametrize(
    ("scope", "send", "allowed_status"),
    [
        ("ingest", get_status, 404),
        ("ingest", post_event, 404),
        ("read", get_status, 404),
        ("admin", get_project, 200),
    ],
    ids=["ingest read", "ingest write", "read", "admin"],
)
async def test_exactly_burst_requests_pass_then_429_with_retry_after(
    app_with: AppFactory,
    backend: dict[str, Any],
    new_key: KeyFactory,
    scope: str,
    send: Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]],
    allowed_status: int,
) -> None:
    key = await new_key(scope)
    async with app_with(**limits(backend)) as client:
        responses = [await send(client, key) for _ in range(BURST + 2)]

    assert [response.status_code for response in responses] == [allowed_status] * BURST + [
        429,
        429,
    ]
    for refused in responses[BURST:]:
        # The next token comes in 1000 s.
        assert 1 <= assert_rate_limited(refused) <= 1000


async def test_refused_request_stores_nothing(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory, db: asyncpg.Connection
) -> None:
    key = await new_key("ingest")
    refused_session_id = str(uuid.uuid4())
    async with app_with(**limits(backend)) as client:
        started = await client.post(
            START, json={"session_start": time.time()}, headers=key_header(key)
        )
        session_id = started.json()["session_id"]
        stored = [
            await client.post(
                EVENT,
                json={"session_id": session_id, **event(event_data={"step": step})},
                headers=key_header(key),
            )
            for step in range(BURST - 1)
        ]
        refused_event = await client.post(
            EVENT,
            json={"session_id": session_id, **event(event_data={"step": "refused"})},
            headers=key_header(key),
        )
        refused_session = await client.post(
            START,
            json={"session_start": time.time(), "session_id": refused_session_id},
            headers=key_header(key),
        )

    assert started.status_code == 201
    assert [response.status_code for response in stored] == [202] * (BURST - 1)
    assert_rate_limited(refused_event)
    assert_rate_limited(refused_session)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
        )
        == BURST - 1
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM vr_sessions WHERE id = $1", uuid.UUID(refused_session_id)
        )
        == 0
    )


# --- other keys, other scopes ----------------------------------------------------------------


async def test_another_key_is_unaffected_by_a_key_that_is_spent(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    hammering, other = await new_key("ingest"), await new_key("ingest")
    async with app_with(**limits(backend)) as client:
        for _ in range(BURST):
            await get_status(client, hammering)
        spent = await get_status(client, hammering)
        others = [await get_status(client, other) for _ in range(BURST)]
        still_spent = await get_status(client, hammering)

    assert_rate_limited(spent)
    assert [response.status_code for response in others] == [404] * BURST
    assert_rate_limited(still_spent)


async def test_each_scope_of_a_key_has_its_own_bucket(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    key = await new_key("ingest", "admin")
    async with app_with(**limits(backend)) as client:
        ingest = [await get_status(client, key) for _ in range(BURST + 1)]
        admin = [await get_project(client, key) for _ in range(BURST + 1)]

    assert [response.status_code for response in ingest] == [404] * BURST + [429]
    assert [response.status_code for response in admin] == [200] * BURST + [429]


async def test_requests_refused_for_a_missing_scope_spend_no_tokens(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    key = await new_key("read")
    async with app_with(**limits(backend)) as client:
        forbidden = [
            await client.post(START, json={"session_start": time.time()}, headers=key_header(key))
            for _ in range(BURST * 2)
        ]
        reads = [await get_status(client, key) for _ in range(BURST)]

    assert {response.status_code for response in forbidden} == {403}
    assert [response.status_code for response in reads] == [404] * BURST


# --- several workers -------------------------------------------------------------------------


async def test_two_workers_share_one_budget(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    key = await new_key("ingest")
    async with app_with(**limits(backend)) as first, app_with(**limits(backend)) as second:
        responses = [
            await get_status(worker, key) for _ in range(BURST + 1) for worker in (first, second)
        ]

    statuses = [response.status_code for response in responses]
    assert statuses.count(404) == BURST
    assert statuses.count(429) == len(statuses) - BURST
    assert statuses[:BURST] == [404] * BURST


async def test_two_workers_hammering_at_once_let_exactly_burst_requests_through(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    key = await new_key("ingest")
    burst = 10
    settings = limits(backend, RATE_LIMIT_INGEST_BURST=burst)
    async with app_with(**settings) as first, app_with(**settings) as second:
        responses = await asyncio.gather(
            *(get_status(worker, key) for _ in range(burst) for worker in (first, second))
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [404] * burst + [429] * burst


# --- Retry-After -----------------------------------------------------------------------------


async def test_retry_after_is_at_least_one_second_when_the_wait_is_shorter(
    app_with: AppFactory, backend: dict[str, Any], new_key: KeyFactory
) -> None:
    """Two tokens a second: a refused request waits under a second, and says 1, never 0."""
    key = await new_key("ingest")
    settings = limits(backend, RATE_LIMIT_INGEST_PER_SECOND=2, RATE_LIMIT_INGEST_BURST=1)
    async with app_with(**settings) as client:
        refused = None
        for _ in range(50):
            response = await get_status(client, key)
            if response.status_code == 429:
                refused = response
                break

    assert refused is not None, "no request was refused at two a second"
    assert refused.headers["retry-after"] == "1"


async def test_rate_limits_can_be_turned_off(app_with: AppFactory, new_key: KeyFactory) -> None:
    key = await new_key("ingest")
    settings = limits({"RATE_LIMIT_BACKEND": "postgres"}, RATE_LIMIT_ENABLED=False)
    async with app_with(**settings) as client:
        responses = [await get_status(client, key) for _ in range(BURST * 3)]

    assert {response.status_code for response in responses} == {404}


# --- Redis in trouble ------------------------------------------------------------------------


def closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that accepts Redis connections and then says nothing."""
    while await reader.read(1024):
        pass
    writer.close()


@pytest.mark.parametrize("trouble", ["refused", "silent"])
async def test_unreachable_redis_is_503_with_retry_after_never_4xx(
    app_with: AppFactory, new_key: KeyFactory, db: asyncpg.Connection, trouble: str
) -> None:
    key = await new_key("ingest")
    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1] if trouble == "silent" else closed_loopback_port()
    settings = limits(
        {"RATE_LIMIT_BACKEND": "redis", "REDIS_URL": f"redis://127.0.0.1:{port}/0"},
        RATE_LIMIT_TIMEOUT_SECONDS=0.2,
        RETRY_AFTER_SECONDS=7,
    )
    session_id = str(uuid.uuid4())
    try:
        async with app_with(**settings) as client:
            write = await client.post(
                START,
                json={"session_start": time.time(), "session_id": session_id},
                headers=key_header(key),
            )
            read = await get_status(client, key)
            health = await client.get("/health")
    finally:
        silent.close()
        await silent.wait_closed()

    for response in (write, read):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "7"
        assert response.json() == {"detail": "Rate limiter unavailable, retry later"}
    assert health.status_code == 200
    assert (
        await db.fetchval("SELECT count(*) FROM vr_sessions WHERE id = $1", uuid.UUID(session_id))
        == 0
    )
