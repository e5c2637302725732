"""What the live feed reads from the database, through the project's event mapping in force:
tours and a session's state, each in one read-only snapshot; a session's events after a
position (read many times a second while a tour is watched) in two plain statements on one
connection, the mapping then the events, sparing the snapshot's own two round trips (a mapping
saved between them applies from the next read)."""

from decimal import Decimal
from uuid import UUID

from app.db.database import Database
from app.domain.live import LiveEvent, LiveSessionState, LiveTour
from app.domain.vocabulary import DEFAULT_MAPPING
from app.stores.analytics.live import AnalyticsLiveStore
from app.stores.analytics.sessions import AnalyticsStore
from app.stores.live import LiveEventStore
from app.stores.mappings import MappingStore


class LiveReader:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def tours(
        self, project_id: UUID, *, session_ids: list[UUID] | None = None, limit: int
    ) -> list[LiveTour]:
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, project_id).in_force()
            store = AnalyticsLiveStore(connection, project_id, mapping)
            return await store.tours(session_ids=session_ids, limit=limit)

    async def session_state(self, project_id: UUID, session_id: UUID) -> LiveSessionState | None:
        """The session's tour line, dwell so far per room (the analytics' own query) and
        current room; None if the project has no such session."""
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, project_id).in_force()
            tours = await AnalyticsLiveStore(connection, project_id, mapping).tours(
                session_ids=[session_id], limit=1
            )
            if not tours:
                return None
            rooms = await AnalyticsStore(connection, project_id, mapping).session_rooms(session_id)
        dwell = sum((room.dwell_seconds for room in rooms), Decimal(0))
        return LiveSessionState(tour=tours[0], rooms=rooms, dwell_seconds=dwell)

    async def latest_position(self, project_id: UUID, session_id: UUID) -> int:
        async with self._database.connection() as connection:
            return await LiveEventStore(connection, project_id, DEFAULT_MAPPING).latest_position(
                session_id
            )

    async def events_after(
        self, project_id: UUID, session_id: UUID, *, after: int, limit: int
    ) -> list[LiveEvent]:
        async with self._database.connection() as connection:
            mapping = await MappingStore(connection, project_id).in_force()
            return await LiveEventStore(connection, project_id, mapping).events_after(
                session_id, after=after, limit=limit
            )

    async def backlog_start(self, project_id: UUID, session_id: UUID, *, count: int) -> int:
        """The position after which the session's latest `count` events lie."""
        async with self._database.connection() as connection:
            store = LiveEventStore(connection, project_id, DEFAULT_MAPPING)
            return await store.position_before_last(session_id, count=count)
