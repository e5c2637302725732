"""Send the legacy one-shot session payload, as the original Unreal client did, and report.

    BASE_URL=http://127.0.0.1:8000 python scripts/test_minimal_session.py

Exits 1 if any step fails or the server cannot be reached.
"""

import argparse
import time
from typing import Any

import httpx
from _client_common import (
    Outcome,
    Step,
    add_connection_arguments,
    build_client,
    expect_object,
    run_and_exit,
)

SESSION_PATH = "/api/v1/unreal/session"
CREATED_FIELDS = ("status", "message", "session_id", "duration_seconds", "received_at")
DURATION_SECONDS = 300


def legacy_times(*, ended_ago: int = 0) -> dict[str, str]:
    """A session that lasted five minutes and ended `ended_ago` seconds ago, as Unix timestamp
    strings (the original client's form)."""
    start = int(time.time()) - ended_ago - DURATION_SECONDS
    return {"session_start": str(start), "session_end": str(start + DURATION_SECONDS)}


def post_created(client: httpx.Client, payload: dict[str, Any]) -> Outcome:
    response = client.post(SESSION_PATH, json=payload)
    body = expect_object(response, status=201, keys=CREATED_FIELDS)
    if isinstance(body, Outcome):
        return body
    if body["duration_seconds"] != DURATION_SECONDS:
        return Outcome(
            False,
            f"duration_seconds {body['duration_seconds']!r}, expected {DURATION_SECONDS}",
            response,
        )
    return Outcome(
        True,
        f"session_id {body['session_id']}, duration_seconds {body['duration_seconds']}",
        response,
    )


def minimal_payload_and_its_retry(client: httpx.Client) -> Outcome:
    """The legacy client sends no session id; its retry must still not make a second session."""
    payload = legacy_times()
    first = post_created(client, payload)
    if not first.passed or first.response is None:
        return first
    retry = post_created(client, payload)
    if not retry.passed or retry.response is None:
        return retry
    first_id = first.response.json()["session_id"]
    if retry.response.json()["session_id"] != first_id:
        return Outcome(False, "the retry created a second session", retry.response)
    return Outcome(True, f"session_id {first_id} both times, 300 s", retry.response)


def empty_optional_fields(client: httpx.Client) -> Outcome:
    payload = {
        **legacy_times(ended_ago=600),
        "customer_id": "",
        "property_id": "",
        "device_type": "",
    }
    return post_created(client, payload)


def end_before_start(client: httpx.Client) -> Outcome:
    start = int(time.time()) - DURATION_SECONDS
    payload = {"session_start": str(start), "session_end": str(start - 60)}
    response = client.post(SESSION_PATH, json=payload)
    body = expect_object(response, status=422, keys=("detail",))
    if isinstance(body, Outcome):
        return body
    if not names_field(body["detail"], "session_end"):
        return Outcome(False, f"detail does not name session_end: {body['detail']}", response)
    return Outcome(True, "422 naming session_end", response)


def names_field(detail: Any, field: str) -> bool:
    """Whether a 422 detail (FastAPI's list of {loc, msg} or a plain message) names `field`."""
    if isinstance(detail, list):
        return any(
            isinstance(problem, dict) and field in [str(part) for part in problem.get("loc", [])]
            for problem in detail
        )
    return field in str(detail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    arguments = parser.parse_args()
    with build_client(
        base_url=arguments.base_url, api_key=arguments.api_key, timeout=arguments.timeout
    ) as client:
        steps = [
            Step(
                "1",
                "minimal legacy session, sent twice",
                lambda: minimal_payload_and_its_retry(client),
            ),
            Step("2", "optional fields sent empty", lambda: empty_optional_fields(client)),
            Step("3", "session_end before session_start", lambda: end_before_start(client)),
        ]
        run_and_exit(title="Legacy session payload", base_url=arguments.base_url, steps=steps)


if __name__ == "__main__":
    main()
