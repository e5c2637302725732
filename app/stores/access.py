"""SQL for projects, API keys and the audit log."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from app.domain.access import ApiKeyRecord, ProjectRecord

KEY_COLUMNS = """
    id, project_id, name, key_prefix, key_hash, scopes, created_at, last_used_at, revoked_at,
    default_labels
"""
PROJECT_COLUMNS = "id, name, created_at, time_zone, accepts_keyless_records"


def _key(row: asyncpg.Record | None) -> ApiKeyRecord | None:
    return ApiKeyRecord(**dict(row)) if row is not None else None


class AccessStore:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def create_project(self, name: str) -> ProjectRecord:
        row = await self._connection.fetchrow(
            f"INSERT INTO projects (name) VALUES ($1) RETURNING {PROJECT_COLUMNS}", name
        )
        return ProjectRecord(**dict(row))

    async def get_project(self, project_id: UUID) -> ProjectRecord | None:
        row = await self._connection.fetchrow(
            f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1", project_id
        )
        return ProjectRecord(**dict(row)) if row is not None else None

    async def list_projects(self) -> list[ProjectRecord]:
        rows = await self._connection.fetch(
            f"SELECT {PROJECT_COLUMNS} FROM projects ORDER BY created_at, id"
        )
        return [ProjectRecord(**dict(row)) for row in rows]

    async def rename_project(self, project_id: UUID, name: str) -> ProjectRecord | None:
        row = await self._connection.fetchrow(
            f"UPDATE projects SET name = $2 WHERE id = $1 RETURNING {PROJECT_COLUMNS}",
            project_id,
            name,
        )
        return ProjectRecord(**dict(row)) if row is not None else None

    async def set_project_settings(
        self, project_id: UUID, *, time_zone: str | None, accepts_keyless_records: bool | None
    ) -> ProjectRecord | None:
        """Change what is given (None: unchanged)."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE projects
            SET time_zone = coalesce($2, time_zone),
                accepts_keyless_records = coalesce($3, accepts_keyless_records)
            WHERE id = $1
            RETURNING {PROJECT_COLUMNS}
            """,
            project_id,
            time_zone,
            accepts_keyless_records,
        )
        return ProjectRecord(**dict(row)) if row is not None else None

    async def keyless_project(self, *, for_update: bool = False) -> ProjectRecord | None:
        """The project that takes keyless records, if one does."""
        lock = "FOR UPDATE" if for_update else ""
        row = await self._connection.fetchrow(
            f"SELECT {PROJECT_COLUMNS} FROM projects WHERE accepts_keyless_records {lock}"
        )
        return ProjectRecord(**dict(row)) if row is not None else None

    async def insert_key(
        self,
        *,
        project_id: UUID,
        name: str,
        key_prefix: str,
        key_hash: bytes,
        scopes: Sequence[str],
        default_labels: dict[str, str] | None = None,
    ) -> ApiKeyRecord | None:
        """Store a key; None when a key with this hash exists already."""
        row = await self._connection.fetchrow(
            f"""
            INSERT INTO api_keys (project_id, name, key_prefix, key_hash, scopes, default_labels)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb)
            ON CONFLICT (key_hash) DO NOTHING
            RETURNING {KEY_COLUMNS}
            """,
            project_id,
            name,
            key_prefix,
            key_hash,
            list(scopes),
            default_labels or {},
        )
        return _key(row)

    async def get_key_by_hash(self, key_hash: bytes) -> ApiKeyRecord | None:
        row = await self._connection.fetchrow(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1", key_hash
        )
        return _key(row)

    async def keys_with_prefix(self, key_prefix: str) -> list[ApiKeyRecord]:
        """Keys still valid whose first characters are these: the candidates for a presented key."""
        rows = await self._connection.fetch(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_prefix = $1 AND revoked_at IS NULL",
            key_prefix,
        )
        return [ApiKeyRecord(**dict(row)) for row in rows]

    async def list_keys(self, project_id: UUID | None) -> list[ApiKeyRecord]:
        """The keys of one project, or of all projects when `project_id` is None (the CLI)."""
        rows = await self._connection.fetch(
            f"""
            SELECT {KEY_COLUMNS} FROM api_keys
            WHERE $1::uuid IS NULL OR project_id = $1
            ORDER BY created_at, id
            """,
            project_id,
        )
        return [ApiKeyRecord(**dict(row)) for row in rows]

    async def lock_first_key(self) -> None:
        """Serialise the creation of a first key among workers starting together (released
        with the transaction)."""
        await self._connection.execute("SELECT pg_advisory_xact_lock(hashtext('nexero.first_key'))")

    async def count_keys(self) -> int:
        return await self._connection.fetchval("SELECT count(*) FROM api_keys")

    async def get_key(self, key_id: UUID, *, project_id: UUID) -> ApiKeyRecord | None:
        row = await self._connection.fetchrow(
            f"SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND project_id = $2",
            key_id,
            project_id,
        )
        return _key(row)

    async def lock_project_keys(self, project_id: UUID) -> None:
        """Serialise revocations in one project (until the transaction ends), so that two admin
        keys revoking each other at once cannot both succeed and leave no admin key."""
        await self._connection.execute(
            "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project_id
        )

    async def count_active_admin_keys(self, project_id: UUID, *, excluding: UUID) -> int:
        return await self._connection.fetchval(
            """
            SELECT count(*) FROM api_keys
            WHERE project_id = $1 AND id <> $2 AND revoked_at IS NULL
              AND 'admin' = any(scopes)
            """,
            project_id,
            excluding,
        )

    async def revoke_key(self, key_id: UUID, *, project_id: UUID | None) -> ApiKeyRecord | None:
        """Revoke a key (of this project, unless None); revoking twice keeps the first time."""
        row = await self._connection.fetchrow(
            f"""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE id = $1 AND ($2::uuid IS NULL OR project_id = $2)
            RETURNING {KEY_COLUMNS}
            """,
            key_id,
            project_id,
        )
        return _key(row)

    async def record_key_use(self, used_at: dict[UUID, datetime]) -> None:
        """Move last_used_at forward for many keys in one statement."""
        if not used_at:
            return
        await self._connection.execute(
            """
            UPDATE api_keys SET last_used_at = used.at
            FROM unnest($1::uuid[], $2::timestamptz[]) AS used (id, at)
            WHERE api_keys.id = used.id
              AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < used.at)
            """,
            list(used_at),
            list(used_at.values()),
        )

    async def audit(
        self,
        *,
        project_id: UUID,
        actor: str,
        action: str,
        target: str | None,
        details: dict[str, Any],
    ) -> None:
        await self._connection.execute(
            """
            INSERT INTO audit_log (project_id, actor, action, target, details)
            VALUES ($1, $2, $3, $4, $5::jsonb)
            """,
            project_id,
            actor,
            action,
            target,
            details,
        )

    async def audit_entries(self, project_id: UUID, *, limit: int) -> list[asyncpg.Record]:
        return await self._connection.fetch(
            """
            SELECT id, actor, action, target, details, occurred_at FROM audit_log
            WHERE project_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2
            """,
            project_id,
            limit,
        )
