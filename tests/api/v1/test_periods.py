"""Every read route that takes a period reads `from` and `to` by the one rule of
app/models/periods.py (analytics, heatmaps and exports alike). The routes are read from the
OpenAPI schema, so a route added later is covered without editing this file."""

import re

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.helpers import UNUSED_DSN

PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def routes_with_a_period() -> list[str]:
    """The GET paths taking `from` and `to`, path parameters filled in."""
    schema = create_app(Settings(_env_file=None, DATABASE_URL=UNUSED_DSN)).openapi()
    found = []
    for path, operations in schema["paths"].items():
        names = {parameter["name"] for parameter in operations.get("get", {}).get("parameters", [])}
        if {"from", "to"} <= names:
            found.append(PATH_PARAMETER.sub("periods_test", path))
    return sorted(found)


ROUTES = routes_with_a_period()


def test_the_period_routes_are_found() -> None:
    assert {
        "/api/v1/sessions",
        "/api/v1/properties",
        "/api/v1/overview",
        "/api/v1/properties/periods_test/heatmap.png",
        "/api/v1/exports/events",
    } <= set(ROUTES)


@pytest.mark.parametrize("path", ROUTES)
async def test_a_space_before_an_offset_is_read_as_a_plus(
    client: httpx.AsyncClient, path: str
) -> None:
    # "+02:00" sent unescaped arrives as " 02:00".
    response = await client.get(
        path, params={"from": "2025-03-01T10:00:00 02:00", "to": "2025-03-02"}
    )

    assert response.status_code in (200, 404), response.text


@pytest.mark.parametrize("path", ROUTES)
async def test_a_date_time_without_an_offset_is_a_422_naming_it(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, params={"from": "2025-03-01T10:00:00", "to": "2025-03-02"})

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "from"]
    assert "UTC offset" in problem["msg"]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_period_that_does_not_end_after_it_starts_is_a_422_naming_to(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, params={"from": "2025-03-02", "to": "2025-03-02"})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "value_error", "loc": ["query", "to"], "msg": "must be later than from"}
    ]


async def test_the_period_answered_is_in_utc(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/properties", params={"from": "2025-03-01T10:00:00 02:00", "to": "2025-03-02"}
    )

    assert response.json()["period"] == {
        "from": "2025-03-01T08:00:00+00:00",
        "to": "2025-03-02T00:00:00+00:00",
    }
