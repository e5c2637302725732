"""Where the worker processes of one server keep their metrics: prometheus-client's multiprocess
mode has each process write its figures to memory-mapped files in one directory, and whichever
worker answers a scrape adds them all up.

The library reads PROMETHEUS_MULTIPROC_DIR when it is imported, so the directory is settled
here, before app.observability.metrics imports it:

- PROMETHEUS_MULTIPROC_DIR set: that directory (created if missing). The operator empties it
  before each start of the server (docs/operations.md), as prometheus-client requires.
- unset (the default, the embedded quick start): a directory of its own for each run of the
  server, under the system's temporary folder, shared by that server's workers (uvicorn starts
  them with multiprocessing, so they inherit its random authentication key, which names the
  run). Each start removes the directories of runs whose server process is gone.
"""

import hashlib
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
RUNS_FOLDER = Path(tempfile.gettempdir()) / "nexero-metrics"
OWNER_FILE = "server.pid"


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def server_pid() -> int:
    """The process that started this worker (uvicorn's supervisor), or this one."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid is not None else os.getpid()


def run_directory() -> Path:
    """This server run's own directory (made if needed), after removing those of dead runs."""
    RUNS_FOLDER.mkdir(mode=0o700, exist_ok=True)
    run_key = hashlib.sha256(bytes(multiprocessing.current_process().authkey)).hexdigest()[:16]
    directory = RUNS_FOLDER / run_key
    for other in RUNS_FOLDER.iterdir():
        if other != directory and other.is_dir() and _owner_gone(other):
            shutil.rmtree(other, ignore_errors=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    (directory / OWNER_FILE).write_text(str(server_pid()))
    return directory


def _owner_gone(directory: Path) -> bool:
    """True when the directory's server process has exited. One whose owner is not written
    yet (a server starting this very moment) is kept."""
    try:
        return not process_is_alive(int((directory / OWNER_FILE).read_text()))
    except (OSError, ValueError):
        return False


def settle_directory() -> Path:
    """Decide the directory, make sure it exists, and tell prometheus-client."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if configured:
        directory = Path(configured)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RuntimeError(
                f"{ENVIRONMENT_VARIABLE}={configured} cannot be created: {error}"
            ) from None
        if not os.access(directory, os.W_OK):
            raise RuntimeError(f"{ENVIRONMENT_VARIABLE}={configured} is not writable")
    else:
        directory = run_directory()
    os.environ[ENVIRONMENT_VARIABLE] = str(directory)
    return directory
