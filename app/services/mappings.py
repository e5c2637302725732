"""A project's event mapping: read it, check a new one and save it as the next version, audited
(docs/events.md, "Mappings"). The analytics apply the mapping in force as they read events, so
a saved mapping applies to every event already stored too."""

import re
import uuid

from app.config import Settings
from app.db.database import Database
from app.domain.vocabulary import (
    PRESETS,
    VOCABULARY,
    EventMapping,
    FieldKind,
    FieldSource,
    MappingDraft,
    TypeRule,
)
from app.errors import FieldProblem, InvalidInputError
from app.stores.access import AccessStore
from app.stores.mappings import MappingStore

EVENT_TYPE_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+$")
MAX_PATH_DEPTH = 10
MAX_KEY_LENGTH = 128
MAX_VERSIONS_LISTED = 100


class MappingService:
    """The event mapping of one project (the caller's)."""

    def __init__(self, database: Database, settings: Settings, *, project_id: uuid.UUID) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id

    async def current(self) -> EventMapping:
        """The mapping in force: the latest saved, else the defaults (version 0)."""
        async with self._database.connection() as connection:
            return await MappingStore(connection, self._project_id).in_force()

    async def versions(self, *, limit: int = MAX_VERSIONS_LISTED) -> list[EventMapping]:
        async with self._database.connection() as connection:
            return await MappingStore(connection, self._project_id).versions(limit=limit)

    async def save(self, draft: MappingDraft, *, actor: str) -> EventMapping:
        """Check the draft and save it as the next version; 422 naming every problem."""
        problems = mapping_problems(
            draft,
            max_rules=self._settings.EVENT_MAPPING_MAX_RULES,
            max_type_length=self._settings.MAX_EVENT_TYPE_LENGTH,
        )
        if problems:
            raise InvalidInputError(problems)
        async with self._database.transaction() as connection:
            saved = await MappingStore(connection, self._project_id).insert(
                presets=tuple(dict.fromkeys(draft.presets)), rules=tuple(draft.rules), actor=actor
            )
            await AccessStore(connection).audit(
                project_id=self._project_id,
                actor=actor,
                action="event_mapping.save",
                target=f"version {saved.version}",
                details={
                    "presets": list(saved.presets),
                    "rules": [f"{rule.source_type} -> {rule.target_type}" for rule in saved.rules],
                },
            )
        return saved


def mapping_problems(
    draft: MappingDraft, *, max_rules: int, max_type_length: int
) -> list[FieldProblem]:
    """Everything wrong with a draft, each located in the request body."""
    problems = [
        FieldProblem(("body", "presets", index), f"is no built-in mapping: {name!r}")
        for index, name in enumerate(draft.presets)
        if name not in PRESETS
    ]
    if len(draft.rules) > max_rules:
        problems.append(
            FieldProblem(("body", "rules"), f"at most {max_rules} rules, got {len(draft.rules)}")
        )
    first_rule_of: dict[str, int] = {}
    for index, rule in enumerate(draft.rules):
        where = ("body", "rules", index)
        problems += _type_problems(rule, where, max_type_length=max_type_length)
        if rule.source_type in first_rule_of:
            problems.append(
                FieldProblem(
                    (*where, "source_type"),
                    f"{rule.source_type!r} is mapped twice (also rule "
                    f"{first_rule_of[rule.source_type]}): the two would collide",
                )
            )
        first_rule_of.setdefault(rule.source_type, index)
        if rule.target_type in VOCABULARY:
            problems += _field_problems(rule, where)
    return problems


def _type_problems(
    rule: TypeRule, where: tuple[str | int, ...], *, max_type_length: int
) -> list[FieldProblem]:
    problems = []
    if not EVENT_TYPE_PATTERN.match(rule.source_type) or len(rule.source_type) > max_type_length:
        problems.append(
            FieldProblem(
                (*where, "source_type"),
                f"must be an event type: 1-{max_type_length} of letters, digits, '_', '.', '-'",
            )
        )
    if rule.target_type not in VOCABULARY:
        known = ", ".join(sorted(VOCABULARY))
        problems.append(
            FieldProblem(
                (*where, "target_type"),
                f"{rule.target_type!r} is not in the vocabulary ({known})",
            )
        )
    elif rule.source_type in VOCABULARY and rule.source_type != rule.target_type:
        problems.append(
            FieldProblem(
                (*where, "source_type"),
                f"{rule.source_type!r} is a vocabulary type: mapping it to "
                f"{rule.target_type!r} would collide with every client that sends it as "
                "documented (map it to itself to read its fields elsewhere)",
            )
        )
    return problems


def _field_problems(rule: TypeRule, where: tuple[str | int, ...]) -> list[FieldProblem]:
    fields = VOCABULARY[rule.target_type]
    problems = []
    for name, source in rule.fields.items():
        at = (*where, "fields", name)
        if name not in fields:
            known = ", ".join(fields) or "none"
            problems.append(
                FieldProblem(at, f"{rule.target_type} has no field {name!r} (it has: {known})")
            )
            continue
        problems += _path_problems(source, at)
        if source.unit != "seconds" and fields[name].kind is not FieldKind.DURATION:
            problems.append(FieldProblem((*at, "unit"), "only durations take a unit"))
    return problems


def _path_problems(source: FieldSource, at: tuple[str | int, ...]) -> list[FieldProblem]:
    if not 1 <= len(source.path) <= MAX_PATH_DEPTH:
        return [FieldProblem((*at, "path"), f"must have 1 to {MAX_PATH_DEPTH} keys")]
    if any(not key or len(key) > MAX_KEY_LENGTH or "\x00" in key for key in source.path):
        return [
            FieldProblem(
                (*at, "path"),
                f"every key must be 1 to {MAX_KEY_LENGTH} characters, without NUL",
            )
        ]
    return []
