"""Heatmaps of where visitors went: the rules around the grid and the floor plan under it.

Binning happens in PostgreSQL (app/stores/heatmaps.py); this module checks the request, decides
what is not found and which storey's plan the heatmap lies on. The PNG is drawn by
app/services/analytics/heatmap_drawing.py, in a worker thread.
"""

import asyncio
from dataclasses import dataclass, field
from enum import Enum
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.domain.floor_plans import FloorPlan
from app.errors import InvalidInputError, NotFoundError
from app.models.heatmap import ColourScale, Plane
from app.models.periods import Period
from app.services.analytics.heatmap_drawing import render_png
from app.stores.floor_plans import FloorPlanStore
from app.stores.heatmaps import BinnedPositions, BinningQuery, HeatmapStore
from app.stores.mappings import MappingStore

# Bins per axis when neither bins nor bin_size is given (never more than the setting allows).
DEFAULT_BINS = 64
# Cell sizes accepted, in world units (cm).
MIN_BIN_SIZE_CM = 0.001
MAX_BIN_SIZE_CM = 1e9
# Coordinates beyond this magnitude (10,000 km) are not positions in a tour: skipped.
MAX_COORDINATE_CM = 1e15
# PNG size in pixels.
DEFAULT_IMAGE_WIDTH = 900
DEFAULT_IMAGE_HEIGHT = 700
MIN_IMAGE_PIXELS = 200
MAX_IMAGE_PIXELS = 2000


