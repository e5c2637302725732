"""An embedded PostgreSQL (the pgserver package) for running Nexero with no set-up."""

import logging
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset (containers, CI); pgserver then
    # uses /tmp, which is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts (or joins) a PostgreSQL server whose data lives in `data_dir`.

    pgserver counts the processes using one data folder and stops the server when the last one
    releases it, so several workers can share it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: pgserver.PostgresServer | None = None

    def start(self, database: str = "postgres") -> str:
        """Blocking: start the server if needed and return a connection URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        url = self._server.get_uri(database)
        logger.info(
            "embedded PostgreSQL running with its data in %s (psql '%s')", self.data_dir, url
        )
        return url

    def stop(self) -> None:
        """Blocking: release this process's hold on the server."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
