"""Request and response shapes of floor plans (docs/floor-plans.md): a storey's image, where
its pixels lie in the world (pixels from the image's top-left corner, u right and v down;
Unreal world x and y in centimetres) and the heights it spans."""

from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.domain.floor_plans import (
    MAX_WORLD_CM,
    BoxForm,
    Calibration,
    CalibrationForm,
    FloorPlan,
    Placement,
    PointsForm,
    ReferencePoint,
)
from app.models.fields import UtcDateTime, storable_text

MAX_NAME_LENGTH = 200

Coordinate = Annotated[float, Field(allow_inf_nan=False)]
WorldCentimetres = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_WORLD_CM, le=MAX_WORLD_CM)]
Matrix = Annotated[
    list[float],
    Field(
        min_length=6,
        max_length=6,
        description="[a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f.",
    ),
]
PlanName = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(storable_text)
]


class ReferencePointBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pixel: tuple[Coordinate, Coordinate] = Field(
        description="[u, v]: pixels from the image's left edge and from its top edge."
    )
    world: tuple[WorldCentimetres, WorldCentimetres] = Field(
        description="[x, y]: where that pixel lies in the Unreal world, in centimetres."
    )


class BoxBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: WorldCentimetres = Field(description="World x (cm) of the image's left edge.")
    top: WorldCentimetres = Field(description="World y (cm) of the image's top edge.")
    right: WorldCentimetres = Field(description="World x (cm) of the image's right edge.")
    bottom: WorldCentimetres = Field(description="World y (cm) of the image's bottom edge.")


class CalibrationBody(BaseModel):
    """Either two reference points (any rotation and scale) or a box (world x along the
    image's width, world y along its height)."""

    model_config = ConfigDict(extra="forbid")

    points: tuple[ReferencePointBody, ReferencePointBody] | None = Field(
        default=None, description="Two pixels at least 1 pixel apart, and where they lie."
    )
    mirrored: bool = Field(
        default=False,
        description="With points: the plan is mirrored against the world (world y runs "
        "against the image's v when x runs along u). Unreal's top view is not.",
    )
    box: BoxBody | None = None

    @model_validator(mode="after")
    def one_form(self) -> "CalibrationBody":
        if (self.points is None) == (self.box is None):
            raise ValueError('give either "points" or "box"')
        if self.box is not None and self.mirrored:
            raise ValueError('"mirrored" goes with "points" only (a box says its own direction)')
        return self

    def to_form(self) -> CalibrationForm:
        if self.points is not None:
            first, second = (
                ReferencePoint(pixel=point.pixel, world=point.world) for point in self.points
            )
            return PointsForm(points=(first, second), mirrored=self.mirrored)
        assert self.box is not None  # one_form: one of the two
        return BoxForm(**self.box.model_dump())


