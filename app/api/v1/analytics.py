"""The analytics read API: sessions and their timelines, properties and their reports, leads,
customers, overview KPIs, daily series and the funnel. Every route needs a key with the read
scope and answers about that key's project only (docs/analytics.md)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from app.api.deps import DatabaseDep, ReadCallerDep, SettingsDep
from app.api.responses import ACCESS_ERRORS, UNAVAILABLE
from app.models.analytics.leads import (
    CustomerActivityResponse,
    CustomerRooms,
    CustomerSummaryResponse,
    LeadListResponse,
    LeadResponse,
    LeadScoring,
    PropertyTimeResponse,
    TierCounts,
)
from app.models.analytics.reports import (
    CountedNames,
    DailySeriesResponse,
    DayResponse,
    FunnelResponse,
    FunnelStep,
    FunnelThresholds,
    HighIntentReasons,
    Kpis,
    OverviewResponse,
    PropertyReportResponse,
    RankedRooms,
    TimedNames,
)
from app.models.analytics.sessions import (
    ORDER_DESCRIPTION,
    EventListResponse,
    EventResponse,
    Label,
    PeriodResponse,
    PropertyListResponse,
    PropertySummaryResponse,
    RoomDwellResponse,
    SessionDetailResponse,
    SessionListResponse,
    SessionResponse,
    TimelineEntry,
)
from app.models.fields import SessionId
from app.models.periods import BoundedPeriodDep, PeriodDep
from app.services.analytics.service import AnalyticsService, SessionFilters


def get_analytics_service(
    database: DatabaseDep, settings: SettingsDep, caller: ReadCallerDep
) -> AnalyticsService:
    """The one dependency of every analytics route: a read key, scoped to its project."""
    return AnalyticsService(database, settings, project_id=caller.project_id)


AnalyticsServiceDep = Annotated[AnalyticsService, Depends(get_analytics_service)]

router = APIRouter(prefix="/api/v1", tags=["analytics"], responses={**ACCESS_ERRORS, **UNAVAILABLE})

SESSION_NOT_FOUND = {
    404: {
        "description": "No session with this id in the key's project",
        "content": {"application/json": {"example": {"detail": "Session not found"}}},
    }
}
CUSTOMER_NOT_FOUND = {
    404: {
        "description": "No session of this customer in the key's project",
        "content": {"application/json": {"example": {"detail": "Customer not found"}}},
    }
}
PropertyFilter = Annotated[Label | None, Query(description="Only this property's sessions.")]
Limit = Annotated[
    int | None,
    Query(
        ge=1, description="Page size: ANALYTICS_PAGE_SIZE_DEFAULT, at most ANALYTICS_PAGE_SIZE_MAX."
    ),
]
Cursor = Annotated[
    str | None, Query(description="The previous page's next_cursor, passed back unchanged.")
]
Top = Annotated[
    int | None,
    Query(
        ge=1, description="Items per ranked list: ANALYTICS_TOP_DEFAULT, at most ANALYTICS_TOP_MAX."
    ),
]


@router.get("/sessions", response_model=SessionListResponse)
async def list_sessions(
    service: AnalyticsServiceDep,
    period: PeriodDep,
    property_id: PropertyFilter = None,
    customer_id: Annotated[Label | None, Query(description="Only this customer's.")] = None,
    status: Annotated[Literal["active", "completed"] | None, Query()] = None,
    device_type: Annotated[Label | None, Query(description="e.g. Meta Quest 3")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description=ORDER_DESCRIPTION)] = "desc",
    limit: Limit = None,
    cursor: Cursor = None,
) -> SessionListResponse:
    """Sessions by start time (then id), filtered, one page at a time."""
    page = await service.list_sessions(
        SessionFilters(
            property_id=property_id,
            customer_id=customer_id,
            status=status,
            device_type=device_type,
        ),
        period,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    return SessionListResponse(
        sessions=[SessionResponse.of(row) for row in page.sessions],
        next_cursor=page.next_cursor,
        limit=page.limit,
    )


@router.get(
    "/sessions/{session_id}", response_model=SessionDetailResponse, responses=SESSION_NOT_FOUND
)
async def session_detail(
    session_id: Annotated[SessionId, Path()], service: AnalyticsServiceDep
) -> SessionDetailResponse:
    """A session with its dwell per room, its events counted by type, and its timeline."""
    detail = await service.session_detail(session_id)
    return SessionDetailResponse(
        session=SessionResponse.of(detail.session),
        rooms=[RoomDwellResponse.of(room) for room in detail.rooms],
        event_counts={count.event_type: count.events for count in detail.event_counts.by_type},
        events_total=detail.event_counts.total,
        events_not_understood=detail.event_counts.not_understood,
        timeline=[TimelineEntry.of(event) for event in detail.timeline],
        timeline_total=detail.event_counts.story,
        timeline_truncated=detail.timeline_truncated,
    )


@router.get(
    "/sessions/{session_id}/events",
    response_model=EventListResponse,
    responses=SESSION_NOT_FOUND,
)
async def session_events(
    session_id: Annotated[SessionId, Path()],
    service: AnalyticsServiceDep,
    event_type: Annotated[Label | None, Query(description="Only events of this type.")] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Page size: ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT, at most "
            "ANALYTICS_EVENTS_PAGE_SIZE_MAX.",
        ),
    ] = None,
    cursor: Cursor = None,
) -> EventListResponse:
    """All events of a session (position samples included) in timeline order, paged."""
    page = await service.session_events(
        session_id, event_type=event_type, limit=limit, cursor=cursor
    )
    return EventListResponse(
        session_id=session_id,
        events=[EventResponse.of(row) for row in page.events],
        next_cursor=page.next_cursor,
        limit=page.limit,
    )


@router.get("/properties", response_model=PropertyListResponse)
async def list_properties(
    service: AnalyticsServiceDep,
    period: PeriodDep,
    limit: Limit = None,
    cursor: Cursor = None,
) -> PropertyListResponse:
    """The properties of the sessions started in the period, by property id, one page at a
    time: each with its sessions, unique customers and latest session start."""
    page = await service.list_properties(period, limit=limit, cursor=cursor)
    return PropertyListResponse(
        period=PeriodResponse.of(period),
        properties=[PropertySummaryResponse.of(row) for row in page.properties],
        next_cursor=page.next_cursor,
        limit=page.limit,
    )


@router.get("/properties/{property_id}/report", response_model=PropertyReportResponse)
async def property_report(
    property_id: Annotated[Label, Path()],
    service: AnalyticsServiceDep,
    period: PeriodDep,
    top: Top = None,
) -> PropertyReportResponse:
    """What visitors of one property did in a period: sessions, customers, durations, rooms by
    dwell, POIs, views, gaze targets, interactions and unit selections."""
    report = await service.property_report(property_id, period, top=top)
    figures = report.figures
    return PropertyReportResponse(
        property_id=property_id,
        period=PeriodResponse.of(report.period),
        sessions=figures.sessions,
        open_sessions=figures.open_sessions,
        unique_customers=figures.unique_customers,
        median_duration_seconds=figures.median_duration_seconds,
        mean_duration_seconds=figures.mean_duration_seconds,
        rooms=RankedRooms.of(report.rooms),
        pois=TimedNames.of(report.names["pois"]),
        views=TimedNames.of(report.names["views"]),
        gaze_targets=TimedNames.of(report.names["gaze_targets"]),
        interactions=CountedNames.of(report.names["interactions"]),
        unit_selections=CountedNames.of(report.names["unit_selections"]),
        event_counts=report.event_counts,
        events_not_understood=report.events_not_understood,
        top=report.top,
    )


@router.get("/leads", response_model=LeadListResponse)
async def leads(
    service: AnalyticsServiceDep,
    period: PeriodDep,
    property_id: PropertyFilter = None,
    tier: Annotated[Literal["hot", "warm", "cold"] | None, Query()] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> LeadListResponse:
    """Identified customers ranked by lead score (best first), each with the parts behind it."""
    answer = await service.leads(
        period, property_id=property_id, tier=tier, limit=limit, cursor=cursor
    )
    page = answer.page
    return LeadListResponse(
        period=PeriodResponse.of(period),
        leads=[LeadResponse.of(row) for row in page.leads],
        total=page.total,
        tiers=TierCounts(hot=page.hot, warm=page.warm, cold=page.cold),
        next_cursor=answer.next_cursor,
        limit=answer.limit,
        scoring=LeadScoring.of(answer.rules),
    )


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerSummaryResponse,
    responses=CUSTOMER_NOT_FOUND,
)
async def customer_summary(
    customer_id: Annotated[Label, Path()],
    service: AnalyticsServiceDep,
    period: PeriodDep,
    top: Top = None,
) -> CustomerSummaryResponse:
    """One customer: lead score and parts, time per property, and the rooms they dwelt in."""
    summary = await service.customer_summary(customer_id, period, top=top)
    return CustomerSummaryResponse(
        customer_id=summary.customer_id,
        period=PeriodResponse.of(summary.period),
        lead=LeadResponse.of(summary.lead) if summary.lead else None,
        properties=[PropertyTimeResponse.of(row) for row in summary.properties],
        top_rooms=CustomerRooms.of(summary.rooms),
        activity=CustomerActivityResponse.of(summary.activity),
        scoring=LeadScoring.of(summary.rules),
    )


@router.get("/overview", response_model=OverviewResponse)
async def overview(
    service: AnalyticsServiceDep,
    period: BoundedPeriodDep,
    property_id: PropertyFilter = None,
) -> OverviewResponse:
    """KPIs of a period next to those of the equal period just before it."""
    answer = await service.overview(period, property_id=property_id)
    current, previous = answer.overview.current, answer.overview.previous
    kpis = {
        metric: {
            "value": getattr(current, metric),
            "previous": getattr(previous, metric),
            "change": change.absolute,
            "relative_change": change.relative,
        }
        for metric, change in answer.overview.changes.items()
    }
    return OverviewResponse(
        period=PeriodResponse.of(answer.period),
        previous_period=PeriodResponse.of(answer.previous),
        engaged_min_seconds=answer.engaged_min_seconds,
        kpis=Kpis(**kpis),
    )


@router.get("/overview/daily", response_model=DailySeriesResponse)
async def daily_series(
    service: AnalyticsServiceDep,
    period: BoundedPeriodDep,
    property_id: PropertyFilter = None,
) -> DailySeriesResponse:
    """Per UTC day of the period (at most ANALYTICS_SERIES_MAX_DAYS), days without sessions
    included: for charts."""
    days = await service.daily(period, property_id=property_id)
    return DailySeriesResponse(
        period=PeriodResponse.of(period),
        days=[DayResponse.of(day) for day in days],
    )


@router.get("/funnel", response_model=FunnelResponse)
async def funnel(
    service: AnalyticsServiceDep,
    period: PeriodDep,
    property_id: PropertyFilter = None,
) -> FunnelResponse:
    """Sessions started -> engaged -> high intent, with the thresholds that define the steps."""
    answer = await service.funnel(period, property_id=property_id)
    figures = answer.figures
    return FunnelResponse(
        period=PeriodResponse.of(answer.period),
        steps=[
            FunnelStep(
                step="started",
                sessions=figures.started,
                rate_from_previous=None,
                rate_from_start=1.0 if figures.started else None,
            ),
            FunnelStep(
                step="engaged",
                sessions=figures.engaged,
                rate_from_previous=figures.engaged_rate,
                rate_from_start=figures.engaged_rate,
            ),
            FunnelStep(
                step="high_intent",
                sessions=figures.high_intent,
                rate_from_previous=figures.high_intent_rate,
                rate_from_start=figures.high_intent_rate_of_started,
            ),
        ],
        high_intent_reasons=HighIntentReasons(
            unit_selection=figures.high_intent_by_unit_selection,
            rooms_of_interest=figures.high_intent_by_rooms,
        ),
        thresholds=FunnelThresholds(
            engaged_min_seconds=answer.engaged_min_seconds,
            room_interest_min_seconds=answer.room_interest_min_seconds,
            high_intent_min_rooms=answer.high_intent_min_rooms,
        ),
    )
