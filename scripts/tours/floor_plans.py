"""Floor plans of the synthetic tours (scripts/tours/generator.py): rooms as rectangles in Unreal
centimetres (left-handed, X forward, Y right, Z up) on both sides of a hallway, each with a door
onto it, and the catalogue of what a room holds (points of interest, gaze targets, objects,
views) and what a property offers (its rooms and units)."""

import random
from dataclasses import dataclass

HALLWAY = "Hallway"
FLOOR_HEIGHT_CM = 320
DOOR_MARGIN_CM = 60


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle on the floor plane (X forward, Y right), in centimetres."""

    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        return min(max(x, self.x0), self.x1), min(max(y, self.y0), self.y1)

    def random_point(self, rng: random.Random, margin: float = 40.0) -> tuple[float, float]:
        return (
            rng.uniform(self.x0 + margin, self.x1 - margin),
            rng.uniform(self.y0 + margin, self.y1 - margin),
        )


@dataclass(frozen=True)
class Room:
    name: str
    area: Rect
    door: tuple[float, float]
    """Centre of the doorway onto the hallway, on the shared wall."""
    pois: tuple[tuple[str, tuple[float, float]], ...]
    gaze_targets: tuple[str, ...]
    objects: tuple[tuple[str, tuple[str, ...]], ...]
    views: tuple[str, ...]


@dataclass(frozen=True)
class FloorPlan:
    property_id: str
    kind: str
    floor_z: float
    """Height of the floor (Z up): apartments sit on upper storeys."""
    hallway: Rect
    rooms: tuple[Room, ...]
    units: tuple[tuple[str, int, str], ...]
    """What a visitor can select: (name, square feet, type)."""

    def walkable(self, x: float, y: float) -> bool:
        return self.hallway.contains(x, y) or any(room.area.contains(x, y) for room in self.rooms)


@dataclass(frozen=True)
class RoomKind:
    pois: tuple[str, ...]
    gaze_targets: tuple[str, ...]
    objects: tuple[tuple[str, tuple[str, ...]], ...] = ()
    views: tuple[str, ...] = ()


SWITCH = ("light_switch", ("toggle",))
CURTAINS = ("curtains", ("open", "close"))
WARDROBE = ("wardrobe_door", ("open", "close"))
ROOM_KINDS = {
    "Living Room": RoomKind(
        ("Sofa Set", "Fireplace"),
        ("Living Room Window", "TV Wall", "Chandelier"),
        (SWITCH, CURTAINS, ("tv", ("turn_on", "turn_off"))),
        ("City Skyline",),
    ),
    "Kitchen": RoomKind(
        ("Kitchen Island", "Range Hood"),
        ("Countertop", "Kitchen Window", "Pantry"),
        (("cabinet_door", ("open", "close")), ("fridge_door", ("open", "close")), SWITCH),
    ),
    "Dining Room": RoomKind(("Dining Table",), ("Pendant Lights", "Sideboard"), (SWITCH,)),
    "Master Bedroom": RoomKind(
        ("King Bed", "Walk-in Closet"), ("Bedroom Window", "Headboard"), (WARDROBE, CURTAINS)
    ),
    "Bedroom 2": RoomKind(("Study Desk",), ("Bunk Bed", "Bedroom 2 Window"), (WARDROBE,)),
    "Bathroom": RoomKind(
        ("Rain Shower",), ("Vanity Mirror", "Bathtub"), (("tap", ("turn_on", "turn_off")),)
    ),
    "Study": RoomKind(("Bookshelf",), ("Study Window", "Desk Lamp"), (SWITCH,)),
    "Home Theater": RoomKind(
        ("Projector Screen",), ("Recliners", "Acoustic Panels"), (("projector", ("turn_on",)),)
    ),
    "Balcony": RoomKind(
        ("Planters",),
        ("Railing", "Balcony View"),
        (("sliding_door", ("open", "close")),),
        ("City Skyline", "Sunset", "Amenities"),
    ),
    "Terrace": RoomKind(
        ("Jacuzzi", "Outdoor Kitchen"), ("Sea Horizon", "Pergola"), (), ("Sea View", "Sunset")
    ),
}
PROPERTY_KINDS = {
    "apartment": (
        ("Living Room", "Kitchen", "Dining Room", "Master Bedroom", "Bedroom 2", "Bathroom"),
        ("Balcony",),
        (("Unit 4A", 850, "1BHK"), ("Unit 7C", 1250, "2BHK"), ("Unit 12B", 1650, "3BHK")),
    ),
    "villa": (
        ("Living Room", "Kitchen", "Dining Room", "Master Bedroom", "Bedroom 2", "Study"),
        ("Home Theater", "Bathroom"),
        (("Villa Type A", 3200, "4BR Villa"), ("Villa Type B", 4100, "5BR Villa")),
    ),
    "penthouse": (
        ("Living Room", "Kitchen", "Master Bedroom", "Bathroom", "Terrace"),
        ("Study",),
        (("Penthouse North", 3800, "Penthouse"), ("Penthouse South", 4200, "Penthouse")),
    ),
}


def floor_plans(*, seed: int, properties: int) -> dict[str, FloorPlan]:
    """One floor plan per property: rooms on both sides of a hallway that starts at the
    entrance (X = 0), each with a door onto it."""
    rng = random.Random(f"{seed}:plans")
    plans = {}
    for index in range(properties):
        property_id = f"prop_{index + 1:03d}"
        kind = ("apartment", "villa", "penthouse")[index % 3]
        plans[property_id] = _floor_plan(rng, property_id, kind)
    return plans


def _floor_plan(rng: random.Random, property_id: str, kind: str) -> FloorPlan:
    always, optional, units = PROPERTY_KINDS[kind]
    names = list(always) + [name for name in optional if rng.random() < 0.7]
    # Whole centimetres: a position clamped to a wall stays inside once rounded to 0.1 cm.
    hall_width = rng.randint(180, 240)
    sides = {"left": 0, "right": 0}  # how far along X each side of the hallway is built
    rooms = []
    for position, name in enumerate(names):
        side = "left" if position % 2 == 0 else "right"
        width, depth = rng.randint(320, 620), rng.randint(300, 520)
        x0 = sides[side]
        sides[side] += width
        if side == "left":  # Y below the hallway
            area = Rect(x0, -depth, x0 + width, 0.0)
        else:
            area = Rect(x0, hall_width, x0 + width, hall_width + depth)
        door = (rng.randint(x0 + DOOR_MARGIN_CM, x0 + width - DOOR_MARGIN_CM), area.y1)
        if side == "right":
            door = (door[0], area.y0)
        room_kind = ROOM_KINDS[name]
        pois = tuple((poi, area.random_point(rng, margin=60)) for poi in room_kind.pois)
        rooms.append(
            Room(name, area, door, pois, room_kind.gaze_targets, room_kind.objects, room_kind.views)
        )
    storey = {"apartment": rng.randint(2, 18), "villa": 0, "penthouse": rng.randint(25, 40)}[kind]
    return FloorPlan(
        property_id=property_id,
        kind=kind,
        floor_z=storey * FLOOR_HEIGHT_CM,
        hallway=Rect(0.0, 0.0, max(sides.values()), hall_width),
        rooms=tuple(rooms),
        units=units,
    )
