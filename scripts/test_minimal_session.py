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


def legacy_times() -> dict[str, str]:
    """A session that ended just now and lasted five minutes, as Unix timestamp strings."""
    start = int(time.time()) - DURATION_SECONDS
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


def minimal_payload(client: httpx.Client) -> Outcome:
    return post_created(client, legacy_times())


def empty_optional_fields(client: httpx.Client) -> Outcome:
    payload = {**legacy_times(), "customer_id": "", "property_id": "", "device_type": ""}
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
    with build_client(base_url=arguments.base_url, timeout=arguments.timeout) as client:
        steps = [
            Step("1", "minimal legacy session", lambda: minimal_payload(client)),
            Step("2", "optional fields sent empty", lambda: empty_optional_fields(client)),
            Step("3", "session_end before session_start", lambda: end_before_start(client)),
        ]
        run_and_exit(title="Legacy session payload", base_url=arguments.base_url, steps=steps)


if __name__ == "__main__":
    main()
