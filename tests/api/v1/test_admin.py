"""The admin API: keys created (shown once, usable at once), listed (never the key), revoked;
one customer's data erased with exact counts and an audit record that names them only by a
hash; the audit log; bad bodies; and keys without the admin scope kept out."""

import base64
import hashlib
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from app.domain.access import DEFAULT_PROJECT_ID
from app.services.access.keys import AccessService
from tests.conftest import create_project_key
from tests.helpers import (
    BATCH,
    COMPLETE,
    KEYS,
    START,
    api_routes,
    create_key,
    event,
    key_header,
    status_url,
)

PROJECT = "/api/v1/admin/project"
ERASURES = "/api/v1/admin/erasures"
AUDIT = "/api/v1/admin/audit"
KEY_FIELDS = {
    "id",
    "project_id",
    "name",
    "prefix",
    "scopes",
    "created_at",
    "last_used_at",
    "revoked_at",
    "default_labels",
}


@pytest.fixture(scope="module")
async def other_project(access: AccessService) -> dict[str, str]:
    """Another project, with a key holding every scope."""
    other = await create_project_key(access, f"other {uuid.uuid4().hex[:8]}")
    return {"project_id": str(other.project_id), "key": other.key, "key_id": str(other.key_id)}


@pytest.fixture
async def admin_key(client: httpx.AsyncClient) -> dict[str, Any]:
    """An admin key of the default project, made for one test (its audit actor is its own)."""
    return await create_key(client, "admin", name=f"admin {uuid.uuid4().hex[:8]}")


def admin_routes() -> list[tuple[str, str]]:
    return api_routes("/api/v1/admin")


# --- the project -----------------------------------------------------------------------------


async def test_project_is_the_keys_own(
    client: httpx.AsyncClient, other_project: dict[str, str]
) -> None:
    mine = await client.get(PROJECT)
    theirs = await client.get(PROJECT, headers=key_header(other_project["key"]))

    assert mine.status_code == 200
    assert mine.json()["id"] == str(DEFAULT_PROJECT_ID)
    assert mine.json()["name"] == "default"
    assert theirs.json()["id"] == other_project["project_id"]


# --- creating keys ---------------------------------------------------------------------------


async def test_created_key_is_shown_once_and_works_at_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post(KEYS, json={"name": "Quest build 1.4", "scopes": ["ingest"]})

    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["key"]
    assert set(created) == KEY_FIELDS | {"key"}
    assert created["name"] == "Quest build 1.4"
    assert created["scopes"] == ["ingest"]
    assert created["project_id"] == str(DEFAULT_PROJECT_ID)
    assert created["prefix"] == secret[:12]
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None
    assert len(secret) >= 40

    started = await client.post(
        START, json={"session_start": time.time()}, headers=key_header(secret)
    )
    assert started.status_code == 201, started.text

    digest = hashlib.sha256(secret.encode()).digest()
    for path in (KEYS, PROJECT, AUDIT):
        answer = await client.get(path)
        assert answer.status_code == 200
        for shown in (secret, digest.hex(), base64.b64encode(digest).decode()):
            assert shown not in answer.text


async def test_key_list_shows_prefixes_never_keys_or_hashes(client: httpx.AsyncClient) -> None:
    created = await create_key(client, "read", "ingest")

    listed = (await client.get(KEYS)).json()

    [entry] = [key for key in listed if key["id"] == created["id"]]
    assert entry == {field: created[field] for field in KEY_FIELDS}
    assert entry["scopes"] == ["ingest", "read"]
    for key in listed:
        assert set(key) == KEY_FIELDS
        assert key["project_id"] == str(DEFAULT_PROJECT_ID)


async def test_repeated_scopes_are_kept_once(client: httpx.AsyncClient) -> None:
    created = await create_key(client, "read", "admin", "read")

    assert created["scopes"] == ["admin", "read"]


async def test_key_is_created_in_the_callers_project_whatever_the_body_says(
    client: httpx.AsyncClient, other_project: dict[str, str]
) -> None:
    response = await client.post(
        KEYS,
        json={"name": "sneaky", "scopes": ["admin"], "project_id": other_project["project_id"]},
    )

    assert response.status_code == 201
    assert response.json()["project_id"] == str(DEFAULT_PROJECT_ID)


