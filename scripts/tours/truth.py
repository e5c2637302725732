"""Ground truth for analytics: the figures an analytics API must return for a set of tours,
computed from the tours alone, in plain Python, with no SQL and nothing from app/.

The rules are the ones written down in docs/events.md; the dwell rule in particular is THE
definition every analytics query must follow. Times are converted the way the ingestion API
converts them (Unix seconds to a microsecond timestamp), and durations are added as exact
decimals, so a correct API gives exactly these numbers (returned here as floats).
"""

import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

# Where each place event keeps the name of its place.
PLACE_NAME_FIELDS = {"room_view": "room_name", "zone_enter": "zone_name", "zone_exit": "zone_name"}
# zone_exit only closes the previous place: it has no dwell of its own.
DWELLING_PLACE_EVENTS = frozenset({"room_view", "zone_enter"})
MAX_EXPLICIT_DURATION_SECONDS = Decimal(86400)
# A numeric string, once trimmed (docs/events.md): an optional sign, ASCII digits with an
# optional decimal point, an optional exponent of one to four digits. The same pattern as the
# SQL's (NUMERIC_TEXT_PATTERN in app/stores/analytics/vocabulary.py); `[0-9]`, not `\d`, which would
# take other scripts' digits too.
NUMERIC_TEXT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?$")
# Clock text (docs/events.md): m:ss and h:mm:ss, seconds with an optional fraction; the same
# patterns as the SQL's (app/stores/analytics/vocabulary.py).
MINUTES_CLOCK = re.compile(r"^[0-9]{1,7}:[0-5]?[0-9](\.[0-9]{1,6})?$")
HOURS_CLOCK = re.compile(r"^[0-9]{1,5}:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$")
# Divided figures (means, medians, per session) are rounded to the millisecond, rates to four
# decimals, half away from zero, as PostgreSQL's round() does (docs/analytics.md, "Precision").
MILLISECOND = Decimal("0.001")
RATE_PRECISION = Decimal("0.0001")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_SECOND = Decimal(1_000_000)


class RecordedTour(Protocol):
    """What the truth needs of a tour (scripts/tours/generator.py's Tour has it)."""

    session_id: str
    customer_id: str
    property_id: str
    session_start: float
    session_end: float | None
    events: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class PlaceStay:
    """One place event of a session and the dwell it contributes to its place."""

    place: str
    event_type: str
    timestamp_us: int
    dwell: Decimal
    explicit: bool
    """True when the dwell is the event's own duration, False when it was measured."""


@dataclass
class PropertyFigures:
    """What an analytics API must report for one property. Dwell and durations in seconds."""

    property_id: str
    sessions: int = 0
    open_sessions: int = 0
    unique_customers: int = 0
    median_session_seconds: float | None = None
    """Over closed sessions only (ended_at - started_at); None without any."""
    mean_session_seconds: float | None = None
    room_dwell: dict[str, float] = field(default_factory=dict)
    room_visits: dict[str, int] = field(default_factory=dict)
    """Place events (room_view, zone_enter) per place; zone_exit is not a visit."""
    poi_visits: dict[str, int] = field(default_factory=dict)
    poi_dwell: dict[str, float] = field(default_factory=dict)
    view_counts: dict[str, int] = field(default_factory=dict)
    view_dwell: dict[str, float] = field(default_factory=dict)
    gaze_counts: dict[str, int] = field(default_factory=dict)
    gaze_seconds: dict[str, float] = field(default_factory=dict)
    interactions: dict[str, int] = field(default_factory=dict)
    """By object."""
    unit_selections: dict[str, int] = field(default_factory=dict)
    """By unit name."""
    event_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class CustomerFigures:
    """What lead scoring has to go on for one customer."""

    customer_id: str
    sessions: int = 0
    properties: int = 0
    total_session_seconds: float = 0.0
    """Closed sessions only."""
    unit_selections: int = 0
    screenshots: int = 0
    interactions: int = 0


