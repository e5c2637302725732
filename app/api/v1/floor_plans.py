"""Floor plans (docs/floor-plans.md): read them with the read scope; upload, calibrate and
delete them with the admin scope. Every route acts on the key's own project."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status

from app.api.deps import AdminCallerDep, DatabaseDep, SettingsDep, require_scope
from app.api.responses import ACCESS_ERRORS, UNAVAILABLE
from app.domain.floor_plans import MAX_STOREY, MIN_STOREY
from app.models.analytics.sessions import Label
from app.models.floor_plans import (
    FloorPlanListResponse,
    FloorPlanPlacementRequest,
    FloorPlanResponse,
    FloorPlanSavedResponse,
)
from app.services.access.keys import Caller, Scope
from app.services.floor_plan_images import MEDIA_TYPES
from app.services.floor_plans import FloorPlanService

IMAGE_UPLOAD_PATH = "/api/v1/admin/properties/{property_id}/floor-plans/{storey}/image"


def floor_plan_service_for(scope: Scope) -> Callable[..., Awaitable[FloorPlanService]]:
    async def build(
        database: DatabaseDep,
        settings: SettingsDep,
        caller: Annotated[Caller, Depends(require_scope(scope))],
    ) -> FloorPlanService:
        return FloorPlanService(database, settings, project_id=caller.project_id)

    return build


FloorPlanReaderDep = Annotated[FloorPlanService, Depends(floor_plan_service_for(Scope.READ))]
FloorPlanAdminDep = Annotated[FloorPlanService, Depends(floor_plan_service_for(Scope.ADMIN))]
PropertyId = Annotated[Label, Path(description="The property's id (a label of its sessions).")]
Storey = Annotated[
    int,
    Path(ge=MIN_STOREY, le=MAX_STOREY, description="0: ground floor; negative: basements."),
]

router = APIRouter(prefix="/api/v1", tags=["floor plans"], responses=ACCESS_ERRORS | UNAVAILABLE)
admin_router = APIRouter(
    prefix="/api/v1/admin", tags=["floor plans"], responses=ACCESS_ERRORS | UNAVAILABLE
)


def error_answer(description: str, example: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"detail": example}}},
    }


NO_PLAN = {
    404: error_answer("No plan for this storey", "This property has no floor plan for storey 2")
}
BINARY = {"schema": {"type": "string", "format": "binary"}}
IMAGE_REFUSED = {
    413: error_answer(
        "The body exceeds FLOOR_PLAN_MAX_BYTES",
        "Request body exceeds the limit of 10485760 bytes (FLOOR_PLAN_MAX_BYTES)",
    ),
    415: error_answer(
        "Neither PNG nor JPEG, or a Content-Type the bytes contradict",
        [
            {
                "type": "value_error",
                "loc": ["image"],
                "msg": "not a PNG or JPEG image (the bytes say: a GIF image)",
            }
        ],
    ),
    422: error_answer(
        "The image cannot be decoded, or has more pixels than FLOOR_PLAN_MAX_PIXELS",
        [
            {
                "type": "value_error",
                "loc": ["image"],
                "msg": "is 9000 × 6000 = 54000000 pixels, more than FLOOR_PLAN_MAX_PIXELS "
                "(40000000)",
            }
        ],
    ),
    409: error_answer(
        "The property has FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY storeys already",
        "This property has floor plans for 20 storeys already, the most "
        "FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY allows: delete one first",
    ),
}


@router.get("/properties/{property_id}/floor-plans", response_model=FloorPlanListResponse)
async def floor_plans(
    property_id: PropertyId, service: FloorPlanReaderDep
) -> FloorPlanListResponse:
    """The property's floor plans, lowest storey first; an empty list when it has none."""
    plans = await service.plans(property_id)
    return FloorPlanListResponse(
        property_id=property_id, floor_plans=[FloorPlanResponse.of(plan) for plan in plans]
    )


