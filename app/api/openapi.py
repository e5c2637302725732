"""The OpenAPI schema as the server really validates: limits that come from settings (page
sizes, ranked lists, heatmap bins) and the links from a session's start to what can be done with
it, so that clients and a stateful fuzzer see what a valid request is and how calls chain."""

from typing import Any

from fastapi import FastAPI

from app.api.authentication import API_PREFIX
from app.config import Settings

UNREAL = "/api/v1/unreal"
SESSION_ID_FROM_BODY = "$response.body#/session_id"
# (path, query parameter) -> the setting that bounds it.
SETTING_MAXIMA: dict[tuple[str, str], str] = {
    ("/api/v1/sessions", "limit"): "ANALYTICS_PAGE_SIZE_MAX",
    ("/api/v1/properties", "limit"): "ANALYTICS_PAGE_SIZE_MAX",
    ("/api/v1/leads", "limit"): "ANALYTICS_PAGE_SIZE_MAX",
    ("/api/v1/sessions/{session_id}/events", "limit"): "ANALYTICS_EVENTS_PAGE_SIZE_MAX",
    ("/api/v1/properties/{property_id}/report", "top"): "ANALYTICS_TOP_MAX",
    ("/api/v1/customers/{customer_id}", "top"): "ANALYTICS_TOP_MAX",
    ("/api/v1/properties/{property_id}/heatmap", "bins"): "ANALYTICS_HEATMAP_MAX_BINS",
    ("/api/v1/properties/{property_id}/heatmap.png", "bins"): "ANALYTICS_HEATMAP_MAX_BINS",
}
# What a session id in a response leads to: (link name, method, path, where the id goes).
SESSION_LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("SessionStatus", "get", f"{UNREAL}/session/{{session_id}}/status", "path"),
    ("Heartbeat", "post", f"{UNREAL}/session/{{session_id}}/heartbeat", "path"),
    ("EndSession", "post", f"{UNREAL}/session/end", "body"),
    ("TrackEvent", "post", f"{UNREAL}/tracking/event", "body"),
    ("TrackBatch", "post", f"{UNREAL}/tracking/batch", "body"),
    ("SessionDetail", "get", "/api/v1/sessions/{session_id}", "path"),
    ("SessionEvents", "get", "/api/v1/sessions/{session_id}/events", "path"),
)
# Operations whose answer names a session: (method, path, status).
SESSION_SOURCES = (
    ("post", f"{UNREAL}/session/start", "201"),
    ("post", f"{UNREAL}/session", "201"),
)
# A blank room is refused (422), and ids never hold a slash or a NUL character.
NOT_BLANK = r"\S"
PATH_LABEL = r"^[^/\x00]+$"
PATH_LABELS = {
    ("/api/v1/customers/{customer_id}", "customer_id"),
    ("/api/v1/properties/{property_id}/report", "property_id"),
    ("/api/v1/properties/{property_id}/heatmap", "property_id"),
    ("/api/v1/properties/{property_id}/heatmap.png", "property_id"),
    ("/api/v1/properties/{property_id}/floor-plans", "property_id"),
    ("/api/v1/properties/{property_id}/floor-plans/{storey}/image", "property_id"),
    ("/api/v1/admin/properties/{property_id}/floor-plans/{storey}/image", "property_id"),
    ("/api/v1/admin/properties/{property_id}/floor-plans/{storey}", "property_id"),
}
# How a caller presents its key (app.api.authentication.presented_key reads both).
KEY_SCHEMES: dict[str, dict[str, str]] = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key of your project.",
    },
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key, as a bearer token.",
    },
}
HEATMAP_ROOM = {
    ("/api/v1/properties/{property_id}/heatmap", "room"),
    ("/api/v1/properties/{property_id}/heatmap.png", "room"),
}


def strict_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema for `app`, made once, with the limits of `settings` and the links."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        _require_keys(schema)
        _bound_parameters(schema, settings)
        _link_sessions(schema)
        _link_keys(schema)
    return app.openapi_schema


def _require_keys(schema: dict[str, Any]) -> None:
    """Every /api/ operation takes a key: ApiKeyMiddleware checks it before routing, so the
    routes declare no security dependency that FastAPI would document (and run)."""
    schema.setdefault("components", {})["securitySchemes"] = {
        name: dict(scheme) for name, scheme in KEY_SCHEMES.items()
    }
    for path, operations in schema["paths"].items():
        if path.startswith(API_PREFIX):
            for operation in operations.values():
                operation["security"] = [{name: []} for name in KEY_SCHEMES]


def _integer_branch(parameter_schema: dict[str, Any]) -> dict[str, Any]:
    for branch in parameter_schema.get("anyOf", [parameter_schema]):
        if branch.get("type") == "integer":
            return branch
    raise ValueError(f"no integer schema in {parameter_schema}")


def _string_branch(parameter_schema: dict[str, Any]) -> dict[str, Any]:
    for branch in parameter_schema.get("anyOf", [parameter_schema]):
        if branch.get("type") == "string":
            return branch
    raise ValueError(f"no string schema in {parameter_schema}")


def _bound_parameters(schema: dict[str, Any], settings: Settings) -> None:
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                key = (path, parameter["name"])
                if key in SETTING_MAXIMA:
                    maximum = getattr(settings, SETTING_MAXIMA[key])
                    _integer_branch(parameter["schema"])["maximum"] = maximum
                    parameter["description"] += f" At most {maximum} here."
                if key in PATH_LABELS:
                    _string_branch(parameter["schema"])["pattern"] = PATH_LABEL
                if key in HEATMAP_ROOM:
                    _string_branch(parameter["schema"])["pattern"] = NOT_BLANK


def _operation_id(schema: dict[str, Any], method: str, path: str) -> str:
    return schema["paths"][path][method]["operationId"]


def _link_sessions(schema: dict[str, Any]) -> None:
    links = {}
    for name, method, path, place in SESSION_LINKS:
        link: dict[str, Any] = {"operationId": _operation_id(schema, method, path)}
        if place == "path":
            link["parameters"] = {"session_id": SESSION_ID_FROM_BODY}
        else:
            link["requestBody"] = {"session_id": SESSION_ID_FROM_BODY}
        link["description"] = f"The session just named, by its session_id ({place})."
        links[name] = link
    for method, path, status in SESSION_SOURCES:
        schema["paths"][path][method]["responses"][status]["links"] = links


def _link_keys(schema: dict[str, Any]) -> None:
    created = schema["paths"]["/api/v1/admin/keys"]["post"]["responses"]["201"]
    created["links"] = {
        "RevokeKey": {
            "operationId": _operation_id(schema, "post", "/api/v1/admin/keys/{key_id}/revoke"),
            "parameters": {"key_id": "$response.body#/id"},
            "description": "The key just created.",
        }
    }
