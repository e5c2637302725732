"""Floor plans through the API: images checked from their bytes and re-encoded, limits at and
past their edge, calibrations that map known pixels to known world points, scopes, projects
kept apart, and every change in the audit log."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.services.access.keys import ALL_SCOPES, AccessService, Scope
from tests.conftest import AppFactory, create_project_key, serve_app
from tests.floor_plan_images import (
    SECRET,
    decoded,
    gif,
    jpeg,
    padded_png,
    pixels,
    png,
    png_header_only,
)
from tests.helpers import BATCH

PNG_TYPE = {"content-type": "image/png"}
JPEG_TYPE = {"content-type": "image/jpeg"}


@dataclass(frozen=True)
class PlanProject:
    admin: httpx.AsyncClient
    """All scopes."""
    read_key: str
    other: httpx.AsyncClient
    """Another project's client, all scopes."""


@pytest.fixture(scope="module")
async def plans(access: AccessService, database_dsn: str) -> AsyncIterator[PlanProject]:
    mine = await create_project_key(access, f"plans {uuid.uuid4().hex[:8]}", ALL_SCOPES)
    read = await access.create_key(
        project_id=mine.project_id, name="reader", scopes=frozenset({Scope.READ}), actor="tests"
    )
    theirs = await create_project_key(access, f"other plans {uuid.uuid4().hex[:8]}", ALL_SCOPES)
    async with (
        serve_app(database_dsn, api_key=mine.key) as admin,
        serve_app(database_dsn, api_key=theirs.key) as other,
    ):
        yield PlanProject(admin=admin, read_key=read.secret, other=other)


def new_property() -> str:
    return f"villa {uuid.uuid4().hex[:8]} A&B"


def quoted(property_id: str) -> str:
    return quote(property_id, safe="")


def plans_url(property_id: str) -> str:
    return f"/api/v1/properties/{quoted(property_id)}/floor-plans"


def image_url(property_id: str, storey: int) -> str:
    return f"{plans_url(property_id)}/{storey}/image"


def admin_url(property_id: str, storey: int) -> str:
    return f"/api/v1/admin/properties/{quoted(property_id)}/floor-plans/{storey}"


