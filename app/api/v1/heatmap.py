"""Heatmaps: where visitors of a property went, as JSON counts or a PNG image."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from app.api.deps import DatabaseDep, ReadCallerDep, SettingsDep
from app.api.responses import ACCESS_ERRORS, UNAVAILABLE
from app.domain.floor_plans import MAX_STOREY, MIN_STOREY
from app.models.fields import SessionId
from app.models.floor_plans import image_url
from app.models.heatmap import (
    ColourScale,
    HeatmapCell,
    HeatmapFilters,
    HeatmapFloorPlan,
    HeatmapGrid,
    HeatmapLayout,
    HeatmapResponse,
    HeatmapSamples,
    Plane,
)
from app.models.periods import PeriodDep
from app.services.analytics.heatmaps import (
    DEFAULT_BINS,
    DEFAULT_IMAGE_HEIGHT,
    DEFAULT_IMAGE_WIDTH,
    MAX_BIN_SIZE_CM,
    MAX_IMAGE_PIXELS,
    MIN_BIN_SIZE_CM,
    MIN_IMAGE_PIXELS,
    Heatmap,
    HeatmapQuery,
    HeatmapService,
)

router = APIRouter(prefix="/api/v1", tags=["analytics"], responses=ACCESS_ERRORS | UNAVAILABLE)

HEATMAP_ERRORS: dict[int | str, dict] = {
    404: {
        "description": "No session of this property in your project, or session_id is not "
        "one of its sessions.",
        "content": {
            "application/json": {
                "example": {"detail": "Property not found (no sessions of it in this project)"}
            }
        },
    },
    422: {
        "description": "A parameter is invalid, bins and bin_size are both given, or bin_size "
        "makes more cells per axis than ANALYTICS_HEATMAP_MAX_BINS.",
    },
}


def get_heatmap_service(
    database: DatabaseDep, settings: SettingsDep, caller: ReadCallerDep
) -> HeatmapService:
    return HeatmapService(database, settings, project_id=caller.project_id)


def heatmap_query(
    property_id: Annotated[str, Path(min_length=1, description="The property's id.")],
    period: PeriodDep,
    plane: Annotated[
        Plane,
        Query(description="xy: the floor plan seen from above (Unreal is Z-up); xz, yz: sides."),
    ] = Plane.XY,
    bin_size: Annotated[
        float | None,
        Query(
            ge=MIN_BIN_SIZE_CM,
            le=MAX_BIN_SIZE_CM,
            allow_inf_nan=False,
            description="Square cells of this size (cm), on a grid aligned to multiples of it.",
        ),
    ] = None,
    bins: Annotated[
        int | None,
        Query(
            ge=1,
            description="Cells per axis spanning the samples' extent (at most "
            f"ANALYTICS_HEATMAP_MAX_BINS). Default when bin_size is not given: {DEFAULT_BINS}.",
        ),
    ] = None,
    room: Annotated[
        str | None,
        Query(
            description="Only samples taken while the visitor was in this room or zone (by the "
            "latest place event of the session before the sample)."
        ),
    ] = None,
    session_id: Annotated[
        SessionId | None, Query(description="Only this session (one of the property's).")
    ] = None,
    storey: Annotated[
        int | None,
        Query(
            ge=MIN_STOREY,
            le=MAX_STOREY,
            description="Draw on this storey's floor plan (xy plane), counting only samples "
            "within its heights when it has them. Default: the lowest storey with a plan.",
        ),
    ] = None,
) -> HeatmapQuery:
    return HeatmapQuery(
        property_id=property_id,
        plane=plane,
        bin_size=bin_size,
        bins=bins,
        room=room,
        session_id=session_id,
        period=period,
        storey=storey,
    )


HeatmapServiceDep = Annotated[HeatmapService, Depends(get_heatmap_service)]
HeatmapQueryDep = Annotated[HeatmapQuery, Depends(heatmap_query)]


@router.get(
    "/properties/{property_id}/heatmap",
    response_model=HeatmapResponse,
    responses=HEATMAP_ERRORS,
)
async def get_heatmap(
    query: HeatmapQueryDep,
    service: HeatmapServiceDep,
    layout: Annotated[
        HeatmapLayout,
        Query(description="sparse: the non-empty cells; dense: counts[j][i] for every cell."),
    ] = HeatmapLayout.SPARSE,
) -> Response:
    """Position samples of a property binned into a grid on a plane, in world centimetres.
    Samples whose coordinates cannot be read are counted as skipped."""
    heatmap = await service.heatmap(query)
    # Up to ANALYTICS_HEATMAP_MAX_BINS squared cells: shaped and serialized off the event loop.
    body = await asyncio.to_thread(heatmap_json, heatmap, layout)
    return Response(content=body, media_type="application/json")


def heatmap_json(heatmap: Heatmap, layout: HeatmapLayout) -> bytes:
    query = heatmap.query
    grid = None
    if heatmap.shape is not None and heatmap.origin and heatmap.bin_size:
        grid = HeatmapGrid(origin=heatmap.origin, bin_size=heatmap.bin_size, shape=heatmap.shape)
    sparse = layout is HeatmapLayout.SPARSE
    answer = HeatmapResponse(
        property_id=query.property_id,
        plane=query.plane,
        axes=query.plane.axes,
        filters=HeatmapFilters(
            room=query.room.strip() if query.room is not None else None,
            session_id=query.session_id,
            storey=heatmap.floor_plan.storey if heatmap.floor_plan is not None else None,
            start=query.period.start,
            end=query.period.end,
        ),
        grid=grid,
        samples=HeatmapSamples(
            used=heatmap.used, skipped=heatmap.skipped, other_storeys=heatmap.elsewhere
        ),
        max_count=heatmap.max_count,
        cells=[HeatmapCell(i=i, j=j, count=count) for i, j, count in heatmap.cells]
        if sparse
        else None,
        counts=None if sparse else heatmap.dense(),
        floor_plan=floor_plan_json(heatmap),
        floor_plan_note=heatmap.floor_plan_note,
        storeys=list(heatmap.storeys),
    )
    return answer.model_dump_json(by_alias=True).encode()


def floor_plan_json(heatmap: Heatmap) -> HeatmapFloorPlan | None:
    plan = heatmap.floor_plan
    if plan is None or plan.calibration is None:
        return None
    return HeatmapFloorPlan(
        storey=plan.storey,
        name=plan.name,
        image_url=image_url(plan.property_id, plan.storey),
        width=plan.width,
        height=plan.height,
        world_to_pixel=tuple(plan.calibration.world_to_pixel.as_list()),
        z_min=plan.z_min,
        z_max=plan.z_max,
    )


@router.get(
    "/properties/{property_id}/heatmap.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The heatmap as a PNG image."},
        **HEATMAP_ERRORS,
    },
)
async def get_heatmap_png(
    query: HeatmapQueryDep,
    service: HeatmapServiceDep,
    width: Annotated[
        int, Query(ge=MIN_IMAGE_PIXELS, le=MAX_IMAGE_PIXELS, description="Pixels.")
    ] = DEFAULT_IMAGE_WIDTH,
    height: Annotated[
        int, Query(ge=MIN_IMAGE_PIXELS, le=MAX_IMAGE_PIXELS, description="Pixels.")
    ] = DEFAULT_IMAGE_HEIGHT,
    scale: Annotated[
        ColourScale, Query(description="Colour scale of the counts: linear or log.")
    ] = ColourScale.LINEAR,
) -> Response:
    """The same heatmap drawn as a PNG: a colour bar of samples, axes in cm named after the
    plane, a title with the property and filters. Empty cells are left blank."""
    png = await service.heatmap_png(query, width=width, height=height, scale=scale)
    return Response(content=png, media_type="image/png")
