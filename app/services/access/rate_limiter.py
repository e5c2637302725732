"""Per-key rate limits: one token bucket for each key and scope, shared by every worker."""

import math
from dataclasses import dataclass

from app.config import Settings
from app.db.database import Database
from app.errors import RateLimitedError
from app.services.access.keys import Caller, Scope
from app.stores.rate_limits import PostgresTokenBuckets, RedisTokenBuckets, TokenBuckets


@dataclass(frozen=True)
class BucketLimit:
    per_second: float
    burst: int


def limits_from(settings: Settings) -> dict[Scope, BucketLimit]:
    return {
        Scope.INGEST: BucketLimit(
            settings.RATE_LIMIT_INGEST_PER_SECOND, settings.RATE_LIMIT_INGEST_BURST
        ),
        Scope.READ: BucketLimit(
            settings.RATE_LIMIT_READ_PER_SECOND, settings.RATE_LIMIT_READ_BURST
        ),
        Scope.ADMIN: BucketLimit(
            settings.RATE_LIMIT_ADMIN_PER_SECOND, settings.RATE_LIMIT_ADMIN_BURST
        ),
        Scope.METRICS: BucketLimit(
            settings.RATE_LIMIT_METRICS_PER_SECOND, settings.RATE_LIMIT_METRICS_BURST
        ),
    }


class RateLimiter:
    def __init__(self, buckets: TokenBuckets, limits: dict[Scope, BucketLimit]) -> None:
        self._buckets = buckets
        self._limits = limits

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> "RateLimiter":
        buckets: TokenBuckets
        if settings.RATE_LIMIT_BACKEND == "redis":
            assert settings.REDIS_URL is not None  # checked by Settings
            buckets = RedisTokenBuckets(
                settings.REDIS_URL.get_secret_value(),
                timeout_seconds=settings.RATE_LIMIT_TIMEOUT_SECONDS,
            )
        else:
            buckets = PostgresTokenBuckets(database)
        return cls(buckets, limits_from(settings))

    async def check(self, caller: Caller, scope: Scope) -> None:
        """Spend one token of the caller's bucket for this scope, or raise 429."""
        limit = self._limits[scope]
        decision = await self._buckets.take(
            f"{caller.rate_limit_bucket}:{scope.value}",
            interval_seconds=1 / limit.per_second,
            burst=limit.burst,
        )
        if not decision.allowed:
            raise RateLimitedError(max(1, math.ceil(decision.retry_after_seconds)))

    async def close(self) -> None:
        await self._buckets.close()
