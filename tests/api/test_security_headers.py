"""Security headers on every response, whatever its status; a Content-Security-Policy that lets
JSON do nothing and lets the docs load exactly what they load; HSTS only in production; CORS
only for the configured origins, with the key headers allowed."""

import time
import uuid
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.conftest import AppFactory, make_settings, serve, serve_with_busy_pool
from tests.helpers import BATCH, EVENT, START, create_key, event

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
JSON_CONTENT = {"content-type": "application/json"}
PREFLIGHT = {"access-control-request-method": "POST"}


def assert_security_headers(response: httpx.Response, *, api: bool = True) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert response.headers.get_list("content-security-policy") != []
    assert len(response.headers.get_list("x-frame-options")) == 1
    if api:
        assert response.headers["content-security-policy"] == API_CSP
    assert "strict-transport-security" not in response.headers


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


# --- every status ----------------------------------------------------------------------------


async def request_answered_with(client: httpx.AsyncClient, status: int) -> httpx.Response:
    """A request the shared app answers with `status`."""
    unknown_status = f"/api/v1/unreal/session/{uuid.uuid4()}/status"
    if status == 200:
        started = await client.post(START, json={"session_start": time.time()})
        return await client.get(f"/api/v1/unreal/session/{started.json()['session_id']}/status")
    if status == 202:
        started = await client.post(START, json={"session_start": time.time()})
        return await client.post(
            EVENT, json={"session_id": started.json()["session_id"], **event()}
        )
    if status == 400:
        return await client.post(BATCH, content=b"not gzip", headers={"content-encoding": "gzip"})
    if status == 401:
        return await client.get(unknown_status, headers={"X-API-Key": "not-a-key-0123456789abcdef"})
    if status == 403:
        key = (await create_key(client, "read", name="headers test"))["key"]
        return await client.post(
            START, json={"session_start": time.time()}, headers={"X-API-Key": key}
        )
    if status == 404:
        return await client.get(unknown_status)
    if status == 405:
        return await client.put(START, json={})
    if status == 413:
        return await client.post(BATCH, content=b" " * (1_048_576 + 1))
    if status == 415:
        return await client.post(BATCH, content=b"{}", headers={"content-encoding": "br"})
    if status == 422:
        return await client.post(BATCH, content=b'{"events": "no"}', headers=JSON_CONTENT)
    raise AssertionError(status)


@pytest.mark.parametrize("status", [200, 202, 400, 401, 403, 404, 405, 413, 415, 422])
async def test_api_responses_of_every_status_carry_the_security_headers(
    client: httpx.AsyncClient, status: int
) -> None:
    response = await request_answered_with(client, status)

    assert response.status_code == status, response.text
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/health", 200),
        ("HEAD", "/health", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/no/such/page", 404),
        ("POST", "/health", 405),
    ],
)
async def test_service_responses_carry_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    assert_security_headers(response)


async def test_an_unexpected_500_carries_the_security_headers(database_dsn: str) -> None:
    app = create_app(make_settings(database_dsn))

    @app.get("/api/v1/test-only/failing")
    async def failing_route() -> None:
        raise RuntimeError("boom")

    async with serve(app) as client:
        response = await client.get("/api/v1/test-only/failing")

    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


async def test_a_503_carries_the_security_headers(database_dsn: str) -> None:
    # Every key is checked against the database, the busy pool included.
    async with serve_with_busy_pool(database_dsn, API_KEY_CACHE_SECONDS=0) as client:
        response = await client.post(START, json={"session_start": time.time()})

    assert response.status_code == 503
    assert_security_headers(response)


async def test_a_429_carries_the_security_headers(
    client: httpx.AsyncClient, app_with: AppFactory
) -> None:
    key = (await create_key(client, "read", name="headers test"))["key"]
    async with app_with(
        RATE_LIMIT_ENABLED=True, RATE_LIMIT_READ_PER_SECOND=0.001, RATE_LIMIT_READ_BURST=1
    ) as limited:
        url = f"/api/v1/unreal/session/{uuid.uuid4()}/status"
        await limited.get(url, headers={"X-API-Key": key})
        response = await limited.get(url, headers={"X-API-Key": key})

    assert response.status_code == 429
    assert_security_headers(response)


