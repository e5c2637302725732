"""The periodic task that closes sessions whose headsets went quiet."""

import asyncio
import logging

from app.core.errors import DatabaseUnavailableError
from app.services.session_service import SessionService

logger = logging.getLogger(__name__)


async def sweep_inactive_sessions(service: SessionService, *, interval_seconds: float) -> None:
    """Run forever (until cancelled): close inactive sessions, then wait. Safe with several
    replicas, since each sweep is one atomic UPDATE."""
    while True:
        try:
            closed = await service.close_inactive_sessions()
            if closed:
                logger.info("closed inactive sessions", extra={"sessions_closed": closed})
        except DatabaseUnavailableError:
            logger.warning("session sweep skipped: database unavailable")
        except Exception:
            logger.exception("session sweep failed; trying again next interval")
        await asyncio.sleep(interval_seconds)
