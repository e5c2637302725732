"""The event catalogue's answer (GET /api/v1/events/catalogue; docs/events.md, "The
catalogue"): every event type and field as sent, and what the analytics make of it."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.fields import UtcDateTime

Understood = Literal["vocabulary", "mapped", "ignored"]
UNDERSTOOD_DESCRIPTION = (
    "vocabulary: read as docs/events.md defines it; mapped: read through the mapping in force "
    "(a preset's or the project's own rule); ignored: no figure reads it."
)


class CataloguePeriodResponse(BaseModel):
    """The half-open period [from, to) read."""

    model_config = ConfigDict(populate_by_name=True)

    start: UtcDateTime = Field(alias="from")
    end: UtcDateTime = Field(alias="to")


class CatalogueFieldResponse(BaseModel):
    path: list[str] = Field(
        description="Keys from the top of event_data: every top-level key, and the deeper "
        "paths a rule in force reads."
    )
    understood: Understood = Field(description=UNDERSTOOD_DESCRIPTION)
    read_as: str | None = Field(
        description="The vocabulary field it is read as (room_view.room_name); for a key "
        "holding a deeper path a rule reads, that path's field."
    )
    counted: bool = Field(
        description="Whether some figure reads it (a kept-only field, such as a position, is "
        "not): false means it counts for nothing."
    )
    events: int = Field(description="Events of the type that carry it.")
    first_seen_at: UtcDateTime
    last_seen_at: UtcDateTime
    examples: list[str] = Field(
        description="The most frequent values (CATALOGUE_EXAMPLES), each cut to "
        "CATALOGUE_EXAMPLE_MAX_CHARS characters; strings as they are, other values as JSON."
    )
    unreadable: int | None = Field(
        description="Values present (not null) that a figure reads but could not use: a "
        "duration that is none (or outside 0 to a day), a blank name or one that is not a "
        "string, a coordinate that is not a number. null when no figure reads the field."
    )


class CatalogueTypeResponse(BaseModel):
    event_type: str = Field(description="As sent.")
    understood: Understood = Field(description=UNDERSTOOD_DESCRIPTION)
    read_as: str | None = Field(description="The vocabulary type its events count as.")
    events: int
    first_seen_at: UtcDateTime
    last_seen_at: UtcDateTime
    fields: list[CatalogueFieldResponse] = Field(description="Most frequent first.")
    fields_total: int = Field(description="Fields found; at most CATALOGUE_MAX_FIELDS are listed.")


class CatalogueResponse(BaseModel):
    period: CataloguePeriodResponse
    mapping_version: int = Field(description="The event mapping the events were judged by.")
    events_read: int
    complete: bool = Field(
        description="False when the period holds more than CATALOGUE_MAX_EVENTS events: the "
        "figures are those of the newest events_read, from read_from on."
    )
    read_from: UtcDateTime | None = Field(description="The oldest event read.")
    max_events: int = Field(description="CATALOGUE_MAX_EVENTS.")
    types: list[CatalogueTypeResponse] = Field(description="Most events first.")
    types_total: int = Field(description="Types found; at most CATALOGUE_MAX_TYPES are listed.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {
                        "from": "2025-03-01T00:00:00+00:00",
                        "to": "2025-03-08T00:00:00+00:00",
                    },
                    "mapping_version": 0,
                    "events_read": 1204,
                    "complete": True,
                    "read_from": "2025-03-01T09:12:44.250000+00:00",
                    "max_events": 100000,
                    "types": [
                        {
                            "event_type": "ViewChanged",
                            "understood": "ignored",
                            "read_as": None,
                            "events": 44,
                            "first_seen_at": "2025-03-02T10:00:10.250000+00:00",
                            "last_seen_at": "2025-03-07T16:41:02+00:00",
                            "fields": [
                                {
                                    "path": ["Ms"],
                                    "understood": "ignored",
                                    "read_as": None,
                                    "counted": False,
                                    "events": 44,
                                    "first_seen_at": "2025-03-02T10:00:10.250000+00:00",
                                    "last_seen_at": "2025-03-07T16:41:02+00:00",
                                    "examples": ["42500", "12000"],
                                    "unreadable": None,
                                }
                            ],
                            "fields_total": 2,
                        },
                        {
                            "event_type": "View",
                            "understood": "mapped",
                            "read_as": "room_view",
                            "events": 12,
                            "first_seen_at": "2025-03-03T11:00:00+00:00",
                            "last_seen_at": "2025-03-06T15:20:00+00:00",
                            "fields": [
                                {
                                    "path": ["TotalDuration"],
                                    "understood": "mapped",
                                    "read_as": "room_view.duration",
                                    "counted": True,
                                    "events": 12,
                                    "first_seen_at": "2025-03-03T11:00:00+00:00",
                                    "last_seen_at": "2025-03-06T15:20:00+00:00",
                                    "examples": ["0:42", "1:05", "1,77,50,078:30:03"],
                                    "unreadable": 1,
                                }
                            ],
                            "fields_total": 2,
                        },
                    ],
                    "types_total": 2,
                }
            ]
        }
    )
