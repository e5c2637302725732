"""One hub per worker: it hears of every stored event through PostgreSQL's LISTEN (one
dedicated connection per worker, never one per viewer), reads what changed once, and hands the
same frames to each of its viewers.

A notification names a project and session (the trigger of migration 0018). For a watched
session the hub reads the events after the last position it read, in commit order, then the
session's state; for a watched project it reads the tour lines of the sessions named since its
last read. One read per session at a time: notifications arriving meanwhile are merged into the
next read, at most one every REFRESH_MIN_SECONDS.

Viewers never slow ingestion: nothing here runs inside a write, and a viewer whose queue is full
(LIVE_VIEWER_QUEUE_MAX) is dropped, not waited for. Without a connection that can LISTEN (behind
a transaction pooler, no LIVE_DATABASE_URL), each watched session and project is read every
LIVE_POLL_SECONDS instead: still once per worker, whatever the number of viewers."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg

from app.config import Settings
from app.db.database import Database, redacted, statement_cache_size_for
from app.errors import ServiceUnavailableError
from app.models.live import LiveSessionMessage, LiveTourResponse
from app.observability import metrics
from app.services.live.reader import LiveReader
from app.stores.live import LiveStreamStore

logger = logging.getLogger(__name__)

CHANNEL = "nexero_live"
REFRESH_MIN_SECONDS = 0.1
# A session's state (dwell so far per room, current room) reads the whole tour: at most once
# per SUMMARY_MIN_SECONDS per watched session and worker, however busy the tour, and a read
# that took t seconds waits t / SUMMARY_TIME_SHARE before the next (a very long tour's state
# comes less often rather than costing ingestion more), but never more than
# SUMMARY_MAX_SECONDS. A project's tour lines likewise.
SUMMARY_MIN_SECONDS = 1.0
SUMMARY_TIME_SHARE = 0.01
SUMMARY_MAX_SECONDS = 10.0
EVENTS_PAGE = 500
RECONNECT_SECONDS = 1.0
# A quiet LISTEN connection is probed this often, so a dead one is noticed (and replaced).
PROBE_SECONDS = 10.0
# Open streams are marked seen this often; a stream not seen for STREAM_STALE counts no more.
STREAM_HEARTBEAT_SECONDS = 10.0
STREAM_STALE = timedelta(seconds=3 * STREAM_HEARTBEAT_SECONDS)


def sse_frame(event: str, data: str, *, event_id: int | None = None) -> bytes:
    """One Server-Sent Events message (data is JSON: one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Frame:
    position: int | None
    """For a session's event: its position (a viewer skips those it has sent already)."""
    payload: bytes
    received_at: float | None = None
    """For a session's event: when its request arrived (seconds since the epoch)."""


@dataclass(eq=False)
class Viewer:
    """One open stream's queue. `dropped` once it fell LIVE_VIEWER_QUEUE_MAX frames behind."""

    queue: asyncio.Queue[Frame]
    dropped: bool = False

    def offer(self, frame: Frame) -> bool:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped = True
            # Wake the stream so that it notices (the queue is full: it has frames to take).
            return False
        return True


@dataclass(eq=False)
class Watch:
    """What this worker's viewers watch of one session or one project."""

    project_id: uuid.UUID
    session_id: uuid.UUID | None
    viewers: set[Viewer] = field(default_factory=set)
    position: int = 0
    dirty: bool = False
    dirty_sessions: set[uuid.UUID] = field(default_factory=set)
    everything: bool = False
    """The project's whole list is to be read again (after a gap in notifications)."""
    summary_pending: bool = False
    summary_due_at: float = float("-inf")
    task: asyncio.Task[None] | None = None
    summary_task: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(self, database: Database, settings: Settings, *, listen_dsn: str | None) -> None:
        self._database = database
        self._settings = settings
        self._reader = LiveReader(database)
        self._listen_dsn = listen_dsn
        self._sessions: dict[uuid.UUID, Watch] = {}
        self._projects: dict[uuid.UUID, Watch] = {}
        self._streams: set[uuid.UUID] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.listening = False

    @property
    def reader(self) -> LiveReader:
        return self._reader

    @property
    def mode(self) -> str:
        return "listen" if self._listen_dsn else "poll"

    def start(self) -> None:
        background: list[Callable[[], Awaitable[None]]] = [self._mark_streams_seen]
        background.append(self._listen if self._listen_dsn else self._poll)
        self._tasks = [asyncio.create_task(run()) for run in background]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        watch_tasks = [
            task
            for watch in (*self._sessions.values(), *self._projects.values())
            for task in (watch.task, watch.summary_task)
            if task is not None
        ]
        for task in watch_tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._closing, *watch_tasks, return_exceptions=True)

    # Streams, counted per key across workers.

    async def open_stream(self, *, key_id: uuid.UUID, project_id: uuid.UUID) -> uuid.UUID | None:
        """A new stream's id, or None when the key has LIVE_STREAMS_PER_KEY open already."""
        stream_id = uuid.uuid4()
        async with self._database.transaction() as connection:
            opened = await LiveStreamStore(connection).open(
                stream_id,
                key_id=key_id,
                project_id=project_id,
                limit=self._settings.LIVE_STREAMS_PER_KEY,
                stale_after=STREAM_STALE,
            )
        if not opened:
            return None
        self._streams.add(stream_id)
        return stream_id

    def forget_stream(self, stream_id: uuid.UUID) -> None:
        """A stream ended: it stops counting (in a task of its own, as the stream's may be
        cancelled already when its client went away)."""
        self._streams.discard(stream_id)
        task = asyncio.create_task(self._close_stream(stream_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_stream(self, stream_id: uuid.UUID) -> None:
        try:
            async with self._database.connection() as connection:
                await LiveStreamStore(connection).close([stream_id])
        except ServiceUnavailableError:
            logger.info("ended stream still counted for %s: database unavailable", STREAM_STALE)

    async def _mark_streams_seen(self) -> None:
        while True:
            await asyncio.sleep(STREAM_HEARTBEAT_SECONDS)
            try:
                async with self._database.connection() as connection:
                    await LiveStreamStore(connection).mark_seen(
                        list(self._streams), stale_after=STREAM_STALE
                    )
            except ServiceUnavailableError:
                logger.warning("open live streams not marked seen: database unavailable")

    # Viewers.

    def _new_viewer(self) -> Viewer:
        return Viewer(asyncio.Queue(maxsize=self._settings.LIVE_VIEWER_QUEUE_MAX))

    async def watch_session(self, project_id: uuid.UUID, session_id: uuid.UUID) -> Viewer:
        """A viewer of the session's events stored from now on (and its state after each)."""
        viewer = self._new_viewer()
        watch = self._sessions.get(session_id)
        if watch is None or watch.project_id != project_id:
            position = await self._reader.latest_position(project_id, session_id)
            watch = self._sessions.get(session_id)
            if watch is None:
                watch = Watch(project_id, session_id, position=position)
                self._sessions[session_id] = watch
        watch.viewers.add(viewer)
        return viewer

    def watch_project(self, project_id: uuid.UUID) -> Viewer:
        viewer = self._new_viewer()
        watch = self._projects.setdefault(project_id, Watch(project_id, None))
        watch.viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        for watches in (self._sessions, self._projects):
            for key, watch in list(watches.items()):
                watch.viewers.discard(viewer)
                if not watch.viewers:
                    for task in (watch.task, watch.summary_task):
                        if task is not None:
                            task.cancel()
                    del watches[key]

    def viewers(self) -> int:
        return sum(len(w.viewers) for w in (*self._sessions.values(), *self._projects.values()))

    # Notifications.

    def notify(self, project_id: uuid.UUID, session_id: uuid.UUID) -> None:
        """Something of the session was stored: read it for whoever watches it here."""
        watch = self._sessions.get(session_id)
        if watch is not None and watch.project_id == project_id:
            watch.dirty = True
            self._run(watch, self._refresh_session)
        project = self._projects.get(project_id)
        if project is not None:
            project.dirty_sessions.add(session_id)
            self._run(project, self._refresh_project)

    def catch_up(self) -> None:
        """Notifications may have been missed (no listener, or polling): read everything."""
        for watch in list(self._sessions.values()):
            watch.dirty = True
            self._run(watch, self._refresh_session)
        for project in list(self._projects.values()):
            project.everything = True
            self._run(project, self._refresh_project)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        project_text, _, session_text = payload.partition(":")
        try:
            self.notify(uuid.UUID(project_text), uuid.UUID(session_text))
        except ValueError:
            logger.warning("live notification not understood: %r", payload[:100])

    def _run(self, watch: Watch, refresh: Callable[[Watch], Awaitable[None]]) -> None:
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(self._refreshing(watch, refresh))

    async def _refreshing(self, watch: Watch, refresh: Callable[[Watch], Awaitable[None]]) -> None:
        while watch.viewers and (
            watch.dirty or watch.dirty_sessions or watch.everything or watch.summary_pending
        ):
            try:
                await refresh(watch)
            except ServiceUnavailableError:
                logger.warning("live read failed: database unavailable; retrying")
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            await asyncio.sleep(REFRESH_MIN_SECONDS)

    async def _refresh_session(self, watch: Watch) -> None:
        assert watch.session_id is not None
        if watch.dirty:
            watch.dirty = False
            watch.summary_pending = True
            await self._send_new_events(watch)
        summary_busy = watch.summary_task is not None and not watch.summary_task.done()
        if watch.summary_pending and not summary_busy and summary_due(watch):
            # In a task of its own: reading the whole tour never holds back its new events.
            watch.summary_pending = False
            watch.summary_task = asyncio.create_task(self._send_state(watch))

    async def _send_state(self, watch: Watch) -> None:
        assert watch.session_id is not None
        started = asyncio.get_running_loop().time()
        try:
            state = await self._reader.session_state(watch.project_id, watch.session_id)
        except ServiceUnavailableError:
            watch.summary_pending = True
            logger.warning("live state not read: database unavailable; retrying")
            return
        pace_summary(watch, started=started)
        if state is not None:
            data = LiveSessionMessage.of(state, server_time=now_utc()).model_dump_json()
            self._broadcast(watch, Frame(None, sse_frame("state", data)))

    async def _send_new_events(self, watch: Watch) -> None:
        assert watch.session_id is not None
        while True:
            events = await self._reader.events_after(
                watch.project_id, watch.session_id, after=watch.position, limit=EVENTS_PAGE
            )
            for event in events:
                frame = sse_frame("tour_event", event.message_json, event_id=event.position)
                self._broadcast(watch, Frame(event.position, frame, event.received_at))
            if events:
                watch.position = events[-1].position
            if len(events) < EVENTS_PAGE:
                break

    async def _refresh_project(self, watch: Watch) -> None:
        if not summary_due(watch):
            return
        started = asyncio.get_running_loop().time()
        await self._send_tours(watch)
        pace_summary(watch, started=started)

    async def _send_tours(self, watch: Watch) -> None:
        if watch.everything:
            watch.everything = False
            watch.dirty_sessions.clear()
            frame = await self.tours_frame(watch.project_id)
            self._broadcast(watch, Frame(None, frame))
            return
        named, watch.dirty_sessions = sorted(watch.dirty_sessions), set()
        tours = await self._reader.tours(watch.project_id, session_ids=named, limit=len(named))
        for tour in tours:
            data = LiveTourResponse.of(tour).model_dump_json()
            self._broadcast(watch, Frame(None, sse_frame("tour", data)))

    async def tours_frame(self, project_id: uuid.UUID) -> bytes:
        """The `tours` message: every tour in progress now."""
        tours = await self._reader.tours(project_id, limit=self._settings.LIVE_TOURS_MAX)
        data = '{"server_time":"%s","tours":[%s]}' % (  # noqa: UP031 (already JSON)
            now_utc().isoformat().replace("+00:00", "Z"),
            ",".join(LiveTourResponse.of(tour).model_dump_json() for tour in tours),
        )
        return sse_frame("tours", data)

    def _broadcast(self, watch: Watch, frame: Frame) -> None:
        for viewer in list(watch.viewers):
            if not viewer.offer(frame):
                logger.info("live viewer dropped: %s frames behind", viewer.queue.maxsize)
                metrics.live_viewers_dropped.inc()
                watch.viewers.discard(viewer)

    # Hearing of what was stored.

    async def _listen(self) -> None:
        assert self._listen_dsn is not None
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(
                    self._listen_dsn,
                    timeout=self._settings.DATABASE_CONNECT_TIMEOUT_SECONDS,
                    statement_cache_size=statement_cache_size_for(self._listen_dsn, None),
                    server_settings={"application_name": "nexero-live"},
                )
                lost = asyncio.Event()
                connection.add_termination_listener(partial(_set_on_termination, lost))
                await connection.add_listener(CHANNEL, self._on_notification)
                self.listening = True
                self.catch_up()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=PROBE_SECONDS)
                    if not lost.is_set():
                        await connection.execute("SELECT 1", timeout=PROBE_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                logger.warning(
                    "live LISTEN connection to %s lost (%s); reconnecting",
                    redacted(self._listen_dsn),
                    error.__class__.__name__,
                )
            finally:
                self.listening = False
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._settings.LIVE_POLL_SECONDS)
            self.catch_up()


def summary_due(watch: Watch) -> bool:
    """Whether the watch's summary may be read again now."""
    return asyncio.get_running_loop().time() >= watch.summary_due_at


def pace_summary(watch: Watch, *, started: float) -> None:
    """After a summary read that began at `started`: the next SUMMARY_MIN_SECONDS later, or
    later if this one took more than SUMMARY_TIME_SHARE of that, SUMMARY_MAX_SECONDS at most.
    (A read that failed sets no pace: it is retried as soon as the database answers.)"""
    took = asyncio.get_running_loop().time() - started
    wait = min(SUMMARY_MAX_SECONDS, max(SUMMARY_MIN_SECONDS, took / SUMMARY_TIME_SHARE))
    watch.summary_due_at = started + wait


def _set_on_termination(lost: asyncio.Event, _connection: object) -> None:
    lost.set()


def listen_dsn_for(settings: Settings, database_dsn: str) -> str | None:
    """Where to LISTEN: LIVE_DATABASE_URL, else DATABASE_URL unless it is a transaction pooler
    (which would not keep the LISTEN): a pooler's address, or prepared statements turned off
    (DATABASE_STATEMENT_CACHE_SIZE=0, as behind one). None: poll instead."""
    if settings.LIVE_DATABASE_URL is not None:
        return settings.LIVE_DATABASE_URL.get_secret_value()
    if statement_cache_size_for(database_dsn, settings.DATABASE_STATEMENT_CACHE_SIZE) == 0:
        return None
    return database_dsn
