"""Response shapes of leads and customer summaries: the lead score with its parts, and one
customer's time per property and top rooms (definitions in docs/analytics.md)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain.analytics import (
    CustomerActivity,
    CustomerRoom,
    LeadRow,
    LeadRules,
    PropertyTime,
)
from app.models.analytics.sessions import PeriodResponse
from app.models.fields import UtcDateTime

Tier = Literal["hot", "warm", "cold"]


POINTS_DESCRIPTION = "What the part adds to the score (0.1 precision)."


class CountedPart(BaseModel):
    value: int
    points: float = Field(description=POINTS_DESCRIPTION)


class TimedPart(BaseModel):
    value: float = Field(description="Seconds, exact to the microsecond.")
    points: float = Field(description=POINTS_DESCRIPTION)


class LeadParts(BaseModel):
    sessions: CountedPart
    total_time_seconds: TimedPart = Field(description="Sum of the durations of ended sessions.")
    revisits: CountedPart = Field(description="Sessions beyond the first to the same property.")
    rooms_of_interest: CountedPart = Field(
        description="Rooms (per property) where the customer's total dwell reached "
        "room_interest_min_seconds."
    )


class LeadResponse(BaseModel):
    customer_id: str
    score: float = Field(description="0-100: the sum of the parts' points.")
    tier: Tier
    parts: LeadParts
    properties: int
    first_session_at: UtcDateTime
    last_session_at: UtcDateTime

    @classmethod
    def of(cls, row: LeadRow) -> "LeadResponse":
        return cls(
            customer_id=row.customer_id,
            score=row.score,
            tier=row.tier,
            parts=LeadParts(
                sessions=CountedPart(value=row.sessions, points=row.sessions_points),
                total_time_seconds=TimedPart(value=row.total_seconds, points=row.time_points),
                revisits=CountedPart(value=row.revisits, points=row.revisits_points),
                rooms_of_interest=CountedPart(value=row.rooms_of_interest, points=row.rooms_points),
            ),
            properties=row.properties,
            first_session_at=row.first_session_at,
            last_session_at=row.last_session_at,
        )


class PartRule(BaseModel):
    target: float = Field(description="The value that earns the part's full points.")
    weight: float = Field(description="The part's share of 100 points.")


class LeadScoring(BaseModel):
    """The settings behind the scores (docs/analytics.md): points of a part =
    round(100 * weight * min(value, target) / target, 1)."""

    sessions: PartRule
    total_time_seconds: PartRule
    revisits: PartRule
    rooms_of_interest: PartRule
    room_interest_min_seconds: float
    hot_min_score: float
    warm_min_score: float

    @classmethod
    def of(cls, rules: LeadRules) -> "LeadScoring":
        return cls(
            sessions=PartRule(target=rules.sessions_target, weight=rules.sessions_weight),
            total_time_seconds=PartRule(target=rules.time_target_seconds, weight=rules.time_weight),
            revisits=PartRule(target=rules.revisits_target, weight=rules.revisits_weight),
            rooms_of_interest=PartRule(target=rules.rooms_target, weight=rules.rooms_weight),
            room_interest_min_seconds=rules.room_interest_min_seconds,
            hot_min_score=rules.hot_min_score,
            warm_min_score=rules.warm_min_score,
        )


class TierCounts(BaseModel):
    hot: int
    warm: int
    cold: int


LEAD_EXAMPLE = {
    "customer_id": "cust_0007",
    "score": 78.6,
    "tier": "hot",
    "parts": {
        "sessions": {"value": 3, "points": 25.0},
        "total_time_seconds": {"value": 2710.0, "points": 35.0},
        "revisits": {"value": 1, "points": 10.0},
        "rooms_of_interest": {"value": 2, "points": 8.6},
    },
    "properties": 2,
    "first_session_at": "2025-03-02T10:14:00+00:00",
    "last_session_at": "2025-03-09T17:40:12+00:00",
}
SCORING_EXAMPLE = {
    "sessions": {"target": 3, "weight": 0.25},
    "total_time_seconds": {"target": 1800, "weight": 0.35},
    "revisits": {"target": 2, "weight": 0.2},
    "rooms_of_interest": {"target": 4, "weight": 0.2},
    "room_interest_min_seconds": 30,
    "hot_min_score": 70,
    "warm_min_score": 40,
}


class LeadListResponse(BaseModel):
    period: PeriodResponse
    leads: list[LeadResponse]
    total: int = Field(description="Customers in the whole ranking (before `tier` and paging).")
    tiers: TierCounts = Field(description="Customers per tier in the whole ranking.")
    next_cursor: str | None
    limit: int
    scoring: LeadScoring

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {"from": None, "to": None},
                    "leads": [LEAD_EXAMPLE],
                    "total": 17,
                    "tiers": {"hot": 3, "warm": 6, "cold": 8},
                    "next_cursor": None,
                    "limit": 50,
                    "scoring": SCORING_EXAMPLE,
                }
            ]
        }
    )


class PropertyTimeResponse(BaseModel):
    property_id: str | None
    sessions: int
    open_sessions: int
    total_time_seconds: float = Field(description="Sum of the durations of ended sessions.")
    first_session_at: UtcDateTime
    last_session_at: UtcDateTime

    @classmethod
    def of(cls, row: PropertyTime) -> "PropertyTimeResponse":
        return cls(
            property_id=row.property_id,
            sessions=row.sessions,
            open_sessions=row.open_sessions,
            total_time_seconds=row.total_seconds,
            first_session_at=row.first_session_at,
            last_session_at=row.last_session_at,
        )


class CustomerRoomResponse(BaseModel):
    property_id: str | None
    room: str
    dwell_seconds: float
    sessions: int


class CustomerRooms(BaseModel):
    total: int
    items: list[CustomerRoomResponse]

    @classmethod
    def of(cls, rows: list[CustomerRoom]) -> "CustomerRooms":
        return cls(
            total=rows[0].rooms if rows else 0,
            items=[
                CustomerRoomResponse(
                    property_id=row.property_id,
                    room=row.place,
                    dwell_seconds=row.dwell_seconds,
                    sessions=row.sessions,
                )
                for row in rows
            ],
        )


class CustomerActivityResponse(BaseModel):
    """Signals of intent in the customer's sessions of the period, counted."""

    unit_selections: int = Field(description="unit_selection events.")
    screenshots: int = Field(description="screenshot_taken events.")
    interactions: int = Field(description="interaction events.")

    @classmethod
    def of(cls, activity: CustomerActivity) -> "CustomerActivityResponse":
        return cls.model_validate(activity, from_attributes=True)


class CustomerSummaryResponse(BaseModel):
    customer_id: str
    period: PeriodResponse
    lead: LeadResponse | None = Field(description="Null when no session is in the period.")
    properties: list[PropertyTimeResponse] = Field(description="By total time, longest first.")
    top_rooms: CustomerRooms
    activity: CustomerActivityResponse
    scoring: LeadScoring

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "cust_0007",
                    "period": {"from": None, "to": None},
                    "lead": LEAD_EXAMPLE,
                    "properties": [
                        {
                            "property_id": "prop_002",
                            "sessions": 2,
                            "open_sessions": 0,
                            "total_time_seconds": 1980.0,
                            "first_session_at": "2025-03-02T10:14:00+00:00",
                            "last_session_at": "2025-03-09T17:40:12+00:00",
                        }
                    ],
                    "top_rooms": {
                        "total": 9,
                        "items": [
                            {
                                "property_id": "prop_002",
                                "room": "Kitchen",
                                "dwell_seconds": 240.5,
                                "sessions": 2,
                            }
                        ],
                    },
                    "activity": {"unit_selections": 2, "screenshots": 1, "interactions": 7},
                    "scoring": SCORING_EXAMPLE,
                }
            ]
        }
    )
