"""The event vocabulary the analytics read (docs/events.md), and a project's event mapping: how
its clients' own event types and field names map onto that vocabulary.

Raw events are stored as sent; a mapping is applied when the analytics read them, so a new or
corrected mapping applies to the events already stored too.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Literal


class FieldKind(StrEnum):
    """How the analytics read a field's value."""

    NAME = "name"
    """A JSON string, trimmed; blank or not a string is no name."""
    DURATION = "duration"
    """Seconds: a number, a numeric string or clock text (m:ss, h:mm:ss), from 0 to a day."""
    NUMBER = "number"
    """A number or a numeric string."""
    OBJECT = "object"
    """Kept as sent (a position or rotation); not read by any figure."""


@dataclass(frozen=True)
class VocabularyField:
    kind: FieldKind
    read: bool
    """Whether some figure of the analytics reads it (docs/analytics.md)."""


NAME = VocabularyField(FieldKind.NAME, read=True)
DURATION = VocabularyField(FieldKind.DURATION, read=True)
COORDINATE = VocabularyField(FieldKind.NUMBER, read=True)
STORED_NAME = VocabularyField(FieldKind.NAME, read=False)
STORED_NUMBER = VocabularyField(FieldKind.NUMBER, read=False)
STORED_OBJECT = VocabularyField(FieldKind.OBJECT, read=False)

VOCABULARY: dict[str, dict[str, VocabularyField]] = {
    "room_view": {
        "room_name": NAME,
        "duration": DURATION,
        "position": STORED_OBJECT,
        "rotation": STORED_OBJECT,
    },
    "zone_enter": {"zone_name": NAME, "duration": DURATION},
    "zone_exit": {"zone_name": NAME},
    "poi_visit": {"poi": NAME, "zone": STORED_NAME, "duration": DURATION},
    "view": {"view_name": NAME, "duration": DURATION},
    "gaze": {"target": NAME, "duration": DURATION},
    "interaction": {"object": NAME, "action": STORED_NAME},
    "teleport": {"to": STORED_NAME, "position": STORED_OBJECT},
    "position": {"x": COORDINATE, "y": COORDINATE, "z": COORDINATE},
    "unit_selection": {"name": NAME, "sqft": STORED_NUMBER, "type": STORED_NAME},
    "menu_open": {},
    "screenshot_taken": {},
}
"""Every event type the analytics read, with the fields of its event_data."""

PLACE_TYPES = ("room_view", "zone_enter", "zone_exit")
PLACE_NAME_FIELDS = {"room_view": "room_name", "zone_enter": "zone_name", "zone_exit": "zone_name"}

DurationUnit = Literal["seconds", "milliseconds", "minutes"]
DURATION_UNITS: tuple[DurationUnit, ...] = ("seconds", "milliseconds", "minutes")


@dataclass(frozen=True)
class FieldSource:
    """Where a vocabulary field is found in a client's event_data."""

    path: tuple[str, ...]
    """Keys from the top of event_data: ("payload", "room", "name")."""
    unit: DurationUnit = "seconds"
    """For durations: the unit the client counts in."""


@dataclass(frozen=True)
class TypeRule:
    """One client event type read as one vocabulary type."""

    source_type: str
    target_type: str
    fields: dict[str, FieldSource] = field(default_factory=dict)
    """Vocabulary field -> where the client keeps it. Fields not named here are read from their
    vocabulary key."""


@dataclass(frozen=True)
class Preset:
    """A built-in mapping a project can turn on."""

    name: str
    description: str
    rules: tuple[TypeRule, ...]


def _path(key: str) -> FieldSource:
    return FieldSource(path=(key,))


UNREAL_ORIGINAL = Preset(
    name="unreal-original",
    description=(
        "The original Unreal Blueprint client: its view, POI and unit selection records "
        "(POST /api/v1/unreal/session), durations as clock text."
    ),
    rules=(
        TypeRule(
            "View",
            "room_view",
            {"room_name": _path("View"), "duration": _path("TotalDuration")},
        ),
        TypeRule(
            "POI",
            "poi_visit",
            {"poi": _path("POI"), "zone": _path("Parent"), "duration": _path("POI_Duration")},
        ),
        TypeRule(
            "UnitSelection",
            "unit_selection",
            {"name": _path("Name"), "sqft": _path("Sqft"), "type": _path("Type")},
        ),
    ),
)
PRESETS = {preset.name: preset for preset in (UNREAL_ORIGINAL,)}
DEFAULT_PRESETS = (UNREAL_ORIGINAL.name,)
"""What a project reads before it saves a mapping of its own: the one client in the field."""


@dataclass(frozen=True)
class EventMapping:
    """A project's mapping, as saved (version 0: never saved, the defaults)."""

    version: int
    presets: tuple[str, ...]
    rules: tuple[TypeRule, ...]
    created_at: datetime | None = None
    actor: str | None = None

    @cached_property
    def rules_by_source(self) -> dict[str, TypeRule]:
        """Source type -> its rule: the presets' rules, then the project's own (which win)."""
        rules: dict[str, TypeRule] = {}
        for name in self.presets:
            for rule in PRESETS[name].rules:
                rules[rule.source_type] = rule
        for rule in self.rules:
            rules[rule.source_type] = rule
        return rules

    def kind_of(self, event_type: str) -> str | None:
        """The vocabulary type an event of this type counts as; None when no figure reads
        it."""
        rule = self.rules_by_source.get(event_type)
        if rule is not None:
            return rule.target_type
        return event_type if event_type in VOCABULARY else None


DEFAULT_MAPPING = EventMapping(version=0, presets=DEFAULT_PRESETS, rules=())


@dataclass(frozen=True)
class MappingDraft:
    """A mapping as an admin sends it, before it is checked."""

    presets: tuple[str, ...]
    rules: tuple[TypeRule, ...]
