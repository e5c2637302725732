"""Projects are walled off: a key of project A finds nothing of project B, whichever route it
calls and whatever id of B's it names, and no route answers without a key but the public ones.

Routes are read from the app itself, so a route added later is covered without editing this
file: without a key it must say 401, with another project's ids it must answer as for ids that
do not exist, and nothing of B may appear in what it returns."""

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.routing import Mount

from app.main import create_app
from app.services.access.keys import ALL_SCOPES, AccessService, Scope
from tests.conftest import make_settings
from tests.helpers import (
    BATCH,
    COMPLETE,
    END,
    EVENT,
    START,
    UNUSED_DSN,
    api_routes,
    app_routes,
    event,
)

PUBLIC_PATHS = {"/", "/health", "/redoc", "/openapi.json"}
PUBLIC_PREFIXES = ("/docs", "/dashboard")
PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def served_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app answers, from its routes (mounted apps as GET)."""
    routes = set()
    for route in app_routes():
        if isinstance(route.original_route, Mount):
            routes.add(("GET", f"{route.path}/anything"))
        else:
            routes.update((method, route.path) for method in route.methods or ())
    return sorted(routes)


def api_get_routes() -> list[str]:
    return [path for method, path in api_routes() if method == "GET"]


def routes_taking_a_session_id() -> list[tuple[str, str]]:
    """Operations with a session id in their path or in their JSON body, from the OpenAPI
    schema (what a client sees)."""
    schema = create_app(make_settings(UNUSED_DSN)).openapi()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            reference = body.get("schema", {}).get("$ref", "")
            body_fields = components.get(reference.rsplit("/", 1)[-1], {}).get("properties", {})
            if "{session_id}" in path or "session_id" in body_fields:
                found.append((method.upper(), path))
    return sorted(found)


# --- the two projects ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A project with keys and data, every identifying value of it unique to this test run."""

    project_id: str
    project_name: str
    keys: dict[str, str]
    key_ids: list[str]
    key_names: list[str]
    session_id: str
    completed_session_id: str
    customer_id: str
    property_id: str
    device_type: str
    event_type: str
    event_marker: str

    @property
    def all_key(self) -> dict[str, str]:
        return {"X-API-Key": self.keys["all"]}

    def traces(self) -> set[str]:
        """Everything that would give this project's data away."""
        session_ids = {self.session_id, self.completed_session_id}
        return {
            self.project_id,
            self.project_name,
            *(key[:12] for key in self.keys.values()),
            *self.key_ids,
            *self.key_names,
            *session_ids,
            *(uuid.UUID(session).hex for session in session_ids),
            self.customer_id,
            self.property_id,
            self.device_type,
            self.event_type,
            self.event_marker,
        }


async def make_tenant(access: AccessService, client: httpx.AsyncClient, label: str) -> Tenant:
    marker = f"{label}{uuid.uuid4().hex[:10]}"
    project = await access.create_project(f"project {marker}", actor="test")
    keys, key_ids, key_names = {}, [], []
    for name, scopes in [
        ("ingest", {Scope.INGEST}),
        ("read", {Scope.READ}),
        ("admin", {Scope.ADMIN}),
        ("all", ALL_SCOPES),
    ]:
        key_name = f"{name} key {marker}"
        created = await access.create_key(
            project_id=project.id, name=key_name, scopes=frozenset(scopes), actor="test"
        )
        keys[name] = created.secret
        key_ids.append(str(created.record.id))
        key_names.append(key_name)
    tenant = Tenant(
        project_id=str(project.id),
        project_name=project.name,
        keys=keys,
        key_ids=key_ids,
        key_names=key_names,
        session_id=str(uuid.uuid4()),
        completed_session_id=str(uuid.uuid4()),
        customer_id=f"customer-{marker}",
        property_id=f"property-{marker}",
        device_type=f"device-{marker}",
        event_type=f"event_{marker}",
        event_marker=f"data-{marker}",
    )
    await store_tenant_data(client, tenant)
    return tenant


