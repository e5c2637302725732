"""Request and response shapes of the admin API: the project, its keys, erasure, the audit log."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.domain.access import ApiKeyRecord
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

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Quest build 1.4", "scopes": ["ingest"]}]}
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
    }
