"""The one database layer: the asyncpg pool, transactions, and the translation of driver errors.

The SQL itself lives in app/stores, one module per aggregate; nothing above those layers sees
asyncpg.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg

from app.errors import DatabaseUnavailableError, InvalidInputError
from app.observability.metrics import PoolFigures

logger = logging.getLogger(__name__)

# SQLSTATEs that mean "not now", not "never": connection trouble (08), serialization failures and
# deadlocks (40), exhausted resources (53), an administrator or a timeout cancelling (57), system
# errors (58), a read-only database during failover or maintenance (25006), and locks that
# could not be had in time (55P03, 55006).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
TRANSIENT_SQLSTATES = frozenset({"25006", "55P03", "55006"})
# SQLSTATEs that mean the data itself was refused: bad values (22), broken constraints (23),
# a trigger's RAISE (P0001), a value too large for an index or row (54).
REFUSED_DATA_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})
REFUSED_DATA_SQLSTATES = frozenset({"P0001"})
DEFAULT_STATEMENT_CACHE_SIZE = 100


def is_transient(error: BaseException) -> bool:
    """True when retrying later may succeed: the database is unreachable, busy or read-only."""
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = error.sqlstate or ""
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    return isinstance(
        error,
        asyncpg.InterfaceError | asyncpg.InternalClientError | OSError | TimeoutError,
    )


def is_rejected_data(error: BaseException) -> bool:
    """True when PostgreSQL refused the data itself, so that storing it again cannot succeed.
    Anything neither refused data nor transient is a bug, and fails loudly."""
    if not isinstance(error, asyncpg.PostgresError):
        return False
    sqlstate = error.sqlstate or ""
    return sqlstate[:2] in REFUSED_DATA_SQLSTATE_CLASSES or sqlstate in REFUSED_DATA_SQLSTATES


def describe_rejection(error: BaseException) -> str:
    detail = getattr(error, "detail", None)
    message = str(getattr(error, "message", None) or error)
    return f"database rejected the data: {message}" + (f" ({detail})" if detail else "")


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


async def set_up_connection(connection: asyncpg.Connection) -> None:
    """Per-connection set-up: json and jsonb values arrive as Python objects and are sent as
    them (event_data is written as text already serialized, cast in SQL, so it skips this)."""
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def skip_session_reset(connection: asyncpg.Connection) -> None:
    """Run when a connection goes back to the pool, after asyncpg has rolled back any open
    transaction. Nexero sets no session state (no SET, LISTEN, session advisory locks or
    cursors held past a transaction), so asyncpg's default reset (RESET ALL, UNLISTEN *, ...)
    would cost a round trip per request for nothing."""


class Database:
    """Owns the pool; hands out connections and transactions with driver errors translated."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout_seconds: float) -> None:
        self._pool = pool
        self._acquire_timeout_seconds = acquire_timeout_seconds
        self._background: set[asyncio.Task[bool]] = set()
        # Requests waiting for a pooled connection (none was idle) now, and the most at once
        # since the last sample (asyncpg does not tell).
        self._waiting = 0
        self._peak_waiting = 0

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
                server_settings={"application_name": "nexero"},
                init=set_up_connection,
                reset=skip_session_reset,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            raise DatabaseUnavailableError(
                f"cannot connect to PostgreSQL at {redacted(dsn)}: {error!r}"
            ) from error
        return cls(pool, acquire_timeout_seconds=acquire_timeout_seconds)

    async def close(self, *, timeout_seconds: float | None = None) -> None:
        """Close the pool gracefully, waiting at most `timeout_seconds` (None: as long as it
        takes) for connections still in use, as a request cut off at shutdown may leave one;
        then close them abruptly."""
        try:
            await asyncio.wait_for(self._pool.close(), timeout=timeout_seconds)
        except TimeoutError:
            logger.warning("database pool not closed in %s s: terminated", timeout_seconds)
            self._pool.terminate()

    def pool_figures(self) -> PoolFigures:
        """The pool now, with the most requests that waited at once since the last call."""
        size = self._pool.get_size()
        peak_waiting, self._peak_waiting = self._peak_waiting, self._waiting
        return PoolFigures(
            size=size,
            max_size=self._pool.get_max_size(),
            in_use=size - self._pool.get_idle_size(),
            waiting=peak_waiting,
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in autocommit mode; transient failures become 503s, data that
        PostgreSQL refuses a 422."""
        try:
            connection = await self._acquire()
            try:
                yield connection
            finally:
                await self._pool.release(connection)
        except Exception as error:
            if is_transient(error):
                logger.warning("database unavailable: %s", error.__class__.__name__)
                raise DatabaseUnavailableError() from error
            if is_rejected_data(error):
                # Input the edge checks let through but PostgreSQL will never take.
                raise InvalidInputError.single("body", msg=describe_rejection(error)) from error
            raise

    async def _acquire(self) -> asyncpg.Connection:
        if self._pool.get_idle_size():
            return await self._pool.acquire(timeout=self._acquire_timeout_seconds)
        # No idle connection: this request waits, for a new connection or a released one.
        self._waiting += 1
        self._peak_waiting = max(self._peak_waiting, self._waiting)
        try:
            return await self._pool.acquire(timeout=self._acquire_timeout_seconds)
        finally:
            self._waiting -= 1

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside one transaction: committed when the block ends cleanly."""
        async with self.connection() as connection, connection.transaction():
            yield connection

    @asynccontextmanager
    async def read_snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a read-only, repeatable-read transaction: the several statements of
        one answer see the same data, even while events keep arriving."""
        async with (
            self.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield connection

    async def ping(self, *, timeout_seconds: float) -> bool:
        """A real round trip to the database, which must accept writes (a read-only database,
        during a failover say, cannot take events). Answered within `timeout_seconds` even when
        the network stalls: a late query is cancelled without waiting for the cancellation,
        which can itself wait on the stalled network."""
        probe = asyncio.create_task(self._accepts_writes())
        self._background.add(probe)
        probe.add_done_callback(self._forget)
        done, _ = await asyncio.wait({probe}, timeout=timeout_seconds)
        if not done:
            probe.cancel()
            return False
        return probe.exception() is None and probe.result()

    async def _accepts_writes(self) -> bool:
        async with self.connection() as connection:
            return await connection.fetchval("SHOW transaction_read_only") == "off"

    def _forget(self, task: asyncio.Task[bool]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info("database ping failed: %s", task.exception().__class__.__name__)
