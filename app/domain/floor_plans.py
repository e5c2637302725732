"""Floor plans: an image of one storey of a property, and where its pixels lie in the world.

Pixels are counted from the image's top-left corner, u to the right and v downwards, in the
image as uploaded (it is never resized). World coordinates are Unreal's x and y in centimetres,
seen from above. Unreal is left-handed (X forward, Y right, Z up): seen from above, its axes
turn like the image's (u, v), so a plan exported from Unreal's top view maps onto the world by a
rotation, a scale and a shift, without mirroring.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# World coordinates a calibration may name: 10,000 km, far beyond any building.
MAX_WORLD_CM = 1e9
# Storeys: 0 is the ground floor, negative numbers are basements.
MIN_STOREY = -10
MAX_STOREY = 100


class CalibrationError(ValueError):
    """A calibration that cannot map pixels to the world; the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Affine:
    """x = a·u + b·v + c, y = d·u + e·v + f."""

    a: float
    b: float
    c: float
    d: float
    e: float
    f: float

    def apply(self, u: float, v: float) -> tuple[float, float]:
        return self.a * u + self.b * v + self.c, self.d * u + self.e * v + self.f

    def inverse(self) -> "Affine":
        determinant = self.a * self.e - self.b * self.d
        a, b = self.e / determinant, -self.b / determinant
        d, e = -self.d / determinant, self.a / determinant
        return Affine(
            a=a,
            b=b,
            c=-(a * self.c + b * self.f),
            d=d,
            e=e,
            f=-(d * self.c + e * self.f),
        )

    def as_list(self) -> list[float]:
        return [self.a, self.b, self.c, self.d, self.e, self.f]


@dataclass(frozen=True)
class ReferencePoint:
    pixel: tuple[float, float]
    world: tuple[float, float]


@dataclass(frozen=True)
class Calibration:
    """How an image's pixels map to world coordinates, and the form the admin gave it in."""

    pixel_to_world: Affine
    source: dict[str, Any]

    @property
    def world_to_pixel(self) -> Affine:
        return self.pixel_to_world.inverse()

    @classmethod
    def from_points(
        cls,
        points: tuple[ReferencePoint, ReferencePoint],
        *,
        mirrored: bool,
        width: int,
        height: int,
    ) -> "Calibration":
        """Two pixels whose world positions are known: a rotation, one scale and a shift (and a
        mirror when `mirrored`, for a plan whose world y runs against the image's v)."""
        for index, point in enumerate(points):
            _check_pixel(f"points.{index}.pixel", point.pixel, width=width, height=height)
            _check_world(f"points.{index}.world", point.world)
        sign = -1.0 if mirrored else 1.0
        first, second = points
        pixel_first = complex(first.pixel[0], sign * first.pixel[1])
        pixel_span = complex(second.pixel[0], sign * second.pixel[1]) - pixel_first
        world_span = complex(*second.world) - complex(*first.world)
        if abs(pixel_span) < 1:
            raise CalibrationError("points", "the two pixels must be at least 1 pixel apart")
        if abs(world_span) == 0:
            raise CalibrationError("points", "the two world positions must differ")
        scale = world_span / pixel_span
        shift = complex(*first.world) - scale * pixel_first
        pixel_to_world = Affine(
            a=scale.real,
            b=-scale.imag * sign,
            c=shift.real,
            d=scale.imag,
            e=scale.real * sign,
            f=shift.imag,
        )
        source = {
            "points": [{"pixel": list(p.pixel), "world": list(p.world)} for p in points],
            "mirrored": mirrored,
        }
        return cls(pixel_to_world=pixel_to_world, source=source)

    @classmethod
    def from_box(
        cls, *, left: float, top: float, right: float, bottom: float, width: int, height: int
    ) -> "Calibration":
        """The world x of the image's left and right edges and the world y of its top and
        bottom edges (a plan whose world x runs along the image's width)."""
        for name, value in (("left", left), ("top", top), ("right", right), ("bottom", bottom)):
            _check_world(f"box.{name}", (value,))
        if left == right:
            raise CalibrationError("box", "left and right must differ")
        if top == bottom:
            raise CalibrationError("box", "top and bottom must differ")
        pixel_to_world = Affine(
            a=(right - left) / width, b=0.0, c=left, d=0.0, e=(bottom - top) / height, f=top
        )
        source = {"box": {"left": left, "top": top, "right": right, "bottom": bottom}}
        return cls(pixel_to_world=pixel_to_world, source=source)


@dataclass(frozen=True)
class PointsForm:
    """A calibration by two reference points, as the admin gives it."""

    points: tuple[ReferencePoint, ReferencePoint]
    mirrored: bool = False


@dataclass(frozen=True)
class BoxForm:
    """A calibration by the world coordinates of the image's edges, as the admin gives it."""

    left: float
    top: float
    right: float
    bottom: float


CalibrationForm = PointsForm | BoxForm


def calibrate(form: CalibrationForm, *, width: int, height: int) -> Calibration:
    """The calibration the form describes for an image of `width` × `height` pixels."""
    if isinstance(form, PointsForm):
        return Calibration.from_points(
            form.points, mirrored=form.mirrored, width=width, height=height
        )
    return Calibration.from_box(
        left=form.left,
        top=form.top,
        right=form.right,
        bottom=form.bottom,
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class Placement:
    """What an admin says about a storey's plan besides its image: a name, where its pixels
    lie (None: not calibrated) and the heights it spans (None: unbounded on that side)."""

    name: str | None
    calibration: CalibrationForm | None
    z_min: float | None
    z_max: float | None


def _check_pixel(field: str, pixel: tuple[float, float], *, width: int, height: int) -> None:
    u, v = pixel
    if not (math.isfinite(u) and math.isfinite(v) and 0 <= u <= width and 0 <= v <= height):
        raise CalibrationError(field, f"must lie on the image (0..{width}, 0..{height} pixels)")


def _check_world(field: str, world: tuple[float, ...]) -> None:
    if not all(math.isfinite(value) and abs(value) <= MAX_WORLD_CM for value in world):
        raise CalibrationError(field, f"must be finite and at most {MAX_WORLD_CM:g} cm")


@dataclass(frozen=True)
class FloorPlan:
    """One storey's plan, without its image bytes."""

    property_id: str
    storey: int
    name: str | None
    image_type: str
    """"png" or "jpeg", as re-encoded for serving."""
    width: int
    height: int
    image_size: int
    """Bytes of the image as served."""
    calibration: Calibration | None
    z_min: float | None
    z_max: float | None
    """The world heights (cm) the storey spans; samples outside belong to another storey.
    None: unbounded on that side."""
    updated_at: datetime


@dataclass(frozen=True)
class FloorPlanImage:
    image_type: str
    data: bytes
    updated_at: datetime