async def store_tenant_data(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """An active session with events (one rejected) and a completed one, through the API."""
    headers = {"X-API-Key": tenant.keys["ingest"]}
    now = time.time()
    labels = {
        "customer_id": tenant.customer_id,
        "property_id": tenant.property_id,
        "device_type": tenant.device_type,
    }
    responses = [
        await client.post(
            START,
            json={"session_id": tenant.session_id, "session_start": now - 600, **labels},
            headers=headers,
        ),
        await client.post(
            BATCH,
            json={
                "session_id": tenant.session_id,
                "events": [
                    event(
                        tenant.event_type,
                        at=now - 300,
                        event_data={
                            "room_name": tenant.event_marker,
                            "duration": 40,
                            "position": {"x": 1.0, "y": 2.0, "z": 3.0},
                        },
                    ),
                    event("room_view", at=now - 200, event_data={"room_name": "Kitchen"}),
                    event(
                        tenant.event_type, at="not a time", event_data={"note": tenant.event_marker}
                    ),
                ],
            },
            headers=headers,
        ),
        await client.post(
            COMPLETE,
            json={
                "session_id": tenant.completed_session_id,
                "session_start": now - 3600,
                "session_end": now - 1800,
                **labels,
            },
            headers=headers,
        ),
    ]
    for response in responses:
        assert response.status_code in (201, 202), response.text
    assert responses[1].json()["failed"] == 1


@pytest.fixture(scope="module")
async def tenants(access: AccessService, client: httpx.AsyncClient) -> tuple[Tenant, Tenant]:
    return await make_tenant(access, client, "a"), await make_tenant(access, client, "b")


async def snapshot(db: asyncpg.Connection, tenant: Tenant) -> dict[str, Any]:
    """What is stored of a tenant's sessions, to show a request changed none of it."""
    ids = [uuid.UUID(tenant.session_id), uuid.UUID(tenant.completed_session_id)]
    sessions = await db.fetch(
        "SELECT * FROM vr_sessions WHERE id = any($1::uuid[]) ORDER BY id", ids
    )
    return {
        "sessions": [dict(row) for row in sessions],
        "events": await db.fetchval(
            "SELECT count(*) FROM tracking_events WHERE session_id = any($1::uuid[])", ids
        ),
        "rejected": await db.fetchval(
            "SELECT count(*) FROM rejected_events WHERE session_id = any($1::uuid[])", ids
        ),
    }


def assert_no_trace(text: str, traces: set[str]) -> None:
    lowered = text.lower()
    leaked = sorted(trace for trace in traces if trace.lower() in lowered)
    assert leaked == [], f"another project's data in the answer: {leaked}"


# --- no key ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [route for route in served_routes() if not is_public(route[1])],
    ids=lambda value: str(value),
)
async def test_every_route_but_the_public_ones_refuses_a_request_without_a_key(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    url = PATH_PARAMETER.sub(str(uuid.uuid4()), path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}

    response = await anonymous.request(method, url, **body)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_route_list_holds_every_kind_of_route() -> None:
    """The enumeration above must see the routes of included routers, or the test before
    this one would pass without checking anything."""
    routes = set(served_routes())

    assert {
        ("POST", START),
        ("GET", "/api/v1/unreal/session/{session_id}/status"),
        ("POST", "/api/v1/admin/keys"),
        ("GET", "/health"),
        ("GET", "/docs"),
    } <= routes
    assert "/api/v1/admin/keys" in api_get_routes()


# --- another project's session id ------------------------------------------------------------


RequestFor = Callable[[str], dict[str, Any]]


def session_route_request(method: str, path: str) -> RequestFor | None:
    """How to call a route that takes a session id in its body (None: only in its path)."""
    now = time.time()
    bodies: dict[tuple[str, str], RequestFor] = {
        ("POST", END): lambda session_id: {"session_id": session_id, "session_end": now},
        ("POST", EVENT): lambda session_id: {"session_id": session_id, **event(at=now)},
        ("POST", BATCH): lambda session_id: {"session_id": session_id, "events": [event(at=now)]},
    }
    return bodies.get((method, path))


SESSION_CREATING = {("POST", START), ("POST", COMPLETE)}


def test_every_route_taking_a_session_id_in_its_body_has_a_request_in_this_matrix() -> None:
    body_routes = {
        (method, path)
        for method, path in routes_taking_a_session_id()
        if "{session_id}" not in path
    }

    missing = {
        route for route in body_routes - SESSION_CREATING if session_route_request(*route) is None
    }
    assert missing == set(), f"add these to session_route_request: {missing}"


@pytest.mark.parametrize(
    ("method", "path"),
    [route for route in routes_taking_a_session_id() if route not in SESSION_CREATING],
    ids=lambda value: str(value),
)
async def test_another_projects_session_id_is_answered_as_an_unknown_one_and_changes_nothing(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    method: str,
    path: str,
) -> None:
    mine, theirs = tenants
    body_for = session_route_request(method, path)

    async def call(session_id: str) -> httpx.Response:
        url = path.replace("{session_id}", session_id)
        if body_for is not None:
            return await client.request(
                method, url, json=body_for(session_id), headers=mine.all_key
            )
        body = {"json": {}} if method == "POST" else {}
        return await client.request(method, url, headers=mine.all_key, **body)

    before = await snapshot(db, theirs)
    theirs_answer = await call(theirs.session_id)
    unknown_answer = await call(str(uuid.uuid4()))
    after = await snapshot(db, theirs)

    assert theirs_answer.status_code == unknown_answer.status_code == 404, theirs_answer.text
    assert theirs_answer.json() == unknown_answer.json()
    assert after == before
    assert_no_trace(theirs_answer.text, theirs.traces() - {theirs.session_id})


@pytest.mark.parametrize("path", [START, COMPLETE])
@pytest.mark.parametrize("same_labels", [False, True], ids=["other labels", "the same labels"])
async def test_creating_a_session_with_another_projects_id_is_409_revealing_nothing(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    path: str,
    same_labels: bool,
) -> None:
    mine, theirs = tenants
    labels = (
        {"customer_id": theirs.customer_id, "property_id": theirs.property_id}
        if same_labels
        else {"customer_id": mine.customer_id, "property_id": mine.property_id}
    )
    body = {"session_id": theirs.session_id, "session_start": time.time() - 60, **labels}
    if path == COMPLETE:
        body["session_end"] = time.time()

    before = await snapshot(db, theirs)
    response = await client.post(path, json=body, headers=mine.all_key)
    after = await snapshot(db, theirs)

    assert response.status_code == 409, response.text
    assert response.json() == {
        "detail": f"session_id {theirs.session_id} is already in use; send another id"
    }
    assert after == before
    assert (
        await db.fetchval(
            "SELECT count(*) FROM vr_sessions WHERE id = $1 AND project_id = $2",
            uuid.UUID(theirs.session_id),
            uuid.UUID(mine.project_id),
        )
        == 0
    )


# --- nothing of B in anything A reads --------------------------------------------------------


def fill_path(path: str, values: dict[str, str]) -> str:
    return PATH_PARAMETER.sub(lambda match: values.get(match.group(1), values["session_id"]), path)


def period() -> dict[str, str]:
    """A period holding every session of the tests (analytics routes may require one)."""
    today = datetime.now(UTC).date()
    return {
        "from": (today - timedelta(days=30)).isoformat(),
        "to": (today + timedelta(days=2)).isoformat(),
    }


@pytest.mark.parametrize("path", api_get_routes())
@pytest.mark.parametrize("scope", ["all", "read", "admin", "ingest"])
async def test_nothing_of_another_project_appears_in_any_answer(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant], path: str, scope: str
) -> None:
    mine, theirs = tenants
    headers = {"X-API-Key": mine.keys[scope]}
    theirs_ids = {
        "session_id": theirs.session_id,
        "property_id": theirs.property_id,
        "customer_id": theirs.customer_id,
        "key_id": theirs.key_ids[0],
    }
    unknown_ids = {
        "session_id": str(uuid.uuid4()),
        "property_id": f"property-{uuid.uuid4().hex}",
        "customer_id": f"customer-{uuid.uuid4().hex}",
        "key_id": str(uuid.uuid4()),
    }
    filters = {
        "property_id": theirs.property_id,
        "customer_id": theirs.customer_id,
        "session_id": theirs.session_id,
    }

    plain = await client.get(fill_path(path, theirs_ids), params=period(), headers=headers)
    filtered = await client.get(
        fill_path(path, theirs_ids), params={**period(), **filters}, headers=headers
    )
    unknown = await client.get(fill_path(path, unknown_ids), params=period(), headers=headers)

    assert plain.status_code < 500, plain.text
    assert plain.status_code == unknown.status_code, (plain.text, unknown.text)
    named = set(theirs_ids.values()) | set(filters.values())
    assert_no_trace(plain.text, theirs.traces() - named)
    assert_no_trace(filtered.text, theirs.traces() - named)
    assert_no_trace(plain.headers.get("content-disposition", ""), theirs.traces())


