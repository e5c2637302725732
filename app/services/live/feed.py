"""The streams a viewer opens: the project feed (tours in progress) and one session's feed (its
events as they are stored, its dwell so far and current room), as Server-Sent Events.

A session's events carry their position as the SSE id. A viewer that reconnects with
Last-Event-ID N gets every event after N from the database, then the live ones it has not had:
positions follow the session's commit order, so nothing is missed or sent twice. The project
feed's messages are whole tour lines: after a reconnection it starts again from the full list."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

from app.config import Settings
from app.errors import NotFoundError, StreamLimitError
from app.models.live import LiveSessionMessage
from app.observability import metrics
from app.services.access.keys import Caller
from app.services.live.hub import EVENTS_PAGE, Frame, LiveHub, Viewer, now_utc, sse_frame

# Browsers reconnect this soon after a stream ends or breaks.
RETRY_FRAME = b"retry: 1000\n\n"
SESSION_NOT_FOUND = "Session not found"
# A comment line: keeps proxies from closing a quiet stream, and finds vanished viewers.
KEEPALIVE = Frame(None, b": keepalive\n\n")
# The most frames written at once: what a viewer's queue holds when it is read goes out in one
# write (one system call, not one per event), up to this many.
WRITE_MAX_FRAMES = 500


class LiveFeed:
    """The streams of one caller's project."""

    def __init__(self, hub: LiveHub, settings: Settings, *, caller: Caller) -> None:
        self._hub = hub
        self._settings = settings
        self._caller = caller

    async def project_stream(self) -> AsyncIterator[bytes]:
        """The project feed; 429 when the key has LIVE_STREAMS_PER_KEY streams open."""
        stream_id = await self._open()
        return self._project_frames(stream_id)

    async def session_stream(
        self, session_id: uuid.UUID, *, last_event_id: int | None
    ) -> AsyncIterator[bytes]:
        """One session's feed, after position `last_event_id` if given (else starting with
        its latest LIVE_BACKLOG_MAX_EVENTS events); 404 for a session the project lacks."""
        project_id = self._caller.project_id
        state = await self._hub.reader.session_state(project_id, session_id)
        if state is None:
            raise NotFoundError(SESSION_NOT_FOUND)
        stream_id = await self._open()
        return self._session_frames(stream_id, session_id, last_event_id)

    async def _open(self) -> uuid.UUID:
        stream_id = await self._hub.open_stream(
            key_id=self._caller.key_id, project_id=self._caller.project_id
        )
        if stream_id is None:
            raise StreamLimitError(
                self._settings.LIVE_STREAMS_PER_KEY, self._settings.RETRY_AFTER_SECONDS
            )
        return stream_id

    async def _project_frames(self, stream_id: uuid.UUID) -> AsyncIterator[bytes]:
        viewer = self._hub.watch_project(self._caller.project_id)
        try:
            yield RETRY_FRAME
            yield await self._hub.tours_frame(self._caller.project_id)
            async for frames in self._writes(viewer):
                yield b"".join(frame.payload for frame in frames)
        finally:
            self._hub.leave(viewer)
            self._hub.forget_stream(stream_id)

    async def _session_frames(
        self, stream_id: uuid.UUID, session_id: uuid.UUID, last_event_id: int | None
    ) -> AsyncIterator[bytes]:
        project_id = self._caller.project_id
        reader = self._hub.reader
        # Watch first, read the past second: what is stored meanwhile comes either way, and
        # positions tell which frames were sent already.
        viewer = await self._hub.watch_session(project_id, session_id)
        try:
            yield RETRY_FRAME
            state = await reader.session_state(project_id, session_id)
            if state is not None:
                message = LiveSessionMessage.of(state, server_time=now_utc())
                yield sse_frame("state", message.model_dump_json())
            sent = last_event_id
            if sent is None:
                sent = await reader.backlog_start(
                    project_id, session_id, count=self._settings.LIVE_BACKLOG_MAX_EVENTS
                )
            while True:
                events = await reader.events_after(
                    project_id, session_id, after=sent, limit=EVENTS_PAGE
                )
                if events:
                    yield b"".join(
                        sse_frame("tour_event", event.message_json, event_id=event.position)
                        for event in events
                    )
                    sent = max(sent, events[-1].position)
                if len(events) < EVENTS_PAGE:
                    break
            async for frames in self._writes(viewer):
                unsent = []
                for frame in frames:
                    if frame.position is not None:
                        if frame.position <= sent:
                            continue
                        sent = frame.position
                    unsent.append(frame)
                if unsent:
                    note_delivery(unsent)
                    yield b"".join(frame.payload for frame in unsent)
        finally:
            self._hub.leave(viewer)
            self._hub.forget_stream(stream_id)

    async def _writes(self, viewer: Viewer) -> AsyncIterator[list[Frame]]:
        """The viewer's frames, as many at once as it has queued (up to WRITE_MAX_FRAMES), a
        comment every LIVE_KEEPALIVE_SECONDS when there are none (so a vanished viewer is
        noticed), until LIVE_STREAM_MAX_SECONDS or it is dropped."""
        loop = asyncio.get_running_loop()
        ends_at = loop.time() + self._settings.LIVE_STREAM_MAX_SECONDS
        keepalive = self._settings.LIVE_KEEPALIVE_SECONDS
        while not viewer.dropped:
            remaining = ends_at - loop.time()
            if remaining <= 0:
                return
            try:
                frame = await asyncio.wait_for(
                    viewer.queue.get(), timeout=min(keepalive, remaining)
                )
            except TimeoutError:
                yield [KEEPALIVE]
                continue
            frames = [frame]
            while len(frames) < WRITE_MAX_FRAMES and not viewer.queue.empty():
                frames.append(viewer.queue.get_nowait())
            yield frames


def note_delivery(frames: list[Frame]) -> None:
    """Time the oldest event of a write, from its request's arrival (nexero_live_delivery)."""
    received = [frame.received_at for frame in frames if frame.received_at is not None]
    if received:
        metrics.live_delivery.observe(max(0.0, time.time() - min(received)))
