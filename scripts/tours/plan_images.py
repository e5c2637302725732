"""The synthetic properties' floor plans (scripts/tours/floor_plans.py) drawn as images, with the
calibration and heights that place them in the world, ready for the admin API
(docs/floor-plans.md): what an architect's plan and its set-up would be for a real property.

The image is the plan seen from above as Unreal's top view shows it: world x to the right,
world y downwards, so the box calibration maps its edges onto the world without mirroring.
"""

import io
from dataclasses import dataclass

import httpx
from PIL import Image, ImageDraw

from .floor_plans import FLOOR_HEIGHT_CM, FloorPlan, Rect

PIXELS_PER_CM = 0.25
MARGIN_CM = 100.0
WALL_PIXELS = 3
FLOOR_COLOUR = (248, 246, 240)
HALL_COLOUR = (232, 228, 218)
WALL_COLOUR = (60, 60, 60)
LABEL_COLOUR = (90, 90, 90)


@dataclass(frozen=True)
class PlanImage:
    property_id: str
    storey: int
    name: str
    png: bytes
    box: dict[str, float]
    """World x of the image's left and right edges, world y of its top and bottom edges."""
    z_min: float
    z_max: float


def plan_image(plan: FloorPlan) -> PlanImage:
    """Draw the plan: rooms and hallway as rectangles with walls, each room named."""
    areas = [plan.hallway, *(room.area for room in plan.rooms)]
    left = min(area.x0 for area in areas) - MARGIN_CM
    right = max(area.x1 for area in areas) + MARGIN_CM
    top = min(area.y0 for area in areas) - MARGIN_CM
    bottom = max(area.y1 for area in areas) + MARGIN_CM
    size = (round((right - left) * PIXELS_PER_CM), round((bottom - top) * PIXELS_PER_CM))
    image = Image.new("RGB", size, "white")
    drawing = ImageDraw.Draw(image)

    def pixels(area: Rect) -> tuple[float, float, float, float]:
        return (
            (area.x0 - left) * size[0] / (right - left),
            (area.y0 - top) * size[1] / (bottom - top),
            (area.x1 - left) * size[0] / (right - left),
            (area.y1 - top) * size[1] / (bottom - top),
        )

    drawing.rectangle(pixels(plan.hallway), fill=HALL_COLOUR)
    for room in plan.rooms:
        box = pixels(room.area)
        drawing.rectangle(box, fill=FLOOR_COLOUR, outline=WALL_COLOUR, width=WALL_PIXELS)
        drawing.text((box[0] + 8, box[1] + 8), room.name, fill=LABEL_COLOUR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    storey = round(plan.floor_z / FLOOR_HEIGHT_CM)
    return PlanImage(
        property_id=plan.property_id,
        storey=storey,
        name=plan.kind.capitalize(),
        png=buffer.getvalue(),
        box={"left": left, "top": top, "right": right, "bottom": bottom},
        z_min=plan.floor_z,
        z_max=plan.floor_z + FLOOR_HEIGHT_CM,
    )


async def upload_plan(client: httpx.AsyncClient, plan: PlanImage) -> None:
    """Upload the image and its calibration with an admin key; raises on a refusal."""
    storey_path = f"/api/v1/admin/properties/{plan.property_id}/floor-plans/{plan.storey}"
    uploaded = await client.put(
        f"{storey_path}/image", content=plan.png, headers={"Content-Type": "image/png"}
    )
    uploaded.raise_for_status()
    placed = await client.put(
        storey_path,
        json={
            "name": plan.name,
            "calibration": {"box": plan.box},
            "z_min": plan.z_min,
            "z_max": plan.z_max,
        },
    )
    placed.raise_for_status()
