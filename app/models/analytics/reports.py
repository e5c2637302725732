"""Response shapes of the analytics reports: property report, overview KPIs, daily series and
funnel (definitions in docs/analytics.md). Leads and customers are in leads.py."""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain import analytics as figures
from app.models.analytics.sessions import PeriodResponse


class RankedRoom(BaseModel):
    room: str
    dwell_seconds: float = Field(description="Total dwell over the report's sessions.")
    visits: int = Field(description="room_view and zone_enter events of the place.")
    sessions: int = Field(description="Sessions that visited it.")
    dwell_per_session_seconds: float = Field(
        description="dwell_seconds / sessions: how long a session that went there stayed."
    )
    rank_by_dwell: int
    rank_by_dwell_per_session: int


class RankedRooms(BaseModel):
    total: int = Field(description="Rooms in the whole ranking (items holds at most `top`).")
    items: list[RankedRoom]

    @classmethod
    def of(cls, rows: list[figures.RankedRoom]) -> "RankedRooms":
        return cls(
            total=rows[0].rooms if rows else 0,
            items=[
                RankedRoom(
                    room=row.place,
                    dwell_seconds=row.dwell_seconds,
                    visits=row.visits,
                    sessions=row.sessions,
                    dwell_per_session_seconds=row.dwell_per_session_seconds,
                    rank_by_dwell=row.rank_by_dwell,
                    rank_by_dwell_per_session=row.rank_by_dwell_per_session,
                )
                for row in rows
            ],
        )


class TimedName(BaseModel):
    name: str
    count: int = Field(description="Events naming it.")
    sessions: int
    seconds: float = Field(description="Sum of their valid explicit durations (else 0).")


class TimedNames(BaseModel):
    total: int
    items: list[TimedName]

    @classmethod
    def of(cls, rows: list[figures.RankedName]) -> "TimedNames":
        """From the rows of one kind."""
        return cls(
            total=rows[0].entries if rows else 0,
            items=[
                TimedName(
                    name=row.name, count=row.events, sessions=row.sessions, seconds=row.seconds
                )
                for row in rows
            ],
        )


class CountedName(BaseModel):
    name: str
    count: int
    sessions: int


class CountedNames(BaseModel):
    total: int
    items: list[CountedName]

    @classmethod
    def of(cls, rows: list[figures.RankedName]) -> "CountedNames":
        """From the rows of one kind."""
        return cls(
            total=rows[0].entries if rows else 0,
            items=[
                CountedName(name=row.name, count=row.events, sessions=row.sessions) for row in rows
            ],
        )


class PropertyReportResponse(BaseModel):
    property_id: str
    period: PeriodResponse
    sessions: int
    open_sessions: int = Field(description="Sessions not ended yet.")
    unique_customers: int
    median_duration_seconds: float | None = Field(
        description="Over ended sessions, to the millisecond."
    )
    mean_duration_seconds: float | None = Field(
        description="Over ended sessions, to the millisecond."
    )
    rooms: RankedRooms = Field(description="By total dwell; ranks by total and per session.")
    pois: TimedNames = Field(description="poi_visit by poi, by total seconds.")
    views: TimedNames = Field(description="view by view_name, by total seconds.")
    gaze_targets: TimedNames = Field(description="gaze by target, by total gaze time.")
    interactions: CountedNames = Field(description="interaction by object, by count.")
    unit_selections: CountedNames = Field(description="unit_selection by unit name, by count.")
    event_counts: dict[str, int] = Field(description="The sessions' events by type, as sent.")
    events_not_understood: dict[str, int] = Field(
        description="Of event_counts, the types no figure reads (neither in the vocabulary nor "
        "mapped): why a report can be empty when events exist."
    )
    top: int = Field(description="The most items any ranked list holds.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "property_id": "prop_002",
                    "period": {"from": "2025-03-01T00:00:00+00:00", "to": None},
                    "sessions": 42,
                    "open_sessions": 3,
                    "unique_customers": 17,
                    "median_duration_seconds": 611.5,
                    "mean_duration_seconds": 642.119,
                    "rooms": {
                        "total": 7,
                        "items": [
                            {
                                "room": "Living Room",
                                "dwell_seconds": 4210.4,
                                "visits": 51,
                                "sessions": 39,
                                "dwell_per_session_seconds": 107.96,
                                "rank_by_dwell": 1,
                                "rank_by_dwell_per_session": 2,
                            }
                        ],
                    },
                    "pois": {
                        "total": 9,
                        "items": [
                            {"name": "Sofa Set", "count": 30, "sessions": 21, "seconds": 301.5}
                        ],
                    },
                    "views": {"total": 0, "items": []},
                    "gaze_targets": {
                        "total": 12,
                        "items": [
                            {"name": "TV Wall", "count": 44, "sessions": 25, "seconds": 198.25}
                        ],
                    },
                    "interactions": {
                        "total": 5,
                        "items": [{"name": "curtains", "count": 12, "sessions": 9}],
                    },
                    "unit_selections": {
                        "total": 2,
                        "items": [{"name": "Villa Type B", "count": 6, "sessions": 5}],
                    },
                    "event_counts": {
                        "ViewChanged": 44,
                        "gaze": 512,
                        "position": 30211,
                        "room_view": 180,
                    },
                    "events_not_understood": {"ViewChanged": 44},
                    "top": 20,
                }
            ]
        }
    )