class FloorPlanPlacementRequest(BaseModel):
    """Everything about a storey's plan but its image; what is null is cleared."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ground floor",
                    "calibration": {
                        "points": [
                            {"pixel": [212, 148], "world": [-850.0, 1200.0]},
                            {"pixel": [1630, 905], "world": [2980.0, -640.0]},
                        ],
                        "mirrored": False,
                    },
                    "z_min": -50.0,
                    "z_max": 270.0,
                },
                {
                    "name": "First floor",
                    "calibration": {
                        "box": {"left": -1500.0, "top": -800.0, "right": 2500.0, "bottom": 1200.0}
                    },
                    "z_min": 270.0,
                    "z_max": None,
                },
            ]
        },
    )

    name: PlanName | None = Field(default=None, description="Shown instead of the storey number.")
    calibration: CalibrationBody | None = Field(
        default=None, description="Where the image's pixels lie in the world; null: nowhere yet."
    )
    z_min: WorldCentimetres | None = Field(
        default=None, description="The lowest world z (cm) of the storey; null: unbounded."
    )
    z_max: WorldCentimetres | None = Field(
        default=None,
        description="The world z (cm) where the storey ends: a sample at z_max or above is on "
        "another storey; null: unbounded.",
    )

    @model_validator(mode="after")
    def heights_in_order(self) -> "FloorPlanPlacementRequest":
        if self.z_min is not None and self.z_max is not None and self.z_min >= self.z_max:
            raise ValueError("z_min must be below z_max")
        return self

    def to_placement(self) -> Placement:
        return Placement(
            name=self.name,
            calibration=self.calibration.to_form() if self.calibration else None,
            z_min=self.z_min,
            z_max=self.z_max,
        )


class CalibrationMatrices(BaseModel):
    pixel_to_world: Matrix = Field(description="From image pixels (u, v) to world (x, y), cm.")
    world_to_pixel: Matrix = Field(description="From world (x, y), cm, to image pixels (u, v).")


class PointsCalibrationResponse(CalibrationMatrices):
    points: list[ReferencePointBody]
    mirrored: bool


class BoxCalibrationResponse(CalibrationMatrices):
    box: BoxBody


def calibration_response(
    calibration: Calibration | None,
) -> PointsCalibrationResponse | BoxCalibrationResponse | None:
    """The calibration as the admin gave it, with the two maps it makes."""
    if calibration is None:
        return None
    matrices = {
        "pixel_to_world": calibration.pixel_to_world.as_list(),
        "world_to_pixel": calibration.world_to_pixel.as_list(),
    }
    source: dict[str, Any] = calibration.source
    if "box" in source:
        return BoxCalibrationResponse(box=source["box"], **matrices)
    return PointsCalibrationResponse(
        points=source["points"], mirrored=source["mirrored"], **matrices
    )


def image_url(property_id: str, storey: int) -> str:
    return f"/api/v1/properties/{quote(property_id, safe='')}/floor-plans/{storey}/image"


FLOOR_PLAN_EXAMPLE: dict[str, Any] = {
    "property_id": "prop_villa_001",
    "storey": 0,
    "name": "Ground floor",
    "image_type": "png",
    "width": 2000,
    "height": 1000,
    "image_size": 184_312,
    "image_url": "/api/v1/properties/prop_villa_001/floor-plans/0/image",
    "calibration": {
        "box": {"left": -1500.0, "top": -800.0, "right": 2500.0, "bottom": 1200.0},
        "pixel_to_world": [2.0, 0.0, -1500.0, 0.0, 2.0, -800.0],
        "world_to_pixel": [0.5, 0.0, 750.0, 0.0, 0.5, 400.0],
    },
    "z_min": -50.0,
    "z_max": 270.0,
    "updated_at": "2025-10-06T10:00:00+00:00",
}


class FloorPlanResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FLOOR_PLAN_EXAMPLE]})

    property_id: str
    storey: int = Field(description="0: ground floor; negative: basements.")
    name: str | None
    image_type: Literal["png", "jpeg"] = Field(description="As served.")
    width: int = Field(description="Pixels, as uploaded (never resized).")
    height: int
    image_size: int = Field(description="Bytes of the image as served.")
    image_url: str = Field(description="Where the image is served (read scope).")
    calibration: PointsCalibrationResponse | BoxCalibrationResponse | None = Field(
        description="As given, with the maps it makes; null: not calibrated."
    )
    z_min: float | None = Field(description="Lowest world z (cm) of the storey; null: unbounded.")
    z_max: float | None = Field(
        description="The world z (cm) where the storey ends (not part of it); null: unbounded."
    )
    updated_at: UtcDateTime

    @classmethod
    def of(cls, plan: FloorPlan) -> "FloorPlanResponse":
        return cls(**cls.fields_of(plan))

    @staticmethod
    def fields_of(plan: FloorPlan) -> dict[str, Any]:
        return {
            "property_id": plan.property_id,
            "storey": plan.storey,
            "name": plan.name,
            "image_type": plan.image_type,
            "width": plan.width,
            "height": plan.height,
            "image_size": plan.image_size,
            "image_url": image_url(plan.property_id, plan.storey),
            "calibration": calibration_response(plan.calibration),
            "z_min": plan.z_min,
            "z_max": plan.z_max,
            "updated_at": plan.updated_at,
        }


class FloorPlanSavedResponse(FloorPlanResponse):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**FLOOR_PLAN_EXAMPLE, "calibration_cleared": False}]}
    )

    calibration_cleared: bool = Field(
        description="The new image's size differs from the old one's: its calibration no "
        "longer applied and was removed (calibrate again)."
    )


class FloorPlanListResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"property_id": "prop_villa_001", "floor_plans": [FLOOR_PLAN_EXAMPLE]}]
        }
    )

    property_id: str
    floor_plans: list[FloorPlanResponse] = Field(description="Lowest storey first.")
