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
    }
