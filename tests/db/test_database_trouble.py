"""Database trouble that is not an outage but is still transient: a read-only database (during a
failover, or Supabase's read-only mode when a disk fills) and lock timeouts. Both must be 503s
with Retry-After, never a refusal of the client's events."""

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.conftest import AppFactory, fresh_database
from tests.helpers import BATCH, EVENT, START, count_events, event, start_session


@pytest.fixture
async def own_database(server_dsn: str) -> AsyncIterator[str]:
    """A database of this test's own, since these tests change database-wide settings."""
    async with fresh_database(server_dsn, prefix="nexero_trouble") as dsn:
        yield dsn


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def reconnect_everyone(admin: asyncpg.Connection, database: str) -> None:
    """New settings reach only new sessions: end the app's, so its pool opens fresh ones."""
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )


async def test_read_only_database_answers_503_and_health_says_so(
    app_with: AppFactory, own_database: str
) -> None:
    name = database_name(own_database)
    async with app_with(DATABASE_URL=own_database) as client:
        session_id = await start_session(client)
        admin = await asyncpg.connect(own_database)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await reconnect_everyone(admin, name)
            responses = [
                await client.post(BATCH, json={"session_id": session_id, "events": [event()]})
                for _ in range(2)  # the first may meet a terminated connection
            ]
            health = await client.get("/health")
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            await reconnect_everyone(admin, name)
            # Each pooled connection the server ended fails once (503) before being replaced;
            # the client retries, as on any 503.
            retry = {"session_id": session_id, "events": [event(at=1728234590)]}
            for _ in range(10):
                recovered = await client.post(BATCH, json=retry)
                if recovered.status_code != 503:
                    break
            stored = await count_events(admin, session_id)
            rejected = await admin.fetchval("SELECT count(*) FROM rejected_events")
        finally:
            await admin.close()

    assert [response.status_code for response in responses] == [503, 503]
    assert responses[-1].headers["Retry-After"]
    assert (health.status_code, health.json()["database"]) == (503, "unavailable")
    assert recovered.status_code == 202
    assert stored == 1
    assert rejected == 0


async def test_lock_timeout_answers_503_and_the_retry_stores_everything(
    app_with: AppFactory, own_database: str
) -> None:
    name = database_name(own_database)
    admin = await asyncpg.connect(own_database)
    try:
        # Set before the app connects, so that every connection of its pool has it.
        await admin.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '200ms'")
        async with app_with(DATABASE_URL=own_database) as client:
            session_id = await start_session(client)
            batch = {
                "session_id": session_id,
                "events": [event(at=1728234590 + i) for i in range(3)],
            }
            single = {"session_id": session_id, **event(at=1728234600)}

            blocker = await asyncpg.connect(own_database)
            try:
                async with blocker.transaction():
                    await blocker.execute("LOCK TABLE tracking_events IN SHARE MODE")
                    async with asyncio.timeout(30):
                        blocked_batch = await client.post(BATCH, json=batch)
                        blocked_single = await client.post(EVENT, json=single)
            finally:
                await blocker.close()
            retried_batch = await client.post(BATCH, json=batch)
            retried_single = await client.post(EVENT, json=single)
        stored = await count_events(admin, session_id)
        rejected = await admin.fetchval("SELECT count(*) FROM rejected_events")
    finally:
        await admin.close()

    assert (blocked_batch.status_code, blocked_single.status_code) == (503, 503)
    assert (retried_batch.status_code, retried_single.status_code) == (202, 202)
    assert retried_batch.json()["processed"] == 3
    assert stored == 4
    assert rejected == 0


async def test_unexpected_database_error_is_a_500_not_a_rejection(
    app_with: AppFactory, own_database: str
) -> None:
    """A bug or a broken schema must fail loudly, never turn into 'your events are invalid'."""
    name = database_name(own_database)
    async with app_with(DATABASE_URL=own_database) as client:
        session_id = await start_session(client)
        admin = await asyncpg.connect(own_database)
        try:
            await admin.execute("ALTER TABLE rejected_events RENAME TO rejected_events_moved")
            response = await client.post(
                BATCH, json={"session_id": session_id, "events": [event("bad type!")]}
            )
            await admin.execute("ALTER TABLE rejected_events_moved RENAME TO rejected_events")
        finally:
            await admin.close()

    assert response.status_code == 500
    assert set(response.json()) == {"detail", "request_id"}
    assert name not in response.text


async def test_session_data_postgresql_refuses_is_a_422_not_a_500(
    app_with: AppFactory, own_database: str
) -> None:
    """Whatever the edge checks let through but PostgreSQL will never take (here a CHECK an
    operator added) is the client's data problem: 422 with the reason, not a 500."""
    async with app_with(DATABASE_URL=own_database) as client:
        admin = await asyncpg.connect(own_database)
        try:
            await admin.execute(
                "ALTER TABLE vr_sessions ADD CONSTRAINT test_no_demo_devices "
                "CHECK (device_type IS DISTINCT FROM 'demo')"
            )
            response = await client.post(
                START, json={"session_start": 1728234567, "device_type": "demo"}
            )
        finally:
            await admin.close()

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert "database rejected the data" in response.json()["detail"][0]["msg"]
