"""Request context through the real app: X-Request-ID on every response, a 500 that reveals
nothing, one log line per request without its body, and CORS as configured."""

import json
import logging
import re
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from tests.app_logs import REQUEST_LOGGER, logged_lines, request_lines
from tests.conftest import AppFactory, make_settings, serve
from tests.helpers import BATCH, EVENT, START, TEST_API_KEY, event, start_session
from tests.postgres_proxy import PostgresProxy

JSON_CONTENT = {"content-type": "application/json"}
REQUEST_LOG_FIELDS = {"request_id", "method", "route", "status", "latency_ms"}
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def is_generated(request_id: str) -> bool:
    """An id the app made itself: 32 lowercase hex digits."""
    return re.fullmatch(r"[0-9a-f]{32}", request_id) is not None


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == REQUEST_LOGGER and record.getMessage() == "request"
    ]


# --- X-Request-ID ---------------------------------------------------------------------------


async def test_request_id_is_generated_when_the_client_sends_none(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/health")
    second = await client.get("/health")

    assert is_generated(first.headers["x-request-id"])
    assert is_generated(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "request_id",
    ["abc-123", "trace.id:42_x-y", str(uuid.uuid4()), "a" * 128, "7"],
    ids=["dashes", "all allowed punctuation", "uuid", "128 characters", "one character"],
)
async def test_sane_client_request_id_is_echoed(client: httpx.AsyncClient, request_id: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["a" * 129, "a" * 500, "has spaces in it", "semi;colon", "<script>", ""],
    ids=["129 characters", "500 characters", "spaces", "semicolon", "markup", "empty"],
)
async def test_garbage_client_request_id_is_replaced(
    client: httpx.AsyncClient, request_id: str
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] != request_id
    assert is_generated(response.headers["x-request-id"])


async def test_client_request_id_with_a_trailing_newline_is_replaced(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc\n"})

    assert "\n" not in response.headers["x-request-id"]
    assert is_generated(response.headers["x-request-id"])


def request_answered_with(status: int, session_id: str) -> dict[str, Any]:
    """Arguments for httpx's request() that the default app answers with `status`."""
    status_path = f"/api/v1/unreal/session/{session_id}/status"
    batch = json.dumps({"session_id": session_id, "events": [event()]}).encode()
    return {
        200: {"method": "GET", "url": status_path},
        202: {"method": "POST", "url": BATCH, "content": batch, "headers": JSON_CONTENT},
        404: {"method": "GET", "url": f"/api/v1/unreal/session/{uuid.uuid4()}/status"},
        400: {
            "method": "POST",
            "url": BATCH,
            "content": b"not gzip",
            "headers": {"content-encoding": "gzip"},
        },
        413: {"method": "POST", "url": BATCH, "content": b" " * (1_048_576 + 1)},
        415: {
            "method": "POST",
            "url": BATCH,
            "content": batch,
            "headers": {"content-encoding": "br"},
        },
        422: {
            "method": "POST",
            "url": BATCH,
            "content": b'{"events": "not a list"}',
            "headers": JSON_CONTENT,
        },
    }[status]


@pytest.mark.parametrize("status", [200, 202, 400, 404, 413, 415, 422])
async def test_request_id_is_on_success_and_client_error_responses(
    client: httpx.AsyncClient, status: int
) -> None:
    session_id = await start_session(client)
    arguments = request_answered_with(status, session_id)
    headers = arguments.pop("headers", {})

    named = await client.request(**arguments, headers={**headers, "X-Request-ID": "mine-7"})
    unnamed = await client.request(**arguments, headers=headers)

    assert named.status_code == status, named.text
    assert named.headers["x-request-id"] == "mine-7"
    assert unnamed.status_code == status
    assert is_generated(unnamed.headers["x-request-id"])


async def test_request_id_and_retry_after_are_on_a_503_when_the_database_is_unavailable(
    app_with: AppFactory, proxy: PostgresProxy, database_dsn: str
) -> None:
    async with app_with(
        DATABASE_URL=proxy.url_for(database_dsn),
        RETRY_AFTER_SECONDS=7,
        DATABASE_CONNECT_TIMEOUT_SECONDS=1,
        DATABASE_ACQUIRE_TIMEOUT_SECONDS=1,
    ) as client:
        served = await client.post(START, json={"session_start": time.time()})
        await proxy.cut()
        response = await client.post(
            START, json={"session_start": time.time()}, headers={"X-Request-ID": "cut-off"}
        )
        generated = await client.post(START, json={"session_start": time.time()})

    assert served.status_code == 201
    assert response.status_code == 503
    assert response.json() == {"detail": "Database unavailable, retry later"}
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-request-id"] == "cut-off"
    assert generated.status_code == 503
    assert is_generated(generated.headers["x-request-id"])


# --- unexpected errors ----------------------------------------------------------------------


def app_with_a_failing_route(database_dsn: str, caplog: pytest.LogCaptureFixture) -> FastAPI:
    app = create_app(make_settings(database_dsn))

    @app.get("/test-only/failing/{item_id}")
    async def failing_route(item_id: str) -> None:
        raise RuntimeError("secret internals")

    return app


async def test_unexpected_error_is_a_500_that_reveals_nothing_but_the_request_id(
    database_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(app_with_a_failing_route(database_dsn, caplog)) as client:
        response = await client.get("/test-only/failing/42")
        named = await client.get("/test-only/failing/42", headers={"X-Request-ID": "mine-1"})

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"detail": "Internal server error", "request_id": request_id}
    for text in ("secret internals", "RuntimeError", "Traceback", "failing_route", ".py"):
        assert text not in response.text
    assert named.status_code == 500
    assert named.json() == {"detail": "Internal server error", "request_id": "mine-1"}
    assert named.headers["x-request-id"] == "mine-1"


async def test_unexpected_error_is_logged_once_with_its_traceback_and_request_id(
    database_dsn: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serve(app_with_a_failing_route(database_dsn, caplog)) as client:
        capsys.readouterr()
        caplog.clear()
        response = await client.get("/test-only/failing/42")
    output = capsys.readouterr().out

    [error_record] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert error_record.name == REQUEST_LOGGER
    assert error_record.exc_info is not None
    assert isinstance(error_record.exc_info[1], RuntimeError)
    [error_line] = [line for line in logged_lines(output) if line["level"] == "error"]
    assert error_line["request_id"] == response.headers["x-request-id"]
    assert "secret internals" in error_line["exception"]
    [request_line] = request_lines(output)
    assert request_line["request_id"] == response.headers["x-request-id"]
    assert request_line["status"] == 500
    assert request_line["route"] == "/test-only/failing/{item_id}"
    assert len(request_records(caplog)) == 1


# --- request log ----------------------------------------------------------------------------


async def test_request_log_has_one_line_per_request_with_id_method_route_status_and_latency(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    responses = []
    # What the client waited for each answer: the logged latency is part of it.
    waited_ms = []
    for method, path in [("GET", "/health"), ("GET", "/health"), ("GET", "/no/such/path")] + [
        ("POST", "/health")
    ]:
        started = time.perf_counter()
        responses.append(await client.request(method, path))
        waited_ms.append((time.perf_counter() - started) * 1000)
    lines = request_lines(capsys.readouterr().out)

    assert len(request_records(caplog)) == len(responses)
    assert len(lines) == len(responses)
    for response, line, elapsed_ms in zip(responses, lines, waited_ms, strict=True):
        assert REQUEST_LOG_FIELDS <= set(line)
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["method"] == response.request.method
        assert line["status"] == response.status_code
        assert isinstance(line["latency_ms"], int | float)
        assert 0 < line["latency_ms"] < elapsed_ms
    assert [line["route"] for line in lines] == [
        "/health",
        "/health",
        "unmatched",
        "/health",
    ]


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/api/v1/unreal/session/{session_id}/status"),
        ("POST", "/api/v1/unreal/session/{session_id}/heartbeat"),
        ("POST", "/api/v1/unreal/tracking/batch"),
    ],
)
async def test_request_log_names_the_full_route_template_not_the_concrete_path(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], method: str, template: str
) -> None:
    session_id = await start_session(client)
    capsys.readouterr()

    response = await client.request(
        method,
        template.format(session_id=session_id),
        json={"session_id": session_id, "events": []},
    )

    assert response.status_code < 300, response.text
    [line] = request_lines(capsys.readouterr().out)
    assert session_id not in line["route"]
    assert line["route"] == template


async def test_request_log_never_contains_the_request_body(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    marker = f"body-marker-{uuid.uuid4().hex}"
    email = f"{uuid.uuid4().hex[:8]}@buyer.example"
    capsys.readouterr()

    started = await client.post(
        START, json={"session_start": time.time(), "customer_id": email, "device_type": marker}
    )
    session_id = started.json()["session_id"]
    batch = await client.post(
        BATCH,
        json={
            "session_id": session_id,
            "events": [
                event(event_data={"note": marker, "contact": email}),
                event(f"bad type {marker}", event_data={"contact": email}),
            ],
        },
    )
    refused = [
        await client.post(EVENT, json={"session_id": session_id, **event(f"bad {marker}")}),
        await client.post(
            BATCH, content=f'{{"broken": "{marker}", "email": "{email}"', headers=JSON_CONTENT
        ),
        await client.post(START, json={"session_start": marker, "customer_id": email}),
        await client.post(BATCH, content=(marker + email).encode() * 20_000),
    ]

    assert started.status_code == 201
    assert batch.status_code == 202
    assert batch.json()["failed"] == 1
    assert [response.status_code for response in refused] == [422, 422, 422, 413]
    # The rejected event is kept in the database, which is where it belongs.
    assert marker in await db.fetchval(
        "SELECT payload FROM rejected_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    output = capsys.readouterr()
    for secret in (marker, email):
        assert secret not in output.out
        assert secret not in output.err
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in repr(vars(record))
    assert len(request_lines(output.out)) == len(request_records(caplog)) == 2 + len(refused)


# --- CORS -----------------------------------------------------------------------------------


async def test_preflight_from_a_configured_origin_is_allowed(app_with: AppFactory) -> None:
    async with app_with(CORS_ORIGINS=["https://sales.example"]) as client:
        response = await client.options(
            BATCH, headers={"origin": "https://sales.example", **PREFLIGHT}
        )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://sales.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "x-request-id" in response.headers


async def test_preflight_from_another_origin_is_refused(app_with: AppFactory) -> None:
    async with app_with(CORS_ORIGINS=["https://sales.example"]) as client:
        response = await client.options(
            BATCH, headers={"origin": "https://attacker.example", **PREFLIGHT}
        )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_response_to_a_configured_origin_exposes_request_id_and_retry_after(
    app_with: AppFactory,
) -> None:
    async with app_with(CORS_ORIGINS=["https://sales.example"]) as client:
        allowed = await client.get("/health", headers={"origin": "https://sales.example"})
        other = await client.get("/health", headers={"origin": "https://attacker.example"})

    assert allowed.headers["access-control-allow-origin"] == "https://sales.example"
    exposed = allowed.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed
    assert "access-control-allow-origin" not in other.headers


async def test_without_cors_origins_no_origin_is_allowed(client: httpx.AsyncClient) -> None:
    simple = await client.get("/health", headers={"origin": "https://sales.example"})
    preflight = await client.options(
        BATCH, headers={"origin": "https://sales.example", **PREFLIGHT}
    )

    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize(
    "origins",
    [["*"], '["*"]', ["https://sales.example", "*"], "https://sales.example, *"],
    ids=["list", "the original's JSON form", "list with a wildcard", "comma-separated"],
)
async def test_wildcard_origin_never_allows_credentials(
    app_with: AppFactory, origins: list[str] | str
) -> None:
    async with app_with(CORS_ORIGINS=origins) as client:
        preflight = await client.options(
            BATCH, headers={"origin": "https://anyone.example", **PREFLIGHT}
        )
        simple = await client.get(
            "/health", headers={"origin": "https://sales.example", "cookie": "session=abc"}
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    assert "access-control-allow-origin" in simple.headers
    assert "access-control-allow-credentials" not in simple.headers


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ('["*"]', ["*"]),
        (
            '["https://sales.example", "https://admin.example"]',
            ["https://sales.example", "https://admin.example"],
        ),
        (
            "https://sales.example,https://admin.example",
            ["https://sales.example", "https://admin.example"],
        ),
        (
            " https://sales.example , https://admin.example ,",
            ["https://sales.example", "https://admin.example"],
        ),
        ("https://sales.example", ["https://sales.example"]),
        ("*", ["*"]),
        ("", []),
    ],
    ids=[
        "JSON wildcard",
        "JSON list",
        "comma-separated",
        "spaces and a trailing comma",
        "one origin",
        "bare wildcard",
        "empty",
    ],
)
def test_cors_origins_are_read_from_json_or_comma_separated_environment_values(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)

    assert Settings(_env_file=None).CORS_ORIGINS == origins
    assert Settings(_env_file=None, CORS_ORIGINS=raw).CORS_ORIGINS == origins


@pytest.mark.parametrize("raw", ['["https://sales.example"', "[1, 2]"], ids=["unclosed", "numbers"])
def test_malformed_cors_origins_fail_at_start_up(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)

    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(_env_file=None)


async def test_client_gone_before_its_body_arrived_is_logged_as_499_not_500(
    database_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A headset that drops off Wi-Fi mid-upload is not a server error."""
    app = create_app(make_settings(database_dsn))
    messages = iter(
        [
            {"type": "http.request", "body": b'{"session_id": "', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": BATCH,
        "raw_path": BATCH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"1000"),
            (b"x-api-key", TEST_API_KEY.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("nexero.test", 80),
    }
    async with serve(app):
        await app(scope, receive, send)

    assert sent == []
    [record] = request_records(caplog)
    assert record.status == 499


async def test_trailing_slash_reaches_the_same_route_without_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    """A redirected POST comes back as a GET without its body in many clients: no redirect."""
    response = await client.post(START + "/", json={"session_start": time.time()})
    status = await client.get(f"/api/v1/unreal/session/{response.json()['session_id']}/status/")

    assert response.status_code == 201
    assert status.status_code == 200