def explicit_duration(value: Any, *, seconds_per_unit: Decimal = Decimal(1)) -> Decimal | None:
    """A valid explicit duration in seconds, or None when it counts as absent: a finite JSON
    number or numeric string (times `seconds_per_unit`), or clock text (m:ss, h:mm:ss), at
    least 0 and at most 86400."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        seconds = Decimal(value) * seconds_per_unit
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        seconds = Decimal(repr(value)) * seconds_per_unit
    elif isinstance(value, str):
        seconds = _text_seconds(value.strip(), seconds_per_unit)
        if seconds is None:
            return None
    else:
        return None
    if seconds < 0 or seconds > MAX_EXPLICIT_DURATION_SECONDS:
        return None
    return seconds


def _text_seconds(text: str, seconds_per_unit: Decimal) -> Decimal | None:
    if NUMERIC_TEXT.fullmatch(text):
        return Decimal(text) * seconds_per_unit
    if MINUTES_CLOCK.fullmatch(text) or HOURS_CLOCK.fullmatch(text):
        seconds = Decimal(0)
        for part in text.split(":"):
            seconds = seconds * 60 + Decimal(part)
        return seconds
    return None


def event_data(event: Mapping[str, Any]) -> dict[str, Any]:
    """event_data as the API stores it: absent or "" is {}, a string holding an object is
    parsed (anything else the API would have refused)."""
    data = event.get("event_data")
    if data is None or data == "":
        return {}
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise ValueError(f"event_data must be an object, got {type(data).__name__}")
    return data


def trimmed_name(value: Any) -> str | None:
    """A name: a JSON string, trimmed; empty, missing or not a string is no name."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def place_name(event: Mapping[str, Any]) -> str | None:
    """The place a room_view, zone_enter or zone_exit names; None if it is not a place event."""
    name_field = PLACE_NAME_FIELDS.get(event["event_type"])
    if name_field is None:
        return None
    return trimmed_name(event_data(event).get(name_field))


def timestamp_us(value: Any) -> int:
    """A Unix time in seconds (number or numeric string) as the API stores it, in
    microseconds since the epoch."""
    moment = datetime.fromtimestamp(float(value), tz=UTC)
    return (moment - EPOCH) // ONE_MICROSECOND


def divided_seconds(value: Decimal) -> float:
    """A divided figure in seconds as the API rounds it."""
    return float(value.quantize(MILLISECOND, rounding=ROUND_HALF_UP))


def rate(value: Decimal) -> float:
    """A rate or relative change as the API rounds it: four decimals."""
    return float(value.quantize(RATE_PRECISION, rounding=ROUND_HALF_UP))


def _seconds(microseconds: int) -> Decimal:
    return Decimal(microseconds) / MICROSECONDS_PER_SECOND


def last_activity_us(tour: RecordedTour) -> int:
    """The session's last_activity_at: its start or its latest event, whichever is later."""
    times = [timestamp_us(event["timestamp"]) for event in tour.events]
    return max([timestamp_us(tour.session_start), *times])


def session_close_us(tour: RecordedTour) -> int:
    """Where the last place event's dwell stops: ended_at, or last_activity_at while open."""
    if tour.session_end is not None:
        return timestamp_us(tour.session_end)
    return last_activity_us(tour)


def place_stays(tour: RecordedTour) -> list[PlaceStay]:
    """The session's room_view and zone_enter events with their dwell, by THE dwell rule: a
    place event at t stays until the first of t plus its valid explicit duration, the next
    place event (room_view, zone_enter or zone_exit) and ended_at (last_activity_at while
    open); its dwell is that minus the later of t and the session's start, never negative.
    Events are in server-time order, ties in the order they were sent."""
    places = []
    for order, event in enumerate(tour.events):
        name = place_name(event)
        if name is not None:
            places.append((timestamp_us(event["timestamp"]), order, name, event))
    places.sort(key=lambda place: (place[0], place[1]))
    start_us = timestamp_us(tour.session_start)
    close_us = session_close_us(tour)
    stays = []
    for position, (at_us, _, name, event) in enumerate(places):
        if event["event_type"] not in DWELLING_PLACE_EVENTS:
            continue
        duration = explicit_duration(event_data(event).get("duration"))
        ends = [_seconds(close_us)]
        if position + 1 < len(places):
            ends.append(_seconds(places[position + 1][0]))
        if duration is not None:
            ends.append(_seconds(at_us) + duration)
        dwell = max(Decimal(0), min(ends) - _seconds(max(at_us, start_us)))
        stays.append(
            PlaceStay(
                place=name,
                event_type=event["event_type"],
                timestamp_us=at_us,
                dwell=dwell,
                explicit=duration is not None,
            )
        )
    return stays


