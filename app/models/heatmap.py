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
        "coordinate of the plane missing, not a number or numeric string, or out of range."
    )


class HeatmapFilters(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    room: str | None
    session_id: UUID | None
    start: datetime | None = Field(serialization_alias="from")
    end: datetime | None = Field(serialization_alias="to")


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
                "filters": {"room": "Kitchen", "session_id": None, "from": None, "to": None},
                "grid": {"origin": [400.0, -500.0], "bin_size": [50.0, 50.0], "shape": [9, 10]},
                "samples": {"used": 1520, "skipped": 2},
                "max_count": 61,
                "cells": [{"i": 0, "j": 3, "count": 12}, {"i": 1, "j": 3, "count": 61}],
                "counts": None,
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