@router.get(
    "/properties/{property_id}/floor-plans/{storey}/image",
    response_class=Response,
    responses={
        200: {
            "description": "The image as stored: re-encoded, without metadata.",
            "content": {media_type: BINARY for media_type in MEDIA_TYPES.values()},
        },
        304: {"description": "Unchanged since the ETag named in If-None-Match."},
        **NO_PLAN,
    },
)
async def floor_plan_image(
    property_id: PropertyId,
    storey: Storey,
    service: FloorPlanReaderDep,
    settings: SettingsDep,
    if_none_match: Annotated[
        str | None, Header(description="An ETag of an earlier answer: 304 if still current.")
    ] = None,
) -> Response:
    """The storey's image (PNG or JPEG, as uploaded but re-encoded), with an ETag."""
    image = await service.image(property_id, storey)
    etag = f'"{image.updated_at.isoformat()}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={settings.FLOOR_PLAN_CACHE_SECONDS}",
        # The same URL serves each project its own plan: a browser's cache must tell keys apart.
        "Vary": "X-API-Key, Authorization",
    }
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(image.data, media_type=MEDIA_TYPES[image.image_type], headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110's weak comparison of If-None-Match with the current ETag."""
    candidates = [candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


@admin_router.put(
    IMAGE_UPLOAD_PATH.removeprefix("/api/v1/admin"),
    response_model=FloorPlanSavedResponse,
    responses={
        201: {"model": FloorPlanSavedResponse, "description": "The storey had no plan before."},
        **IMAGE_REFUSED,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The image itself (not a form). Its type is read from the bytes; "
            "a Content-Type naming another is refused.",
            "content": {
                media_type: BINARY
                for media_type in (*MEDIA_TYPES.values(), "application/octet-stream")
            },
        }
    },
)
async def upload_floor_plan_image(
    property_id: PropertyId,
    storey: Storey,
    request: Request,
    response: Response,
    caller: AdminCallerDep,
    service: FloorPlanAdminDep,
) -> FloorPlanSavedResponse:
    """Store the storey's image (PNG or JPEG, at most FLOOR_PLAN_MAX_BYTES and
    FLOOR_PLAN_MAX_PIXELS), replacing any: re-encoded without metadata, never resized. 201
    when the storey had none. A calibration survives a new image of the same size only
    (`calibration_cleared` says when it did not). Audited."""
    saved = await service.upload(
        property_id,
        storey,
        await request.body(),
        declared_type=request.headers.get("content-type"),
        actor=caller.actor,
    )
    if saved.created:
        response.status_code = status.HTTP_201_CREATED
    return FloorPlanSavedResponse(
        **FloorPlanResponse.fields_of(saved.plan), calibration_cleared=saved.calibration_cleared
    )


@admin_router.put(
    "/properties/{property_id}/floor-plans/{storey}",
    response_model=FloorPlanResponse,
    responses={
        **NO_PLAN,
        422: {
            "description": "A field that cannot be, named: a calibration point off the "
            "image, two points at the same place, z_min not below z_max..."
        },
    },
)
async def place_floor_plan(
    property_id: PropertyId,
    storey: Storey,
    body: FloorPlanPlacementRequest,
    caller: AdminCallerDep,
    service: FloorPlanAdminDep,
) -> FloorPlanResponse:
    """Set the storey's name, calibration and heights, all at once (null clears). The storey
    needs its image first (404). Audited."""
    plan = await service.place(property_id, storey, body.to_placement(), actor=caller.actor)
    return FloorPlanResponse.of(plan)


@admin_router.delete(
    "/properties/{property_id}/floor-plans/{storey}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NO_PLAN,
)
async def delete_floor_plan(
    property_id: PropertyId, storey: Storey, caller: AdminCallerDep, service: FloorPlanAdminDep
) -> Response:
    """Delete the storey's plan: image, calibration and heights. Audited."""
    await service.delete(property_id, storey, actor=caller.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
