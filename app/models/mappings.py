"""Request and response shapes of event mappings (docs/events.md, "Mappings"): a project's
client event types and fields, mapped onto the vocabulary the analytics read."""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.domain.vocabulary import (
    DURATION_UNITS,
    PRESETS,
    VOCABULARY,
    EventMapping,
    FieldSource,
    MappingDraft,
    TypeRule,
)
from app.models.fields import UtcDateTime

DurationUnitName = Literal["seconds", "milliseconds", "minutes"]
MAX_PATH_TEXT = 1300  # ten keys of at most 128 characters, and the dots between them


def dotted_path(value: object) -> object:
    """A path given as "payload.room.name" becomes its keys."""
    return value.split(".") if isinstance(value, str) else value


Path = Annotated[
    list[Annotated[str, Field(max_length=MAX_PATH_TEXT)]],
    BeforeValidator(dotted_path),
    Field(
        min_length=1,
        max_length=10,
        description='Keys from the top of event_data: "payload.room.name", or '
        '["payload", "room.name"] for a key that holds a dot.',
    ),
]


class FieldSourceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path
    unit: DurationUnitName = Field(
        default="seconds",
        description="For durations: what the client's numbers count (clock text is always read "
        "as a time).",
    )


def path_alone(value: object) -> object:
    """A field given as just its path."""
    return {"path": value} if isinstance(value, str | list) else value


FieldSourceInput = Annotated[FieldSourceBody, BeforeValidator(path_alone)]


class TypeRuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_type: str = Field(max_length=200, description="The event_type the client sends.")
    target_type: str = Field(max_length=200, description="The vocabulary type it counts as.")
    fields: dict[Annotated[str, Field(max_length=200)], FieldSourceInput] = Field(
        default_factory=dict,
        max_length=20,
        description="Vocabulary field -> where the client keeps it (a path, or "
        '{"path": ..., "unit": ...}). Fields not named are read from their own key.',
    )

    def to_rule(self) -> TypeRule:
        return TypeRule(
            source_type=self.source_type,
            target_type=self.target_type,
            fields={
                name: FieldSource(path=tuple(source.path), unit=source.unit)
                for name, source in self.fields.items()
            },
        )


MAPPING_EXAMPLE = {
    "presets": ["unreal-original"],
    "rules": [
        {
            "source_type": "ViewChanged",
            "target_type": "room_view",
            "fields": {
                "room_name": "payload.room.name",
                "duration": {"path": "Seconds", "unit": "seconds"},
            },
        },
        {
            "source_type": "unit_selected",
            "target_type": "unit_selection",
            "fields": {"name": "Unit"},
        },
    ],
}


class MappingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [MAPPING_EXAMPLE]})

    presets: list[Annotated[str, Field(max_length=100)]] = Field(
        max_length=20,
        description="Built-in mappings to turn on (GET .../event-mapping/vocabulary lists "
        "them); [] turns them all off.",
    )
    rules: list[TypeRuleBody] = Field(
        description="The project's own rules; one per source type. A rule for a source type a "
        "preset maps too takes its place.",
    )

    def to_draft(self) -> MappingDraft:
        return MappingDraft(
            presets=tuple(self.presets), rules=tuple(rule.to_rule() for rule in self.rules)
        )


class FieldSourceResponse(BaseModel):
    path: list[str]
    unit: DurationUnitName


class TypeRuleResponse(BaseModel):
    source_type: str
    target_type: str
    fields: dict[str, FieldSourceResponse]

    @classmethod
    def of(cls, rule: TypeRule) -> "TypeRuleResponse":
        return cls(
            source_type=rule.source_type,
            target_type=rule.target_type,
            fields={
                name: FieldSourceResponse(path=list(source.path), unit=source.unit)
                for name, source in rule.fields.items()
            },
        )


class MappingResponse(BaseModel):
    version: int = Field(description="0: never saved (the defaults).")
    presets: list[str]
    rules: list[TypeRuleResponse]
    created_at: UtcDateTime | None
    actor: str | None = Field(description="Who saved this version (as the audit log names them).")

    @classmethod
    def of(cls, mapping: EventMapping) -> "MappingResponse":
        return cls(
            version=mapping.version,
            presets=list(mapping.presets),
            rules=[TypeRuleResponse.of(rule) for rule in mapping.rules],
            created_at=mapping.created_at,
            actor=mapping.actor,
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 3,
                    "presets": ["unreal-original"],
                    "rules": [
                        {
                            "source_type": "ViewChanged",
                            "target_type": "room_view",
                            "fields": {
                                "room_name": {
                                    "path": ["payload", "room", "name"],
                                    "unit": "seconds",
                                }
                            },
                        }
                    ],
                    "created_at": "2026-11-30T09:12:44.120000+00:00",
                    "actor": "key 5d0c... (ops laptop)",
                }
            ]
        }
    )


class MappingVersionsResponse(BaseModel):
    versions: list[MappingResponse] = Field(description="Newest first, at most 100.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "versions": [
                        {
                            "version": 2,
                            "presets": ["unreal-original"],
                            "rules": [],
                            "created_at": "2026-11-30T09:12:44.120000+00:00",
                            "actor": "cli (ops)",
                        }
                    ]
                }
            ]
        }
    )


class VocabularyFieldResponse(BaseModel):
    kind: Literal["name", "duration", "number", "object"]
    read: bool = Field(description="Whether some figure of the analytics reads it.")


class PresetResponse(BaseModel):
    name: str
    description: str
    rules: list[TypeRuleResponse]


class VocabularyResponse(BaseModel):
    """What mappings can target, and the built-in mappings a project can turn on."""

    types: dict[str, dict[str, VocabularyFieldResponse]]
    duration_units: list[str]
    presets: list[PresetResponse]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "types": {
                        "room_view": {
                            "room_name": {"kind": "name", "read": True},
                            "duration": {"kind": "duration", "read": True},
                        },
                        "screenshot_taken": {},
                    },
                    "duration_units": ["seconds", "milliseconds", "minutes"],
                    "presets": [
                        {
                            "name": "unreal-original",
                            "description": "The original Unreal Blueprint client's records.",
                            "rules": [
                                {
                                    "source_type": "View",
                                    "target_type": "room_view",
                                    "fields": {
                                        "room_name": {"path": ["View"], "unit": "seconds"},
                                        "duration": {
                                            "path": ["TotalDuration"],
                                            "unit": "seconds",
                                        },
                                    },
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    @classmethod
    def current(cls) -> "VocabularyResponse":
        return cls(
            types={
                event_type: {
                    name: VocabularyFieldResponse(kind=field.kind.value, read=field.read)
                    for name, field in fields.items()
                }
                for event_type, fields in VOCABULARY.items()
            },
            duration_units=list(DURATION_UNITS),
            presets=[
                PresetResponse(
                    name=preset.name,
                    description=preset.description,
                    rules=[TypeRuleResponse.of(rule) for rule in preset.rules],
                )
                for preset in PRESETS.values()
            ],
        )
