"""Heatmap answers: position samples of a property binned into a grid on a floor plane."""

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Plane(StrEnum):
    """The plane samples are projected on. Unreal is Z-up: xy is the floor plan seen from
    above, xz and yz are side views."""

    XY = "xy"
    XZ = "xz"
    YZ = "yz"

    @property
    def axes(self) -> tuple[str, str]:
        """The coordinates along the grid's first (i) and second (j) axis."""
        return self.value[0], self.value[1]


class HeatmapLayout(StrEnum):
    SPARSE = "sparse"
    DENSE = "dense"


class ColourScale(StrEnum):
    """How counts map to colours in the PNG: log shows the quiet cells next to the few where
    visitors stood still for minutes."""

    LINEAR = "linear"
    LOG = "log"


class HeatmapCell(BaseModel):
    i: int = Field(description="Index along the first axis, from 0.")
    j: int = Field(description="Index along the second axis, from 0.")
    count: int = Field(description="Position samples in the cell.")


class HeatmapGrid(BaseModel):
    origin: tuple[float, float] = Field(
        description="World coordinates (cm) of the grid's lower corner on the two axes."
    )
    bin_size: tuple[float, float] = Field(description="Cell size (cm) along the two axes.")
    shape: tuple[int, int] = Field(description="Number of cells along the two axes.")


class HeatmapSamples(BaseModel):
    used: int = Field(description="Position samples binned into the grid.")
    skipped: int = Field(
        description="Position samples matching the filters that could not be placed: a "
        "coordinate of the plane missing, not a number or numeric string, or out of range "
        "(and, on a storey with heights, z)."
    )
    other_storeys: int = Field(
        description="Position samples whose z lies outside the heights of the storey shown "
        "(0 when the storey has no heights): they belong on another storey's plan."
    )


class HeatmapFilters(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    room: str | None
    session_id: UUID | None
    storey: int | None = Field(
        description="The storey whose floor plan (and heights) the heatmap is drawn on."
    )
    start: datetime | None = Field(serialization_alias="from")
    end: datetime | None = Field(serialization_alias="to")


class HeatmapFloorPlan(BaseModel):
    """The floor plan under the cells: its image, and where world points lie on it."""

    storey: int
    name: str | None
    image_url: str = Field(description="The plan's image (read scope).")
    width: int = Field(description="Image width in pixels.")
    height: int = Field(description="Image height in pixels.")
    world_to_pixel: tuple[float, float, float, float, float, float] = Field(
        description="[a, b, c, d, e, f]: the world point (x, y) in cm lies at pixel "
        "u = a·x + b·y + c, v = d·x + e·y + f, counted from the image's top-left corner, v "
        "downwards."
    )
    z_min: float | None = Field(description="The lowest z (cm) of the storey, if set.")
    z_max: float | None = Field(description="The z (cm) where the storey ends, if set.")


class HeatmapResponse(BaseModel):
    """Cell (i, j) covers [origin[0] + i * bin_size[0], origin[0] + (i + 1) * bin_size[0]) on
    the first axis and the same on the second; the last cell of each axis also holds the samples
    on its far edge."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "property_id": "prop_villa_001",
                "plane": "xy",
                "axes": ["x", "y"],
                "unit": "cm",
                "filters": {
                    "room": "Kitchen",
                    "session_id": None,
                    "storey": 0,
                    "from": None,
                    "to": None,
                },
                "grid": {"origin": [400.0, -500.0], "bin_size": [50.0, 50.0], "shape": [9, 10]},
                "samples": {"used": 1520, "skipped": 2, "other_storeys": 0},
                "max_count": 61,
                "cells": [{"i": 0, "j": 3, "count": 12}, {"i": 1, "j": 3, "count": 61}],
                "counts": None,
                "floor_plan": {
                    "storey": 0,
                    "name": "Ground floor",
                    "image_url": "/api/v1/properties/prop_villa_001/floor-plans/0/image",
                    "width": 1600,
                    "height": 1200,
                    "world_to_pixel": [0.8, 0.0, 640.0, 0.0, 0.8, 480.0],
                    "z_min": None,
                    "z_max": 280.0,
                },
                "floor_plan_note": None,
                "storeys": [0, 1],
            }
        }
    )

    property_id: str
    plane: Plane
    axes: tuple[str, str] = Field(description="The world axes of the grid's i and j.")
    unit: Literal["cm"] = "cm"
    filters: HeatmapFilters
    grid: HeatmapGrid | None = Field(description="None when no sample could be binned.")
    samples: HeatmapSamples
    max_count: int = Field(description="The largest count of any cell (0 without samples).")
    cells: list[HeatmapCell] | None = Field(
        description="layout=sparse: the non-empty cells, ordered by j, then i."
    )
    counts: list[list[int]] | None = Field(
        description="layout=dense: counts[j][i] for every cell, shape[1] rows of shape[0]."
    )
    floor_plan: HeatmapFloorPlan | None = Field(
        description="The calibrated floor plan the cells lie on (xy plane); None otherwise, "
        "and floor_plan_note says why."
    )
    floor_plan_note: str | None = Field(
        description="Why there is no floor plan under the cells (None when there is)."
    )
    storeys: list[int] = Field(description="The storeys of the property with a floor plan.")
