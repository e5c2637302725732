"""A property-based fuzz of the whole OpenAPI schema (schemathesis): every operation, valid and
invalid input, with a key holding every scope and with none, then stateful: sequences of calls
that follow the schema's links (a session started, then its status, events, heartbeat, end),
against a live uvicorn serving the real app on a database of its own. A fixed seed, derandomized
scenarios and bounded examples keep the run repeatable and short."""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator

import hypothesis
import pytest
import requests
import schemathesis
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import fresh_database, make_settings
from tests.helpers import TEST_API_KEY, UNUSED_DSN
from tests.live_server import free_loopback_port

FUZZ_SEED = 20_251_125
MAX_EXAMPLES_PER_OPERATION = 15
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
STARTUP_TIMEOUT_SECONDS = 30
SHUTDOWN_TIMEOUT_SECONDS = 30
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# The only operations that answer without a key (the docs are not in the schema).
PUBLIC_PATHS = {"/", "/health"}


def fuzz_config(*, headers: dict[str, str], random_credentials: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            "headers": headers,
            "generation": {
                # Valid input and invalid input alike.
                "mode": "all",
                "max-examples": MAX_EXAMPLES_PER_OPERATION,
                # No example database: the same seed gives the same cases on every machine.
                "database": "none",
                # Whether to make up X-API-Key and bearer values of its own.
                "with-security-parameters": random_credentials,
            },
        }
    )


# The schema does not depend on settings, so it is read from an app that never starts; the
# requests go to the live one below.
OPENAPI = create_app(make_settings(UNUSED_DSN)).openapi()
with_a_key = schemathesis.openapi.from_dict(
    OPENAPI, config=fuzz_config(headers={"X-API-Key": TEST_API_KEY}, random_credentials=False)
)
without_a_key = schemathesis.openapi.from_dict(
    OPENAPI, config=fuzz_config(headers={}, random_credentials=True)
)


@pytest.fixture(scope="module")
def quiet_request_log() -> Iterator[None]:
    """Thousands of request lines from the server thread would flood the test output; errors
    are still logged."""
    request_log = logging.getLogger("nexero.request")
    level = request_log.level
    request_log.setLevel(logging.WARNING)
    yield
    request_log.setLevel(level)


@pytest.fixture(scope="module")
async def live_base_url(server_dsn: str, quiet_request_log: None) -> AsyncIterator[str]:
    """uvicorn serving the app in a thread, on a database of its own: the fuzz creates keys and
    erases customers, which must not touch what other tests stored."""
    async with fresh_database(server_dsn, prefix="nexero_fuzz") as dsn:
        port = free_loopback_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(make_settings(dsn)),
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                lifespan="on",
            )
        )
        thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
        thread.start()
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
                while not server.started:
                    assert thread.is_alive(), "uvicorn stopped during start-up"
                    await asyncio.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await asyncio.to_thread(thread.join, SHUTDOWN_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@with_a_key.parametrize()
def test_with_a_key_no_operation_answers_5xx_or_outside_its_schema(
    case: schemathesis.Case, live_base_url: str, http_session: requests.Session
) -> None:
    case.call_and_validate(base_url=live_base_url, session=http_session, checks=CHECKS)


@without_a_key.parametrize()
def test_without_a_key_only_public_operations_answer_and_the_rest_say_4xx(
    case: schemathesis.Case, live_base_url: str, http_session: requests.Session
) -> None:
    response = case.call(base_url=live_base_url, session=http_session)

    case.validate_response(response, checks=CHECKS)
    if case.path not in PUBLIC_PATHS:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)


StatefulWorkflows = with_a_key.as_state_machine()


def test_schema_links_lead_from_a_session_start_to_what_can_be_done_with_it() -> None:
    start = OPENAPI["paths"]["/api/v1/unreal/session/start"]["post"]
    links = start["responses"]["201"]["links"]

    assert {"SessionStatus", "Heartbeat", "EndSession", "TrackBatch", "SessionEvents"} <= set(links)
    assert len(StatefulWorkflows.bundles) > 0


def test_stateful_workflows_answer_no_5xx_and_nothing_outside_the_schema(
    live_base_url: str, http_session: requests.Session
) -> None:
    class Workflows(StatefulWorkflows):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": live_base_url, "session": http_session}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:  # noqa: ANN001
            case.validate_response(response, checks=CHECKS)

    Workflows.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
