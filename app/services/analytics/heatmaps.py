"""Heatmaps of where visitors went: the rules around the grid, and the PNG rendering.

Binning happens in PostgreSQL (app/stores/heatmaps.py); this module checks the request,
decides what is not found, and draws the image with matplotlib's Agg backend in a worker thread.
matplotlib and numpy are imported by the first drawing, not at start-up: they cost a worker
about 40 MB and most workers never draw.
"""

import asyncio
import io
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.domain.floor_plans import FloorPlan
from app.errors import InvalidInputError, NotFoundError
from app.models.heatmap import ColourScale, Plane
from app.models.periods import Period
from app.stores.floor_plans import FloorPlanStore
from app.stores.heatmaps import BinnedPositions, BinningQuery, HeatmapStore
from app.stores.mappings import MappingStore

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from numpy.ma import MaskedArray

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
IMAGE_DPI = 100
# Past this ratio of the grid's sides the image stretches rather than keep one scale.
MAX_EQUAL_ASPECT_RATIO = 4.0
MAX_TITLE_LABEL_LENGTH = 60
# Cells over a floor plan let the plan show through.
PLAN_CELL_OPACITY = 0.65


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


def _label(text: str) -> str:
    """A client's label, safe for a matplotlib title: short, and `$` not taken as math."""
    if len(text) > MAX_TITLE_LABEL_LENGTH:
        text = text[: MAX_TITLE_LABEL_LENGTH - 1] + "…"
    return text.replace("$", r"\$")


def render_png(
    heatmap: Heatmap,
    *,
    width: int,
    height: int,
    scale: ColourScale = ColourScale.LINEAR,
    plan_image: bytes | None = None,
) -> bytes:
    """Draw the heatmap: cells coloured by count (empty cells left blank) and a colour bar of
    samples, over the floor plan's image when `plan_image` is given (its calibrated storey),
    else on axes in world centimetres. The xy plane is drawn as seen from above, not mirrored
    (Unreal is left-handed: with x to the right, y points down). Blocking: run it in a thread."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / IMAGE_DPI, height / IMAGE_DPI), dpi=IMAGE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    outside_plan = 0
    if heatmap.shape is not None and heatmap.origin and heatmap.bin_size:
        counts = np.ma.masked_equal(np.array(heatmap.dense(), dtype=np.int64), 0)
        colours = {
            "cmap": "inferno_r",
            "norm": LogNorm(vmin=1, vmax=max(heatmap.max_count, 2))
            if scale is ColourScale.LOG
            else Normalize(vmin=0, vmax=max(heatmap.max_count, 1)),
        }
        if plan_image is not None:
            cells = _draw_on_plan(axes, heatmap, counts, colours, plan_image)
            outside_plan = _samples_outside_plan(heatmap)
        else:
            cells = _draw_on_axes(axes, heatmap, counts, colours)
        colour_bar = figure.colorbar(cells, ax=axes)
        colour_bar.set_label("samples")
        if scale is ColourScale.LINEAR:
            colour_bar.locator = MaxNLocator(integer=True)
            colour_bar.update_ticks()
    else:
        if plan_image is not None:
            _show_plan(axes, plan_image)
        else:
            _label_axes(axes, heatmap)
        axes.text(
            0.5, 0.5, "No position samples", ha="center", va="center", transform=axes.transAxes
        )
    axes.set_title(_title(heatmap, outside_plan=outside_plan), fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=IMAGE_DPI)
    return buffer.getvalue()


def _label_axes(axes: "Axes", heatmap: Heatmap) -> None:
    first_axis, second_axis = heatmap.query.plane.axes
    axes.set_xlabel(f"{first_axis} (cm)")
    axes.set_ylabel(f"{second_axis} (cm)")
    axes.grid(True, linewidth=0.3, alpha=0.4)
    if heatmap.query.plane is Plane.XY:
        axes.invert_yaxis()


def _draw_on_axes(
    axes: "Axes", heatmap: Heatmap, counts: "MaskedArray", colours: dict[str, Any]
) -> "ScalarMappable":
    """The cells on axes in world centimetres; returns what the colour bar reads."""
    assert heatmap.shape is not None and heatmap.origin and heatmap.bin_size
    (origin_u, origin_v), (size_u, size_v) = heatmap.origin, heatmap.bin_size
    extent = (
        origin_u,
        origin_u + heatmap.shape[0] * size_u,
        origin_v,
        origin_v + heatmap.shape[1] * size_v,
    )
    spans = (extent[1] - extent[0], extent[3] - extent[2])
    ratio = max(spans) / min(spans) if min(spans) > 0 else math.inf
    image = axes.imshow(
        counts,
        origin="lower",
        extent=extent,
        interpolation="nearest",
        aspect="equal" if ratio <= MAX_EQUAL_ASPECT_RATIO else "auto",
        **colours,
    )
    _label_axes(axes, heatmap)
    return image


def _show_plan(axes: "Axes", plan_image: bytes) -> None:
    """The floor plan's image in its own pixels (v downwards), without ticks."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(plan_image)) as image:
        pixels = np.asarray(image.convert("RGB"))
    plan_height, plan_width = pixels.shape[:2]
    axes.imshow(pixels, extent=(0, plan_width, plan_height, 0), interpolation="antialiased")
    axes.set_xlim(0, plan_width)
    axes.set_ylim(plan_height, 0)
    axes.set_xticks([])
    axes.set_yticks([])


