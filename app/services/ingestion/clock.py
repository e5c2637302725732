"""Client clocks: skew correction and plausibility of the times a headset reports.

Rule (as Segment and PostHog do): when a request carries `sent_at`, the client's clock is off by
`sent_at - received_at`. If that offset exceeds the deadband, every time in the request is shifted
by it; smaller offsets are transit delay and left alone (a measured offset of zero). The first
offset measured for a session becomes the session's own (vr_sessions.clock_offset): requests
about it without `sent_at` are converted with it, so a session's start, end and events share one
clock (docs/ingestion.md). The corrected time must then fall between 2000-01-01 and
MAX_FUTURE_SECONDS after receipt.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Literal

from app.config import Settings
from app.domain.events import EARLIEST_PLAUSIBLE

NO_OFFSET = timedelta(0)
QUARTER_HOUR = timedelta(minutes=15)
# UTC-12:00 to UTC+14:00: what a real clock's offset can be.
UTC_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))

LocalTimeRule = Literal["sent_at", "session_end", "project_time_zone"]


@dataclass(frozen=True)
class LocalTimes:
    """How the times of a request that carry no UTC offset are read (docs/ingestion.md, "Local
    times"): in `zone`, found by `rule`."""

    zone: tzinfo
    rule: LocalTimeRule

    def to_utc(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)


def revealed_local_times(
    local_moment: datetime, *, received_at: datetime, rule: LocalTimeRule
) -> LocalTimes | None:
    """The UTC offset a local time written at the moment of sending reveals (its difference
    from the receive time, to the nearest quarter hour); None when that is no real offset."""
    offset = QUARTER_HOUR * round((local_moment.replace(tzinfo=UTC) - received_at) / QUARTER_HOUR)
    if not UTC_OFFSETS[0] <= offset <= UTC_OFFSETS[1]:
        return None
    return LocalTimes(zone=timezone(offset), rule=rule)


class ImplausibleTimeError(ValueError):
    pass


@dataclass(frozen=True)
class RequestClock:
    received_at: datetime
    measured_offset: timedelta | None
    """What this request's `sent_at` says of the client's clock (server - client); zero within
    the deadband; None when the request carries no `sent_at`."""
    max_future: timedelta
    deadband: timedelta
    local: LocalTimes | None = None
    """How this request's times without a UTC offset are read; None when it has none."""

    @classmethod
    def for_request(
        cls,
        *,
        received_at: datetime,
        sent_at: datetime | None,
        deadband_seconds: float,
        max_future_seconds: float,
        local: LocalTimes | None = None,
    ) -> "RequestClock":
        measured = None
        if sent_at is not None:
            if sent_at.tzinfo is None:
                sent_at = _localized(sent_at, local)
            skew = received_at - sent_at
            measured = skew if abs(skew.total_seconds()) > deadband_seconds else NO_OFFSET
        return cls(
            received_at=received_at,
            measured_offset=measured,
            max_future=timedelta(seconds=max_future_seconds),
            deadband=timedelta(seconds=deadband_seconds),
            local=local,
        )

    @classmethod
    def now(
        cls,
        settings: Settings,
        *,
        sent_at: datetime | None,
        received_at: datetime | None = None,
        local: LocalTimes | None = None,
    ) -> "RequestClock":
        """The clock of a request received now (or at `received_at`), configured from
        settings."""
        return cls.for_request(
            received_at=received_at or datetime.now(UTC),
            sent_at=sent_at,
            deadband_seconds=settings.CLOCK_SKEW_DEADBAND_SECONDS,
            max_future_seconds=settings.MAX_FUTURE_SECONDS,
            local=local,
        )

    def offset_for(self, session_offset: timedelta | None) -> timedelta:
        """What converts this request's times for a session: the request's own measurement,
        else the session's clock offset, else nothing."""
        if self.measured_offset is not None:
            return self.measured_offset
        return session_offset or NO_OFFSET

    def to_server_time(self, client_time: datetime, *, offset: timedelta | None = None) -> datetime:
        """The client's time on the server's clock, shifted by `offset` (by default the
        request's own); raises ImplausibleTimeError. A time without a UTC offset is read as
        this request's local time first."""
        try:
            moment = self.as_utc(client_time) + (
                self.offset_for(None) if offset is None else offset
            )
        except OverflowError:
            raise ImplausibleTimeError("is out of range") from None
        return self.check_plausible(moment)

    def as_utc(self, client_time: datetime) -> datetime:
        """The client's time as it is, in UTC: a time without a UTC offset is read as this
        request's local time (no clock correction yet)."""
        if client_time.tzinfo is None:
            return _localized(client_time, self.local)
        return client_time

    def moves_earlier_times(self, started_at: datetime) -> bool:
        """Whether the offset this request measured also applies to what a session stored
        before in the headset's clock (its start, say): only if it keeps the start plausible,
        not after now. A shift that would put the start in the future means the headset's clock
        changed during the tour (a reset to 1970, say), so only later times are converted."""
        if self.measured_offset is None:
            return False
        try:
            moved = started_at + self.measured_offset
        except OverflowError:
            return False
        return EARLIEST_PLAUSIBLE <= moved <= self.received_at + self.deadband

    def check_plausible(self, moment: datetime) -> datetime:
        if moment < EARLIEST_PLAUSIBLE:
            raise ImplausibleTimeError(f"is before {EARLIEST_PLAUSIBLE.date().isoformat()}")
        if moment > self.received_at + self.max_future:
            raise ImplausibleTimeError(
                f"is more than {self.max_future.total_seconds():g} seconds in the future"
            )
        return moment


def _localized(local: datetime, rule: LocalTimes | None) -> datetime:
    if rule is None:
        # The services resolve a rule for every request that holds a local time.
        raise ImplausibleTimeError("has no UTC offset, and no rule says whose clock it is")
    try:
        return rule.to_utc(local)
    except OverflowError:
        raise ImplausibleTimeError("is out of range") from None
