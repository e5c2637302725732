"""Request and response shapes of the admin API: the project, its keys, erasure, the audit log."""

from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.domain.access import ApiKeyRecord, ProjectRecord
from app.models.fields import UtcDateTime, storable_text

# What a project's admin key may grant; a key may also hold "metrics", which only the operator
# grants (the CLI): it reads every project's figures together.
GrantableScopeName = Literal["ingest", "read", "admin"]
ScopeName = Literal["ingest", "read", "admin", "metrics"]
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "00000000-0000-0000-0000-000000000001",
                    "name": "default",
                    "created_at": "2025-10-06T10:00:00+00:00",
                    "time_zone": "Asia/Kolkata",
                    "accepts_keyless_records": False,
                }
            ]
        }
    )


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "00000000-0000-0000-0000-000000000001",
                    "name": "Agency North",
                    "created_at": "2025-10-01T08:00:00.000000+00:00",
                }
            ]
        }
    )


class KeyCreateRequest(BaseModel):
    name: Name = Field(description="What the key is for, e.g. 'Quest build 1.4' or 'CRM sync'.")
    scopes: list[GrantableScopeName] = Field(
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2",
                    "project_id": "00000000-0000-0000-0000-000000000001",
                    "name": "Quest build 1.4",
                    "prefix": "nxr_Q2x9fKpL",
                    "scopes": ["ingest"],
                    "created_at": "2025-10-06T17:09:27.412000+00:00",
                    "last_used_at": None,
                    "revoked_at": None,
                }
            ]
        }
    )


class KeyCreatedResponse(KeyResponse):
    key: str = Field(description="The key itself: shown only in this answer, never again.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2",
                    "project_id": "00000000-0000-0000-0000-000000000001",
                    "name": "Quest build 1.4",
                    "prefix": "nxr_Q2x9fKpL",
                    "scopes": ["ingest"],
                    "created_at": "2025-10-06T17:09:27.412000+00:00",
                    "last_used_at": None,
                    "revoked_at": None,
                    "key": "nxr_Q2x9fKpL7mWc1vT8yZr3hN0aD5eUbS6gJ4kXoIqB2fA",
                }
            ]
        }
    )


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_reference": "sha256:3f1c9a0d5e7b2c4a8f6d1e0b9a7c5e3d"
                    "1f2a4b6c8d0e9f7a5b3c1d2e4f6a8b0c9d",
                    "sessions_deleted": 3,
                    "events_deleted": 412,
                    "rejected_events_deleted": 2,
                }
            ]
        }
    )


REFERENCE_EXAMPLE = "sha256:3f1c9a0d5e7b2c4a8f6d1e0b9a7c5e3d1f2a4b6c8d0e9f7a5b3c1d2e4f6a8b0c9d"


class SuppressionResponse(BaseModel):
    """An erased customer whose writes are refused (docs/security.md, "Erasure")."""

    customer_reference: str = Field(description="SHA-256 of project and customer id.")
    erased_at: UtcDateTime
    sessions: int = Field(description="Sessions erased with the customer: their writes too.")
    refused_writes: int = Field(
        description="Sessions, events and records for the customer or its sessions refused since."
    )
    last_refused_at: UtcDateTime | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_reference": REFERENCE_EXAMPLE,
                    "erased_at": "2025-03-04T10:00:00+00:00",
                    "sessions": 3,
                    "refused_writes": 2,
                    "last_refused_at": "2025-03-04T10:02:11+00:00",
                }
            ]
        }
    )


class SuppressionListResponse(BaseModel):
    erasures: list[SuppressionResponse] = Field(description="Newest first, at most 100.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "erasures": [
                        {
                            "customer_reference": REFERENCE_EXAMPLE,
                            "erased_at": "2025-03-04T10:00:00+00:00",
                            "sessions": 3,
                            "refused_writes": 0,
                            "last_refused_at": None,
                        }
                    ]
                }
            ]
        }
    )


class AuditEntryResponse(BaseModel):
    id: int
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    occurred_at: UtcDateTime


class AuditLogResponse(BaseModel):
    entries: list[AuditEntryResponse]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "id": 42,
                            "actor": "key 0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2 (North admin)",
                            "action": "customer.erased",
                            "target": "sha256:3f1c9a0d5e7b2c4a8f6d1e0b9a7c5e3d"
                            "1f2a4b6c8d0e9f7a5b3c1d2e4f6a8b0c9d",
                            "details": {"sessions": 3, "events": 412, "rejected_events": 2},
                            "occurred_at": "2025-10-06T17:09:27.412000+00:00",
                        }
                    ]
                }
            ]
        }
    )


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