async def test_headers_the_app_sets_itself_are_not_doubled(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    for name in SECURITY_HEADERS:
        assert len(response.headers.get_list(name)) == 1, name
    assert len(response.headers.get_list("content-security-policy")) == 1


# --- Content-Security-Policy for pages -------------------------------------------------------


class ResourceCollector(HTMLParser):
    """What a page loads, by the CSP directive that governs it."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str]] = []
        self.inline: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.loads.append(("script-src", attributes["src"] or ""))
            else:
                self._in_script = True
        elif tag == "link" and attributes.get("href"):
            rel = (attributes.get("rel") or "").lower()
            directive = "style-src" if "stylesheet" in rel else "img-src"
            self.loads.append((directive, attributes["href"] or ""))
        elif tag == "style":
            self.inline.add("style-src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.add("script-src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_get_a_policy_that_allows_exactly_what_they_load(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    page = ResourceCollector()
    page.feed(response.text)

    assert response.status_code == 200
    assert_security_headers(response, api=False)
    policy = directives(response.headers["content-security-policy"])
    assert response.headers["content-security-policy"] != API_CSP
    assert page.loads, "the page loads nothing: the parser missed its resources"
    for directive, url in page.loads:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"
        assert origin in policy.get(directive, policy["default-src"]), (directive, url)
    for directive in page.inline:
        assert "'unsafe-inline'" in policy[directive], directive
    # The page fetches /openapi.json from its own origin.
    assert "'self'" in policy.get("connect-src", policy["default-src"])
    assert policy["frame-ancestors"] == ["'none'"]


async def test_json_answers_may_load_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert directives(response.headers["content-security-policy"]) == {
        "default-src": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


# --- HSTS ------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["production", "staging", "development"])
async def test_hsts_is_sent_only_in_production(app_with: AppFactory, environment: str) -> None:
    async with app_with(ENVIRONMENT=environment) as client:
        responses = [
            await client.get("/health"),
            await client.get(f"/api/v1/unreal/session/{uuid.uuid4()}/status"),
            await client.get("/docs"),
        ]

    for response in responses:
        if environment == "production":
            assert response.headers["strict-transport-security"] == HSTS
        else:
            assert "strict-transport-security" not in response.headers


# --- CORS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def cors_client(
    database_dsn: str, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """An app that allows one browser origin, behind a client that sends no key."""
    app: FastAPI = create_app(make_settings(database_dsn, CORS_ORIGINS=["https://sales.example"]))
    async with serve(app, api_key=None) as http_client:
        yield http_client


@pytest.mark.parametrize("requested", ["x-api-key", "authorization", "content-type,x-api-key"])
async def test_preflight_from_the_configured_origin_may_send_the_key_headers(
    cors_client: httpx.AsyncClient, requested: str
) -> None:
    response = await cors_client.options(
        START,
        headers={
            "origin": "https://sales.example",
            **PREFLIGHT,
            "access-control-request-headers": requested,
        },
    )

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "https://sales.example"
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in requested.split(","):
        assert header in allowed
    assert_security_headers(response)


@pytest.mark.parametrize(
    "preflight",
    [
        {"origin": "https://attacker.example", **PREFLIGHT},
        {"origin": "https://sales.example.attacker.example", **PREFLIGHT},
        {"origin": "http://sales.example", **PREFLIGHT},
        {"origin": "https://sales.example", "access-control-request-method": "DELETE"},
        {
            "origin": "https://sales.example",
            **PREFLIGHT,
            "access-control-request-headers": "x-not-allowed",
        },
    ],
    ids=["another origin", "a look-alike origin", "plain http", "another method", "another header"],
)
async def test_preflight_outside_the_configuration_is_refused(
    cors_client: httpx.AsyncClient, preflight: dict[str, str]
) -> None:
    response = await cors_client.options(START, headers=preflight)

    assert response.status_code == 400
    if preflight["origin"] != "https://sales.example":
        assert "access-control-allow-origin" not in response.headers


async def test_errors_reach_the_configured_origin_with_their_retry_headers_readable(
    cors_client: httpx.AsyncClient,
) -> None:
    response = await cors_client.get(
        f"/api/v1/unreal/session/{uuid.uuid4()}/status", headers={"origin": "https://sales.example"}
    )
    other = await cors_client.get(
        f"/api/v1/unreal/session/{uuid.uuid4()}/status",
        headers={"origin": "https://attacker.example"},
    )

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "https://sales.example"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed
    assert "x-request-id" in exposed
    assert other.status_code == 401
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("origins", [["*"], ["https://sales.example", "*"]], ids=["alone", "mixed"])
async def test_a_wildcard_origin_never_comes_with_credentials(
    app_with: AppFactory, origins: list[str]
) -> None:
    async with app_with(CORS_ORIGINS=origins) as client:
        preflight = await client.options(
            START,
            headers={
                "origin": "https://sales.example",
                **PREFLIGHT,
                "access-control-request-headers": "x-api-key",
            },
        )
        simple = await client.get("/health", headers={"origin": "https://anyone.example"})

    assert preflight.status_code == 200
    assert "access-control-allow-credentials" not in preflight.headers
    assert "access-control-allow-credentials" not in simple.headers
    assert simple.headers["access-control-allow-origin"] == "*"
