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
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.errors import InvalidInputError, NotFoundError
from app.models.heatmap import ColourScale, Plane
from app.models.periods import Period
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
IMAGE_DPI = 100
# Past this ratio of the grid's sides the image stretches rather than keep one scale.
MAX_EQUAL_ASPECT_RATIO = 4.0
MAX_TITLE_LABEL_LENGTH = 60


@dataclass(frozen=True)
class HeatmapQuery:
    property_id: str
    plane: Plane = Plane.XY
    bin_size: float | None = None
    bins: int | None = None
    room: str | None = None
    session_id: UUID | None = None
    period: Period = field(default_factory=Period)


@dataclass(frozen=True)
class Heatmap:
    query: HeatmapQuery
    samples: int
    used: int
    origin: tuple[float, float] | None
    bin_size: tuple[float, float] | None
    shape: tuple[int, int] | None
    cells: list[tuple[int, int, int]]
    """(i, j, count) of the non-empty cells, by j then i."""

    @property
    def skipped(self) -> int:
        return self.samples - self.used

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
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, self._project_id).in_force()
            store = HeatmapStore(connection, self._project_id, mapping)
            await self._check_exists(store, query)
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
                )
            )
        return self._heatmap_of(query, binned)

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
        return await asyncio.to_thread(render_png, heatmap, width=width, height=height, scale=scale)

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

    def _heatmap_of(self, query: HeatmapQuery, binned: BinnedPositions) -> Heatmap:
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
            used=binned.used,
            origin=binned.origin,
            bin_size=binned.bin_size,
            shape=shape,
            cells=binned.cells,
        )


def _count_text(value: float) -> str:
    return f"{value:.0f}" if value < 1e12 else f"{value:.2g}"


def _label(text: str) -> str:
    """A client's label, safe for a matplotlib title: short, and `$` not taken as math."""
    if len(text) > MAX_TITLE_LABEL_LENGTH:
        text = text[: MAX_TITLE_LABEL_LENGTH - 1] + "…"
    return text.replace("$", r"\$")


def render_png(
    heatmap: Heatmap, *, width: int, height: int, scale: ColourScale = ColourScale.LINEAR
) -> bytes:
    """Draw the heatmap: cells coloured by count (empty cells left blank), a colour bar of
    samples, axes in world centimetres. The xy plane is drawn as seen from above, not mirrored
    (Unreal is left-handed: with x to the right, y points down). Blocking: run it in a thread."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    query = heatmap.query
    first_axis, second_axis = query.plane.axes
    figure = Figure(figsize=(width / IMAGE_DPI, height / IMAGE_DPI), dpi=IMAGE_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_xlabel(f"{first_axis} (cm)")
    axes.set_ylabel(f"{second_axis} (cm)")
    axes.set_title(_title(heatmap), fontsize=11)
    if heatmap.shape is not None and heatmap.origin and heatmap.bin_size:
        (origin_u, origin_v), (size_u, size_v) = heatmap.origin, heatmap.bin_size
        extent = (
            origin_u,
            origin_u + heatmap.shape[0] * size_u,
            origin_v,
            origin_v + heatmap.shape[1] * size_v,
        )
        spans = (extent[1] - extent[0], extent[3] - extent[2])
        ratio = max(spans) / min(spans) if min(spans) > 0 else math.inf
        counts = np.ma.masked_equal(np.array(heatmap.dense(), dtype=np.int64), 0)
        image = axes.imshow(
            counts,
            origin="lower",
            extent=extent,
            cmap="inferno_r",
            norm=LogNorm(vmin=1, vmax=max(heatmap.max_count, 2))
            if scale is ColourScale.LOG
            else Normalize(vmin=0, vmax=max(heatmap.max_count, 1)),
            interpolation="nearest",
            aspect="equal" if ratio <= MAX_EQUAL_ASPECT_RATIO else "auto",
        )
        colour_bar = figure.colorbar(image, ax=axes)
        colour_bar.set_label("samples")
        if scale is ColourScale.LINEAR:
            colour_bar.locator = MaxNLocator(integer=True)
            colour_bar.update_ticks()
    else:
        axes.text(
            0.5, 0.5, "No position samples", ha="center", va="center", transform=axes.transAxes
        )
    if query.plane is Plane.XY:
        axes.invert_yaxis()
    axes.grid(True, linewidth=0.3, alpha=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=IMAGE_DPI)
    return buffer.getvalue()


def _title(heatmap: Heatmap) -> str:
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
    title += (
        f"\n{query.plane.value} plane, {heatmap.used} samples ({heatmap.skipped} skipped){size}"
    )
    return title
