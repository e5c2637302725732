"""What waits for a session: the original client's records no session summary has claimed, and
events sent for session ids the project does not have (yet). Read scope."""

from fastapi import APIRouter

from app.api.deps import DatabaseDep, ReadCallerDep
from app.api.responses import ACCESS_ERRORS, UNAVAILABLE
from app.models.legacy import (
    UnclaimedRecordsResponse,
    UnclaimedResponse,
    WaitingEventsResponse,
)
from app.services.ingestion.records import unclaimed

router = APIRouter(prefix="/api/v1", tags=["analytics"], responses=ACCESS_ERRORS | UNAVAILABLE)
LISTED = 100


@router.get("/unclaimed", response_model=UnclaimedResponse)
async def unclaimed_data(caller: ReadCallerDep, database: DatabaseDep) -> UnclaimedResponse:
    """Records and events stored but not (yet) part of any session, so no report counts them
    until their session summary or session arrives; kept LEGACY_RECORD_RETENTION_HOURS and
    PENDING_EVENT_RETENTION_HOURS."""
    found = await unclaimed(database, caller.project_id, limit=LISTED)
    return UnclaimedResponse(
        records_total=found.records_total,
        records=[
            UnclaimedRecordsResponse.model_validate(group, from_attributes=True)
            for group in found.records
        ],
        events_total=found.events_total,
        events=[
            WaitingEventsResponse.model_validate(group, from_attributes=True)
            for group in found.events
        ],
    )
