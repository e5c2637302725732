"""The same tour as the original Unreal client sends it (docs/unreal-client.md, "Existing
Blueprint clients"): one record at a time to POST /api/v1/unreal/session, with no session id and
no key of its own (the key's default labels name the property), then a summary whose times are
the headset's local time written for humans.

What that client can say is less than the vocabulary: a view record per room stay, in the order
of the stays, with the time spent as whole-second clock text ("1:05"); a POI record per POI
visit; a unit selection record per unit chosen; and, first, the timer garbage it often sends.
The server lays the records out back to back from the summary's start (docs/ingestion.md, "The
original client"). `OriginalTour.twin` is that same tour in the documented vocabulary, with the
times and whole seconds the records carry: sent as events, it must give the very figures the
records give, and the ground truth (scripts/tours/truth.py) computes them from it.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .truth import event_data, explicit_duration, place_stays, trimmed_name
from .visits import Tour

GARBAGE_FIRST_RECORD = {"View": "", "TotalDuration": "1,77,50,078:30:03"}
RECORD_TYPES = {"room_view": "View", "poi_visit": "POI", "unit_selection": "UnitSelection"}
"""Vocabulary type -> the type a record of that kind is stored and counted as."""


def clock_text(seconds: Decimal) -> str:
    """Whole seconds as the client's timer writes them: m:ss, or h:mm:ss past the hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def human_local_time(moment: datetime, zone: timezone) -> str:
    """'02-Dec-2025, 2:30:00 pm': the headset's local time, as the original client writes it."""
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"
    return f"{local:%d-%b-%Y}, {hour}:{local:%M:%S} {half}"


def _whole_seconds(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class _Step:
    """One record, and the vocabulary event the server makes of it."""

    record: dict[str, Any]
    twin_type: str
    twin_data: dict[str, Any]
    advances: Decimal
    """Seconds the layout moves on after it (a view's duration; 0 for anything else)."""


@dataclass(frozen=True)
class OriginalTour:
    """A tour as the original client sends it, and its twin in the vocabulary."""

    tour: Tour
    steps: list[_Step]
    seconds: int
    """The summary's duration: the tour's, in whole seconds."""
    zone: timezone
    customer_in_summary: bool

    @property
    def records(self) -> list[dict[str, Any]]:
        return [step.record for step in self.steps]

    @property
    def fguid(self) -> str:
        """The session id as an FGuid: 32 hex digits, upper case, no dashes."""
        return self.tour.session_id.replace("-", "").upper()

    def summary(self, ends_at: datetime) -> dict[str, Any]:
        """The summary sent at `ends_at` (whole seconds): start and end in the headset's local
        time, the duration as clock text."""
        starts_at = ends_at - timedelta(seconds=self.seconds)
        body: dict[str, Any] = {
            "session_id": self.fguid,
            "session_start": human_local_time(starts_at, self.zone),
            "session_end": human_local_time(ends_at, self.zone),
            "duration": clock_text(Decimal(self.seconds)),
        }
        if self.customer_in_summary:
            body["customer_id"] = self.tour.customer_id
        return body

    def twin(self, ends_at: datetime, *, session_id: str) -> Tour:
        """The same tour in the vocabulary, ended at `ends_at`, under `session_id` (session ids
        are global: the twin cannot share the original's): each record as the event the server
        lays it out as (at the session's start plus the views before it)."""
        start = ends_at.timestamp() - self.seconds
        at = Decimal(str(start))
        events = []
        for number, step in enumerate(self.steps):
            events.append(
                {
                    "event_type": step.twin_type,
                    "timestamp": float(at),
                    "event_data": step.twin_data,
                    "event_id": f"{session_id[:-12]}{number:012d}",
                }
            )
            at += step.advances
        return Tour(
            session_id=session_id,
            customer_id=self.tour.customer_id if self.customer_in_summary else "",
            property_id=self.tour.property_id,
            device_type=self.tour.device_type,
            session_start=start,
            session_end=ends_at.timestamp(),
            events=events,
        )


def as_original(tour: Tour, *, zone: timezone, customer_in_summary: bool = True) -> OriginalTour:
    """`tour` (closed) as the original client sends it, from a headset in `zone`. Room stays
    become view records (their dwell by the dwell rule, in whole seconds); POI visits and unit
    selections become records sent during the stay they happened in."""
    if tour.session_end is None:
        raise ValueError("the original client sends a tour only when it ends (a summary)")
    stays = [stay for stay in place_stays(tour) if stay.dwell > 0]
    steps = [_Step(dict(GARBAGE_FIRST_RECORD), "room_view", {"room_name": ""}, Decimal(0))]
    stay_index = 0
    for event in sorted(tour.events, key=lambda event: float(event["timestamp"])):
        at_us = round(float(event["timestamp"]) * 1_000_000)
        while stay_index < len(stays) and _stay_ends_before(stays, stay_index, at_us):
            steps.append(_view_step(stays[stay_index].place, stays[stay_index].dwell))
            stay_index += 1
        parent = stays[stay_index].place if stay_index < len(stays) else ""
        if event["event_type"] == "poi_visit":
            steps.append(_poi_step(event_data(event), parent))
        elif event["event_type"] == "unit_selection":
            steps.append(_unit_step(event_data(event), event["timestamp"], zone))
    steps.extend(_view_step(stay.place, stay.dwell) for stay in stays[stay_index:])
    seconds = math.floor(float(tour.session_end) - float(tour.session_start))
    return OriginalTour(tour, steps, seconds, zone, customer_in_summary)


def _stay_ends_before(stays: list, index: int, at_us: int) -> bool:
    """True when the visitor left stay `index` before `at_us` (the next stay began)."""
    return index + 1 < len(stays) and stays[index + 1].timestamp_us <= at_us


def _view_step(place: str, dwell: Decimal) -> _Step:
    seconds = _whole_seconds(dwell)
    return _Step(
        {"View": place, "TotalDuration": clock_text(seconds)},
        "room_view",
        {"room_name": place, "duration": int(seconds)},
        seconds,
    )


def _poi_step(data: dict[str, Any], parent: str) -> _Step:
    name = trimmed_name(data.get("poi")) or ""
    duration = explicit_duration(data.get("duration"))
    record: dict[str, Any] = {"POI": name, "POI_Source": "Floating", "Parent": parent}
    twin: dict[str, Any] = {"poi": name, "zone": parent}
    if duration is None:
        record["POI_Duration"] = GARBAGE_FIRST_RECORD["TotalDuration"]
    else:
        seconds = _whole_seconds(duration)
        record["POI_Duration"] = clock_text(seconds)
        twin["duration"] = int(seconds)
    return _Step(record, "poi_visit", twin, Decimal(0))


def _unit_step(data: dict[str, Any], timestamp: Any, zone: timezone) -> _Step:
    chosen_at = datetime.fromtimestamp(float(timestamp), tz=UTC)
    record = {
        "Name": data.get("name"),
        "Sqft": str(data.get("sqft")),
        "Type": data.get("type"),
        "Datetime": human_local_time(chosen_at, zone),
    }
    twin = {"name": data.get("name"), "sqft": str(data.get("sqft")), "type": data.get("type")}
    return _Step(record, "unit_selection", twin, Decimal(0))
