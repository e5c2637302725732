"""The instruction counter (scripts/bench/instructions.py): the requests it sends are the HTTP
benchmark's own and every one is answered 2xx by the real app on a real database, and the
stretch between two marks is what callgrind counts. No count is asserted for the apps: that is
what docs/performance.md reports."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.main import create_app
from scripts.bench import instructions, reference
from scripts.bench.workloads import WorkloadSpec, build
from tests.conftest import fresh_database, make_settings
from tests.helpers import TEST_API_KEY

MARKED_PROGRAM = """
import os
os.getppid()
sum(range(200_000))
os.getppid()
sum(range(10))
os.getppid()
sum(range(600_000))
os.getppid()
"""


def test_a_raw_request_is_read_as_uvicorn_hands_it_to_the_app() -> None:
    spec = WorkloadSpec(kind="single", host="h:1", api_key="k", session_ids=("s",))
    [call] = build(spec).next_operation(0).calls

    method, path, headers, body = instructions.parsed_request(call.raw)

    assert (method, path) == ("POST", "/api/v1/unreal/tracking/event")
    assert (b"x-api-key", b"k") in headers
    assert (b"content-length", str(len(body)).encode()) in headers
    assert body.startswith(b'{"session_id":"s",')


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_what_runs_between_two_marks_is_what_is_counted(tmp_path: Path) -> None:
    command = instructions.callgrind_command(tmp_path, "probe")
    subprocess.run([*command, sys.executable, "-c", MARKED_PROGRAM], check=True, timeout=300)

    first, second = instructions.measured_parts(tmp_path, "probe")

    # Three times the loop, about three times the instructions; the short stretch between
    # them (its ten additions) is not among the measured parts.
    assert 2.7 < second / first < 3.3
    assert first > 1_000_000


async def test_every_scenario_is_answered_2xx_by_nexero_and_the_reference_in_one_run(
    server_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = list(instructions.SCENARIOS)
    async with fresh_database(server_dsn, prefix="nexero_instructions") as dsn:
        await reference.create_schema(dsn)
        monkeypatch.setenv("REFERENCE_DATABASE_URL", dsn)
        nexero = create_app(make_settings(dsn))

        # Each batch is checked to be stored whole: an event id used by an earlier scenario
        # of the same run would be refused, and stop it.
        await instructions.serve_scenarios(nexero, TEST_API_KEY, scenarios, requests=3)
        await instructions.serve_scenarios(reference.app, TEST_API_KEY, scenarios, requests=3)
