"""Local times: headsets write times without a UTC offset (Unreal's FDateTime::ToString(), the
original client's "02-Dec-2025, 2:30:00 pm", ISO 8601 without an offset). Which offset they
have is decided once per request (docs/ingestion.md, "Local times"):

1. a local `sent_at`, against the receive time, to the nearest quarter hour;
2. else a local session end, which the client writes as it sends it (the original client's
   summary, or an end), the same way;
3. else the project's time zone (default UTC).
"""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.config import Settings
from app.db.database import Database
from app.services.ingestion.clock import LocalTimes, RequestClock, revealed_local_times
from app.stores.access import AccessStore


async def local_times_for(
    database: Database,
    project_id: uuid.UUID,
    *,
    received_at: datetime,
    times: Iterable[datetime | None],
    sent_at: datetime | None,
    session_end: datetime | None = None,
) -> LocalTimes | None:
    """How this request's local times are read; None when none of its times is local."""
    if not any(moment is not None and moment.tzinfo is None for moment in (*times, sent_at)):
        return None
    for moment, rule in ((sent_at, "sent_at"), (session_end, "session_end")):
        if moment is not None and moment.tzinfo is None:
            revealed = revealed_local_times(moment, received_at=received_at, rule=rule)
            if revealed is not None:
                return revealed
    async with database.connection() as connection:
        project = await AccessStore(connection).get_project(project_id)
    time_zone = project.time_zone if project is not None else "UTC"
    return LocalTimes(zone=ZoneInfo(time_zone), rule="project_time_zone")


async def request_clock(
    database: Database,
    settings: Settings,
    project_id: uuid.UUID,
    *,
    times: Iterable[datetime | None],
    sent_at: datetime | None,
    session_end: datetime | None = None,
) -> RequestClock:
    """The clock of a request received now: its sent_at, and how its local times are read."""
    received_at = datetime.now(UTC)
    local = await local_times_for(
        database,
        project_id,
        received_at=received_at,
        times=times,
        sent_at=sent_at,
        session_end=session_end,
    )
    return RequestClock.now(settings, sent_at=sent_at, received_at=received_at, local=local)