def room_dwell(tour: RecordedTour) -> dict[str, float]:
    """Seconds per place in one session: the sum of the dwell of its place events."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for stay in place_stays(tour):
        totals[stay.place] += stay.dwell
    return _as_floats(totals)


def session_seconds(tour: RecordedTour) -> Decimal | None:
    """ended_at - started_at, or None for a session still open."""
    if tour.session_end is None:
        return None
    return _seconds(timestamp_us(tour.session_end) - timestamp_us(tour.session_start))


def event_counts(tour: RecordedTour) -> dict[str, int]:
    return dict(Counter(event["event_type"] for event in tour.events))


def property_figures(tours: Iterable[RecordedTour]) -> dict[str, PropertyFigures]:
    """Per property: sessions, customers, session durations and what visitors did."""
    by_property: dict[str, list[RecordedTour]] = defaultdict(list)
    for tour in tours:
        by_property[tour.property_id].append(tour)
    return {
        property_id: _figures_of_property(property_id, property_tours)
        for property_id, property_tours in sorted(by_property.items())
    }


def customer_figures(tours: Iterable[RecordedTour]) -> dict[str, CustomerFigures]:
    """Per customer: how much they came back and how engaged they were."""
    figures: dict[str, CustomerFigures] = {}
    properties: dict[str, set[str]] = defaultdict(set)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for tour in tours:
        customer = figures.setdefault(tour.customer_id, CustomerFigures(tour.customer_id))
        customer.sessions += 1
        properties[tour.customer_id].add(tour.property_id)
        totals[tour.customer_id] += session_seconds(tour) or Decimal(0)
        counts = event_counts(tour)
        customer.unit_selections += counts.get("unit_selection", 0)
        customer.screenshots += counts.get("screenshot_taken", 0)
        customer.interactions += counts.get("interaction", 0)
    for customer_id, customer in figures.items():
        customer.properties = len(properties[customer_id])
        customer.total_session_seconds = float(totals[customer_id])
    return dict(sorted(figures.items()))


def _figures_of_property(property_id: str, tours: list[RecordedTour]) -> PropertyFigures:
    figures = PropertyFigures(property_id=property_id, sessions=len(tours))
    figures.open_sessions = sum(1 for tour in tours if tour.session_end is None)
    figures.unique_customers = len({tour.customer_id for tour in tours})
    durations = [seconds for tour in tours if (seconds := session_seconds(tour)) is not None]
    if durations:
        figures.median_session_seconds = divided_seconds(statistics.median(durations))
        figures.mean_session_seconds = divided_seconds(sum(durations) / len(durations))
    room_totals: dict[str, Decimal] = defaultdict(Decimal)
    room_visits: Counter[str] = Counter()
    timed = {kind: _TimedCounter() for kind in ("poi", "view", "gaze")}
    interactions: Counter[str] = Counter()
    unit_selections: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for tour in tours:
        for stay in place_stays(tour):
            room_totals[stay.place] += stay.dwell
            room_visits[stay.place] += 1
        for event in tour.events:
            types[event["event_type"]] += 1
            data = event_data(event)
            match event["event_type"]:
                case "poi_visit":
                    timed["poi"].add(data.get("poi"), data.get("duration"))
                case "view":
                    timed["view"].add(data.get("view_name"), data.get("duration"))
                case "gaze":
                    timed["gaze"].add(data.get("target"), data.get("duration"))
                case "interaction":
                    _count(interactions, data.get("object"))
                case "unit_selection":
                    _count(unit_selections, data.get("name"))
    figures.room_dwell = _as_floats(room_totals)
    figures.room_visits = dict(sorted(room_visits.items()))
    figures.poi_visits, figures.poi_dwell = timed["poi"].figures()
    figures.view_counts, figures.view_dwell = timed["view"].figures()
    figures.gaze_counts, figures.gaze_seconds = timed["gaze"].figures()
    figures.interactions = dict(sorted(interactions.items()))
    figures.unit_selections = dict(sorted(unit_selections.items()))
    figures.event_counts = dict(sorted(types.items()))
    return figures


class _TimedCounter:
    """Counts of named poi_visit/view/gaze events and their explicit durations (else 0)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, raw_name: Any, raw_duration: Any) -> None:
        name = trimmed_name(raw_name)
        if name is None:
            return
        self.counts[name] += 1
        self.seconds[name] += explicit_duration(raw_duration) or Decimal(0)

    def figures(self) -> tuple[dict[str, int], dict[str, float]]:
        return dict(sorted(self.counts.items())), _as_floats(self.seconds)


def _count(counter: Counter[str], raw_name: Any) -> None:
    name = trimmed_name(raw_name)
    if name is not None:
        counter[name] += 1


def _as_floats(totals: Mapping[str, Decimal]) -> dict[str, float]:
    return {name: float(total) for name, total in sorted(totals.items())}
