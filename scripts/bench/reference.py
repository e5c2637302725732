"""The plain reference service the benchmark measures Nexero against (docs/performance.md).

What a straightforward FastAPI + asyncpg service for the same client would be: the same routes
and request shapes, pydantic parsing, the original schema (four indexes on tracking_events, the
GIN on event_data among them), and one `INSERT ... SELECT FROM unnest` per batch. It keeps none
of Nexero's promises: no API keys, no de-duplication of retries, no per-event validation (one bad
event fails the whole batch with a 422), no dead letters, no request log, no clock correction.
It is a yardstick, not a service: `python -m scripts.bench` starts it under uvicorn beside
Nexero, in its own schema (`reference`) of the run's database, and stops it again.

    REFERENCE_DATABASE_URL=... uvicorn scripts.bench.reference:app --workers 2 --no-access-log
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request, status
from pydantic import BaseModel

SCHEMA = "reference"
APPLICATION_NAME = "nexero-reference"
"""How its connections name themselves, so that the harness measures their CPU."""
# The original schema (supabase/migrations/0001_original_schema.sql) without row level security,
# in a schema of its own so that it never meets Nexero's tables.
SCHEMA_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
SET search_path TO {SCHEMA};
CREATE TABLE IF NOT EXISTS vr_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'completed')),
    customer_id TEXT,
    property_id TEXT,
    device_type TEXT,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_sessions_customer ON vr_sessions (customer_id);
CREATE INDEX IF NOT EXISTS idx_sessions_property ON vr_sessions (property_id);
CREATE INDEX IF NOT EXISTS idx_sessions_start ON vr_sessions (started_at);
CREATE INDEX IF NOT EXISTS idx_sessions_status ON vr_sessions (status);
CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS update_vr_sessions_updated_at ON vr_sessions;
CREATE TRIGGER update_vr_sessions_updated_at BEFORE UPDATE ON vr_sessions
FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
CREATE TABLE IF NOT EXISTS tracking_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id UUID NOT NULL REFERENCES vr_sessions (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    event_data JSONB,
    created_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_events_session ON tracking_events (session_id);
CREATE INDEX IF NOT EXISTS idx_events_type ON tracking_events (event_type);
CREATE INDEX IF NOT EXISTS idx_events_timestamp ON tracking_events (timestamp);
CREATE INDEX IF NOT EXISTS idx_events_data ON tracking_events USING GIN (event_data);
"""

INSERT_EVENTS_SQL = """
    INSERT INTO tracking_events (session_id, event_type, timestamp, event_data)
    SELECT $1, given.event_type, given.timestamp, given.event_data::jsonb
    FROM unnest($2::text[], $3::timestamptz[], $4::text[])
         AS given (event_type, timestamp, event_data)
"""


async def create_schema(dsn: str) -> None:
    """The reference's tables, created once before its workers start."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(SCHEMA_SQL)
    finally:
        await connection.close()


class SessionStart(BaseModel):
    session_id: uuid.UUID | None = None
    session_start: datetime
    customer_id: str | None = None
    property_id: str | None = None
    device_type: str | None = None


class SessionEnd(BaseModel):
    session_id: uuid.UUID
    session_end: datetime


class Event(BaseModel):
    event_type: str
    timestamp: datetime
    event_data: dict[str, Any] | str | None = None
    """An object, or a string holding one (as Blueprint plugins send it)."""


def event_data_json(event: Event) -> str:
    if isinstance(event.event_data, str):
        return event.event_data or "{}"
    return json.dumps(event.event_data or {})


class SingleEvent(Event):
    session_id: uuid.UUID


class Batch(BaseModel):
    session_id: uuid.UUID
    events: list[Event]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["REFERENCE_DATABASE_URL"],
        min_size=2,
        max_size=10,
        server_settings={"search_path": SCHEMA, "application_name": APPLICATION_NAME},
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(title="Nexero benchmark reference", lifespan=lifespan)


def pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


@app.get("/")
async def root() -> dict[str, str]:
    return {"message": "Nexero reference", "status": "ok"}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "healthy"}


@app.post("/api/v1/unreal/session/start", status_code=status.HTTP_201_CREATED)
async def start_session(body: SessionStart, request: Request) -> dict[str, Any]:
    session_id = await pool(request).fetchval(
        "INSERT INTO vr_sessions (id, started_at, customer_id, property_id, device_type) "
        "VALUES (coalesce($1, gen_random_uuid()), $2, $3, $4, $5) RETURNING id",
        body.session_id,
        body.session_start,
        body.customer_id,
        body.property_id,
        body.device_type,
    )
    return {"status": "success", "message": "Session started", "session_id": str(session_id)}


@app.post("/api/v1/unreal/session/end")
async def end_session(body: SessionEnd, request: Request) -> dict[str, Any]:
    row = await pool(request).fetchrow(
        "UPDATE vr_sessions SET ended_at = $2, status = 'completed' WHERE id = $1 "
        "RETURNING extract(epoch FROM $2 - started_at)::int AS duration_seconds",
        body.session_id,
        body.session_end,
    )
    if row is None:
        raise HTTPException(status_code=404, detail="Session not found")
    return {
        "status": "success",
        "message": "Session ended",
        "session_id": str(body.session_id),
        "duration_seconds": row["duration_seconds"],
    }


@app.post("/api/v1/unreal/tracking/event", status_code=status.HTTP_202_ACCEPTED)
async def track_event(body: SingleEvent, request: Request) -> dict[str, Any]:
    await pool(request).execute(
        "INSERT INTO tracking_events (session_id, event_type, timestamp, event_data) "
        "VALUES ($1, $2, $3, $4::jsonb)",
        body.session_id,
        body.event_type,
        body.timestamp,
        event_data_json(body),
    )
    return {"status": "accepted", "timestamp": datetime.now(UTC).isoformat()}


@app.post("/api/v1/unreal/tracking/batch", status_code=status.HTTP_202_ACCEPTED)
async def track_batch(body: Batch, request: Request) -> dict[str, Any]:
    await pool(request).execute(
        INSERT_EVENTS_SQL,
        body.session_id,
        [event.event_type for event in body.events],
        [event.timestamp for event in body.events],
        [event_data_json(event) for event in body.events],
    )
    total = len(body.events)
    return {
        "status": "accepted",
        "total_events": total,
        "processed": total,
        "failed": 0,
        "success_rate": 100.0,
        "timestamp": datetime.now(UTC).isoformat(),
    }
