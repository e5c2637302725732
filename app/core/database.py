"""The one database layer: the asyncpg pool, transactions, and the translation of driver errors.

All SQL lives here and in the sibling stores (session_store, event_store); nothing above this
layer sees asyncpg.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import orjson

from app.core.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

# SQLSTATE classes that mean "not now", not "never": connection trouble, serialization failures
# and deadlocks, exhausted resources, an administrator or timeout cancelling, system errors.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
DEFAULT_STATEMENT_CACHE_SIZE = 100


def is_transient(error: BaseException) -> bool:
    """True when retrying later may succeed: the database is unreachable or overloaded."""
    if isinstance(error, asyncpg.PostgresError):
        return (error.sqlstate or "")[:2] in TRANSIENT_SQLSTATE_CLASSES
    return isinstance(
        error,
        asyncpg.InterfaceError | asyncpg.InternalClientError | OSError | TimeoutError,
    )


def is_rejected_data(error: BaseException) -> bool:
    """True when PostgreSQL refused the data itself (bad value, constraint, trigger)."""
    return isinstance(error, asyncpg.PostgresError) and not is_transient(error)


def describe_rejection(error: asyncpg.PostgresError) -> str:
    detail = getattr(error, "detail", None)
    message = str(getattr(error, "message", None) or error)
    return f"database rejected the event: {message}" + (f" ({detail})" if detail else "")


def statement_cache_size_for(dsn: str, configured: int | None) -> int:
    """Prepared statements do not survive transaction poolers (PgBouncer, Supabase's pooler)."""
    if configured is not None:
        return configured
    parts = urlsplit(dsn)
    behind_pooler = parts.port == 6543 or "pooler" in (parts.hostname or "")
    return 0 if behind_pooler else DEFAULT_STATEMENT_CACHE_SIZE


def redacted(dsn: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class Database:
    """Owns the pool; hands out connections and transactions with driver errors translated."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout_seconds: float) -> None:
        self._pool = pool
        self._acquire_timeout_seconds = acquire_timeout_seconds
        self._background: set[asyncio.Task[bool]] = set()

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        statement_cache_size: int | None,
        connect_timeout_seconds: float,
        acquire_timeout_seconds: float,
        command_timeout_seconds: float,
    ) -> "Database":
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                statement_cache_size=statement_cache_size_for(dsn, statement_cache_size),
                timeout=connect_timeout_seconds,
                command_timeout=command_timeout_seconds,
                init=_init_connection,
                server_settings={"application_name": "nexero"},
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            raise DatabaseUnavailableError(
                f"cannot connect to PostgreSQL at {redacted(dsn)}: {error!r}"
            ) from error
        return cls(pool, acquire_timeout_seconds=acquire_timeout_seconds)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in autocommit mode; transient failures become 503s."""
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout_seconds) as connection:
                yield connection
        except Exception as error:
            if is_transient(error):
                logger.warning("database unavailable: %s", error.__class__.__name__)
                raise DatabaseUnavailableError() from error
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside one transaction: committed when the block ends cleanly."""
        async with self.connection() as connection, connection.transaction():
            yield connection

    async def ping(self, *, timeout_seconds: float) -> bool:
        """A real round trip to the database, answered within `timeout_seconds` even when the
        network stalls: a late query is left to finish (or fail) in the background, since
        cleaning up its connection can itself wait on the stalled network."""
        probe = asyncio.create_task(self._select_one())
        self._background.add(probe)
        probe.add_done_callback(self._forget)
        done, _ = await asyncio.wait({probe}, timeout=timeout_seconds)
        if not done:
            probe.cancel()
            return False
        return probe.exception() is None and probe.result()

    async def _select_one(self) -> bool:
        async with self.connection() as connection:
            return await connection.fetchval("SELECT 1") == 1

    def _forget(self, task: asyncio.Task[bool]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info("database ping failed: %s", task.exception().__class__.__name__)
