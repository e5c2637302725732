"""The periodic task that closes sessions whose headsets went quiet, and forgets records and
pending events kept past their retention."""

import asyncio
import logging

from app.config import Settings
from app.db.database import Database
from app.errors import DatabaseUnavailableError
from app.observability import metrics
from app.services.ingestion.records import purge_unclaimed
from app.services.ingestion.sessions import close_inactive_sessions

logger = logging.getLogger(__name__)


async def sweep_inactive_sessions(database: Database, settings: Settings) -> None:
    """Run forever (until cancelled): close inactive sessions, then wait. Safe with several
    replicas, since each sweep is one atomic UPDATE."""
    while True:
        try:
            closed = await close_inactive_sessions(database, settings)
            metrics.sessions_timed_out.inc(closed)
            if closed:
                logger.info("closed inactive sessions", extra={"sessions_closed": closed})
            records, events = await purge_unclaimed(database, settings)
            if records or events:
                logger.info(
                    "forgot unclaimed records and pending events past their retention",
                    extra={"records_forgotten": records, "pending_events_forgotten": events},
                )
        except DatabaseUnavailableError:
            logger.warning("session sweep skipped: database unavailable")
        except Exception:
            logger.exception("session sweep failed; trying again next interval")
        await asyncio.sleep(settings.SESSION_SWEEP_INTERVAL_SECONDS)
