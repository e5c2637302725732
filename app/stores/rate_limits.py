"""Token buckets shared by every worker, kept in PostgreSQL or Redis.

Both implement GCRA (the generic cell rate algorithm), a token bucket stored as one timestamp per
bucket: the "theoretical arrival time" (TAT) of the next request if requests came at exactly
the sustained rate. A request is allowed while TAT - now stays within the burst; each allowed
request pushes TAT one interval later. One atomic statement or script per request, and the
server's clock, not the workers', so workers on different machines agree.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

from app.db.database import Database
from app.errors import RateLimiterUnavailableError


@dataclass(frozen=True)
class BucketDecision:
    allowed: bool
    retry_after_seconds: float


class TokenBuckets(Protocol):
    async def take(self, bucket: str, *, interval_seconds: float, burst: int) -> BucketDecision: ...

    async def close(self) -> None: ...


class PostgresTokenBuckets:
    """Buckets in the unlogged table rate_limit_buckets: no extra service to run."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def take(self, bucket: str, *, interval_seconds: float, burst: int) -> BucketDecision:
        interval = timedelta(seconds=interval_seconds)
        tolerance = interval * burst
        async with self._database.connection() as connection:
            # The WHERE of DO UPDATE refuses the request: then no row comes back.
            taken = await connection.fetchval(
                """
                INSERT INTO rate_limit_buckets AS b (bucket, theoretical_arrival_at)
                VALUES ($1, now() + $2::interval)
                ON CONFLICT (bucket) DO UPDATE
                SET theoretical_arrival_at = greatest(b.theoretical_arrival_at, now()) + $2
                WHERE greatest(b.theoretical_arrival_at, now()) + $2 - $3::interval <= now()
                RETURNING true
                """,
                bucket,
                interval,
                tolerance,
            )
            if taken:
                return BucketDecision(allowed=True, retry_after_seconds=0.0)
            wait = await connection.fetchval(
                """
                SELECT extract(epoch FROM theoretical_arrival_at + $2::interval
                                         - $3::interval - now())
                FROM rate_limit_buckets WHERE bucket = $1
                """,
                bucket,
                interval,
                tolerance,
            )
        return BucketDecision(allowed=False, retry_after_seconds=max(float(wait or 0), 0.0))

    async def close(self) -> None:
        """The pool belongs to the app."""


# KEYS[1]: bucket; ARGV: interval and tolerance in microseconds. Returns 0 when allowed, else
# the microseconds to wait. TIME is Redis's own clock, shared by every worker.
GCRA_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - tolerance - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
"""


class RedisTokenBuckets:
    """Buckets in Redis: in memory, one script call per request, no write load on PostgreSQL."""

    KEY_PREFIX = "nexero:rate:"

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._script = self._client.register_script(GCRA_SCRIPT)

    async def take(self, bucket: str, *, interval_seconds: float, burst: int) -> BucketDecision:
        interval_us = max(round(interval_seconds * 1_000_000), 1)
        try:
            wait_us = await self._script(
                keys=[self.KEY_PREFIX + bucket], args=[interval_us, interval_us * burst]
            )
        except (RedisError, OSError) as error:
            raise RateLimiterUnavailableError() from error
        return BucketDecision(allowed=wait_us == 0, retry_after_seconds=int(wait_us) / 1_000_000)

    async def close(self) -> None:
        await self._client.aclose()
