"""The demo's floor plans (scripts/tours/plan_images.py, uploaded by seed_demo.py): every position
the synthetic tours send lies on its property's plan, on the storey of the plan's heights."""

from datetime import UTC, datetime

import pytest

from app.services.access.keys import AccessService
from scripts.tours.floor_plans import floor_plans
from scripts.tours.generator import generate_tours, send_tours
from scripts.tours.plan_images import plan_image, upload_plan
from tests.conftest import create_project_key, serve_app

SEED = 5
PROPERTIES = 3


@pytest.fixture(scope="module")
async def planned(access: AccessService, database_dsn: str):
    tours = generate_tours(
        seed=SEED,
        customers=6,
        properties=PROPERTIES,
        start=datetime(2024, 3, 1, tzinfo=UTC),
        days=7,
    )
    project = await create_project_key(access, "demo plans")
    async with serve_app(database_dsn, api_key=project.key) as client:
        await send_tours(client, tours)
        for plan in floor_plans(seed=SEED, properties=PROPERTIES).values():
            await upload_plan(client, plan_image(plan))
        yield client


@pytest.mark.parametrize("property_id", [f"prop_{n:03d}" for n in range(1, PROPERTIES + 1)])
async def test_every_sample_of_the_demo_tours_lies_on_its_plan(planned, property_id):
    response = await planned.get(f"/api/v1/properties/{property_id}/heatmap", params={"bins": 40})
    assert response.status_code == 200, response.text
    body = response.json()
    plan = body["floor_plan"]
    assert plan is not None, body["floor_plan_note"]
    assert body["samples"]["used"] > 100
    assert body["samples"]["skipped"] == 0 and body["samples"]["other_storeys"] == 0
    a, b, c, d, e, f = plan["world_to_pixel"]
    (origin_x, origin_y), (size_x, size_y) = body["grid"]["origin"], body["grid"]["bin_size"]
    for cell in body["cells"]:
        x, y = origin_x + (cell["i"] + 0.5) * size_x, origin_y + (cell["j"] + 0.5) * size_y
        u, v = a * x + b * y + c, d * x + e * y + f
        assert 0 <= u <= plan["width"] and 0 <= v <= plan["height"], (cell, u, v)


async def test_a_demo_plan_is_on_its_propertys_storey(planned):
    """prop_002 is the villa: one plan, on the ground floor, one storey high."""
    body = (await planned.get("/api/v1/properties/prop_002/heatmap")).json()
    assert body["storeys"] == [0]
    assert (body["floor_plan"]["z_min"], body["floor_plan"]["z_max"]) == (0, 320)
