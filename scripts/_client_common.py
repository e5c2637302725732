"""What the API smoke-test scripts share: where the server is, how to call it, how to report.

The scripts run as `python scripts/NAME.py`, so this module is imported as `_client_common`.
"""

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Where the embedded quick start saves its first key (NEXERO_DATA_DIR defaults to .nexero).
QUICK_START_KEY_FILE = Path(os.environ.get("NEXERO_DATA_DIR", ".nexero")) / "api-key"
REQUEST_ID_HEADER = "X-Request-ID"


class ServerUnreachableError(Exception):
    """No connection could be made: every later step would fail the same way."""


@dataclass(frozen=True)
class Outcome:
    """The verdict of one step, with the response it was judged on (for its request id)."""

    passed: bool
    detail: str
    response: httpx.Response | None = None


@dataclass(frozen=True)
class Step:
    label: str
    name: str
    run: Callable[[], Outcome]


def default_api_key() -> str | None:
    """NEXERO_API_KEY, else the key the embedded quick start saved, else None."""
    if os.environ.get("NEXERO_API_KEY"):
        return os.environ["NEXERO_API_KEY"]
    try:
        return QUICK_START_KEY_FILE.read_text().strip() or None
    except OSError:
        return None


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """--base-url (default: BASE_URL), --api-key (default: NEXERO_API_KEY or the quick start's
    saved key) and --timeout."""
    parser.add_argument(
        "--base-url",
        default=os.environ.get("BASE_URL", DEFAULT_BASE_URL),
        help=f"API root (env BASE_URL, default {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=default_api_key(),
        help=f"API key with the ingest scope (env NEXERO_API_KEY, else {QUICK_START_KEY_FILE})",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per request (default 10)"
    )


def build_client(*, base_url: str, api_key: str | None, timeout: float) -> httpx.Client:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def missing_keys(body: dict[str, Any], keys: Iterable[str]) -> list[str]:
    return [key for key in keys if key not in body]


def unexpected_status(response: httpx.Response, expected: int) -> Outcome | None:
    """A failed Outcome when the status is not `expected`, showing the start of the body."""
    if response.status_code == expected:
        return None
    excerpt = response.text[:300].replace("\n", " ")
    return Outcome(False, f"expected {expected}, got {response.status_code}: {excerpt}", response)


def expect_object(
    response: httpx.Response, *, status: int, keys: Iterable[str] = ()
) -> dict[str, Any] | Outcome:
    """The body when the status is `status` and the body is a JSON object with `keys`;
    otherwise the failed Outcome to report."""
    failure = unexpected_status(response, status)
    if failure is not None:
        return failure
    body = json_object(response)
    if body is None:
        return Outcome(False, f"body is not a JSON object: {response.text[:200]}", response)
    absent = missing_keys(body, keys)
    if absent:
        return Outcome(False, f"missing fields {absent} in {body}", response)
    return body


class Report:
    """Prints one ✓/✗ line per step and counts them."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def record(self, step: Step, outcome: Outcome) -> None:
        mark = "✓" if outcome.passed else "✗"
        line = f"TEST {step.label:>3} {mark} {step.name}: {outcome.detail}"
        request_id = outcome.response.headers.get(REQUEST_ID_HEADER) if outcome.response else None
        if not outcome.passed and request_id:
            line += f" [{REQUEST_ID_HEADER}: {request_id}]"
        print(line)
        if outcome.passed:
            self.passed += 1
        else:
            self.failed += 1

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def run_steps(steps: Iterable[Step], report: Report) -> None:
    """Run the steps in order: a transport error fails its step, no connection stops the run."""
    for step in steps:
        try:
            outcome = step.run()
        except httpx.ConnectError as error:
            raise ServerUnreachableError(str(error)) from error
        except httpx.TransportError as error:
            outcome = Outcome(False, f"{type(error).__name__}: {error}")
        report.record(step, outcome)


def run_and_exit(*, title: str, base_url: str, steps: Iterable[Step]) -> None:
    """Print a header, run the steps, print the summary and exit 1 if anything failed."""
    print(f"{title} against {base_url}")
    report = Report()
    try:
        run_steps(steps, report)
    except ServerUnreachableError as error:
        print(
            f"Cannot reach the Nexero API at {base_url} ({error}). "
            "Start the server or set BASE_URL / --base-url.",
            file=sys.stderr,
        )
        sys.exit(1)
    print(report.summary())
    sys.exit(1 if report.failed else 0)
