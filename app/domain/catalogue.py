"""The event catalogue (docs/events.md, "The catalogue"): what a project's clients send, per
event type and field, and what the analytics make of it through the mapping in force."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from app.domain.vocabulary import VOCABULARY, EventMapping, FieldKind, FieldSource

Understanding = Literal["vocabulary", "mapped", "ignored"]
"""How the analytics read a type or field: as the vocabulary defines it, through the mapping in
force (a preset's or the project's own rule), or not at all."""

SECONDS_PER_UNIT = {"seconds": Decimal(1), "milliseconds": Decimal("0.001"), "minutes": Decimal(60)}


@dataclass(frozen=True)
class ReadField:
    """Where, in the event_data of one stored event type, the analytics find a vocabulary
    field."""

    event_type: str
    path: tuple[str, ...]
    understood: Understanding
    read_as: str
    """The vocabulary field, as "room_view.room_name"."""
    kind: FieldKind
    counted: bool
    """Whether some figure reads it (docs/analytics.md); a kept-only field (a position) is not."""
    seconds_per_unit: Decimal = Decimal(1)


def read_fields(mapping: EventMapping) -> list[ReadField]:
    """Every vocabulary field the analytics look for, per stored event type, through the
    mapping: a rule's paths, else the field's own key. One per (type, path): the first field
    named wins (two fields read from one key are rare and equally readable)."""
    fields: dict[tuple[str, tuple[str, ...]], ReadField] = {}
    for event_type in sorted({*VOCABULARY, *mapping.rules_by_source}):
        rule = mapping.rules_by_source.get(event_type)
        target = rule.target_type if rule else event_type
        if target not in VOCABULARY:
            continue
        understood: Understanding = "mapped" if rule else "vocabulary"
        for name, definition in VOCABULARY[target].items():
            source = rule.fields.get(name) if rule else None
            source = source or FieldSource(path=(name,))
            fields.setdefault(
                (event_type, source.path),
                ReadField(
                    event_type=event_type,
                    path=source.path,
                    understood=understood,
                    read_as=f"{target}.{name}",
                    kind=definition.kind,
                    counted=definition.read,
                    seconds_per_unit=SECONDS_PER_UNIT[source.unit],
                ),
            )
    return list(fields.values())


@dataclass(frozen=True)
class CataloguePeriod:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class FieldFigures:
    """One field (a path from the top of event_data) of one event type, as stored."""

    path: tuple[str, ...]
    events: int
    first_seen_at: datetime
    last_seen_at: datetime
    examples: list[str]
    unreadable: int
    """Values present (not JSON null) that a figure reads but could not: a duration that is
    not one (or outside 0 to a day), a blank name or one that is not a string, a coordinate
    that is not a number."""


@dataclass(frozen=True)
class TypeFigures:
    event_type: str
    events: int
    first_seen_at: datetime
    last_seen_at: datetime
    fields: list[FieldFigures]
    fields_total: int


@dataclass(frozen=True)
class CatalogueFigures:
    """What one bounded read of a project's events found."""

    events_read: int
    complete: bool
    """False when the period holds more events than were read: the figures are those of the
    newest `events_read`, from `read_from` on."""
    read_from: datetime | None
    types: list[TypeFigures]
    types_total: int
