"""Heatmaps over floor plans: where the cells lie on the plan, the storey's heights, the PNG
drawn over the plan's image, and the note when there is no plan to draw on."""

import io
import uuid

import httpx
import pytest
from PIL import Image

from tests.api.v1.test_heatmap import at, heatmap_url, position, send_session

PLAN_GREEN = (0, 200, 0)
PLAN_SIZE = (400, 300)


def plan_png(colour: tuple[int, int, int] = PLAN_GREEN) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", PLAN_SIZE, colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def add_plan(
    client: httpx.AsyncClient,
    property_id: str,
    storey: int,
    *,
    calibration: dict | None,
    z_min: float | None = None,
    z_max: float | None = None,
) -> None:
    """Upload and place a plan through the admin API."""
    path = f"/api/v1/admin/properties/{property_id}/floor-plans/{storey}"
    uploaded = await client.put(
        f"{path}/image", content=plan_png(), headers={"Content-Type": "image/png"}
    )
    assert uploaded.status_code == 201, uploaded.text
    placement = {
        "name": f"Storey {storey}",
        "calibration": calibration,
        "z_min": z_min,
        "z_max": z_max,
    }
    placed = await client.put(path, json=placement)
    assert placed.status_code == 200, placed.text


# The plan's 400 x 300 pixels cover world x from -1000 to 1000 and y from -750 to 750 (5 cm a
# pixel): world (0, 0) is pixel (200, 150).
BOX = {"box": {"left": -1000, "top": -750, "right": 1000, "bottom": 750}}
# The same plan turned a quarter: the image's u runs along world y, its v against world x.
TURNED = {
    "points": [
        {"pixel": [0, 0], "world": [750, -1000]},
        {"pixel": [400, 0], "world": [750, 1000]},
    ]
}

TWO_STOREYS = [
    position(1, x=0, y=0, z=100),  # ground floor
    position(2, x=500, y=250, z=120),  # ground floor
    position(3, x=0, y=0, z=400),  # first floor
    position(4, x=10, y=10),  # no z: cannot be placed on a storey with heights
    position(5, x=-900, y=-700, z=0),  # ground floor, at its bottom height
]


@pytest.fixture(scope="module")
async def villa(client: httpx.AsyncClient) -> str:
    property_id = f"plan_{uuid.uuid4().hex[:8]}"
    await send_session(client, property_id, TWO_STOREYS, end=at(10))
    await add_plan(client, property_id, 0, calibration=BOX, z_min=0, z_max=300)
    await add_plan(client, property_id, 1, calibration=BOX, z_min=300, z_max=600)
    await add_plan(client, property_id, 2, calibration=None)
    return property_id


async def test_without_a_plan_the_heatmap_says_so(client):
    property_id = f"bare_{uuid.uuid4().hex[:8]}"
    await send_session(client, property_id, TWO_STOREYS, end=at(10))
    body = (await client.get(heatmap_url(property_id))).json()
    assert body["floor_plan"] is None
    assert body["storeys"] == []
    assert body["floor_plan_note"].startswith("No floor plan for this property")
    assert body["samples"] == {"used": 5, "skipped": 0, "other_storeys": 0}
    assert body["filters"]["storey"] is None


