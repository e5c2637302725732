"""The PNG's count of samples that lie off the floor plan's image: drawn nowhere, so said."""

from datetime import UTC, datetime

from app.domain.floor_plans import Calibration, FloorPlan, ReferencePoint
from app.services.analytics.heatmap_drawing import samples_off_plan
from app.services.analytics.heatmaps import Heatmap, HeatmapQuery

# A 400 x 300 plan turned a quarter: world (750, -1000) is its top-left corner, world x runs up
# the image and world y along it, 5 cm a pixel: world x in [-750, 750], y in [-1000, 1000].
TURNED = Calibration.from_points(
    (
        ReferencePoint(pixel=(0, 0), world=(750, -1000)),
        ReferencePoint(pixel=(400, 0), world=(750, 1000)),
    ),
    mirrored=False,
    width=400,
    height=300,
)


def heatmap_of(cells: list[tuple[int, int, int]]) -> Heatmap:
    plan = FloorPlan(
        property_id="villa",
        storey=0,
        name=None,
        image_type="png",
        width=400,
        height=300,
        image_size=1,
        calibration=TURNED,
        z_min=None,
        z_max=None,
        updated_at=datetime.now(UTC),
    )
    return Heatmap(
        query=HeatmapQuery(property_id="villa"),
        samples=sum(count for _, _, count in cells),
        elsewhere=0,
        used=sum(count for _, _, count in cells),
        origin=(-1000.0, -1000.0),
        bin_size=(100.0, 100.0),
        shape=(20, 20),
        cells=cells,
        floor_plan=plan,
        storeys=(0,),
    )


def test_samples_in_cells_whose_centre_is_off_the_plan_are_counted():
    on_plan = [(10, 10, 4), (3, 0, 2), (16, 19, 1)]  # centres (50, 50), (-650, -950), (650, 950)
    off_plan = [(0, 10, 5), (18, 10, 7)]  # centres x = -950 and 850: beyond the plan's x
    assert samples_off_plan(heatmap_of(on_plan)) == 0
    assert samples_off_plan(heatmap_of(on_plan + off_plan)) == 12
