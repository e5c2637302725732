"""Exports of many rows, and streams that break: 50,000 rows streamed in chunks in both
formats, a stream cut by the database or by the client (slot and connection released), and
the limit of exports running at once."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.main import create_app
from app.services.access import AccessService
from app.services.export_service import ExportSlots
from tests.api.v1.export_files import EVENT_HEADER, csv_rows
from tests.conftest import create_project_key, make_settings, serve

T0 = float(int(time.time()) - 5 * 3600)
BULK_ROWS = 50_000


@pytest.fixture(scope="module")
async def bulk(access: AccessService, db: asyncpg.Connection) -> dict[str, Any]:
    """50,000 events over 50 sessions of a project of their own, written directly."""
    project_id, key, _ = await create_project_key(access, "bulk export")
    await db.execute(
        """
        INSERT INTO vr_sessions (id, project_id, started_at, status, customer_id, property_id,
                                 last_seen_at, last_activity_at)
        SELECT md5('bulk' || $1::uuid::text || n)::uuid, $1, to_timestamp($2 + n), 'active',
               'cust_' || n, 'prop_bulk', now(), now()
        FROM generate_series(1, 50) AS n
        """,
        project_id,
        T0,
    )
    await db.execute(
        """
        INSERT INTO tracking_events (project_id, session_id, event_id, event_type, timestamp,
                                     client_timestamp, event_data, received_at)
        SELECT $1::uuid, md5('bulk' || $1::uuid::text || (1 + n % 50))::uuid, gen_random_uuid(),
               'position', to_timestamp($2 + n / 100.0), to_timestamp($2 + n / 100.0),
               jsonb_build_object('x', n, 'y', n % 7, 'z', 160), now()
        FROM generate_series(1, $3::integer) AS n
        """,
        project_id,
        T0,
        BULK_ROWS,
    )
    return {"project_id": project_id, "key": key}


async def test_fifty_thousand_rows_stream_in_order_in_both_formats(database_dsn, bulk):
    app = create_app(make_settings(database_dsn, ANALYTICS_EXPORT_CHUNK_ROWS=1000))
    async with serve(app, api_key=bulk["key"]) as bulk_client:
        ndjson = await bulk_client.get("/api/v1/exports/events", params={"format": "ndjson"})
        lines = ndjson.text.splitlines()
        assert len(lines) == BULK_ROWS + 1
        assert json.loads(lines[-1]) == {"complete": True, "rows": BULK_ROWS}
        xs = [json.loads(line)["event_data"]["x"] for line in lines[:-1]]
        assert xs == list(range(1, BULK_ROWS + 1))
        response = await bulk_client.get("/api/v1/exports/events")
        assert response.headers["x-export-rows"] == str(BULK_ROWS)
        rows = csv_rows(response)
        assert len(rows) == BULK_ROWS + 1 and rows[0] == EVENT_HEADER


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[Any]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        yield manager.app


async def call_asgi(
    asgi: Any, key: str, path: str, query: str, on_body: Callable[[dict], Awaitable[None]]
) -> list[dict]:
    """One GET straight through the ASGI app, so the test sees each chunk as it is sent and can
    act between two of them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"nexero.test"), (b"x-api-key", key.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("nexero.test", 80),
        "state": {},
    }
    messages: list[dict] = []
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        messages.append(message)
        if message["type"] == "http.response.body":
            await on_body(message)

    await asgi(scope, receive, send)
    return messages


async def export_backends(db: asyncpg.Connection) -> list[int]:
    """Connections of the app inside an export's snapshot."""
    return await db.fetch(
        """
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'nexero'
          AND state LIKE 'idle in transaction%' AND query LIKE 'FETCH % FROM export_%'
        """
    )


async def test_database_failure_mid_stream_cuts_it_and_says_so(database_dsn, db, bulk):
    app = create_app(make_settings(database_dsn, ANALYTICS_EXPORT_CHUNK_ROWS=100))
    terminated: list[int] = []

    async def kill_the_export_connection(message: dict) -> None:
        if not terminated and message["body"]:
            backends = await export_backends(db)
            assert len(backends) == 1
            terminated.append(backends[0]["pid"])
            await db.execute("SELECT pg_terminate_backend($1)", backends[0]["pid"])

    async with started(app) as asgi:
        messages = await call_asgi(
            asgi, bulk["key"], "/api/v1/exports/events", "format=ndjson", kill_the_export_connection
        )
        assert messages[0]["type"] == "http.response.start" and messages[0]["status"] == 200
        bodies = [message for message in messages if message["type"] == "http.response.body"]
        # Never completed: every body message says more is coming.
        assert all(message.get("more_body") for message in bodies)
        lines = b"".join(message["body"] for message in bodies).decode().splitlines()
        trailer = json.loads(lines[-1])
        assert trailer["complete"] is False
        assert trailer["rows"] == len(lines) - 1 < BULK_ROWS
        # The app recovers: the next export is whole.
        again = await call_asgi(
            asgi, bulk["key"], "/api/v1/exports/sessions", "format=ndjson", _ignore
        )
        last = json.loads(b"".join(m.get("body", b"") for m in again[1:]).splitlines()[-1])
        assert last == {"complete": True, "rows": 50}


async def _ignore(message: dict) -> None:
    return None


async def test_client_gone_mid_stream_releases_the_slot_and_the_connection(database_dsn, db, bulk):
    app = create_app(
        make_settings(
            database_dsn, ANALYTICS_EXPORT_CHUNK_ROWS=100, ANALYTICS_EXPORT_MAX_CONCURRENT=1
        )
    )
    chunks = 0

    async def hang_up_after_two_chunks(message: dict) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:
            raise OSError("client went away")

    async with started(app) as asgi:
        await call_asgi(
            asgi, bulk["key"], "/api/v1/exports/events", "format=ndjson", hang_up_after_two_chunks
        )
        # Released by the response itself, not later by the garbage collector.
        assert app.state.export_slots.running == 0
        # No transaction left open, and the only slot is free again.
        assert not await db.fetchval(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'nexero'
              AND state LIKE 'idle in transaction%'
            """
        )
        again = await call_asgi(asgi, bulk["key"], "/api/v1/exports/sessions", "", _ignore)
        assert again[0]["status"] == 200


async def test_exports_past_the_concurrency_setting_answer_503(database_dsn, bulk):
    app = create_app(make_settings(database_dsn, ANALYTICS_EXPORT_MAX_CONCURRENT=1))
    slots = ExportSlots(1)
    app.state.export_slots = slots
    async with serve(app, api_key=bulk["key"]) as limited:
        async with slots.hold():
            busy = await limited.get("/api/v1/exports/sessions")
            assert busy.status_code == 503
            assert "Retry-After" in busy.headers
            assert "exports are running" in busy.json()["detail"]
        assert (await limited.get("/api/v1/exports/sessions")).status_code == 200