class MissingPlan(Enum):
    """Why a heatmap is not drawn over a floor plan: (short caption, note)."""

    NONE = (
        "no floor plan for this property",
        "No floor plan for this property: the cells are drawn on blank axes (an admin can "
        "upload one: docs/floor-plans.md).",
    )
    SIDE_VIEW = (
        "floor plans are drawn on the xy plane only",
        "Floor plans are drawn on the xy plane (seen from above) only.",
    )
    UNCALIBRATED = (
        "the floor plan is not calibrated",
        "The floor plan of storey {storey} is not calibrated: its pixels cannot be placed in "
        "the world (docs/floor-plans.md).",
    )

    @property
    def caption(self) -> str:
        return self.value[0]

    @property
    def note(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class HeatmapQuery:
    property_id: str
    plane: Plane = Plane.XY
    bin_size: float | None = None
    bins: int | None = None
    room: str | None = None
    session_id: UUID | None = None
    period: Period = field(default_factory=Period)
    storey: int | None = None
    """The storey whose floor plan to draw on (xy plane only); None: the lowest with a plan."""


@dataclass(frozen=True)
class Heatmap:
    query: HeatmapQuery
    samples: int
    elsewhere: int
    """Samples on another storey than the plan's (by its heights)."""
    used: int
    origin: tuple[float, float] | None
    bin_size: tuple[float, float] | None
    shape: tuple[int, int] | None
    cells: list[tuple[int, int, int]]
    """(i, j, count) of the non-empty cells, by j then i."""
    floor_plan: FloorPlan | None = None
    """The plan of the storey shown (xy plane), calibrated or not."""
    storeys: tuple[int, ...] = ()
    """The storeys of the property that have a floor plan."""

    @property
    def skipped(self) -> int:
        return self.samples - self.used - self.elsewhere

    @property
    def drawn_on_plan(self) -> bool:
        return self.floor_plan is not None and self.floor_plan.calibration is not None

    @property
    def missing_plan(self) -> MissingPlan | None:
        """Why the cells are not drawn over a floor plan (None when they are)."""
        if not self.storeys:
            return MissingPlan.NONE
        if self.query.plane is not Plane.XY:
            return MissingPlan.SIDE_VIEW
        if self.floor_plan is not None and self.floor_plan.calibration is None:
            return MissingPlan.UNCALIBRATED
        return None

    @property
    def floor_plan_note(self) -> str | None:
        """The reason there is no plan under the cells, in a sentence (None: there is one)."""
        missing = self.missing_plan
        if missing is None:
            return None
        storey = self.floor_plan.storey if self.floor_plan is not None else None
        return missing.note.format(storey=storey)

    @property
    def max_count(self) -> int:
        return max((count for _, _, count in self.cells), default=0)

    def dense(self) -> list[list[int]]:
        """counts[j][i] for every cell of the grid ([] without a grid)."""
        if self.shape is None:
            return []
        width, height = self.shape
        rows = [[0] * width for _ in range(height)]
        for i, j, count in self.cells:
            rows[j][i] = count
        return rows


class HeatmapService:
    """Heatmaps of one project's properties."""

    def __init__(self, database: Database, settings: Settings, *, project_id: UUID) -> None:
        self._database = database
        self._max_bins = settings.ANALYTICS_HEATMAP_MAX_BINS
        self._project_id = project_id

    async def heatmap(self, query: HeatmapQuery) -> Heatmap:
        """Bin the position samples of a property (optionally one room, session or period).
        404 for a property without sessions in this project, or a session not of it."""
        bins = self._bins_of(query)
        room = self._room_of(query)
        if query.storey is not None and query.plane is not Plane.XY:
            raise InvalidInputError.single(
                "query", "storey", msg="floor plans are drawn on the xy plane only"
            )
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, self._project_id).in_force()
            store = HeatmapStore(connection, self._project_id, mapping)
            await self._check_exists(store, query)
            plans = await FloorPlanStore(connection, self._project_id).plans(query.property_id)
            plan = _plan_shown(query, plans)
            binned = await store.bin_positions(
                BinningQuery(
                    property_id=query.property_id,
                    axes=query.plane.axes,
                    bin_size=query.bin_size,
                    bins=bins,
                    max_bins=self._max_bins,
                    max_coordinate=MAX_COORDINATE_CM,
                    session_id=query.session_id,
                    start=query.period.start,
                    end=query.period.end,
                    room=room,
                    storey_heights=_heights_of(plan),
                )
            )
        return self._heatmap_of(
            query, binned, floor_plan=plan, storeys=tuple(p.storey for p in plans)
        )

    async def heatmap_png(
        self,
        query: HeatmapQuery,
        *,
        width: int,
        height: int,
        scale: ColourScale = ColourScale.LINEAR,
    ) -> bytes:
        """The heatmap drawn as a PNG of width x height pixels (rendered off the event loop)."""
        heatmap = await self.heatmap(query)
        plan_image = None
        if heatmap.drawn_on_plan:
            assert heatmap.floor_plan is not None
            async with self._database.connection() as connection:
                stored = await FloorPlanStore(connection, self._project_id).image(
                    query.property_id, heatmap.floor_plan.storey
                )
            plan_image = stored.data if stored is not None else None
        return await asyncio.to_thread(
            render_png, heatmap, width=width, height=height, scale=scale, plan_image=plan_image
        )

    def _bins_of(self, query: HeatmapQuery) -> int | None:
        if query.bins is not None and query.bin_size is not None:
            raise InvalidInputError.single("query", "bins", msg="give bins or bin_size, not both")
        if query.bins is not None and query.bins > self._max_bins:
            raise InvalidInputError.single(
                "query", "bins", msg=f"must be at most {self._max_bins} (cells per axis)"
            )
        if query.bin_size is not None:
            return None
        return query.bins or min(DEFAULT_BINS, self._max_bins)

    @staticmethod
    def _room_of(query: HeatmapQuery) -> str | None:
        if query.room is None:
            return None
        room = query.room.strip()
        if not room:
            raise InvalidInputError.single("query", "room", msg="must not be blank")
        return room

    @staticmethod
    async def _check_exists(store: HeatmapStore, query: HeatmapQuery) -> None:
        if query.session_id is not None:
            found, property_id = await store.session_property(query.session_id)
            if not found:
                raise NotFoundError("Session not found")
            if property_id != query.property_id:
                raise NotFoundError("Session not found for this property")
        elif not await store.property_has_sessions(query.property_id):
            raise NotFoundError("Property not found (no sessions of it in this project)")

    def _heatmap_of(
        self,
        query: HeatmapQuery,
        binned: BinnedPositions,
        *,
        floor_plan: FloorPlan | None,
        storeys: tuple[int, ...],
    ) -> Heatmap:
        if binned.cells is None:
            assert binned.shape is not None
            across, along = (_count_text(size) for size in binned.shape)
            raise InvalidInputError.single(
                "query",
                "bin_size",
                msg=f"makes a grid of {across} x {along} cells; at most {self._max_bins} per "
                "axis: choose a larger bin_size, or give bins",
            )
        shape = None
        if binned.shape is not None:
            shape = (int(binned.shape[0]), int(binned.shape[1]))
        return Heatmap(
            query=query,
            samples=binned.samples,
            elsewhere=binned.elsewhere,
            used=binned.used,
            origin=binned.origin,
            bin_size=binned.bin_size,
            shape=shape,
            cells=binned.cells,
            floor_plan=floor_plan,
            storeys=storeys,
        )


def _plan_shown(query: HeatmapQuery, plans: list[FloorPlan]) -> FloorPlan | None:
    """The plan the heatmap is drawn on: the storey asked for (404 without a plan), else the
    lowest; none on a side view."""
    if query.plane is not Plane.XY:
        return None
    if query.storey is None:
        return plans[0] if plans else None
    for plan in plans:
        if plan.storey == query.storey:
            return plan
    raise NotFoundError(f"No floor plan of storey {query.storey} for this property")


def _heights_of(plan: FloorPlan | None) -> tuple[float | None, float | None] | None:
    if plan is None or (plan.z_min is None and plan.z_max is None):
        return None
    return plan.z_min, plan.z_max


def _count_text(value: float) -> str:
    return f"{value:.0f}" if value < 1e12 else f"{value:.2g}"
