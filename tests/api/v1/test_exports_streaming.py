"""Exports of many rows, and streams that break: 50,000 rows streamed in chunks in both
formats, and a stream cut by the database or by the client (slot and connection released).
Limits on exports running at once, and clients that stop reading: test_export_limits."""

import json
import time
from typing import Any

import asyncpg
import pytest

from app.main import create_app
from app.services.access.keys import AccessService
from tests.api.v1.export_files import (
    EVENT_HEADER,
    call_asgi,
    csv_rows,
    export_backends,
    idle_in_transaction,
    ignore,
    seed_events,
    started,
)
from tests.conftest import create_project_key, make_settings, serve

T0 = float(int(time.time()) - 5 * 3600)
BULK_ROWS = 50_000


@pytest.fixture(scope="module")
async def bulk(access: AccessService, db: asyncpg.Connection) -> dict[str, Any]:
    """50,000 events over 50 sessions of a project of their own, written directly."""
    project_id, key, _ = await create_project_key(access, "bulk export")
    await seed_events(db, project_id, rows=BULK_ROWS, start=T0)
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
            asgi, bulk["key"], "/api/v1/exports/sessions", "format=ndjson", ignore
        )
        last = json.loads(b"".join(m.get("body", b"") for m in again[1:]).splitlines()[-1])
        assert last == {"complete": True, "rows": 50}


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
        assert not await idle_in_transaction(db)
        again = await call_asgi(asgi, bulk["key"], "/api/v1/exports/sessions", "", ignore)
        assert again[0]["status"] == 200