# --- revoking keys ---------------------------------------------------------------------------


async def test_revoked_key_is_refused_and_revoking_again_keeps_the_first_time(
    client: httpx.AsyncClient,
) -> None:
    created = await create_key(client, "ingest")

    first = await client.post(f"{KEYS}/{created['id']}/revoke")
    refused = await client.get(status_url(str(uuid.uuid4())), headers=key_header(created["key"]))
    second = await client.post(f"{KEYS}/{created['id']}/revoke")
    listed = (await client.get(KEYS)).json()

    assert first.status_code == 200, first.text
    assert set(first.json()) == KEY_FIELDS
    assert first.json()["revoked_at"] is not None
    assert refused.status_code == 401
    assert second.status_code == 200
    assert second.json()["revoked_at"] == first.json()["revoked_at"]
    [entry] = [key for key in listed if key["id"] == created["id"]]
    assert entry["revoked_at"] == first.json()["revoked_at"]


async def test_revoking_another_projects_key_is_404_and_the_key_keeps_working(
    client: httpx.AsyncClient, other_project: dict[str, str]
) -> None:
    response = await client.post(f"{KEYS}/{other_project['key_id']}/revoke")
    still_works = await client.get(PROJECT, headers=key_header(other_project["key"]))

    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found"}
    assert still_works.status_code == 200


async def test_revoking_an_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{KEYS}/{uuid.uuid4()}/revoke")

    assert response.status_code == 404
    assert response.json() == {"detail": "API key not found"}


# --- erasure ---------------------------------------------------------------------------------


async def store_customer_sessions(
    client: httpx.AsyncClient, customer_id: str, *, key: str | None = None
) -> list[str]:
    """Two sessions of a customer: one with two events and one rejected event, one complete
    session without events. Returns their ids."""
    headers = key_header(key) if key else None
    now = time.time()
    started = await client.post(
        START,
        json={"session_start": now - 600, "customer_id": customer_id, "property_id": "prop_1"},
        headers=headers,
    )
    session_id = started.json()["session_id"]
    batch = await client.post(
        BATCH,
        json={
            "session_id": session_id,
            "events": [
                event(at=now - 300, event_data={"room_name": "Kitchen"}),
                event(at=now - 200, event_data={"room_name": "Garden"}),
                event(at="not a time"),
            ],
        },
        headers=headers,
    )
    complete = await client.post(
        COMPLETE,
        json={"session_start": now - 7200, "session_end": now - 3600, "customer_id": customer_id},
        headers=headers,
    )
    assert started.status_code == 201, started.text
    assert batch.json()["processed"] == 2, batch.text
    assert complete.status_code == 201, complete.text
    return [session_id, complete.json()["session_id"]]


async def stored_counts(
    db: asyncpg.Connection, customer_id: str, project_id: str | uuid.UUID
) -> tuple[int, int, int]:
    project = uuid.UUID(str(project_id))
    sessions = await db.fetchval(
        "SELECT array_agg(id) FROM vr_sessions WHERE customer_id = $1 AND project_id = $2",
        customer_id,
        project,
    )
    sessions = sessions or []
    events = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = any($1::uuid[])", sessions
    )
    rejected = await db.fetchval(
        "SELECT count(*) FROM rejected_events WHERE session_id = any($1::uuid[])", sessions
    )
    return len(sessions), events, rejected


