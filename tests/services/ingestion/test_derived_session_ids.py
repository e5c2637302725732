"""Session ids derived from an Idempotency-Key or a session's content belong to one project:
two projects sending the same key or the same legacy session never meet."""

import time
import uuid

import httpx
import pytest

from app.services.access.keys import AccessService
from tests.conftest import create_project_key
from tests.helpers import COMPLETE, START


@pytest.fixture
async def other_project_key(access: AccessService) -> str:
    """A key (all scopes) of a new project, next to the default project of `client`."""
    tenant = await create_project_key(access, f"other {uuid.uuid4().hex[:8]}")
    return tenant.key


async def test_the_same_idempotency_key_in_two_projects_opens_two_sessions(
    client: httpx.AsyncClient, other_project_key: str
) -> None:
    headers = {"Idempotency-Key": f"headset-43-{uuid.uuid4().hex}"}
    body = {"session_start": time.time(), "property_id": "prop_villa_001"}

    mine = await client.post(START, json=body, headers=headers)
    theirs = await client.post(
        START, json=body, headers={**headers, "X-API-Key": other_project_key}
    )
    theirs_again = await client.post(
        START, json=body, headers={**headers, "X-API-Key": other_project_key}
    )

    assert mine.status_code == theirs.status_code == theirs_again.status_code == 201
    assert mine.json()["session_id"] != theirs.json()["session_id"]
    assert theirs_again.json()["session_id"] == theirs.json()["session_id"]


async def test_the_same_legacy_session_in_two_projects_reveals_nothing_of_the_other(
    client: httpx.AsyncClient, other_project_key: str
) -> None:
    now = time.time()
    body = {
        "session_start": now - 900,
        "session_end": now,
        "customer_id": f"bob-{uuid.uuid4().hex[:6]}@example.com",
        "property_id": "prop_A",
        "device_type": "Quest 3",
    }

    mine = await client.post(COMPLETE, json=body)
    theirs = await client.post(COMPLETE, json=body, headers={"X-API-Key": other_project_key})

    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert mine.json()["session_id"] != theirs.json()["session_id"]


async def test_the_default_project_keeps_the_derivation_of_before_projects(
    client: httpx.AsyncClient,
) -> None:
    """Retries of legacy sessions recorded before projects existed must still find them."""
    key = f"legacy-{uuid.uuid4().hex}"
    response = await client.post(
        START, json={"session_start": time.time()}, headers={"Idempotency-Key": key}
    )

    namespace = uuid.UUID("2b8c5d0e-4f1a-5c3b-8e7d-9a0b1c2d3e4f")  # START_KEY_NAMESPACE
    assert response.json()["session_id"] == str(uuid.uuid5(namespace, key))
