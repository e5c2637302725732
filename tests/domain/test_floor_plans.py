"""The calibration's arithmetic: two reference points or a box give a map that takes the known
pixels to the known world points, and its inverse takes them back."""

import math

import pytest

from app.domain.floor_plans import (
    BoxForm,
    CalibrationError,
    PointsForm,
    ReferencePoint,
    calibrate,
)

# (pixel, world) pairs: turned by various angles, scaled, shifted.
POINT_PAIRS = [
    (((0, 0), (0, 0)), ((100, 0), (250, 0))),
    (((10, 20), (-850, 1200)), ((1630, 905), (2980, -640))),
    (((1999, 0), (5, 5)), ((0, 999), (-5, -5))),
    (((300.5, 40.25), (1e6, -1e6)), ((301.5, 40.25), (1e6, -1e6 + 3))),
]


def points_form(pairs: tuple, *, mirrored: bool = False) -> PointsForm:
    first, second = (ReferencePoint(pixel=pixel, world=world) for pixel, world in pairs)
    return PointsForm(points=(first, second), mirrored=mirrored)


@pytest.mark.parametrize("pairs", POINT_PAIRS)
@pytest.mark.parametrize("mirrored", [False, True])
def test_two_points_map_onto_their_world_positions_and_back(pairs: tuple, mirrored: bool) -> None:
    calibration = calibrate(points_form(pairs, mirrored=mirrored), width=2000, height=1000)

    for pixel, world in pairs:
        assert calibration.pixel_to_world.apply(*pixel) == pytest.approx(world, abs=1e-6)
        assert calibration.world_to_pixel.apply(*world) == pytest.approx(pixel, abs=1e-6)
    for pixel in [(0, 0), (2000, 1000), (123.4, 567.8)]:
        there = calibration.pixel_to_world.apply(*pixel)
        assert calibration.world_to_pixel.apply(*there) == pytest.approx(pixel, abs=1e-6)


@pytest.mark.parametrize("pairs", POINT_PAIRS)
def test_points_keep_angles_and_mirroring_flips_them(pairs: tuple) -> None:
    """A rotation and one scale: the map's determinant is the scale squared, positive; mirrored,
    negative."""
    plain = calibrate(points_form(pairs), width=2000, height=1000).pixel_to_world
    mirrored = calibrate(points_form(pairs, mirrored=True), width=2000, height=1000).pixel_to_world

    assert plain.a == pytest.approx(plain.e) and plain.b == pytest.approx(-plain.d)
    assert plain.a * plain.e - plain.b * plain.d > 0
    assert mirrored.a * mirrored.e - mirrored.b * mirrored.d < 0


def test_a_box_maps_the_corners_to_its_sides() -> None:
    calibration = calibrate(
        BoxForm(left=-1500, top=-800, right=2500, bottom=1200), width=2000, height=1000
    )

    assert calibration.pixel_to_world.as_list() == [2.0, 0.0, -1500.0, 0.0, 2.0, -800.0]
    assert calibration.world_to_pixel.as_list() == [0.5, 0.0, 750.0, 0.0, 0.5, 400.0]
    assert calibration.source == {
        "box": {"left": -1500, "top": -800, "right": 2500, "bottom": 1200}
    }


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (points_form((((0, 0), (0, 0)), ((2001, 0), (1, 0)))), "points.1.pixel"),
        (points_form((((0, -0.5), (0, 0)), ((5, 0), (1, 0)))), "points.0.pixel"),
        (points_form((((0, 0), (math.inf, 0)), ((5, 0), (1, 0)))), "points.0.world"),
        (points_form((((0, 0), (0, 0)), ((5, 0), (0, 0)))), "points"),
        (BoxForm(left=0, top=0, right=0, bottom=1), "box"),
        (BoxForm(left=0, top=math.nan, right=1, bottom=1), "box.top"),
    ],
)
def test_a_calibration_that_cannot_be_names_its_field(form: object, field: str) -> None:
    with pytest.raises(CalibrationError) as raised:
        calibrate(form, width=2000, height=1000)  # type: ignore[arg-type]

    assert raised.value.field == field