async def test_a_projects_admin_lists_its_own_keys_and_audit_entries_only(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    mine, theirs = tenants
    admin = {"X-API-Key": mine.keys["admin"]}

    project = await client.get("/api/v1/admin/project", headers=admin)
    keys = await client.get("/api/v1/admin/keys", headers=admin)
    audit = await client.get("/api/v1/admin/audit", headers=admin)

    assert project.json()["id"] == mine.project_id
    assert {key["id"] for key in keys.json()} == set(mine.key_ids)
    assert {entry["target"] for entry in audit.json()["entries"]} >= set(mine.key_ids)
    for response in (project, keys, audit):
        assert_no_trace(response.text, theirs.traces())


async def test_each_project_sees_its_own_session(
    client: httpx.AsyncClient, tenants: tuple[Tenant, Tenant]
) -> None:
    """The walls do not hide a project's data from itself."""
    for tenant in tenants:
        response = await client.get(
            f"/api/v1/unreal/session/{tenant.session_id}/status",
            headers={"X-API-Key": tenant.keys["read"]},
        )
        assert response.status_code == 200, response.text
        assert response.json()["customer_id"] == tenant.customer_id


async def test_stored_rows_carry_the_project_of_the_key_that_sent_them(
    db: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    for tenant in tenants:
        ids = [uuid.UUID(tenant.session_id), uuid.UUID(tenant.completed_session_id)]
        projects = await db.fetch(
            """
            SELECT project_id FROM vr_sessions WHERE id = any($1::uuid[])
            UNION SELECT project_id FROM tracking_events WHERE session_id = any($1::uuid[])
            UNION SELECT project_id FROM rejected_events WHERE session_id = any($1::uuid[])
            """,
            ids,
        )
        assert [str(row["project_id"]) for row in projects] == [tenant.project_id]
