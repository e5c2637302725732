"""A client that speaks its own dialect: the same tour, written with other event types and field
names (nested, a duration in milliseconds), and the event mapping (docs/events.md, "Mappings")
that reads it back into the vocabulary. Sent with that mapping, a tour in a dialect must give
the figures the ground truth computes from the tour in the vocabulary."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .truth import NUMERIC_TEXT, event_data


@dataclass(frozen=True)
class FieldPlace:
    """Where a dialect keeps one vocabulary field, and in what unit it counts durations."""

    path: tuple[str, ...]
    milliseconds: bool = False


@dataclass(frozen=True)
class Dialect:
    name: str
    types: dict[str, str]
    """Vocabulary type -> the dialect's type (a type not listed is sent as it is)."""
    fields: dict[str, dict[str, FieldPlace]]
    """Vocabulary type -> its fields the dialect keeps elsewhere."""

    def event_type(self, vocabulary_type: str) -> str:
        return self.types.get(vocabulary_type, vocabulary_type)

    def event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """A vocabulary event as this dialect sends it (event_data always as an object)."""
        vocabulary_type = event["event_type"]
        places = self.fields.get(vocabulary_type, {})
        data: dict[str, Any] = {}
        for key, value in event_data(event).items():
            place = places.get(key)
            if place is None:
                data[key] = value
            else:
                _put(data, place.path, _in_milliseconds(value) if place.milliseconds else value)
        return {**event, "event_type": self.event_type(vocabulary_type), "event_data": data}

    def counts(self, vocabulary_counts: Mapping[str, int]) -> dict[str, int]:
        """Event counts by type as the dialect's events are counted (by the type sent)."""
        return {self.event_type(kind): count for kind, count in vocabulary_counts.items()}

    def mapping(self) -> dict[str, Any]:
        """The body of PUT /api/v1/admin/event-mapping that reads this dialect."""
        rules = []
        for vocabulary_type in sorted({*self.types, *self.fields}):
            fields = {
                name: {
                    "path": list(place.path),
                    "unit": "milliseconds" if place.milliseconds else "seconds",
                }
                for name, place in self.fields.get(vocabulary_type, {}).items()
            }
            rules.append(
                {
                    "source_type": self.event_type(vocabulary_type),
                    "target_type": vocabulary_type,
                    "fields": fields,
                }
            )
        return {"presets": [], "rules": rules}


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _in_milliseconds(value: Any) -> Any:
    """A duration in seconds as a client counting milliseconds would send it: numbers become
    exact numeric strings (no float rounding on the way); anything else is sent unchanged, so
    what was garbage stays garbage."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    if isinstance(value, str):
        if not NUMERIC_TEXT.fullmatch(value.strip()):
            return value
        seconds = Decimal(value.strip())
    elif isinstance(value, float) and not math.isfinite(value):
        return value
    else:
        seconds = Decimal(repr(value))
    return str(seconds * 1000)


AGENCY = Dialect(
    name="agency",
    types={
        "room_view": "ViewChanged",
        "zone_enter": "ZoneEntered",
        "zone_exit": "ZoneLeft",
        "poi_visit": "POI_Clicked",
        "gaze": "LookedAt",
        "interaction": "Interacted",
        "unit_selection": "unit_selected",
        "screenshot_taken": "Screenshot",
        "menu_open": "MenuOpened",
    },
    fields={
        "room_view": {
            "room_name": FieldPlace(("payload", "room", "name")),
            "duration": FieldPlace(("payload", "DurationMs"), milliseconds=True),
        },
        "zone_enter": {"zone_name": FieldPlace(("Zone",)), "duration": FieldPlace(("Seconds",))},
        "zone_exit": {"zone_name": FieldPlace(("Zone",))},
        "poi_visit": {
            "poi": FieldPlace(("Name",)),
            "zone": FieldPlace(("Room",)),
            "duration": FieldPlace(("Seconds",)),
        },
        "gaze": {"target": FieldPlace(("Target",)), "duration": FieldPlace(("Time",))},
        "interaction": {"object": FieldPlace(("Thing",))},
        "unit_selection": {"name": FieldPlace(("Unit",)), "sqft": FieldPlace(("Area",))},
    },
)
"""A made-up agency's client: every type renamed but `view` and `position`, names moved and
nested, room durations in milliseconds."""
