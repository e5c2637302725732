"""Small builders for requests, shared by the tests: paths, bodies, keys made through the admin
API, and the app's routes."""

import time
import uuid
from typing import Any

import asyncpg
import httpx
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from app.config import Settings
from app.main import create_app

# The bootstrap key of every test app (default project, all scopes).
TEST_API_KEY = "nexero-test-key-0123456789abcdef"
# For an app that is only looked at, never started.
UNUSED_DSN = "postgresql://127.0.0.1/unused"

KEYS = "/api/v1/admin/keys"
START = "/api/v1/unreal/session/start"
END = "/api/v1/unreal/session/end"
COMPLETE = "/api/v1/unreal/session"
EVENT = "/api/v1/unreal/tracking/event"
BATCH = "/api/v1/unreal/tracking/batch"


def status_url(session_id: str) -> str:
    return f"/api/v1/unreal/session/{session_id}/status"


def key_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def create_key(
    client: httpx.AsyncClient, *scopes: str, name: str = "tests", **headers: str
) -> dict[str, Any]:
    """A key of the client's project with `scopes`, made through the admin API (as the admin
    key in `headers`, else the client's own): the answer, key included."""
    response = await client.post(
        KEYS, json={"name": name, "scopes": list(scopes)}, headers=headers or None
    )
    assert response.status_code == 201, response.text
    return response.json()


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


def app_routes() -> list[RouteContext]:
    """Every route the app serves, read from the app itself (iter_route_contexts: app.routes
    holds the included routers, not their routes), so that a route added later is covered by
    the tests that go through them all."""
    app = create_app(Settings(_env_file=None, DATABASE_URL=UNUSED_DSN))
    return list(iter_route_contexts(app.routes))


def api_routes(prefix: str = "/api/") -> list[tuple[str, str]]:
    """Every (method, path) of the app's API routes whose path starts with `prefix`."""
    return sorted(
        (method, route.path)
        for route in app_routes()
        if isinstance(route.original_route, APIRoute) and route.path.startswith(prefix)
        for method in route.methods or ()
    )
