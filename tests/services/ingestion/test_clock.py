"""Clock skew correction and plausibility, at and past each edge."""

from datetime import UTC, datetime, timedelta

import pytest

from app.services.ingestion.clock import ImplausibleTimeError, RequestClock

RECEIVED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def clock(sent_at: datetime | None, *, deadband: float = 10, max_future: float = 86_400):
    return RequestClock.for_request(
        received_at=RECEIVED,
        sent_at=sent_at,
        deadband_seconds=deadband,
        max_future_seconds=max_future,
    )


def test_skew_at_the_deadband_is_measured_as_zero() -> None:
    assert clock(RECEIVED - timedelta(seconds=10)).measured_offset == timedelta(0)
    assert clock(RECEIVED + timedelta(seconds=10)).measured_offset == timedelta(0)


def test_skew_past_the_deadband_shifts_client_times() -> None:
    skewed = clock(RECEIVED - timedelta(seconds=10, microseconds=1))
    client_time = RECEIVED - timedelta(minutes=5)

    assert skewed.measured_offset == timedelta(seconds=10, microseconds=1)
    assert skewed.to_server_time(client_time) == client_time + skewed.measured_offset


def test_without_sent_at_times_are_kept() -> None:
    assert clock(None).measured_offset is None
    assert clock(None).to_server_time(RECEIVED) == RECEIVED


def test_a_request_without_sent_at_takes_the_session_offset() -> None:
    session_offset = timedelta(days=400)

    assert clock(None).offset_for(session_offset) == session_offset
    assert clock(None).offset_for(None) == timedelta(0)


def test_a_request_with_sent_at_keeps_its_own_offset_over_the_session_one() -> None:
    """Its own measurement is the better one, even a zero (the headset's clock was fixed)."""
    on_time = clock(RECEIVED - timedelta(seconds=2))
    behind = clock(RECEIVED - timedelta(hours=1))

    assert on_time.offset_for(timedelta(days=400)) == timedelta(0)
    assert behind.offset_for(timedelta(days=400)) == timedelta(hours=1)


def test_future_limit_is_inclusive() -> None:
    plain = clock(None)

    assert plain.to_server_time(RECEIVED + timedelta(days=1)) == RECEIVED + timedelta(days=1)
    with pytest.raises(ImplausibleTimeError, match="future"):
        plain.to_server_time(RECEIVED + timedelta(days=1, microseconds=1))


def test_times_before_2000_are_refused() -> None:
    plain = clock(None)

    assert plain.to_server_time(datetime(2000, 1, 1, tzinfo=UTC)).year == 2000
    with pytest.raises(ImplausibleTimeError, match="before 2000"):
        plain.to_server_time(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))


def test_correction_that_overflows_is_refused_not_crashed() -> None:
    far_behind = clock(datetime(2000, 1, 1, tzinfo=UTC))

    with pytest.raises(ImplausibleTimeError):
        far_behind.to_server_time(datetime(9999, 12, 31, tzinfo=UTC))
