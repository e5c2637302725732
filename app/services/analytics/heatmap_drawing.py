"""The heatmap drawn as a PNG with matplotlib's Agg backend: over the storey's floor plan when it
has a calibrated one, else on axes in world centimetres. Blocking: run it in a worker thread.
matplotlib and numpy are imported by the first drawing, not at start-up: they cost a worker
about 40 MB and most workers never draw.
"""

import io
import math
from typing import TYPE_CHECKING, Any

from app.models.heatmap import ColourScale, Plane

if TYPE_CHECKING:  # imported for annotations only: the service imports this module
    from matplotlib.axes import Axes
    from matplotlib.cm import ScalarMappable
    from numpy.ma import MaskedArray

    from app.services.analytics.heatmaps import Heatmap

IMAGE_DPI = 100
# Past this ratio of the grid's sides the image stretches rather than keep one scale.
MAX_EQUAL_ASPECT_RATIO = 4.0
MAX_TITLE_LABEL_LENGTH = 60
# Cells over a floor plan let the plan show through.
PLAN_CELL_OPACITY = 0.65


def _label(text: str) -> str:
    """A client's label, safe for a matplotlib title: short, and `$` not taken as math."""
    if len(text) > MAX_TITLE_LABEL_LENGTH:
        text = text[: MAX_TITLE_LABEL_LENGTH - 1] + "…"
    return text.replace("$", r"\$")


def render_png(
    heatmap: "Heatmap",
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
            outside_plan = samples_off_plan(heatmap)
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


def _label_axes(axes: "Axes", heatmap: "Heatmap") -> None:
    first_axis, second_axis = heatmap.query.plane.axes
    axes.set_xlabel(f"{first_axis} (cm)")
    axes.set_ylabel(f"{second_axis} (cm)")
    axes.grid(True, linewidth=0.3, alpha=0.4)
    if heatmap.query.plane is Plane.XY:
        axes.invert_yaxis()


def _draw_on_axes(
    axes: "Axes", heatmap: "Heatmap", counts: "MaskedArray", colours: dict[str, Any]
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
    heatmap: "Heatmap",
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


def samples_off_plan(heatmap: "Heatmap") -> int:
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


def _title(heatmap: "Heatmap", *, outside_plan: int = 0) -> str:
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