async def upload(
    client: httpx.AsyncClient,
    property_id: str,
    storey: int,
    image: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """PUT the image, with `headers` (None: no Content-Type, the bytes tell)."""
    return await client.put(
        f"{admin_url(property_id, storey)}/image", content=image, headers=headers
    )


async def uploaded(
    client: httpx.AsyncClient, property_id: str, storey: int = 0, image: bytes | None = None
) -> dict[str, Any]:
    response = await upload(client, property_id, storey, image or png())
    assert response.status_code in (200, 201), response.text
    return response.json()


async def place(
    client: httpx.AsyncClient, property_id: str, storey: int = 0, **body: Any
) -> httpx.Response:
    return await client.put(admin_url(property_id, storey), json=body)


def problem(response: httpx.Response) -> tuple[list[Any], str]:
    [found] = response.json()["detail"]
    return found["loc"], found["msg"]


def apply(matrix: list[float], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + b * y + c, d * x + e * y + f


# --- images ----------------------------------------------------------------------------------


async def test_an_uploaded_png_is_listed_and_served_with_the_same_pixels(
    plans: PlanProject,
) -> None:
    property_id = new_property()
    image = png(40, 30)

    created = await upload(plans.admin, property_id, 0, image)
    listing = await plans.admin.get(plans_url(property_id))
    served = await plans.admin.get(image_url(property_id, 0))

    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["calibration_cleared"] is False
    assert {key: plan[key] for key in ("storey", "image_type", "width", "height")} == {
        "storey": 0,
        "image_type": "png",
        "width": 40,
        "height": 30,
    }
    assert plan["image_url"] == image_url(property_id, 0)
    assert plan["calibration"] is None
    assert listing.json() == {
        "property_id": property_id,
        "floor_plans": [{k: v for k, v in plan.items() if k != "calibration_cleared"}],
    }
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "private, max-age=300"
    assert len(served.content) == plan["image_size"]
    assert decoded(served.content).tobytes() == pixels(40, 30).tobytes()


async def test_an_unchanged_image_is_answered_304_to_its_etag(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)
    first = await plans.admin.get(image_url(property_id, 0))

    again = await plans.admin.get(
        image_url(property_id, 0), headers={"If-None-Match": first.headers["etag"]}
    )
    await uploaded(plans.admin, property_id)
    replaced = await plans.admin.get(
        image_url(property_id, 0), headers={"If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""
    assert replaced.status_code == 200
    assert replaced.headers["etag"] != first.headers["etag"]


async def test_storeys_are_listed_lowest_first_and_a_property_without_plans_has_none(
    plans: PlanProject,
) -> None:
    property_id = new_property()
    for storey in (2, -1, 0):
        await uploaded(plans.admin, property_id, storey)

    listing = await plans.admin.get(plans_url(property_id))
    empty = await plans.admin.get(plans_url(new_property()))

    assert [plan["storey"] for plan in listing.json()["floor_plans"]] == [-1, 0, 2]
    assert empty.status_code == 200
    assert empty.json()["floor_plans"] == []


async def test_png_text_chunks_are_not_served(plans: PlanProject) -> None:
    property_id = new_property()
    image = png(text=SECRET)
    assert SECRET in image

    await uploaded(plans.admin, property_id, image=image)
    served = await plans.admin.get(image_url(property_id, 0))

    assert SECRET not in served.content
    assert b"tEXt" not in served.content
    assert decoded(served.content).tobytes() == pixels(40, 30).tobytes()


async def test_a_jpeg_is_served_as_jpeg_without_its_exif_or_comment(plans: PlanProject) -> None:
    property_id = new_property()
    image = jpeg(comment=b"scanned by " + SECRET)
    assert image.count(SECRET) == 2

    response = await upload(plans.admin, property_id, 0, image, JPEG_TYPE)
    served = await plans.admin.get(image_url(property_id, 0))

    assert response.json()["image_type"] == "jpeg"
    assert served.headers["content-type"] == "image/jpeg"
    assert SECRET not in served.content
    assert b"Exif" not in served.content
    assert decoded(served.content).size == (40, 30)


async def test_a_jpeg_is_served_upright_as_its_exif_orientation_says(plans: PlanProject) -> None:
    """Orientation 6: viewers turn it 90° clockwise, so the admin picked pixels on the turned
    image; the served one is turned, its width and height swapped."""
    property_id = new_property()

    plan = await uploaded(plans.admin, property_id, image=jpeg(40, 30, orientation=6))
    served = await plans.admin.get(image_url(property_id, 0))

    assert (plan["width"], plan["height"]) == (30, 40)
    assert decoded(served.content).size == (30, 40)


async def test_an_octet_stream_or_untyped_body_is_typed_by_its_bytes(plans: PlanProject) -> None:
    property_id = new_property()

    typed = await upload(
        plans.admin, property_id, 0, jpeg(), {"content-type": "application/octet-stream"}
    )
    untyped = await plans.admin.put(f"{admin_url(property_id, 1)}/image", content=png())

    assert typed.json()["image_type"] == "jpeg"
    assert untyped.json()["image_type"] == "png"


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (png(), JPEG_TYPE, "the bytes are a PNG image but Content-Type says image/jpeg"),
        (jpeg(), PNG_TYPE, "the bytes are a JPEG image but Content-Type says image/png"),
        (
            png(),
            {"content-type": "text/plain"},
            "Content-Type must be image/png, image/jpeg or application/octet-stream, not "
            "text/plain",
        ),
        (b"Ground floor: see attached", PNG_TYPE, "the bytes say: text"),
        (gif(), {"content-type": "image/gif"}, "the bytes say: a GIF image"),
        (b"", PNG_TYPE, "the bytes say: nothing, the body is empty"),
        (b"\x00\x01\x02\x03\xfe", PNG_TYPE, "the bytes say: unknown binary data"),
    ],
    ids=["png-as-jpeg", "jpeg-as-png", "text-type", "text", "gif", "empty", "binary"],
)
async def test_what_is_not_the_png_or_jpeg_it_says_is_415_naming_the_image(
    plans: PlanProject, body: bytes, headers: dict[str, str], reason: str
) -> None:
    property_id = new_property()

    response = await upload(plans.admin, property_id, 0, body, headers)

    assert response.status_code == 415, response.text
    loc, message = problem(response)
    assert loc == ["image"]
    assert reason in message
    assert (await plans.admin.get(plans_url(property_id))).json()["floor_plans"] == []


@pytest.mark.parametrize(
    "body",
    [png()[:-30], png()[:60], jpeg()[:200], png().replace(b"IDAT", b"IDAx")],
    ids=["truncated-png", "png-header-only", "truncated-jpeg", "corrupt-chunk"],
)
async def test_a_truncated_or_corrupt_image_is_422_naming_the_image(
    plans: PlanProject, body: bytes
) -> None:
    response = await upload(plans.admin, new_property(), 0, body, {})

    assert response.status_code == 422, response.text
    loc, message = problem(response)
    assert loc == ["image"]
    assert "is not a readable" in message


async def test_an_image_with_too_many_pixels_is_refused_from_its_header_before_decoding(
    plans: PlanProject,
) -> None:
    """The header claims 8000 × 6000 pixels and no pixel data follows: decoding would fail
    differently, so the answer shows the header was read first."""
    response = await upload(plans.admin, new_property(), 0, png_header_only(8000, 6000))

    assert response.status_code == 422, response.text
    assert problem(response) == (
        ["image"],
        "is 8000 × 6000 = 48000000 pixels, more than FLOOR_PLAN_MAX_PIXELS (40000000)",
    )


async def test_a_header_past_pillows_own_bomb_limit_is_422(plans: PlanProject) -> None:
    response = await upload(plans.admin, new_property(), 0, png_header_only(60_000, 60_000))

    assert response.status_code == 422, response.text
    assert "FLOOR_PLAN_MAX_PIXELS" in problem(response)[1]


async def test_pixels_up_to_the_limit_are_taken_and_one_row_more_is_not(
    app_with: AppFactory,
) -> None:
    property_id = new_property()
    async with app_with(FLOOR_PLAN_MAX_PIXELS=40 * 30) as client:
        at_limit = await upload(client, property_id, 0, png(40, 30))
        past = await upload(client, property_id, 1, png(40, 31))

    assert at_limit.status_code == 201, at_limit.text
    assert past.status_code == 422
    assert "more than FLOOR_PLAN_MAX_PIXELS (1200)" in problem(past)[1]


async def test_image_bytes_up_to_their_own_limit_are_taken_and_one_more_is_413(
    app_with: AppFactory,
) -> None:
    limit = 2 * 1_048_576
    property_id = new_property()
    async with app_with(FLOOR_PLAN_MAX_BYTES=limit) as client:
        at_limit = await upload(client, property_id, 0, padded_png(limit))
        past = await upload(client, property_id, 1, padded_png(limit + 1))
        json_past_its_limit = await client.post(BATCH, content=b" " * 1_048_577)

    assert at_limit.status_code == 201, at_limit.text
    assert past.status_code == 413
    assert past.json() == {
        "detail": f"Request body exceeds the limit of {limit} bytes (FLOOR_PLAN_MAX_BYTES)"
    }
    # The image limit is the upload route's own: other bodies keep MAX_BODY_BYTES.
    assert json_past_its_limit.status_code == 413
    assert json_past_its_limit.json() == {
        "detail": "Request body exceeds the limit of 1048576 bytes"
    }


async def test_a_key_that_may_not_upload_gets_no_larger_body(plans: PlanProject) -> None:
    headers = {**PNG_TYPE, "X-API-Key": plans.read_key}

    small = await upload(plans.admin, new_property(), 0, png(), headers)
    large = await upload(plans.admin, new_property(), 0, padded_png(1_048_577), headers)

    assert small.status_code == 403
    assert large.status_code == 413
    assert large.json() == {"detail": "Request body exceeds the limit of 1048576 bytes"}


@pytest.mark.parametrize("storey", [-10, 100])
async def test_storeys_from_minus_10_to_100_are_taken(plans: PlanProject, storey: int) -> None:
    response = await upload(plans.admin, new_property(), storey, png())

    assert response.status_code == 201, response.text
    assert response.json()["storey"] == storey


@pytest.mark.parametrize("storey", [-11, 101])
async def test_a_storey_out_of_range_is_422_naming_it(plans: PlanProject, storey: int) -> None:
    property_id = new_property()

    put = await upload(plans.admin, property_id, storey, png())
    get = await plans.admin.get(image_url(property_id, storey))

    for response in (put, get):
        assert response.status_code == 422, response.text
        assert problem(response)[0] == ["path", "storey"]


async def test_storeys_per_property_are_limited_but_a_storey_may_be_replaced(
    app_with: AppFactory,
) -> None:
    property_id = new_property()
    async with app_with(FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY=2) as client:
        first = await upload(client, property_id, 0, png())
        second = await upload(client, property_id, 1, png())
        third = await upload(client, property_id, 2, png())
        replaced = await upload(client, property_id, 1, png())
        elsewhere = await upload(client, new_property(), 2, png())

    assert [first.status_code, second.status_code, replaced.status_code] == [201, 201, 200]
    assert third.status_code == 409
    assert "FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY" in third.json()["detail"]
    assert elsewhere.status_code == 201


async def test_modes_png_and_jpeg_cannot_keep_as_they_are_are_converted(
    plans: PlanProject,
) -> None:
    property_id = new_property()
    palette = png(mode="P")
    grey_alpha = png(mode="LA")
    cmyk = jpeg(mode="CMYK")

    for storey, image in enumerate((palette, grey_alpha, cmyk)):
        await uploaded(plans.admin, property_id, storey, image)
    served = [
        decoded((await plans.admin.get(image_url(property_id, storey))).content)
        for storey in range(3)
    ]

    assert [image.mode for image in served] == ["P", "LA", "RGB"]
    assert served[0].convert("RGB").tobytes() == decoded(palette).convert("RGB").tobytes()


# --- calibration -----------------------------------------------------------------------------


async def test_two_points_map_known_pixels_to_known_world_points_both_ways(
    plans: PlanProject,
) -> None:
    """A 200 × 100 plan turned a quarter: the image's u runs along the world's y, twice as
    long (2 cm a pixel)."""
    property_id = new_property()
    await uploaded(plans.admin, property_id, image=png(200, 100))
    points = [
        {"pixel": [0, 0], "world": [1000, 2000]},
        {"pixel": [200, 0], "world": [1000, 2400]},
    ]

    response = await place(
        plans.admin,
        property_id,
        name="Ground floor",
        calibration={"points": points, "mirrored": False},
        z_min=-50,
        z_max=270,
    )

    assert response.status_code == 200, response.text
    plan = response.json()
    calibration = plan["calibration"]
    assert calibration["points"] == points
    assert calibration["mirrored"] is False
    to_world, to_pixel = calibration["pixel_to_world"], calibration["world_to_pixel"]
    expected = {(0, 0): (1000, 2000), (200, 0): (1000, 2400), (0, 100): (800, 2000)}
    for pixel, world in expected.items():
        assert apply(to_world, *pixel) == pytest.approx(world)
        assert apply(to_pixel, *world) == pytest.approx(pixel, abs=1e-9)
    for pixel in [(13.5, 77.25), (200, 100), (-40, 3)]:
        assert apply(to_pixel, *apply(to_world, *pixel)) == pytest.approx(pixel)
    assert (plan["name"], plan["z_min"], plan["z_max"]) == ("Ground floor", -50, 270)
    listed = (await plans.admin.get(plans_url(property_id))).json()["floor_plans"]
    assert listed == [plan]


async def test_a_mirrored_plan_runs_world_y_against_the_images_v(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, image=png(200, 100))
    points = [{"pixel": [0, 0], "world": [0, 0]}, {"pixel": [200, 0], "world": [400, 0]}]

    response = await place(
        plans.admin, property_id, calibration={"points": points, "mirrored": True}
    )

    to_world = response.json()["calibration"]["pixel_to_world"]
    assert apply(to_world, 0, 100) == pytest.approx((0, -200))
    assert apply(to_world, 200, 0) == pytest.approx((400, 0))


async def test_a_box_maps_the_image_corners_to_its_sides(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, image=png(200, 100))
    box = {"left": -1000.0, "top": 500.0, "right": 1000.0, "bottom": -500.0}

    response = await place(plans.admin, property_id, calibration={"box": box})

    calibration = response.json()["calibration"]
    assert calibration["box"] == box
    assert "points" not in calibration
    for pixel, world in {(0, 0): (-1000, 500), (200, 100): (1000, -500), (100, 50): (0, 0)}.items():
        assert apply(calibration["pixel_to_world"], *pixel) == pytest.approx(world)
        assert apply(calibration["world_to_pixel"], *world) == pytest.approx(pixel)


@pytest.mark.parametrize(
    ("calibration", "loc", "reason"),
    [
        (
            {"points": [{"pixel": [0, 0], "world": [0, 0]}, {"pixel": [201, 0], "world": [1, 0]}]},
            ["body", "calibration", "points", 1, "pixel"],
            "must lie on the image (0..200, 0..100 pixels)",
        ),
        (
            {"points": [{"pixel": [0, 0], "world": [5, 5]}, {"pixel": [100, 0], "world": [5, 5]}]},
            ["body", "calibration", "points"],
            "the two world positions must differ",
        ),
        (
            {"points": [{"pixel": [9, 9], "world": [0, 0]}, {"pixel": [9.5, 9], "world": [1, 0]}]},
            ["body", "calibration", "points"],
            "the two pixels must be at least 1 pixel apart",
        ),
        (
            {"box": {"left": 3, "top": 0, "right": 3, "bottom": 100}},
            ["body", "calibration", "box"],
            "left and right must differ",
        ),
    ],
    ids=["pixel-off-image", "same-world", "same-pixel", "flat-box"],
)
async def test_a_calibration_that_cannot_be_is_422_naming_its_field(
    plans: PlanProject, calibration: dict[str, Any], loc: list[Any], reason: str
) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, image=png(200, 100))

    response = await place(plans.admin, property_id, calibration=calibration)

    assert response.status_code == 422, response.text
    assert problem(response) == (loc, reason)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"z_min": 300, "z_max": 300}, ["body"]),
        ({"name": "n" * 201}, ["body", "name"]),
        ({"name": ""}, ["body", "name"]),
        ({"z_min": 2e9}, ["body", "z_min"]),
        (
            {
                "calibration": {
                    "box": {"left": 0, "top": 0, "right": 1, "bottom": 1},
                    "points": [
                        {"pixel": [0, 0], "world": [0, 0]},
                        {"pixel": [9, 0], "world": [9, 0]},
                    ],
                }
            },
            ["body", "calibration"],
        ),
        ({"calibration": {"mirrored": True}}, ["body", "calibration"]),
        ({"shade": "blue"}, ["body", "shade"]),
    ],
    ids=["heights", "long-name", "empty-name", "far-z", "two-forms", "no-form", "unknown-field"],
)
async def test_a_placement_that_cannot_be_is_422_naming_the_field(
    plans: PlanProject, body: dict[str, Any], loc: list[Any]
) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)

    response = await place(plans.admin, property_id, **body)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    "text",
    [
        b'{"z_min": NaN}',
        b'{"z_max": Infinity}',
        b'{"calibration": {"box": {"left": -Infinity, "top": 0, "right": 1, "bottom": 1}}}',
    ],
)
async def test_numbers_that_are_not_finite_are_422(plans: PlanProject, text: bytes) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)

    response = await plans.admin.put(admin_url(property_id, 0), content=text)

    assert response.status_code == 422, response.text


