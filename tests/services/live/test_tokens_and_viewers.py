"""Stream tokens (signed, short-lived, scoped) and viewers (dropped, never waited for, when they
fall LIVE_VIEWER_QUEUE_MAX messages behind)."""

import asyncio
import time
import uuid

import pytest

from app.errors import UnauthorizedError
from app.services.access.keys import Caller, Scope
from app.services.live.hub import Frame, Viewer
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
