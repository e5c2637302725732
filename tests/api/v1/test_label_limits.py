"""The session labels (customer_id, property_id, device_type) through the real app: at
MAX_LABEL_LENGTH characters and one past it, by default and as configured."""

import time
import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import AppFactory
from tests.helpers import COMPLETE, START

MAX_LABEL_LENGTH = 256


@pytest.mark.parametrize("field", ["customer_id", "property_id", "device_type"])
@pytest.mark.parametrize("path", [START, COMPLETE])
async def test_session_label_of_256_characters_is_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection, path: str, field: str
) -> None:
    label = "é" * MAX_LABEL_LENGTH
    now = time.time()
    body = {"session_start": now - 60, "session_end": now, field: label}

    response = await client.post(path, json=body)

    assert response.status_code == 201, response.text
    stored = await db.fetchval(
        f"SELECT {field} FROM vr_sessions WHERE id = $1",
        uuid.UUID(response.json()["session_id"]),
    )
    assert stored == label


@pytest.mark.parametrize("field", ["customer_id", "property_id", "device_type"])
@pytest.mark.parametrize("path", [START, COMPLETE])
async def test_session_label_of_257_characters_is_a_422_naming_the_field(
    client: httpx.AsyncClient, db: asyncpg.Connection, path: str, field: str
) -> None:
    label = "x" * (MAX_LABEL_LENGTH + 1)
    now = time.time()

    response = await client.post(
        path, json={"session_start": now - 60, "session_end": now, field: label}
    )

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert "256" in problem["msg"]
    assert await db.fetchval(f"SELECT count(*) FROM vr_sessions WHERE {field} = $1", label) == 0


async def test_configured_label_limit_is_the_edge(app_with: AppFactory) -> None:
    async with app_with(MAX_LABEL_LENGTH=8) as client:
        accepted = await client.post(
            START, json={"session_start": time.time(), "property_id": "p" * 8}
        )
        refused = await client.post(
            START, json={"session_start": time.time(), "property_id": "p" * 9}
        )

    assert accepted.status_code == 201
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["body", "property_id"],
            "msg": "is longer than 8 characters",
        }
    ]
