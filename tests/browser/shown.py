"""What the dashboard shows for a value of the API: the rules of app/dashboard/js/format.js,
in Python. JavaScript rounds the exact binary value half away from zero (toFixed, and
Math.round for the values >= 0 it is given), and so do these."""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NONE = "–"


def _rounded(value: float, places: str) -> Decimal:
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def shown_count(value: float | None) -> str:
    return NONE if value is None else f"{int(_rounded(value, '1')):,}"


def shown_duration(seconds: float | None) -> str:
    if seconds is None:
        return NONE
    total = int(_rounded(seconds, "1"))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def shown_percent(share: float | None) -> str:
    return NONE if share is None else f"{_rounded(share * 100, '0.1')}%"


def shown_change(relative: float) -> str:
    text = f"{_rounded(abs(relative) * 100, '0.1')}%"
    return f"+{text}" if relative > 0 else (f"-{text}" if relative < 0 else f"±{text}")


def shown_score(value: float) -> str:
    return str(_rounded(value, "0.1"))


def shown_time(iso: str | None) -> str:
    if iso is None:
        return NONE
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def shown_status(session: dict[str, Any]) -> str:
    if session["status"] == "active":
        return "active"
    return "timed out" if session["end_reason"] == "timed_out" else "completed"
