"""The OpenAPI schema states what the server really takes: limits set by settings, periods as
the dates and date-times the parser reads, ids without slashes, a room that is not blank; and
its links chain a session's start to its status, events, heartbeat and end."""

import re
from typing import Any

import pytest

from app.main import create_app
from app.models.periods import MOMENT_PATTERN, parse_moment
from tests.conftest import make_settings
from tests.helpers import UNUSED_DSN

PERIOD_ROUTES = [
    "/api/v1/customers/{customer_id}",
    "/api/v1/overview",
    "/api/v1/overview/daily",
    "/api/v1/properties/{property_id}/heatmap",
    "/api/v1/properties/{property_id}/heatmap.png",
]


def schema_with(**settings: Any) -> dict[str, Any]:
    return create_app(make_settings(UNUSED_DSN, **settings)).openapi()


def parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    [found] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def branch(parameter_schema: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [b for b in parameter_schema.get("anyOf", [parameter_schema]) if b["type"] == kind]
    return found


@pytest.mark.parametrize(
    ("path", "name", "setting"),
    [
        ("/api/v1/customers/{customer_id}", "top", "ANALYTICS_TOP_MAX"),
        ("/api/v1/properties/{property_id}/heatmap", "bins", "ANALYTICS_HEATMAP_MAX_BINS"),
        ("/api/v1/properties/{property_id}/heatmap.png", "bins", "ANALYTICS_HEATMAP_MAX_BINS"),
        ("/api/v1/sessions", "limit", "ANALYTICS_PAGE_SIZE_MAX"),
        ("/api/v1/sessions/{session_id}/events", "limit", "ANALYTICS_EVENTS_PAGE_SIZE_MAX"),
    ],
)
def test_limits_set_by_settings_are_the_schemas_maxima(path: str, name: str, setting: str) -> None:
    schema = schema_with(**{setting: 737})

    assert branch(parameter(schema, path, name)["schema"], "integer")["maximum"] == 737


@pytest.mark.parametrize("path", PERIOD_ROUTES)
@pytest.mark.parametrize("name", ["from", "to"])
def test_period_bounds_are_dates_or_date_times_with_an_offset(path: str, name: str) -> None:
    bound = branch(parameter(schema_with(), path, name)["schema"], "string")

    assert bound["pattern"] == MOMENT_PATTERN


@pytest.mark.parametrize(
    "moment",
    ["2025-03-01", "2025-03-01T09:30Z", "2025-03-01T09:30:00.5+02:00", "1999-12-31T23:59:59-11:30"],
)
def test_what_the_period_pattern_allows_the_server_reads(moment: str) -> None:
    assert re.fullmatch(MOMENT_PATTERN, moment)
    parse_moment(moment)


@pytest.mark.parametrize(
    "moment", ["2025-03-01T09:30", "2025-3-1", "soon", "tomorrow", "2025-03-01T25:00Z"]
)
def test_what_the_server_refuses_the_period_pattern_refuses(moment: str) -> None:
    assert not re.fullmatch(MOMENT_PATTERN, moment)
    with pytest.raises(ValueError):
        parse_moment(moment)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/customers/{customer_id}", "customer_id"),
        ("/api/v1/properties/{property_id}/heatmap", "property_id"),
        ("/api/v1/properties/{property_id}/heatmap.png", "property_id"),
        ("/api/v1/properties/{property_id}/floor-plans", "property_id"),
        ("/api/v1/properties/{property_id}/floor-plans/{storey}/image", "property_id"),
    ],
)
def test_ids_in_paths_hold_no_slash(path: str, name: str) -> None:
    pattern = branch(parameter(schema_with(), path, name)["schema"], "string")["pattern"]

    assert re.fullmatch(pattern, "cust_0001")
    assert not re.fullmatch(pattern, "a/b")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/properties/{property_id}/heatmap", "/api/v1/properties/{property_id}/heatmap.png"],
)
def test_a_heatmap_room_is_not_blank(path: str) -> None:
    pattern = branch(parameter(schema_with(), path, "room")["schema"], "string")["pattern"]

    assert re.search(pattern, " Kitchen ")
    assert not re.search(pattern, "   ")


@pytest.mark.parametrize("path", ["/api/v1/unreal/session/start", "/api/v1/unreal/session"])
def test_a_started_session_links_to_its_status_events_heartbeat_and_end(path: str) -> None:
    schema = schema_with()
    links = schema["paths"][path]["post"]["responses"]["201"]["links"]
    operation_ids = {
        operation["operationId"]: (method, route)
        for route, operations in schema["paths"].items()
        for method, operation in operations.items()
    }

    targets = {operation_ids[link["operationId"]] for link in links.values()}

    assert targets >= {
        ("get", "/api/v1/unreal/session/{session_id}/status"),
        ("post", "/api/v1/unreal/session/{session_id}/heartbeat"),
        ("post", "/api/v1/unreal/session/end"),
        ("post", "/api/v1/unreal/tracking/batch"),
        ("get", "/api/v1/sessions/{session_id}/events"),
    }
    for link in links.values():
        assert "$response.body#/session_id" in str(link)


def test_a_created_key_links_to_its_revocation() -> None:
    schema = schema_with()
    [link] = schema["paths"]["/api/v1/admin/keys"]["post"]["responses"]["201"]["links"].values()

    revoke = schema["paths"]["/api/v1/admin/keys/{key_id}/revoke"]["post"]
    assert link["operationId"] == revoke["operationId"]
    assert link["parameters"] == {"key_id": "$response.body#/id"}


def test_every_api_operation_asks_for_a_key_by_header_or_bearer_and_no_other_does() -> None:
    schema = schema_with()

    schemes = schema["components"]["securitySchemes"]
    header, bearer = schemes["APIKeyHeader"], schemes["HTTPBearer"]
    assert set(schemes) == {"APIKeyHeader", "HTTPBearer"}
    assert (header["type"], header["in"], header["name"]) == ("apiKey", "header", "X-API-Key")
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    operations = [
        (path, operation)
        for path, methods in schema["paths"].items()
        for operation in methods.values()
    ]
    for path, operation in operations:
        expected = [{"APIKeyHeader": []}, {"HTTPBearer": []}] if path.startswith("/api/") else None
        assert operation.get("security") == expected, path
    assert sum(path.startswith("/api/") for path, _ in operations) > 40
