"""Where a worker's time goes during one scenario: py-spy sampling its processes, summarised
from the folded stacks py-spy writes (`--format raw`)."""

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

SAMPLES_PER_SECOND = 200
# Where an ingest request spends its time: a sample counts for each stage found on its stack.
STAGES = {
    "per-event service work (TrackingService._raw_to_row, _to_row)": (
        "TrackingService._raw_to_row",
        "TrackingService._to_row",
    ),
    "database calls (asyncpg)": ("(asyncpg/",),
    "transaction statements (BEGIN, SAVEPOINT, COMMIT)": ("Transaction.start", "__commit"),
    "pool reset on release (RESET ALL ...)": ("Connection.reset ",),
    "thread-pool hand-offs (plain def dependencies)": ("run_in_threadpool", "WorkerThread.run"),
    "pydantic validation": ("(pydantic/",),
    "uuid objects and uuid5": ("(uuid.py",),
    "json (standard library)": ("(json/",),
    "request log line (logging)": ("(logging/",),
    "sending the response": ("Response.__call__",),
}


def py_spy_executable() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """py-spy on each worker for `seconds`, started when the measured window opens."""

    def __init__(self, directory: Path, label: str) -> None:
        self.directory = directory
        self.label = label
        self._runs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, pids: list[int], seconds: float) -> None:
        executable = py_spy_executable()
        if executable is None:
            raise RuntimeError("py-spy is not installed (pip install -r requirements-dev.txt)")
        self.directory.mkdir(parents=True, exist_ok=True)
        for pid in pids:
            output = self.directory / f"{self.label}-worker-{pid}.folded"
            command = [
                executable,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(output),
            ]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._runs.append((process, output))

    def finish(self) -> dict[str, Any]:
        files = []
        problems = []
        for process, output in self._runs:
            _, stderr = process.communicate(timeout=60)
            if output.exists():
                files.append(output)
            else:
                problems.append(stderr.decode(errors="replace")[-500:])
        summary = summarise(files)
        summary["files"] = [str(path) for path in files]
        if problems:
            summary["problems"] = problems
        return summary


def summarise(files: list[Path]) -> dict[str, Any]:
    """Share of samples per stage (a sample counts for every stage on its stack) and the
    functions most often on top of the stack."""
    total = 0
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            total += count
            frames = stack.split(";")
            leaves[frames[-1]] += count
            for stage, markers in STAGES.items():
                if any(marker in stack for marker in markers):
                    stages[stage] += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "stage_percent": {
            stage: round(100 * count / total, 1) for stage, count in stages.most_common()
        },
        "top_functions_percent": {
            frame: round(100 * count / total, 1) for frame, count in leaves.most_common(20)
        },
    }