async def test_erasure_deletes_one_customers_data_in_the_project_with_exact_counts(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    other_project: dict[str, str],
    admin_key: dict[str, Any],
) -> None:
    customer = f"jane.{uuid.uuid4().hex[:8]}@buyer.example"
    neighbour = f"john.{uuid.uuid4().hex[:8]}@buyer.example"
    erased_sessions = await store_customer_sessions(client, customer)
    await store_customer_sessions(client, neighbour)
    await store_customer_sessions(client, customer, key=other_project["key"])

    response = await client.post(
        ERASURES, json={"customer_id": customer}, headers=key_header(admin_key["key"])
    )

    assert response.status_code == 200, response.text
    reference = "sha256:" + hashlib.sha256(f"{DEFAULT_PROJECT_ID}:{customer}".encode()).hexdigest()
    assert response.json() == {
        "customer_reference": reference,
        "sessions_deleted": 2,
        "events_deleted": 2,
        "rejected_events_deleted": 1,
    }
    assert await stored_counts(db, customer, DEFAULT_PROJECT_ID) == (0, 0, 0)
    for session_id in erased_sessions:
        gone = await client.get(status_url(session_id))
        assert gone.status_code == 404
        for table in ("tracking_events", "rejected_events"):
            assert (
                await db.fetchval(
                    f"SELECT count(*) FROM {table} WHERE session_id = $1", uuid.UUID(session_id)
                )
                == 0
            )
    assert await stored_counts(db, neighbour, DEFAULT_PROJECT_ID) == (2, 2, 1)
    assert await stored_counts(db, customer, other_project["project_id"]) == (2, 2, 1)


async def test_erasure_is_audited_by_a_hash_that_survives_the_data(
    client: httpx.AsyncClient, db: asyncpg.Connection, admin_key: dict[str, Any]
) -> None:
    customer = f"+44 7700 {uuid.uuid4().int % 1_000_000:06d}"
    await store_customer_sessions(client, customer)
    headers = key_header(admin_key["key"])

    first = await client.post(ERASURES, json={"customer_id": customer}, headers=headers)
    second = await client.post(ERASURES, json={"customer_id": customer}, headers=headers)
    audit = await client.get(AUDIT, headers=headers)

    reference = first.json()["customer_reference"]
    assert second.status_code == 200
    assert second.json() == {
        "customer_reference": reference,
        "sessions_deleted": 0,
        "events_deleted": 0,
        "rejected_events_deleted": 0,
    }
    erasures = [
        entry
        for entry in audit.json()["entries"]
        if entry["action"] == "customer.erased" and entry["target"] == reference
    ]
    assert [entry["details"] for entry in erasures] == [
        {"sessions": 0, "events": 0, "rejected_events": 0},
        {"sessions": 2, "events": 2, "rejected_events": 1},
    ]
    actor = f"key {admin_key['id']} ({admin_key['name']})"
    assert {entry["actor"] for entry in erasures} == {actor}
    assert customer not in audit.text
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log AS a WHERE strpos(a::text, $1) > 0", customer
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log WHERE target = $1 AND action = 'customer.erased'",
            reference,
        )
        == 2
    )


async def test_erasing_a_customer_with_no_data_is_zero_counts(client: httpx.AsyncClient) -> None:
    response = await client.post(ERASURES, json={"customer_id": f"nobody-{uuid.uuid4().hex}"})

    assert response.status_code == 200
    assert response.json()["sessions_deleted"] == 0


async def test_erasure_in_another_project_leaves_this_projects_customer_alone(
    client: httpx.AsyncClient, db: asyncpg.Connection, other_project: dict[str, str]
) -> None:
    customer = f"shared-{uuid.uuid4().hex[:8]}"
    await store_customer_sessions(client, customer)

    response = await client.post(
        ERASURES, json={"customer_id": customer}, headers=key_header(other_project["key"])
    )

    assert response.json()["sessions_deleted"] == 0
    assert await stored_counts(db, customer, DEFAULT_PROJECT_ID) == (2, 2, 1)


# --- the audit log ---------------------------------------------------------------------------