async def test_heatmap_lies_on_the_lowest_storey_and_counts_only_its_heights(client, villa):
    response = await client.get(heatmap_url(villa), params={"bin_size": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["storeys"] == [0, 1, 2]
    assert body["filters"]["storey"] == 0
    assert body["floor_plan_note"] is None
    plan = body["floor_plan"]
    assert plan["storey"] == 0 and plan["name"] == "Storey 0"
    assert plan["image_url"] == f"/api/v1/properties/{villa}/floor-plans/0/image"
    assert (plan["width"], plan["height"], plan["z_min"], plan["z_max"]) == (400, 300, 0, 300)
    assert plan["world_to_pixel"] == pytest.approx([0.2, 0, 200, 0, 0.2, 150])
    # Three samples on the ground floor, one upstairs, one without a height.
    assert body["samples"] == {"used": 3, "skipped": 1, "other_storeys": 1}
    counts = {(cell["i"], cell["j"]): cell["count"] for cell in body["cells"]}
    origin = body["grid"]["origin"]
    assert origin == [-900.0, -700.0]
    assert counts == {(9, 7): 1, (14, 9): 1, (0, 0): 1}


async def test_another_storey_counts_its_own_heights(client, villa):
    body = (await client.get(heatmap_url(villa), params={"storey": 1})).json()
    assert body["filters"]["storey"] == 1
    assert body["floor_plan"]["z_min"] == 300
    assert body["samples"] == {"used": 1, "skipped": 1, "other_storeys": 3}


async def test_an_uncalibrated_plan_is_not_drawn_and_the_note_says_why(client, villa):
    body = (await client.get(heatmap_url(villa), params={"storey": 2})).json()
    assert body["floor_plan"] is None
    assert body["filters"]["storey"] == 2
    assert "storey 2 is not calibrated" in body["floor_plan_note"]
    # No heights on that storey: every sample counts.
    assert body["samples"] == {"used": 5, "skipped": 0, "other_storeys": 0}


async def test_side_views_have_no_plan_and_refuse_a_storey(client, villa):
    body = (await client.get(heatmap_url(villa), params={"plane": "xz"})).json()
    assert body["floor_plan"] is None and body["filters"]["storey"] is None
    assert (
        body["floor_plan_note"] == "Floor plans are drawn on the xy plane (seen from above) only."
    )
    refused = await client.get(heatmap_url(villa), params={"plane": "xz", "storey": 0})
    assert refused.status_code == 422
    assert "storey" in refused.text and "xy plane" in refused.text


@pytest.mark.parametrize("storey", [-10, 100])
async def test_a_storey_without_a_plan_is_not_found_at_the_edges(client, villa, storey):
    response = await client.get(heatmap_url(villa), params={"storey": storey})
    assert response.status_code == 404
    assert f"storey {storey}" in response.json()["detail"]


@pytest.mark.parametrize("storey", [-11, 101, "first"])
async def test_a_storey_past_the_edges_is_refused(client, villa, storey):
    response = await client.get(heatmap_url(villa), params={"storey": storey})
    assert response.status_code == 422
    assert "storey" in response.text


def green_share(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        pixels = list(image.convert("RGB").get_flattened_data())
    return sum(1 for pixel in pixels if pixel == PLAN_GREEN) / len(pixels)


def heat_share(png: bytes) -> float:
    """Pixels of the colour map blended over the plan (reddish, not the plan's green)."""
    with Image.open(io.BytesIO(png)) as image:
        pixels = list(image.convert("RGB").get_flattened_data())
    return sum(1 for red, green, _ in pixels if red > 150 and green < 190) / len(pixels)


async def test_png_draws_the_cells_over_the_plans_image(client, villa):
    on_plan = await client.get(heatmap_url(villa, ".png"), params={"bin_size": 100})
    assert on_plan.status_code == 200 and on_plan.headers["content-type"] == "image/png"
    assert green_share(on_plan.content) > 0.2
    assert heat_share(on_plan.content) > 0.001
    uncalibrated = await client.get(heatmap_url(villa, ".png"), params={"storey": 2})
    assert green_share(uncalibrated.content) == 0


async def test_a_turned_plan_places_world_points_on_its_pixels(client):
    property_id = f"turned_{uuid.uuid4().hex[:8]}"
    await send_session(client, property_id, [position(1, x=750, y=1000, z=0)], end=at(5))
    await add_plan(client, property_id, 0, calibration=TURNED)
    body = (await client.get(heatmap_url(property_id))).json()
    a, b, c, d, e, f = body["floor_plan"]["world_to_pixel"]
    # World (750, 1000) is the plan's top-right corner; (750, -1000) its top-left.
    assert (a * 750 + b * 1000 + c, d * 750 + e * 1000 + f) == pytest.approx((400, 0))
    assert (a * 750 - b * 1000 + c, d * 750 - e * 1000 + f) == pytest.approx((0, 0), abs=1e-9)
    png = await client.get(heatmap_url(property_id, ".png"))
    assert png.status_code == 200 and green_share(png.content) > 0.2
