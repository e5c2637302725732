"""Projects and API keys as the database layer hands them over."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

DEFAULT_PROJECT_ID = UUID("00000000-0000-0000-0000-000000000001")
"""The project of data written before keys existed (created by migration 0003)."""


@dataclass(frozen=True)
class ProjectRecord:
    id: UUID
    name: str
    created_at: datetime
    time_zone: str
    """IANA name: where headsets' times without a UTC offset are read, unless the request
    itself reveals their offset (docs/ingestion.md, "Local times")."""
    accepts_keyless_records: bool
    """Whether the legacy endpoint takes the original client's writes without a key here."""


@dataclass(frozen=True)
class ApiKeyRecord:
    id: UUID
    project_id: UUID
    name: str
    key_prefix: str
    key_hash: bytes
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    default_labels: dict[str, str]
    """property_id / device_type written onto the sessions this key creates without them."""