async def test_audit_log_lists_key_creation_revocation_and_erasure_newest_first_with_actor(
    client: httpx.AsyncClient, admin_key: dict[str, Any]
) -> None:
    headers = key_header(admin_key["key"])
    created = await create_key(client, "ingest", name="Pico build 2.0", **headers)
    await client.post(f"{KEYS}/{created['id']}/revoke", headers=headers)
    erased = await client.post(
        ERASURES, json={"customer_id": f"c-{uuid.uuid4().hex}"}, headers=headers
    )

    response = await client.get(AUDIT, params={"limit": 3}, headers=headers)

    assert response.status_code == 200
    entries = response.json()["entries"]
    actor = f"key {admin_key['id']} ({admin_key['name']})"
    assert [(entry["action"], entry["target"], entry["actor"]) for entry in entries] == [
        ("customer.erased", erased.json()["customer_reference"], actor),
        ("key.revoked", created["id"], actor),
        ("key.created", created["id"], actor),
    ]
    assert entries[2]["details"] == {
        "name": "Pico build 2.0",
        "scopes": ["ingest"],
        "default_labels": {},
    }
    assert entries[1]["details"] == {"name": "Pico build 2.0"}
    assert created["key"] not in response.text
    assert entries[0]["occurred_at"] >= entries[1]["occurred_at"] >= entries[2]["occurred_at"]


async def test_audit_log_limit_is_respected(client: httpx.AsyncClient) -> None:
    await create_key(client, "read")

    response = await client.get(AUDIT, params={"limit": 1})

    assert len(response.json()["entries"]) == 1


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", KEYS, {"scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": "", "scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": "   ", "scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": "x" * 201, "scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": "nul \u0000 byte", "scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": 42, "scopes": ["ingest"]}, "name"),
        ("POST", KEYS, {"name": "ok"}, "scopes"),
        ("POST", KEYS, {"name": "ok", "scopes": []}, "scopes"),
        ("POST", KEYS, {"name": "ok", "scopes": ["root"]}, "scopes"),
        ("POST", KEYS, {"name": "ok", "scopes": "ingest"}, "scopes"),
        ("POST", KEYS, {"name": "ok", "scopes": ["ingest"] * 4}, "scopes"),
        ("POST", ERASURES, {}, "customer_id"),
        ("POST", ERASURES, {"customer_id": ""}, "customer_id"),
        ("POST", ERASURES, {"customer_id": "  "}, "customer_id"),
        ("POST", ERASURES, {"customer_id": "x" * 601}, "customer_id"),
        ("POST", ERASURES, {"customer_id": ["a"]}, "customer_id"),
        ("POST", f"{KEYS}/not-a-uuid/revoke", None, "key_id"),
        ("GET", f"{AUDIT}?limit=0", None, "limit"),
        ("GET", f"{AUDIT}?limit=1001", None, "limit"),
        ("GET", f"{AUDIT}?limit=many", None, "limit"),
    ],
    ids=[
        "key without name",
        "empty name",
        "blank name",
        "name too long",
        "name with a NUL",
        "name not text",
        "no scopes",
        "empty scopes",
        "unknown scope",
        "scopes not a list",
        "too many scopes",
        "erasure without customer",
        "empty customer",
        "blank customer",
        "customer too long",
        "customer not text",
        "revoke a malformed id",
        "audit limit zero",
        "audit limit too large",
        "audit limit not a number",
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, method: str, path: str, body: Any, field: str
) -> None:
    response = await client.request(method, path, json=body)

    assert response.status_code == 422, response.text
    located = [problem["loc"] for problem in response.json()["detail"]]
    assert any(field in loc for loc in located), located


async def test_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(KEYS, content=b'{"name": "unfinished')

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("Invalid JSON")


# --- who may call it -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), admin_routes(), ids=lambda value: str(value))
@pytest.mark.parametrize("scopes", [["ingest"], ["read"], ["ingest", "read"]])
async def test_keys_without_the_admin_scope_are_refused_with_403(
    client: httpx.AsyncClient, method: str, path: str, scopes: list[str]
) -> None:
    key = (await create_key(client, *scopes))["key"]
    url = path.replace("{key_id}", str(uuid.uuid4()))
    body = (
        {"json": {"name": "x", "scopes": ["admin"], "customer_id": "x"}} if method == "POST" else {}
    )

    response = await client.request(method, url, headers=key_header(key), **body)

    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "This API key lacks the admin scope"}


def test_every_admin_route_is_checked() -> None:
    assert {
        ("GET", PROJECT),
        ("GET", KEYS),
        ("POST", KEYS),
        ("POST", f"{KEYS}/{{key_id}}/revoke"),
        ("POST", ERASURES),
        ("GET", AUDIT),
    } <= set(admin_routes())
