"""Analytics for one project (the caller's): sessions, their timelines and events, the
properties, property reports, leads, customer summaries, overview KPIs, daily series and the
funnel.

The service holds the rules (periods, limits, cursors, thresholds from the settings) and opens
one read-only snapshot per answer; every figure is computed by the stores, in PostgreSQL. The
answers' shapes are in answers.py.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.domain.analytics import (
    DayFigures,
    EventKey,
    LeadKey,
    LeadRules,
    RankedName,
    SessionKey,
    SessionScope,
    SortOrder,
)
from app.errors import InvalidInputError, NotFoundError
from app.models.periods import Period
from app.services.analytics.answers import (
    CustomerSummary,
    EventPage,
    FunnelAnswer,
    LeadsAnswer,
    OverviewAnswer,
    PropertyPage,
    PropertyReport,
    SessionDetail,
    SessionPage,
)
from app.services.analytics.paging import (
    check_limit,
    event_cursor,
    lead_cursor,
    parse_event_cursor,
    parse_lead_cursor,
    parse_property_cursor,
    parse_session_cursor,
    property_cursor,
    session_cursor,
    split_page,
)
from app.stores.analytics.dwell import ProjectQueries
from app.stores.analytics.leads import AnalyticsLeadStore
from app.stores.analytics.properties import AnalyticsPropertyStore
from app.stores.analytics.reports import NAMED_EVENT_KINDS, AnalyticsReportStore
from app.stores.analytics.sessions import AnalyticsStore
from app.stores.mappings import MappingStore

SESSION_NOT_FOUND = "Session not found"
Queries = TypeVar("Queries", bound=ProjectQueries)
CUSTOMER_NOT_FOUND = "Customer not found"


@dataclass(frozen=True)
class SessionFilters:
    property_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    device_type: str | None = None


def exact(value: float) -> Decimal:
    """A setting as the decimal it was written as (0.35, not 0.34999...)."""
    return Decimal(str(value))


def lead_rules(settings: Settings) -> LeadRules:
    """The lead score's settings as exact decimals (docs/analytics.md)."""
    return LeadRules(
        room_interest_min_seconds=exact(settings.ANALYTICS_ROOM_INTEREST_MIN_SECONDS),
        sessions_target=exact(settings.ANALYTICS_LEAD_SESSIONS_TARGET),
        time_target_seconds=exact(settings.ANALYTICS_LEAD_TIME_TARGET_SECONDS),
        revisits_target=exact(settings.ANALYTICS_LEAD_REVISITS_TARGET),
        rooms_target=exact(settings.ANALYTICS_LEAD_ROOMS_TARGET),
        sessions_weight=exact(settings.ANALYTICS_LEAD_WEIGHT_SESSIONS),
        time_weight=exact(settings.ANALYTICS_LEAD_WEIGHT_TIME),
        revisits_weight=exact(settings.ANALYTICS_LEAD_WEIGHT_REVISITS),
        rooms_weight=exact(settings.ANALYTICS_LEAD_WEIGHT_ROOMS),
        hot_min_score=exact(settings.ANALYTICS_LEAD_HOT_MIN_SCORE),
        warm_min_score=exact(settings.ANALYTICS_LEAD_WARM_MIN_SCORE),
    )


