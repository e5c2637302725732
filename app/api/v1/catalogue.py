"""The event catalogue: what the project's clients send, per event type and field, and whether
the analytics read it (docs/events.md, "The catalogue"). Read scope; the caller's project
only."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import DatabaseDep, ReadCallerDep, SettingsDep
from app.api.responses import ACCESS_ERRORS, UNAVAILABLE
from app.models.analytics.catalogue import (
    CatalogueFieldResponse,
    CataloguePeriodResponse,
    CatalogueResponse,
    CatalogueTypeResponse,
)
from app.models.periods import END_HELP, START_HELP, Moment, Period
from app.services.analytics.catalogue import Catalogue, CatalogueService, TypeEntry


async def get_catalogue_service(
    database: DatabaseDep, settings: SettingsDep, caller: ReadCallerDep
) -> CatalogueService:
    return CatalogueService(database, settings, project_id=caller.project_id)


CatalogueServiceDep = Annotated[CatalogueService, Depends(get_catalogue_service)]


def catalogue_period_query(
    start: Annotated[
        Moment | None,
        Query(
            alias="from",
            description=f"{START_HELP} Omitted: CATALOGUE_DEFAULT_DAYS days before `to`. At "
            "most CATALOGUE_MAX_DAYS days before `to`.",
            examples=["2025-03-01"],
        ),
    ] = None,
    end: Annotated[
        Moment | None,
        Query(
            alias="to",
            description=f"{END_HELP} Omitted: now (and the MAX_FUTURE_SECONDS a headset's "
            "clock may run ahead).",
            examples=["2025-03-08"],
        ),
    ] = None,
) -> Period:
    return Period(start=start, end=end)


CataloguePeriodDep = Annotated[Period, Depends(catalogue_period_query)]

router = APIRouter(
    prefix="/api/v1/events", tags=["analytics"], responses=ACCESS_ERRORS | UNAVAILABLE
)


@router.get("/catalogue", response_model=CatalogueResponse)
async def event_catalogue(
    service: CatalogueServiceDep, period: CataloguePeriodDep
) -> CatalogueResponse:
    """Every event type and field the project's clients sent in the period (default: the last
    CATALOGUE_DEFAULT_DAYS days; at most CATALOGUE_MAX_DAYS), with volume, first and last seen,
    examples, whether the analytics read it (vocabulary, mapped or ignored) and how many of its
    values they could not read. At most the newest CATALOGUE_MAX_EVENTS events are read:
    `complete` says whether that was all of them."""
    return catalogue_response(await service.catalogue(period))


def catalogue_response(catalogue: Catalogue) -> CatalogueResponse:
    return CatalogueResponse(
        period=CataloguePeriodResponse(start=catalogue.period.start, end=catalogue.period.end),
        mapping_version=catalogue.mapping_version,
        events_read=catalogue.events_read,
        complete=catalogue.complete,
        read_from=catalogue.read_from,
        max_events=catalogue.max_events,
        types=[type_response(entry) for entry in catalogue.types],
        types_total=catalogue.types_total,
    )


def type_response(entry: TypeEntry) -> CatalogueTypeResponse:
    figures = entry.figures
    return CatalogueTypeResponse(
        event_type=figures.event_type,
        understood=entry.understood,
        read_as=entry.read_as,
        events=figures.events,
        first_seen_at=figures.first_seen_at,
        last_seen_at=figures.last_seen_at,
        fields=[
            CatalogueFieldResponse(
                path=list(field.figures.path),
                understood=field.understood,
                read_as=field.read_as,
                counted=field.counted,
                events=field.figures.events,
                first_seen_at=field.figures.first_seen_at,
                last_seen_at=field.figures.last_seen_at,
                examples=field.figures.examples,
                unreadable=field.figures.unreadable if field.counted else None,
            )
            for field in entry.fields
        ],
        fields_total=figures.fields_total,
    )
