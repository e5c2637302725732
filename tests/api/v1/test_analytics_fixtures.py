"""Shared by the analytics tests (imported by them; holds no tests): a project of their own
with an ingest+read key, served by the real app, and a builder that records hand-made tours
through the ingestion API.

A test module takes the `tenant` fixture by importing `tenant_fixture`. Each analytics test
module gets a fresh project, so figures over a whole project are not
disturbed by the other test modules' data; inside a module, tests keep apart by property,
customer or period."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.core.database import Database
from app.main import create_app
from app.services.access import AccessService, Scope
from tests.conftest import make_settings, serve
from tests.helpers import BATCH, END, START

SESSIONS = "/api/v1/sessions"


@dataclass(frozen=True)
class Tenant:
    """A project of its own and a client that sends its key (ingest and read scopes)."""

    client: httpx.AsyncClient
    project_id: uuid.UUID
    key: str


async def create_project_key(
    database_dsn: str, name: str, scopes: frozenset[Scope]
) -> tuple[uuid.UUID, str]:
    """A new project and a key for it, made the way the admin API makes them."""
    database = await Database.connect(
        database_dsn,
        min_size=0,
        max_size=1,
        statement_cache_size=None,
        connect_timeout_seconds=5,
        acquire_timeout_seconds=5,
        command_timeout_seconds=30,
    )
    try:
        access = AccessService(database)
        project = await access.create_project(name, actor="analytics tests")
        key = await access.create_key(
            project_id=project.id, name=f"{name} key", scopes=scopes, actor="analytics tests"
        )
    finally:
        await database.close()
    return project.id, key.secret


@pytest.fixture(scope="module", name="tenant")
async def tenant_fixture(database_dsn: str, client: httpx.AsyncClient) -> AsyncIterator[Tenant]:
    """A fresh project per test module (the `client` fixture has migrated the database)."""
    project_id, key = await create_project_key(
        database_dsn, f"analytics {uuid.uuid4().hex[:8]}", frozenset({Scope.INGEST, Scope.READ})
    )
    async with serve(create_app(make_settings(database_dsn)), api_key=key) as tenant_client:
        yield Tenant(client=tenant_client, project_id=project_id, key=key)


def at(text: str) -> float:
    """Unix seconds of an ISO 8601 time (UTC when it has no offset)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class Tour:
    """A hand-made session: events are (seconds after the start, type, event_data)."""

    start: float
    end: float | None
    customer_id: str | None = "cust_a"
    property_id: str | None = "prop_a"
    device_type: str | None = "Meta Quest 3"
    events: Sequence[tuple[float, str, Any]] = ()
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))


async def record(client: httpx.AsyncClient, tour: Tour) -> str:
    """Send a tour through the ingestion API: start, one batch, end (if it has one)."""
    start = {"session_id": tour.session_id, "session_start": tour.start}
    for label in ("customer_id", "property_id", "device_type"):
        if getattr(tour, label) is not None:
            start[label] = getattr(tour, label)
    response = await client.post(START, json=start)
    assert response.status_code == 201, response.text
    if tour.events:
        events = [
            {"event_type": event_type, "timestamp": tour.start + offset, "event_data": data}
            for offset, event_type, data in tour.events
        ]
        response = await client.post(BATCH, json={"session_id": tour.session_id, "events": events})
        assert response.status_code == 202, response.text
        assert response.json()["processed"] == len(events), response.text
    if tour.end is not None:
        end = {"session_id": tour.session_id, "session_end": tour.end}
        response = await client.post(END, json=end)
        assert response.status_code == 200, response.text
    return tour.session_id


async def get_ok(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    return response.json()