def _draw_on_plan(
    axes: "Axes",
    heatmap: Heatmap,
    counts: "MaskedArray",
    colours: dict[str, Any],
    plan_image: bytes,
) -> "ScalarMappable":
    """The plan, and over it each cell as the quadrilateral its world corners make in the
    plan's pixels (a calibration may rotate or mirror); returns what the colour bar reads."""
    import numpy as np

    assert heatmap.floor_plan is not None and heatmap.floor_plan.calibration is not None
    assert heatmap.shape is not None and heatmap.origin and heatmap.bin_size
    _show_plan(axes, plan_image)
    to_pixel = heatmap.floor_plan.calibration.world_to_pixel
    (origin_x, origin_y), (size_x, size_y) = heatmap.origin, heatmap.bin_size
    world_x, world_y = np.meshgrid(
        origin_x + size_x * np.arange(heatmap.shape[0] + 1),
        origin_y + size_y * np.arange(heatmap.shape[1] + 1),
    )
    mesh = axes.pcolormesh(
        to_pixel.a * world_x + to_pixel.b * world_y + to_pixel.c,
        to_pixel.d * world_x + to_pixel.e * world_y + to_pixel.f,
        counts,
        shading="flat",
        alpha=PLAN_CELL_OPACITY,
        **colours,
    )
    plan = heatmap.floor_plan
    name = f" ({_label(plan.name)})" if plan.name else ""
    axes.set_xlabel(f"floor plan of storey {plan.storey}{name}")
    return mesh


def _samples_outside_plan(heatmap: Heatmap) -> int:
    """Samples in cells whose centre falls off the plan's image (not drawn on it)."""
    plan = heatmap.floor_plan
    assert plan is not None and plan.calibration is not None
    assert heatmap.origin and heatmap.bin_size
    to_pixel = plan.calibration.world_to_pixel
    (origin_x, origin_y), (size_x, size_y) = heatmap.origin, heatmap.bin_size
    outside = 0
    for i, j, count in heatmap.cells:
        u, v = to_pixel.apply(origin_x + (i + 0.5) * size_x, origin_y + (j + 0.5) * size_y)
        if not (0 <= u <= plan.width and 0 <= v <= plan.height):
            outside += count
    return outside


def _title(heatmap: Heatmap, *, outside_plan: int = 0) -> str:
    query = heatmap.query
    title = f"Positions in {_label(query.property_id)}"
    if query.room is not None:
        title += f", room {_label(query.room.strip())}"
    if query.session_id is not None:
        title += f", session {str(query.session_id)[:8]}"
    period = query.period
    if period.start is not None or period.end is not None:
        start = period.start.isoformat() if period.start else "…"
        end = period.end.isoformat() if period.end else "…"
        title += f"\n[{start}, {end})"
    size = ""
    if heatmap.bin_size is not None:
        size = f", cells {heatmap.bin_size[0]:.4g} x {heatmap.bin_size[1]:.4g} cm"
    elsewhere = f", {heatmap.elsewhere} on other storeys" if heatmap.elsewhere else ""
    title += (
        f"\n{query.plane.value} plane, {heatmap.used} samples ({heatmap.skipped} skipped"
        f"{elsewhere}){size}"
    )
    if outside_plan:
        title += f"\n{outside_plan} samples off the plan's image"
    elif heatmap.missing_plan is not None:
        title += f"\n{heatmap.missing_plan.caption}"
    return title
