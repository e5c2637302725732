"""Client clocks: skew correction and plausibility of the times a headset reports.

Rule (as Segment and PostHog do): when a request carries `sent_at`, the client's clock is off by
`sent_at - received_at`. If that offset exceeds the deadband, every time in the request is shifted
by it; smaller offsets are transit delay and left alone. The corrected time must then fall between
2000-01-01 and MAX_FUTURE_SECONDS after receipt.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.config import Settings

EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)


class ImplausibleTimeError(ValueError):
    pass


@dataclass(frozen=True)
class RequestClock:
    received_at: datetime
    offset: timedelta
    max_future: timedelta

    @classmethod
    def for_request(
        cls,
        *,
        received_at: datetime,
        sent_at: datetime | None,
        deadband_seconds: float,
        max_future_seconds: float,
    ) -> "RequestClock":
        offset = timedelta(0)
        if sent_at is not None:
            skew = received_at - sent_at
            if abs(skew.total_seconds()) > deadband_seconds:
                offset = skew
        return cls(
            received_at=received_at,
            offset=offset,
            max_future=timedelta(seconds=max_future_seconds),
        )

    @classmethod
    def now(cls, settings: Settings, *, sent_at: datetime | None) -> "RequestClock":
        """The clock of a request received now, configured from settings."""
        return cls.for_request(
            received_at=datetime.now(UTC),
            sent_at=sent_at,
            deadband_seconds=settings.CLOCK_SKEW_DEADBAND_SECONDS,
            max_future_seconds=settings.MAX_FUTURE_SECONDS,
        )

    def to_server_time(self, client_time: datetime) -> datetime:
        """The client's time on the server's clock; raises ImplausibleTimeError."""
        try:
            moment = client_time + self.offset
        except OverflowError:
            raise ImplausibleTimeError("is out of range") from None
        if moment < EARLIEST_PLAUSIBLE:
            raise ImplausibleTimeError(f"is before {EARLIEST_PLAUSIBLE.date().isoformat()}")
        if moment > self.received_at + self.max_future:
            raise ImplausibleTimeError(
                f"is more than {self.max_future.total_seconds():g} seconds in the future"
            )
        return moment