async def test_a_name_of_200_characters_is_taken(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)

    response = await place(plans.admin, property_id, name="n" * 200)

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "n" * 200


async def test_placing_a_storey_without_an_image_is_404_naming_it(plans: PlanProject) -> None:
    response = await place(plans.admin, new_property(), 3, name="Attic")

    assert response.status_code == 404
    assert response.json() == {"detail": "This property has no floor plan for storey 3"}


async def test_a_new_image_of_the_same_size_keeps_the_calibration_another_size_clears_it(
    plans: PlanProject,
) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, image=png(200, 100))
    box = {"left": 0, "top": 0, "right": 2000, "bottom": 1000}
    await place(plans.admin, property_id, calibration={"box": box}, name="Ground")

    same_size = await upload(plans.admin, property_id, 0, jpeg(200, 100), JPEG_TYPE)
    other_size = await upload(plans.admin, property_id, 0, png(300, 100))

    assert same_size.status_code == 200
    assert same_size.json()["calibration_cleared"] is False
    assert same_size.json()["calibration"]["box"] == box
    assert other_size.json()["calibration_cleared"] is True
    assert other_size.json()["calibration"] is None
    assert other_size.json()["name"] == "Ground"


# --- deleting, scopes, projects, audit -------------------------------------------------------


async def test_a_deleted_plan_is_gone(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, 1)

    deleted = await plans.admin.delete(admin_url(property_id, 1))
    again = await plans.admin.delete(admin_url(property_id, 1))
    image = await plans.admin.get(image_url(property_id, 1))

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert image.status_code == 404
    assert image.json() == {"detail": "This property has no floor plan for storey 1"}
    assert (await plans.admin.get(plans_url(property_id))).json()["floor_plans"] == []


