"""The original Unreal client's records on POST /api/v1/unreal/session (docs/unreal-client.md):
the records it sends one at a time during a tour, told apart by their keys, and the answer to
each. Its session summary is the documented complete-session body."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.models.fields import UtcDateTime

RecordKind = Literal["view", "poi", "unit_selection"]
RECORD_EVENT_TYPES: dict[RecordKind, str] = {
    "view": "View",
    "poi": "POI",
    "unit_selection": "UnitSelection",
}
"""The event type each record kind is stored as (the unreal-original mapping reads them)."""
RECORD_NAMES: dict[RecordKind, str] = {
    "view": "View record",
    "poi": "POI record",
    "unit_selection": "Unit selection record",
}
UNIT_SELECTION_KEYS = frozenset({"Sqft", "Type", "Datetime"})


def record_kind(body: dict[str, Any]) -> RecordKind | None:
    """Which record a body is, by its keys; None for anything else (a session, or a body to
    refuse)."""
    if "session_start" in body:
        return None
    if "View" in body:
        return "view"
    if "POI" in body or "POI_Duration" in body:
        return "poi"
    if "Name" in body and UNIT_SELECTION_KEYS & body.keys():
        return "unit_selection"
    return None


class RecordModel(BaseModel):
    """Records are stored as sent: these shapes document them, nothing more is required."""

    model_config = ConfigDict(extra="allow")

    session_id: str | None = Field(
        default=None,
        description="Optional: the tour's id (an FGuid). Without it the record joins the tour "
        "whose summary later covers it (same key and address, received in its time).",
    )


class ViewRecord(RecordModel):
    View: str = Field(description="The section of the tour: Home, Location, Amenities...")
    TotalDuration: str | float = Field(description="Time in it: clock text m:ss, e.g. 0:06.")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"View": "Amenities", "TotalDuration": "0:06"}]}
    )


class PoiRecord(RecordModel):
    POI: str = Field(description="The point of interest; may be empty, with Parent set.")
    POI_Source: str | None = Field(default=None, description="Older builds write Source.")
    Parent: str | None = Field(default=None, description="The section it is in.")
    POI_Duration: str | float | None = Field(default=None, description="Clock text, m:ss.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "POI": "Gym",
                    "POI_Source": "Floating",
                    "Parent": "Amenities",
                    "POI_Duration": "0:01",
                }
            ]
        }
    )


class UnitSelectionRecord(RecordModel):
    Name: str
    Sqft: str | float | None = None
    Type: str | None = None
    Datetime: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"Name": "Unit 7C", "Sqft": "1250", "Type": "2BHK", "Datetime": "02-Dec-2025"}
            ]
        }
    )


class RecordReceivedResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    record: RecordKind
    session_id: str | None = Field(
        description="The tour the record joined; null until its session summary arrives."
    )
    duplicate: bool = Field(
        description="True when this repeats the sender's previous record (a retry): kept once."
    )
    received_at: UtcDateTime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "success",
                    "message": "View record received",
                    "record": "view",
                    "session_id": None,
                    "duplicate": False,
                    "received_at": "2025-12-02T09:00:06.125000+00:00",
                }
            ]
        }
    )


class UnclaimedRecordsResponse(BaseModel):
    key_id: UUID | None = Field(description="The sender's key; null for keyless writes.")
    client_address: str
    event_type: str = Field(description="View, POI or UnitSelection.")
    records: int
    first_received_at: UtcDateTime
    last_received_at: UtcDateTime


class WaitingEventsResponse(BaseModel):
    session_id: UUID
    events: int
    first_received_at: UtcDateTime
    last_received_at: UtcDateTime


class UnclaimedResponse(BaseModel):
    """What the project has received that no session has claimed yet (docs/ingestion.md)."""

    records_total: int = Field(
        description="The original client's records no session summary has claimed yet."
    )
    records: list[UnclaimedRecordsResponse] = Field(
        description="Per sender and type, latest first (at most 100)."
    )
    events_total: int = Field(description="Events sent for session ids the project lacks.")
    events: list[WaitingEventsResponse] = Field(
        description="Per session id, latest first (at most 100)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records_total": 3,
                    "records": [
                        {
                            "key_id": None,
                            "client_address": "203.0.113.7",
                            "event_type": "View",
                            "records": 3,
                            "first_received_at": "2025-12-02T09:00:06+00:00",
                            "last_received_at": "2025-12-02T09:03:40+00:00",
                        }
                    ],
                    "events_total": 0,
                    "events": [],
                }
            ]
        }
    )
