"""Stream tokens (signed, short-lived, scoped), viewers (dropped, never waited for, when they
fall LIVE_VIEWER_QUEUE_MAX messages behind) and the pace of state reads."""

import asyncio
import time
import uuid

import pytest

from app.errors import UnauthorizedError
from app.services.access.keys import Caller, Scope
from app.services.live.hub import (
    SUMMARY_MAX_SECONDS,
    SUMMARY_MIN_SECONDS,
    SUMMARY_TIME_SHARE,
    Frame,
    Viewer,
    Watch,
    pace_summary,
    summary_due,
)
from app.services.live.tokens import StreamTokens

CALLER = Caller(
    project_id=uuid.uuid4(),
    key_id=uuid.uuid4(),
    key_name="dashboard",
    scopes=frozenset({Scope.READ, Scope.ADMIN}),
)


def test_a_token_stands_for_its_key_with_the_read_scope_only() -> None:
    tokens = StreamTokens(b"s" * 32, ttl_seconds=60)
    issued = tokens.issue(CALLER, session_id=None)
    assert issued.expires_at == pytest.approx(time.time() + 60, abs=5)
    caller = tokens.verify(issued.token, session_id=uuid.uuid4())
    assert (caller.project_id, caller.key_id) == (CALLER.project_id, CALLER.key_id)
    assert caller.scopes == frozenset({Scope.READ})


def test_a_session_token_opens_only_that_session() -> None:
    tokens = StreamTokens(b"s" * 32, ttl_seconds=60)
    session_id = uuid.uuid4()
    token = tokens.issue(CALLER, session_id=session_id).token
    assert tokens.verify(token, session_id=session_id).key_id == CALLER.key_id
    with pytest.raises(UnauthorizedError):
        tokens.verify(token, session_id=uuid.uuid4())
    with pytest.raises(UnauthorizedError):
        tokens.verify(token, session_id=None)  # the project feed


def test_an_expired_or_foreign_token_is_refused() -> None:
    expired = StreamTokens(b"s" * 32, ttl_seconds=0.001)
    token = expired.issue(CALLER, session_id=None).token
    time.sleep(0.01)
    with pytest.raises(UnauthorizedError):
        expired.verify(token, session_id=None)
    other_secret = StreamTokens(b"t" * 32, ttl_seconds=60)
    with pytest.raises(UnauthorizedError):
        other_secret.verify(
            StreamTokens(b"s" * 32, ttl_seconds=60).issue(CALLER, session_id=None).token,
            session_id=None,
        )
    with pytest.raises(UnauthorizedError):
        other_secret.verify("nxl_" + "A" * 500, session_id=None)


def test_a_viewer_takes_up_to_its_queue_and_is_dropped_past_it() -> None:
    viewer = Viewer(asyncio.Queue(maxsize=2))
    assert viewer.offer(Frame(1, b"a")) and viewer.offer(Frame(2, b"b"))
    assert not viewer.dropped
    assert not viewer.offer(Frame(3, b"c"))
    assert viewer.dropped
    assert [viewer.queue.get_nowait().position for _ in range(2)] == [1, 2]


async def test_a_slow_state_read_puts_off_the_next_until_it_took_its_share_of_the_time() -> None:
    watch = Watch(uuid.uuid4(), uuid.uuid4())
    assert summary_due(watch)
    now = asyncio.get_running_loop().time()
    # Quick reads: the next at most once per SUMMARY_MIN_SECONDS.
    pace_summary(watch, started=now)
    assert watch.summary_due_at == pytest.approx(now + SUMMARY_MIN_SECONDS, abs=0.5)
    assert not summary_due(watch)
    # A read that took 5% of that: the next waits until it took SUMMARY_TIME_SHARE (1%).
    took = 0.05 * SUMMARY_MIN_SECONDS
    pace_summary(watch, started=now - took)
    assert watch.summary_due_at >= now - took + took / SUMMARY_TIME_SHARE
    # However slow a read (a database under strain), the next comes within SUMMARY_MAX_SECONDS.
    pace_summary(watch, started=now - 60)
    assert watch.summary_due_at == now - 60 + SUMMARY_MAX_SECONDS