async def test_a_read_key_sees_plans_but_cannot_change_them(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)
    reader = {"X-API-Key": plans.read_key}

    listing = await plans.admin.get(plans_url(property_id), headers=reader)
    image = await plans.admin.get(image_url(property_id, 0), headers=reader)
    placed = await plans.admin.put(admin_url(property_id, 0), json={}, headers=reader)
    deleted = await plans.admin.delete(admin_url(property_id, 0), headers=reader)

    assert listing.status_code == image.status_code == 200
    assert placed.status_code == deleted.status_code == 403
    assert len((await plans.admin.get(plans_url(property_id))).json()["floor_plans"]) == 1


async def test_another_projects_plans_are_invisible_and_untouchable(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id)

    listing = await plans.other.get(plans_url(property_id))
    image = await plans.other.get(image_url(property_id, 0))
    placed = await place(plans.other, property_id, name="Mine now")
    deleted = await plans.other.delete(admin_url(property_id, 0))
    own = await upload(plans.other, property_id, 0, png(10, 10))

    assert listing.json()["floor_plans"] == []
    assert image.status_code == placed.status_code == deleted.status_code == 404
    assert own.status_code == 201
    [mine] = (await plans.admin.get(plans_url(property_id))).json()["floor_plans"]
    assert (mine["width"], mine["name"]) == (40, None)


async def test_every_change_is_audited_with_its_actor(plans: PlanProject) -> None:
    property_id = new_property()
    await uploaded(plans.admin, property_id, 2)
    await place(plans.admin, property_id, 2, name="Loft", z_min=500)
    await plans.admin.delete(admin_url(property_id, 2))

    entries = (await plans.admin.get("/api/v1/admin/audit", params={"limit": 50})).json()
    mine = [
        entry
        for entry in entries["entries"]
        if entry["target"] == f"property {property_id} storey 2"
    ]

    assert [entry["action"] for entry in mine] == [
        "floor_plan.deleted",
        "floor_plan.placed",
        "floor_plan.image_saved",
    ]
    assert all(entry["actor"].startswith("key ") for entry in mine)
    assert mine[1]["details"] == {"name": "Loft", "calibration": None, "z_min": 500, "z_max": None}
    assert mine[2]["details"]["width"] == 40
    assert mine[2]["details"]["created"] is True
