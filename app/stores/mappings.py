"""SQL for event_mappings: every saved version of a project's event mapping; the latest is in
force (docs/events.md, "Mappings")."""

from typing import Any
from uuid import UUID

import asyncpg

from app.domain.vocabulary import DEFAULT_MAPPING, EventMapping, FieldSource, TypeRule

MAPPING_COLUMNS = "version, presets, rules, created_at, actor"


def rules_to_json(rules: tuple[TypeRule, ...]) -> list[dict[str, Any]]:
    return [
        {
            "source_type": rule.source_type,
            "target_type": rule.target_type,
            "fields": {
                name: {"path": list(source.path), "unit": source.unit}
                for name, source in rule.fields.items()
            },
        }
        for rule in rules
    ]


def _rules_from_json(rules: list[dict[str, Any]]) -> tuple[TypeRule, ...]:
    return tuple(
        TypeRule(
            source_type=rule["source_type"],
            target_type=rule["target_type"],
            fields={
                name: FieldSource(path=tuple(source["path"]), unit=source["unit"])
                for name, source in rule["fields"].items()
            },
        )
        for rule in rules
    )


def _mapping(row: asyncpg.Record) -> EventMapping:
    return EventMapping(
        version=row["version"],
        presets=tuple(row["presets"]),
        rules=_rules_from_json(row["rules"]),
        created_at=row["created_at"],
        actor=row["actor"],
    )


class MappingStore:
    """The event mappings of one project."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def in_force(self) -> EventMapping:
        """The latest saved mapping, else the defaults (version 0)."""
        return await self.latest() or DEFAULT_MAPPING

    async def latest(self) -> EventMapping | None:
        """The latest saved mapping; None when the project never saved one."""
        row = await self._connection.fetchrow(
            f"SELECT {MAPPING_COLUMNS} FROM event_mappings WHERE project_id = $1 "
            "ORDER BY version DESC LIMIT 1",
            self._project_id,
        )
        return _mapping(row) if row is not None else None

    async def versions(self, *, limit: int) -> list[EventMapping]:
        """The saved versions, newest first."""
        rows = await self._connection.fetch(
            f"SELECT {MAPPING_COLUMNS} FROM event_mappings WHERE project_id = $1 "
            "ORDER BY version DESC LIMIT $2",
            self._project_id,
            limit,
        )
        return [_mapping(row) for row in rows]

    async def insert(
        self, *, presets: tuple[str, ...], rules: tuple[TypeRule, ...], actor: str
    ) -> EventMapping:
        """Save the next version. Must run in a transaction: the project's row is locked so
        that two saves at once get two versions."""
        await self._connection.execute(
            "SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", self._project_id
        )
        row = await self._connection.fetchrow(
            f"""
            INSERT INTO event_mappings (project_id, version, presets, rules, actor)
            SELECT $1, coalesce(max(version), 0) + 1, $2, $3::jsonb, $4
            FROM event_mappings WHERE project_id = $1
            RETURNING {MAPPING_COLUMNS}
            """,
            self._project_id,
            list(presets),
            rules_to_json(rules),
            actor,
        )
        return _mapping(row)
