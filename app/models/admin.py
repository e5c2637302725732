"""Request and response shapes of the admin API: the project, its keys, erasure, the audit log."""

from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.domain.access import ApiKeyRecord, ProjectRecord
from app.models.fields import UtcDateTime, storable_text

ScopeName = Literal["ingest", "read", "admin"]
Name = Annotated[
    str,
    BeforeValidator(lambda value: value.strip() if isinstance(value, str) else value),
    Field(min_length=1, max_length=200),
    AfterValidator(storable_text),
]
CustomerId = Annotated[
    str,
    BeforeValidator(lambda value: value.strip() if isinstance(value, str) else value),
    Field(min_length=1, max_length=600),
    AfterValidator(storable_text),
]


class ProjectResponse(BaseModel):
    id: UUID
    name: str
    created_at: UtcDateTime
    time_zone: str = Field(
        description="Where headsets' times without a UTC offset are read when the request does "
        "not reveal their offset (docs/ingestion.md, Local times)."
    )
    accepts_keyless_records: bool = Field(
        description="Whether the original Unreal client's records are taken without an API key "
        "(POST /api/v1/unreal/session only; docs/security.md)."
    )

    @classmethod
    def of(cls, project: ProjectRecord) -> "ProjectResponse":
        return cls.model_validate(project, from_attributes=True)


def time_zone_name(value: str) -> str:
    """An IANA time zone this server knows, such as Europe/Paris or UTC."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"is not a time zone this server knows: {value[:64]!r}") from None
    return value


class ProjectSettingsRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"time_zone": "Asia/Kolkata"}]},
    )

    time_zone: Annotated[str, Field(max_length=64), AfterValidator(time_zone_name)] | None = Field(
        default=None, description="An IANA time zone name, e.g. Europe/Paris."
    )
    accepts_keyless_records: bool | None = Field(
        default=None,
        description="Take the original client's records without a key (at most one project "
        "of a deployment may). Audited.",
    )


Label = Annotated[
    str,
    BeforeValidator(lambda value: value.strip() if isinstance(value, str) else value),
    Field(min_length=1, max_length=600),
    AfterValidator(storable_text),
]


class KeyLabels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    property_id: Label | None = None
    device_type: Label | None = None


class KeyCreateRequest(BaseModel):
    name: Name = Field(description="What the key is for, e.g. 'Quest build 1.4' or 'CRM sync'.")
    scopes: list[ScopeName] = Field(
        min_length=1,
        max_length=3,
        description="ingest: the VR client's writes (ships inside builds: assume it leaks); "
        "read: analytics and exports; admin: keys and erasure.",
    )
    default_labels: KeyLabels | None = Field(
        default=None,
        description="property_id and device_type written onto the sessions this key creates "
        "without them: one build per property is labelled without code changes.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Quest build 1.4, Villa 001",
                    "scopes": ["ingest"],
                    "default_labels": {"property_id": "prop_villa_001"},
                }
            ]
        }
    )


class KeyResponse(BaseModel):
    id: UUID
    project_id: UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    scopes: list[ScopeName]
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None = Field(
        description="Recorded about once a minute, not on every request."
    )
    revoked_at: UtcDateTime | None
    default_labels: dict[str, str]


class KeyCreatedResponse(KeyResponse):
    key: str = Field(description="The key itself: shown only in this answer, never again.")


class ErasureRequest(BaseModel):
    customer_id: CustomerId = Field(description="The customer whose data goes.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"customer_id": "cust_12345"}]})


class ErasureResponse(BaseModel):
    customer_reference: str = Field(
        description="How the audit log names the customer: a SHA-256 of project and customer id."
    )
    sessions_deleted: int
    events_deleted: int
    rejected_events_deleted: int


class AuditEntryResponse(BaseModel):
    id: int
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    occurred_at: UtcDateTime


class AuditLogResponse(BaseModel):
    entries: list[AuditEntryResponse]


def key_fields(record: ApiKeyRecord) -> dict[str, Any]:
    """The public fields of a stored key (never its hash)."""
    return {
        "id": record.id,
        "project_id": record.project_id,
        "name": record.name,
        "prefix": record.key_prefix,
        "scopes": record.scopes,
        "created_at": record.created_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
        "default_labels": record.default_labels,
    }
