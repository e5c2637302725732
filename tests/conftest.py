"""Test fixtures: a real PostgreSQL (TEST_DATABASE_URL, else the embedded server), a fresh
database per test run, and the real app with its lifespan behind an httpx client (with the
bootstrap key, another project's key, or none); the access service, to make projects and keys
as the admin API makes them."""

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette import types as asgi

from app.config import Settings
from app.db.database import Database
from app.db.embedded_postgres import EmbeddedPostgres
from app.main import create_app
from app.services.access.keys import ALL_SCOPES, AccessService, Scope
from tests.helpers import TEST_API_KEY
from tests.postgres_proxy import PostgresProxy, ServerAddress

REPO_ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_TEST_DATA_DIR = REPO_ROOT / ".nexero-test"

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def with_database(dsn: str, database: str) -> str:
    """The same server URL, pointing at another database (host may be in the query string)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def server_dsn() -> Any:
    """A PostgreSQL server where the tests may create databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    embedded = EmbeddedPostgres(EMBEDDED_TEST_DATA_DIR)
    yield embedded.start()
    embedded.stop()


@asynccontextmanager
async def fresh_database(server_dsn: str, *, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A fresh database for this test run, dropped at the end."""
    async with fresh_database(server_dsn, prefix="nexero_test") as dsn:
        yield dsn


def make_settings(dsn: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": dsn,
        "ENVIRONMENT": "test",
        "NEXERO_BOOTSTRAP_KEY": TEST_API_KEY,
        # Tests that are about rate limits turn them on; the others send requests in bursts.
        "RATE_LIMIT_ENABLED": False,
        "SESSION_SWEEP_INTERVAL_SECONDS": 3600,
        "DATABASE_POOL_MAX_SIZE": 5,
        # Live streams end soon, so that tests reading any route's whole answer finish.
        "LIVE_STREAM_MAX_SECONDS": 0.5,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def state_per_request(app: asgi.ASGIApp) -> asgi.ASGIApp:
    """Give each request its own copy of the lifespan state, as uvicorn does (ASGI: "a copy of
    the namespace"). asgi-lifespan hands every request the same dict, so without this what one
    request records there (its key id) would still be there for the next."""

    async def copying(scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": dict(scope.get("state", {}))}
        await app(scope, receive, send)

    return copying


@asynccontextmanager
async def serve(
    app: FastAPI, *, api_key: str | None = TEST_API_KEY
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, behind a client that sends `api_key` (None: no key)."""
    served = state_per_request(app)
    async with LifespanManager(served, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        headers = {"X-API-Key": api_key} if api_key else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://nexero.test", headers=headers
        ) as client:
            yield client


HeadsetFactory = Callable[[str | None, str], httpx.AsyncClient]


@asynccontextmanager
async def serve_headsets(dsn: str, **overrides: Any) -> AsyncIterator[HeadsetFactory]:
    """A new app on the database `dsn`, and a factory of clients that each come from an
    address of their own: `headset(api_key or None, "10.0.0.7")`. Closed with the app."""
    served = state_per_request(create_app(make_settings(dsn, **overrides)))
    clients: list[httpx.AsyncClient] = []

    def headset(api_key: str | None, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=manager.app, client=(address, 49152))
        headers = {"X-API-Key": api_key} if api_key else {}
        clients.append(
            httpx.AsyncClient(transport=transport, base_url="http://nexero.test", headers=headers)
        )
        return clients[-1]

    async with LifespanManager(served, startup_timeout=60, shutdown_timeout=30) as manager:
        try:
            yield headset
        finally:
            for opened in clients:
                await opened.aclose()


def serve_app(
    dsn: str, *, api_key: str | None = TEST_API_KEY, **overrides: Any
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """A new app on the database `dsn`, with some settings changed, behind a client that sends
    `api_key` (None: no key)."""
    return serve(create_app(make_settings(dsn, **overrides)), api_key=api_key)


@asynccontextmanager
async def serve_with_busy_pool(dsn: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose only pooled connection is held for the whole block: whatever needs the
    database cannot have it (a 503, as when the database is unreachable)."""
    app = create_app(
        make_settings(
            dsn,
            DATABASE_POOL_MIN_SIZE=1,
            DATABASE_POOL_MAX_SIZE=1,
            DATABASE_ACQUIRE_TIMEOUT_SECONDS=0.05,
            **overrides,
        )
    )
    async with serve(app) as client, app.state.database.connection():
        yield client


@pytest.fixture(scope="session")
async def client(database_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with default settings, shared by the tests that need nothing special."""
    async with serve_app(database_dsn) as http_client:
        yield http_client


@pytest.fixture(scope="session")
async def anonymous(
    database_dsn: str, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a client that sends no key unless told to."""
    async with serve_app(database_dsn, api_key=None) as http_client:
        yield http_client


@pytest.fixture
def app_with(database_dsn: str) -> AppFactory:
    """Serve an app with some settings changed: `async with app_with(MAX_BODY_BYTES=10) as c`."""

    def factory(**overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve_app(database_dsn, **overrides)

    return factory


@asynccontextmanager
async def pool_on(dsn: str, *, min_size: int = 0, max_size: int = 1) -> AsyncIterator[Database]:
    """The database layer on a pool of its own (on a database an app has migrated), for tests
    that drive a service or a store without the app."""
    database = await Database.connect(
        dsn,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=None,
        connect_timeout_seconds=5,
        acquire_timeout_seconds=5,
        command_timeout_seconds=30,
    )
    try:
        yield database
    finally:
        await database.close()


@asynccontextmanager
async def access_service(dsn: str) -> AsyncIterator[AccessService]:
    """The access service on a pool of its own: projects and keys made the way the admin API
    and the CLI make them."""
    async with pool_on(dsn, max_size=2) as database:
        yield AccessService(database)


@pytest.fixture(scope="session")
async def access(database_dsn: str, client: httpx.AsyncClient) -> AsyncIterator[AccessService]:
    """The access service on the shared test database."""
    async with access_service(database_dsn) as service:
        yield service


class ProjectKey(NamedTuple):
    project_id: uuid.UUID
    key: str
    key_id: uuid.UUID


async def create_project_key(
    access: AccessService, name: str, scopes: frozenset[Scope] = ALL_SCOPES
) -> ProjectKey:
    """A new project and a key of it holding `scopes`."""
    project = await access.create_project(name, actor="tests")
    created = await access.create_key(
        project_id=project.id, name=f"{name} key", scopes=scopes, actor="tests"
    )
    return ProjectKey(project_id=project.id, key=created.secret, key_id=created.record.id)


@pytest.fixture(scope="session")
async def db(database_dsn: str, client: httpx.AsyncClient) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for checking what was really stored (migrated by the app)."""
    connection = await asyncpg.connect(database_dsn)
    yield connection
    await connection.close()


POISON_EVENT_TYPE = "test_poison"


@pytest.fixture
async def database_refuses_poison(db: asyncpg.Connection) -> AsyncIterator[str]:
    """A trigger that makes PostgreSQL itself refuse events of one type, as a constraint or an
    operator's trigger might: the way to show what happens when the database says no."""
    await db.execute(
        f"""
        CREATE OR REPLACE FUNCTION test_refuse_poison() RETURNS trigger AS $$
        BEGIN
            IF NEW.event_type = '{POISON_EVENT_TYPE}' THEN
                RAISE EXCEPTION 'poison event refused';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_refuse_poison BEFORE INSERT ON tracking_events
            FOR EACH ROW EXECUTE FUNCTION test_refuse_poison();
        """
    )
    try:
        yield POISON_EVENT_TYPE
    finally:
        await db.execute("DROP TRIGGER test_refuse_poison ON tracking_events")


@pytest.fixture
async def proxy(database_dsn: str) -> AsyncIterator[PostgresProxy]:
    """A TCP proxy in front of the test database that the test can cut off and restore: an
    app pointed at `proxy.url_for(database_dsn)` loses its database for real."""
    postgres_proxy = PostgresProxy(ServerAddress.of(database_dsn))
    await postgres_proxy.listen()
    try:
        yield postgres_proxy
    finally:
        await postgres_proxy.close()
