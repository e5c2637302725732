"""Keys at start-up: the operator's NEXERO_BOOTSTRAP_KEY, or the quick start's first key."""

import asyncio
import logging
import os
import sys
from pathlib import Path

from app.config import Settings
from app.db.database import Database
from app.services.access.keys import AccessService

logger = logging.getLogger(__name__)

API_KEY_FILE = "api-key"


def quick_start_key_path(data_dir: Path) -> Path:
    """Where the embedded quick start leaves its key for the scripts."""
    return data_dir / API_KEY_FILE


async def ensure_access(database: Database, settings: Settings, *, embedded: bool) -> None:
    """Ensure the bootstrap key; on an embedded database with no key at all, create one, save it
    in the data folder and show it once on the terminal."""
    access = AccessService(database)
    if settings.NEXERO_BOOTSTRAP_KEY is not None:
        await access.ensure_bootstrap_key(settings.NEXERO_BOOTSTRAP_KEY.get_secret_value())
        return
    if embedded:
        created = await access.create_first_key()
        if created is not None:
            path = quick_start_key_path(settings.NEXERO_DATA_DIR)
            await asyncio.to_thread(_save_secret, path, created.secret)
            # Straight to the terminal, not the log: log lines are collected and kept, and must
            # never hold a key.
            sys.stderr.write(
                "\n  Nexero created the first API key (admin, ingest, read; shown only now):\n\n"
                f"    {created.secret}\n\n"
                f"  It is saved in {path} for the scripts. Send it as the X-API-Key header:\n"
                f"    curl -H 'X-API-Key: {created.secret}' "
                "http://127.0.0.1:8000/api/v1/unreal/session/<id>/status\n"
                "  More keys: python -m app keys create --name <name> --scopes ingest\n\n"
            )
            return
    if not await access.has_keys():
        logger.warning(
            "no API keys exist: every /api/v1 request will be refused (401). Create one with "
            "`python -m app keys create --name admin --scopes admin,ingest,read` or set "
            "NEXERO_BOOTSTRAP_KEY"
        )


def _save_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(secret + "\n")
