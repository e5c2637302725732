"""Small builders for request bodies, shared by the tests."""

import time
import uuid
from typing import Any

import asyncpg
import httpx

# The bootstrap key of every test app (default project, all scopes).
TEST_API_KEY = "nexero-test-key-0123456789abcdef"

START = "/api/v1/unreal/session/start"
END = "/api/v1/unreal/session/end"
COMPLETE = "/api/v1/unreal/session"
EVENT = "/api/v1/unreal/tracking/event"
BATCH = "/api/v1/unreal/tracking/batch"


def fguid() -> str:
    """A session id as Unreal's FGuid prints it: 32 uppercase hex digits."""
    return uuid.uuid4().hex.upper()


def event(event_type: str = "room_view", *, at: float | None = None, **fields: Any) -> dict:
    body: dict[str, Any] = {
        "event_type": event_type,
        "timestamp": time.time() if at is None else at,
        "event_data": {"room_name": "Living Room", "duration": 15.5},
    }
    body.update(fields)
    return body


async def start_session(client: httpx.AsyncClient, **fields: Any) -> str:
    body = {"session_start": time.time(), "property_id": "prop_villa_001", **fields}
    response = await client.post(START, json=body)
    assert response.status_code == 201, response.text
    return response.json()["session_id"]


def distinct_events(count: int) -> list[dict[str, Any]]:
    now = time.time()
    return [event("room_view", at=now, event_data={"step": step}) for step in range(count)]


async def count_events(db: asyncpg.Connection, session_id: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
