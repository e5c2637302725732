"""Re-encoding an uploaded floor plan: every mode a PNG or JPEG can hold comes out servable, with
the same pixels (PNG) and nothing but its pixels and palette transparency."""

import io

import pytest
from PIL import Image

from app.errors import InvalidInputError, UnsupportedMediaTypeError
from app.services.floor_plan_images import check_declared_type, reencode
from tests.floor_plan_images import decoded, jpeg, pixels, png, png_header_only

MAX_PIXELS = 1_000_000


def saved_png(image: Image.Image, **options: object) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG", **options)
    return output.getvalue()


@pytest.mark.parametrize("mode", ["1", "L", "LA", "I;16", "P", "RGB", "RGBA"])
def test_a_png_keeps_its_mode_and_pixels(mode: str) -> None:
    original = png(30, 20, mode=mode)

    encoded = reencode(original, max_pixels=MAX_PIXELS)

    served = decoded(encoded.data)
    assert (encoded.image_type, encoded.width, encoded.height) == ("png", 30, 20)
    assert served.mode == decoded(original).mode
    assert served.tobytes() == decoded(original).tobytes()


def test_a_palette_pngs_transparency_is_kept() -> None:
    image = pixels(16, 16).convert("P")
    original = saved_png(image, transparency=0)

    served = decoded(reencode(original, max_pixels=MAX_PIXELS).data)

    assert served.info["transparency"] == 0
    assert served.convert("RGBA").tobytes() == decoded(original).convert("RGBA").tobytes()


@pytest.mark.parametrize(("mode", "served_mode"), [("L", "L"), ("RGB", "RGB"), ("CMYK", "RGB")])
def test_a_jpeg_comes_out_in_a_mode_browsers_show(mode: str, served_mode: str) -> None:
    encoded = reencode(jpeg(30, 20, mode=mode), max_pixels=MAX_PIXELS)

    assert encoded.image_type == "jpeg"
    assert decoded(encoded.data).mode == served_mode


def test_the_pixel_limit_is_inclusive() -> None:
    assert reencode(png(40, 25), max_pixels=1000).width == 40
    with pytest.raises(InvalidInputError, match="more than FLOOR_PLAN_MAX_PIXELS"):
        reencode(png(40, 26), max_pixels=1000)


def test_a_header_alone_within_the_limit_is_unreadable_not_a_server_error() -> None:
    with pytest.raises(InvalidInputError, match="is not a readable PNG image"):
        reencode(png_header_only(10, 10), max_pixels=MAX_PIXELS)


@pytest.mark.parametrize(
    "declared", [None, "", "application/octet-stream", "image/png", "IMAGE/PNG; charset=x"]
)
def test_a_content_type_that_agrees_or_says_nothing_is_taken(declared: str | None) -> None:
    check_declared_type(declared, "png")


def test_a_content_type_naming_the_other_format_is_refused() -> None:
    with pytest.raises(
        UnsupportedMediaTypeError, match="PNG image but Content-Type says image/jpeg"
    ):
        check_declared_type("image/jpeg", "png")
