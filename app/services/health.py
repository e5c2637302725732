"""Liveness and readiness as hosting platforms probe them."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from app.config import Settings
from app.db.database import Database


@dataclass(frozen=True)
class HealthReport:
    database_connected: bool
    checked_at: datetime
    uptime_seconds: float


class HealthService:
    def __init__(self, database: Database, settings: Settings, *, started_monotonic: float) -> None:
        self._database = database
        self._settings = settings
        self._started_monotonic = started_monotonic

    async def check(self) -> HealthReport:
        """Healthy only when the database answers a real query within the health timeout."""
        connected = await self._database.ping(
            timeout_seconds=self._settings.HEALTH_DATABASE_TIMEOUT_SECONDS
        )
        return HealthReport(
            database_connected=connected,
            checked_at=datetime.now(UTC),
            uptime_seconds=time.monotonic() - self._started_monotonic,
        )
