"""Numbered SQL migrations from supabase/migrations, applied in order at start-up.

Everything runs in one transaction under a transaction-scoped advisory lock, so replicas starting
together apply each file once, and the lock works through transaction poolers too.
"""

import hashlib
import logging
import time
from pathlib import Path

import asyncpg

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
# Arbitrary but fixed: every Nexero replica contends for the same lock.
MIGRATION_LOCK_KEY = 7_318_245_113_052_001


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(directory.glob("*.sql"))


async def apply_migrations(
    connection: asyncpg.Connection,
    *,
    timeout_seconds: float,
    directory: Path = MIGRATIONS_DIR,
) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations; return their versions.

    `timeout_seconds` bounds each statement, waiting for the lock included: adopting a large
    existing table can take minutes, far beyond the timeout of an ordinary request."""
    applied_now: list[str] = []
    async with connection.transaction():
        await connection.execute(
            "SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY, timeout=timeout_seconds
        )
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version TEXT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
            );
            ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT;
            -- On Supabase, tables in public are served to the public API key unless RLS is on:
            -- with it on and no policy, only the owner (this service) reads and writes it.
            ALTER TABLE public.schema_migrations ENABLE ROW LEVEL SECURITY;
            """
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await connection.fetch(
                "SELECT version, checksum FROM public.schema_migrations"
            )
        }
        for path in migration_files(directory):
            version, sql = path.stem, path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in applied:
                _ensure_unchanged(version, recorded=applied[version], current=checksum)
                continue
            logger.info("applying migration %s", version)
            started = time.monotonic()
            await connection.execute(sql, timeout=timeout_seconds)
            await connection.execute(
                "INSERT INTO public.schema_migrations (version, checksum) VALUES ($1, $2)",
                version,
                checksum,
            )
            logger.info("applied migration %s in %.1f s", version, time.monotonic() - started)
            applied_now.append(version)
    return applied_now


class MigrationChangedError(RuntimeError):
    pass


def _ensure_unchanged(version: str, *, recorded: str | None, current: str) -> None:
    """An applied migration is history: editing it would leave databases that ran the old text
    silently different from new ones. Changes go in a new file."""
    if recorded is not None and recorded != current:
        raise MigrationChangedError(
            f"migration {version} was changed after this database applied it; "
            "restore the file and put the change in a new migration"
        )