class AnalyticsService:
    """Read-only analytics over the sessions and events of one project."""

    def __init__(self, database: Database, settings: Settings, *, project_id: UUID) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id

    @asynccontextmanager
    async def _snapshot(self, queries: type[Queries]) -> AsyncIterator[Queries]:
        """One read-only snapshot for one answer, and the store that answers it, reading events
        through the project's event mapping in force (read in the same snapshot)."""
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, self._project_id).in_force()
            yield queries(connection, self._project_id, mapping)

    def _scope(
        self,
        period: Period | None = None,
        filters: SessionFilters | None = None,
        *,
        property_id: str | None = None,
        customer_id: str | None = None,
    ) -> SessionScope:
        period = period or Period()
        filters = filters or SessionFilters(property_id=property_id, customer_id=customer_id)
        return SessionScope(
            self._project_id,
            property_id=filters.property_id,
            customer_id=filters.customer_id,
            status=filters.status,
            device_type=filters.device_type,
            started_from=period.start,
            started_before=period.end,
        )

    def _page_size(self, limit: int | None) -> int:
        return check_limit(
            limit,
            default=self._settings.ANALYTICS_PAGE_SIZE_DEFAULT,
            maximum=self._settings.ANALYTICS_PAGE_SIZE_MAX,
        )

    def _top(self, top: int | None) -> int:
        return check_limit(
            top,
            default=self._settings.ANALYTICS_TOP_DEFAULT,
            maximum=self._settings.ANALYTICS_TOP_MAX,
            name="top",
        )

    async def list_sessions(
        self,
        filters: SessionFilters,
        period: Period,
        *,
        order: SortOrder,
        limit: int | None,
        cursor: str | None,
    ) -> SessionPage:
        """A page of sessions in start order; `next_cursor` continues it, None at the end."""
        limit = self._page_size(limit)
        after = parse_session_cursor(cursor, order)
        scope = self._scope(period, filters)
        async with self._database.read_snapshot() as connection:
            store = AnalyticsStore(connection, self._project_id)
            rows = await store.list_sessions(scope, after=after, order=order, limit=limit + 1)
        sessions, last = split_page(rows, limit)
        next_cursor = None
        if last is not None:
            next_cursor = session_cursor(SessionKey(last.started_at, last.id), order)
        return SessionPage(sessions=sessions, next_cursor=next_cursor, limit=limit)

    async def list_properties(
        self, period: Period, *, limit: int | None, cursor: str | None
    ) -> PropertyPage:
        """A page of the properties of the sessions started in the period, by property id,
        each with its sessions, unique customers and latest session start."""
        limit = self._page_size(limit)
        after = parse_property_cursor(cursor)
        scope = self._scope(period)
        async with self._database.read_snapshot() as connection:
            store = AnalyticsPropertyStore(connection, self._project_id)
            rows = await store.list_properties(scope, after=after, limit=limit + 1)
        properties, last = split_page(rows, limit)
        next_cursor = None if last is None else property_cursor(last.property_id)
        return PropertyPage(properties=properties, next_cursor=next_cursor, limit=limit)

    async def session_detail(self, session_id: UUID) -> SessionDetail:
        """The session, its dwell per room, its events counted by type and its timeline."""
        timeline_limit = self._settings.ANALYTICS_TIMELINE_MAX_EVENTS
        async with self._snapshot(AnalyticsStore) as store:
            session = await store.get_session(session_id)
            if session is None:
                raise NotFoundError(SESSION_NOT_FOUND)
            rooms = await store.session_rooms(session_id)
            counts = await store.session_event_counts(session_id)
            timeline = await store.session_timeline(session_id, limit=timeline_limit)
        return SessionDetail(
            session=session,
            rooms=rooms,
            event_counts=counts,
            timeline=timeline,
            timeline_truncated=counts.story > len(timeline),
        )

    async def session_events(
        self,
        session_id: UUID,
        *,
        event_type: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> EventPage:
        """A page of a session's events in timeline order (all types, position included)."""
        limit = check_limit(
            limit,
            default=self._settings.ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT,
            maximum=self._settings.ANALYTICS_EVENTS_PAGE_SIZE_MAX,
        )
        after = parse_event_cursor(cursor, session_id)
        async with self._database.read_snapshot() as connection:
            store = AnalyticsStore(connection, self._project_id)
            if await store.get_session(session_id) is None:
                raise NotFoundError(SESSION_NOT_FOUND)
            rows = await store.session_events(
                session_id, event_type=event_type, after=after, limit=limit + 1
            )
        events, last = split_page(rows, limit)
        next_cursor = None
        if last is not None:
            key = EventKey(timestamp=last.timestamp, created_at=last.created_at, id=last.id)
            next_cursor = event_cursor(key, session_id)
        return EventPage(events=events, next_cursor=next_cursor, limit=limit)

    async def property_report(
        self, property_id: str, period: Period, *, top: int | None
    ) -> PropertyReport:
        """Sessions, customers, durations, rooms, POIs, views, gazes, interactions and unit
        selections of one property's sessions started in the period."""
        top = self._top(top)
        scope = self._scope(period, property_id=property_id)
        async with self._snapshot(AnalyticsReportStore) as store:
            figures = await store.session_figures(scope)
            rooms = await store.ranked_rooms(scope, top=top)
            ranked = await store.ranked_names(scope, top=top)
            counts = await store.event_counts(scope)
            mapping = store.mapping
        names: dict[str, list[RankedName]] = {kind: [] for kind, _, _ in NAMED_EVENT_KINDS.values()}
        for row in ranked:
            names[row.kind].append(row)
        return PropertyReport(
            property_id=property_id,
            period=period,
            figures=figures,
            rooms=rooms,
            names=names,
            event_counts=counts,
            events_not_understood={
                event_type: events
                for event_type, events in counts.items()
                if mapping.kind_of(event_type) is None
            },
            top=top,
        )

    async def leads(
        self,
        period: Period,
        *,
        property_id: str | None,
        tier: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> LeadsAnswer:
        """Identified customers ranked by lead score, with the parts behind each score."""
        limit = self._page_size(limit)
        after = parse_lead_cursor(cursor)
        rules = lead_rules(self._settings)
        scope = self._scope(period, property_id=property_id)
        async with self._snapshot(AnalyticsLeadStore) as store:
            fetched = await store.leads(scope, rules, tier=tier, after=after, limit=limit + 1)
        leads, last = split_page(fetched.leads, limit)
        page = replace(fetched, leads=leads)
        next_cursor = None
        if last is not None:
            next_cursor = lead_cursor(LeadKey(score=last.score, customer_id=last.customer_id))
        return LeadsAnswer(page=page, next_cursor=next_cursor, limit=limit, rules=rules)

    async def customer_summary(
        self, customer_id: str, period: Period, *, top: int | None
    ) -> CustomerSummary:
        """One customer's lead score and parts, time per property and top rooms. 404 when the
        project has no session of this customer at all."""
        top = self._top(top)
        rules = lead_rules(self._settings)
        scope = self._scope(period, customer_id=customer_id)
        async with self._snapshot(AnalyticsLeadStore) as store:
            if not await store.customer_exists(customer_id):
                raise NotFoundError(CUSTOMER_NOT_FOUND)
            leads = await store.leads(scope, rules, tier=None, after=None, limit=1)
            properties = await store.time_per_property(scope)
            rooms = await store.customer_rooms(scope, top=top)
            activity = await store.customer_activity(scope)
        return CustomerSummary(
            customer_id=customer_id,
            period=period,
            lead=leads.leads[0] if leads.leads else None,
            properties=properties,
            rooms=rooms,
            activity=activity,
            top=top,
            rules=rules,
        )

    async def overview(self, period: Period, *, property_id: str | None) -> OverviewAnswer:
        """KPIs of the period and of the equal period before it, with the change."""
        starts, ends = period.bounded()
        previous = period.previous()
        engaged = exact(self._settings.ANALYTICS_ENGAGED_MIN_SECONDS)
        scope = self._scope(property_id=property_id)
        async with self._database.read_snapshot() as connection:
            store = AnalyticsReportStore(connection, self._project_id)
            overview = await store.overview(
                scope,
                starts=starts,
                ends=ends,
                previous_starts=previous.start,
                engaged_min_seconds=engaged,
            )
        return OverviewAnswer(
            period=period,
            previous=previous,
            overview=overview,
            engaged_min_seconds=engaged,
        )

    async def daily(self, period: Period, *, property_id: str | None) -> list[DayFigures]:
        """One row per UTC day the period touches, days without sessions included."""
        starts, ends = period.bounded()
        maximum = self._settings.ANALYTICS_SERIES_MAX_DAYS
        if period.utc_days() > maximum:
            raise InvalidInputError.single(
                "query", "to", msg=f"the period spans more than {maximum} UTC days"
            )
        scope = self._scope(property_id=property_id)
        async with self._database.read_snapshot() as connection:
            store = AnalyticsReportStore(connection, self._project_id)
            return await store.daily(
                scope,
                starts=starts,
                ends=ends,
                engaged_min_seconds=exact(self._settings.ANALYTICS_ENGAGED_MIN_SECONDS),
            )

    async def funnel(self, period: Period, *, property_id: str | None) -> FunnelAnswer:
        """Sessions started -> engaged -> high intent, with the thresholds used."""
        settings = self._settings
        engaged = exact(settings.ANALYTICS_ENGAGED_MIN_SECONDS)
        room_min = exact(settings.ANALYTICS_ROOM_INTEREST_MIN_SECONDS)
        scope = self._scope(period, property_id=property_id)
        async with self._snapshot(AnalyticsReportStore) as store:
            figures = await store.funnel(
                scope,
                engaged_min_seconds=engaged,
                room_interest_min_seconds=room_min,
                high_intent_min_rooms=settings.ANALYTICS_HIGH_INTENT_MIN_ROOMS,
            )
        return FunnelAnswer(
            period=period,
            figures=figures,
            engaged_min_seconds=engaged,
            room_interest_min_seconds=room_min,
            high_intent_min_rooms=settings.ANALYTICS_HIGH_INTENT_MIN_ROOMS,
        )