PREVIOUS_DESCRIPTION = "The same figure over the previous period."
CHANGE_DESCRIPTION = "value - previous."
RELATIVE_CHANGE_DESCRIPTION = (
    "(value - previous) / previous to four decimals, e.g. 0.25 for +25%; null when previous is "
    "0 or null."
)


class CountKpi(BaseModel):
    value: int
    previous: int = Field(description=PREVIOUS_DESCRIPTION)
    change: int = Field(description=CHANGE_DESCRIPTION)
    relative_change: float | None = Field(description=RELATIVE_CHANGE_DESCRIPTION)


class Kpi(BaseModel):
    value: float | None
    previous: float | None = Field(description=PREVIOUS_DESCRIPTION)
    change: float | None = Field(description=CHANGE_DESCRIPTION)
    relative_change: float | None = Field(description=RELATIVE_CHANGE_DESCRIPTION)


class Kpis(BaseModel):
    sessions: CountKpi
    unique_customers: CountKpi
    median_duration_seconds: Kpi = Field(description="Over ended sessions, to the millisecond.")
    engaged_sessions: CountKpi
    engaged_rate: Kpi = Field(description="engaged_sessions / sessions, to four decimals.")


class OverviewResponse(BaseModel):
    period: PeriodResponse
    previous_period: PeriodResponse
    engaged_min_seconds: float
    kpis: Kpis

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {
                        "from": "2025-03-01T00:00:00+00:00",
                        "to": "2025-04-01T00:00:00+00:00",
                    },
                    "previous_period": {
                        "from": "2025-01-29T00:00:00+00:00",
                        "to": "2025-03-01T00:00:00+00:00",
                    },
                    "engaged_min_seconds": 120,
                    "kpis": {
                        "sessions": {
                            "value": 120,
                            "previous": 96,
                            "change": 24,
                            "relative_change": 0.25,
                        },
                        "unique_customers": {
                            "value": 51,
                            "previous": 0,
                            "change": 51,
                            "relative_change": None,
                        },
                        "median_duration_seconds": {
                            "value": 604.0,
                            "previous": 580.5,
                            "change": 23.5,
                            "relative_change": 0.0405,
                        },
                        "engaged_sessions": {
                            "value": 90,
                            "previous": 60,
                            "change": 30,
                            "relative_change": 0.5,
                        },
                        "engaged_rate": {
                            "value": 0.75,
                            "previous": 0.625,
                            "change": 0.125,
                            "relative_change": 0.2,
                        },
                    },
                }
            ]
        }
    )


class DayResponse(BaseModel):
    date: dt.date = Field(description="A UTC day.")
    sessions: int
    unique_customers: int
    engaged_sessions: int
    median_duration_seconds: float | None

    @classmethod
    def of(cls, row: figures.DayFigures) -> "DayResponse":
        return cls(
            date=row.day,
            sessions=row.sessions,
            unique_customers=row.unique_customers,
            engaged_sessions=row.engaged_sessions,
            median_duration_seconds=row.median_duration_seconds,
        )


class DailySeriesResponse(BaseModel):
    period: PeriodResponse
    days: list[DayResponse] = Field(description="Every UTC day the period touches, in order.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {
                        "from": "2025-03-01T00:00:00+00:00",
                        "to": "2025-03-03T00:00:00+00:00",
                    },
                    "days": [
                        {
                            "date": "2025-03-01",
                            "sessions": 4,
                            "unique_customers": 3,
                            "engaged_sessions": 3,
                            "median_duration_seconds": 540.0,
                        },
                        {
                            "date": "2025-03-02",
                            "sessions": 0,
                            "unique_customers": 0,
                            "engaged_sessions": 0,
                            "median_duration_seconds": None,
                        },
                    ],
                }
            ]
        }
    )


class FunnelStep(BaseModel):
    step: Literal["started", "engaged", "high_intent"]
    sessions: int
    rate_from_previous: float | None = Field(
        description="sessions / the previous step's, to four decimals."
    )
    rate_from_start: float | None = Field(description="sessions / started, to four decimals.")


class FunnelThresholds(BaseModel):
    engaged_min_seconds: float
    room_interest_min_seconds: float
    high_intent_min_rooms: int


class HighIntentReasons(BaseModel):
    unit_selection: int = Field(description="High-intent sessions that selected a unit.")
    rooms_of_interest: int = Field(description="High-intent sessions with enough rooms.")


class FunnelResponse(BaseModel):
    period: PeriodResponse
    steps: list[FunnelStep]
    high_intent_reasons: HighIntentReasons
    thresholds: FunnelThresholds

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {"from": "2025-03-01T00:00:00+00:00", "to": None},
                    "steps": [
                        {
                            "step": "started",
                            "sessions": 120,
                            "rate_from_previous": None,
                            "rate_from_start": 1.0,
                        },
                        {
                            "step": "engaged",
                            "sessions": 90,
                            "rate_from_previous": 0.75,
                            "rate_from_start": 0.75,
                        },
                        {
                            "step": "high_intent",
                            "sessions": 27,
                            "rate_from_previous": 0.3,
                            "rate_from_start": 0.225,
                        },
                    ],
                    "high_intent_reasons": {"unit_selection": 19, "rooms_of_interest": 15},
                    "thresholds": {
                        "engaged_min_seconds": 120,
                        "room_interest_min_seconds": 30,
                        "high_intent_min_rooms": 3,
                    },
                }
            ]
        }
    )
