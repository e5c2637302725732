"""The admin API: the caller's project, its keys, customer erasure and the audit log. Every
route needs the admin scope and acts on the caller's own project only."""

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, status

from app.api.deps import AccessServiceDep, AdminCallerDep, ErasureServiceDep, KeyVerifierDep
from app.api.responses import ACCESS_ERRORS, BODY_ERRORS, UNAVAILABLE
from app.models.admin import (
    AuditLogResponse,
    ErasureRequest,
    ErasureResponse,
    KeyCreatedResponse,
    KeyCreateRequest,
    KeyResponse,
    ProjectResponse,
    ProjectSettingsRequest,
    SuppressionListResponse,
    SuppressionResponse,
    key_fields,
)
from app.services.access.keys import parse_scopes

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ACCESS_ERRORS | UNAVAILABLE)

KEY_NOT_FOUND = {404: {"description": "No key with this id in your project"}}
KEY_KEPT = {
    409: {
        "description": "The key making the request, or the project's last admin key: revoking "
        "it would lock the project's operators out (the CLI can still revoke it).",
        "content": {
            "application/json": {
                "example": {
                    "detail": "An API key cannot revoke itself: revoke it with another admin key "
                    "of the project, or with the CLI (python -m app keys revoke)"
                }
            }
        },
    }
}
MAX_AUDIT_ENTRIES = 1000


@router.get("/project", response_model=ProjectResponse)
async def get_project(caller: AdminCallerDep, access: AccessServiceDep) -> ProjectResponse:
    """The project this key belongs to."""
    return ProjectResponse.of(await access.get_project(caller.project_id))


@router.patch(
    "/project",
    response_model=ProjectResponse,
    responses={**BODY_ERRORS, 409: {"description": "Another project takes keyless records"}},
)
async def set_project_settings(
    body: ProjectSettingsRequest,
    caller: AdminCallerDep,
    access: AccessServiceDep,
    verifier: KeyVerifierDep,
) -> ProjectResponse:
    """Set the project's time zone (for headsets' local times) and whether it takes the
    original Unreal client's records without a key. Each change is audited."""
    project = await access.set_project_settings(
        caller.project_id,
        time_zone=body.time_zone,
        accepts_keyless_records=body.accepts_keyless_records,
        actor=caller.actor,
    )
    # Other workers follow within API_KEY_CACHE_SECONDS, as for a revoked key.
    verifier.forget_keyless()
    return ProjectResponse.of(project)


@router.get("/keys", response_model=list[KeyResponse])
async def list_keys(caller: AdminCallerDep, access: AccessServiceDep) -> list[KeyResponse]:
    """The project's keys, revoked ones included; never the keys themselves."""
    keys = await access.list_keys(caller.project_id)
    return [KeyResponse(**key_fields(key)) for key in keys]


@router.post(
    "/keys",
    response_model=KeyCreatedResponse,
    status_code=status.HTTP_201_CREATED,
    responses=BODY_ERRORS,
)
async def create_key(
    body: KeyCreateRequest, caller: AdminCallerDep, access: AccessServiceDep
) -> KeyCreatedResponse:
    """Create a key in your project. The answer holds the key itself, shown only this once."""
    created = await access.create_key(
        project_id=caller.project_id,
        name=body.name,
        scopes=parse_scopes(body.scopes),
        actor=caller.actor,
        default_labels=body.default_labels.model_dump(exclude_none=True)
        if body.default_labels
        else None,
    )
    return KeyCreatedResponse(**key_fields(created.record), key=created.secret)


@router.post(
    "/keys/{key_id}/revoke", response_model=KeyResponse, responses=KEY_NOT_FOUND | KEY_KEPT
)
async def revoke_key(
    key_id: Annotated[UUID, Path()],
    caller: AdminCallerDep,
    access: AccessServiceDep,
    verifier: KeyVerifierDep,
) -> KeyResponse:
    """Revoke a key at once in this worker, within API_KEY_CACHE_SECONDS in the others.
    Revoking twice keeps the first revocation. A key cannot revoke itself, nor the project's
    last admin key (409)."""
    revoked = await access.revoke_key(
        key_id, project_id=caller.project_id, actor=caller.actor, revoked_by=caller
    )
    verifier.forget(revoked.key_hash)
    return KeyResponse(**key_fields(revoked))


@router.post("/erasures", response_model=ErasureResponse, responses=BODY_ERRORS)
async def erase_customer(
    body: ErasureRequest,
    caller: AdminCallerDep,
    erasure: ErasureServiceDep,
) -> ErasureResponse:
    """Delete every session, event and rejected event of one customer in your project. The
    audit log records who, when and how many, naming the customer only by a hash."""
    result = await erasure.erase_customer(body.customer_id, caller=caller)
    return ErasureResponse(
        customer_reference=result.customer_reference,
        sessions_deleted=result.counts.sessions,
        events_deleted=result.counts.events,
        rejected_events_deleted=result.counts.rejected_events,
    )


@router.get("/erasures", response_model=SuppressionListResponse)
async def list_erasures(
    caller: AdminCallerDep, erasure: ErasureServiceDep
) -> SuppressionListResponse:
    """The project's erased customers, whose writes are refused (410), with how many were."""
    suppressions = await erasure.suppressions(caller.project_id)
    return SuppressionListResponse(
        erasures=[SuppressionResponse(**asdict(suppression)) for suppression in suppressions]
    )


@router.post(
    "/erasures/lift",
    response_model=SuppressionResponse,
    responses={**BODY_ERRORS, 404: {"description": "The customer was not erased here."}},
)
async def lift_erasure(
    body: ErasureRequest, caller: AdminCallerDep, erasure: ErasureServiceDep
) -> SuppressionResponse:
    """Take writes for an erased customer again (their data stays erased); audited. For a
    customer who comes back and agrees to be recorded anew."""
    lifted = await erasure.lift(body.customer_id, caller=caller)
    return SuppressionResponse(**asdict(lifted))


@router.get("/audit", response_model=AuditLogResponse)
async def audit_log(
    caller: AdminCallerDep,
    access: AccessServiceDep,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_ENTRIES)] = 100,
) -> AuditLogResponse:
    """The project's audit log, newest first: key creations and revocations, erasures."""
    entries = await access.audit_entries(caller.project_id, limit=limit)
    return AuditLogResponse.model_validate({"entries": entries})
