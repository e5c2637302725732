"""Event mappings: how the project's clients' own event types and fields map onto the
vocabulary the analytics read (docs/events.md, "Mappings"). Admin scope; every save is a new
version, audited, and applies to the events already stored as well."""

from fastapi import APIRouter

from app.api.deps import AdminCallerDep, MappingServiceDep
from app.api.responses import ACCESS_ERRORS, BODY_ERRORS, UNAVAILABLE
from app.models.mappings import (
    MappingRequest,
    MappingResponse,
    MappingVersionsResponse,
    VocabularyResponse,
)

router = APIRouter(
    prefix="/api/v1/admin/event-mapping",
    tags=["admin"],
    responses=ACCESS_ERRORS | UNAVAILABLE,
)


@router.get("", response_model=MappingResponse)
async def current_mapping(service: MappingServiceDep) -> MappingResponse:
    """The mapping in force (version 0 until one is saved: the built-in defaults)."""
    return MappingResponse.of(await service.current())


@router.put("", response_model=MappingResponse, responses=BODY_ERRORS)
async def save_mapping(
    body: MappingRequest, service: MappingServiceDep, caller: AdminCallerDep
) -> MappingResponse:
    """Replace the mapping with this one, as its next version. It is checked first: a rule
    that targets an unknown type or field, or maps a source type twice, or remaps a vocabulary
    type, is a 422 naming it. Reports read every event, past ones too, through it from now on."""
    return MappingResponse.of(await service.save(body.to_draft(), actor=caller.actor))


@router.get("/versions", response_model=MappingVersionsResponse)
async def mapping_versions(service: MappingServiceDep) -> MappingVersionsResponse:
    """Every saved version, newest first (at most 100)."""
    versions = await service.versions()
    return MappingVersionsResponse(versions=[MappingResponse.of(saved) for saved in versions])


@router.get("/vocabulary", response_model=VocabularyResponse)
async def vocabulary(_: AdminCallerDep) -> VocabularyResponse:
    """What a mapping can target: the vocabulary's types and fields, and the built-in mappings
    a project can turn on."""
    return VocabularyResponse.current()
