"""What an export looks like to its client, for the export tests: the header rows, a time as
exports write it, the rows of a CSV or NDJSON answer; and an export driven straight through
the ASGI app, chunk by chunk, with the database connections it holds meanwhile."""

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from tests.conftest import state_per_request

EVENT_HEADER = [
    "id",
    "session_id",
    "event_id",
    "event_type",
    "timestamp",
    "client_timestamp",
    "received_at",
    "customer_id",
    "property_id",
    "event_data",
]
SESSION_HEADER = [
    "id",
    "customer_id",
    "property_id",
    "device_type",
    "status",
    "end_reason",
    "started_at",
    "ended_at",
    "duration_seconds",
    "last_activity_at",
]


def iso(seconds: float) -> str:
    """As exports write times: ISO 8601 UTC with microseconds and Z."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csv_rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text, newline="")))


def ndjson_lines(response: httpx.Response) -> list[dict]:
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


async def seed_events(
    db: asyncpg.Connection, project_id: UUID, *, rows: int, start: float, sessions: int = 50
) -> None:
    """`rows` position events over `sessions` sessions of the project, written directly (fast):
    event n at `start` + n / 100 s, with event_data {"x": n, "y": n % 7, "z": 160}."""
    await db.execute(
        """
        INSERT INTO vr_sessions (id, project_id, started_at, status, customer_id, property_id,
                                 last_seen_at, last_activity_at)
        SELECT md5('bulk' || $1::uuid::text || n)::uuid, $1, to_timestamp($2 + n), 'active',
               'cust_' || n, 'prop_bulk', now(), now()
        FROM generate_series(1, $3::integer) AS n
        """,
        project_id,
        start,
        sessions,
    )
    await db.execute(
        """
        INSERT INTO tracking_events (project_id, session_id, event_id, event_type, timestamp,
                                     client_timestamp, event_data, received_at)
        SELECT $1::uuid, md5('bulk' || $1::uuid::text || (1 + n % $4::integer))::uuid,
               gen_random_uuid(), 'position', to_timestamp($2 + n / 100.0),
               to_timestamp($2 + n / 100.0), jsonb_build_object('x', n, 'y', n % 7, 'z', 160),
               now()
        FROM generate_series(1, $3::integer) AS n
        """,
        project_id,
        start,
        rows,
        sessions,
    )


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[Any]:
    """The app with its lifespan run, each request with its own state (as uvicorn does)."""
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        yield state_per_request(manager.app)


async def call_asgi(
    asgi: Any, key: str, path: str, query: str, on_body: Callable[[dict], Awaitable[None]]
) -> list[dict]:
    """One GET straight through the ASGI app, so the test sees each chunk as it is sent and can
    act between two of them (or never return, as a client that stopped reading)."""
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


async def ignore(message: dict) -> None:
    return None


def body_of(messages: list[dict]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


async def export_backends(db: asyncpg.Connection) -> list[asyncpg.Record]:
    """Connections of the app inside an export's snapshot."""
    return await db.fetch(
        """
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'nexero'
          AND state LIKE 'idle in transaction%' AND query LIKE 'FETCH % FROM export_%'
        """
    )


async def idle_in_transaction(db: asyncpg.Connection) -> int:
    """Connections of the app left open inside a transaction (an export's snapshot, say)."""
    return await db.fetchval(
        """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'nexero'
          AND state LIKE 'idle in transaction%'
        """
    )
