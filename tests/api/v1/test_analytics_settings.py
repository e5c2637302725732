"""The analytics settings are checked at start-up: a wrong value stops the start with a
message naming it, never a request later."""

import pytest
from pydantic import ValidationError

from app.config import Settings


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"ANALYTICS_LEAD_WEIGHT_TIME": 0.4}, "ANALYTICS_LEAD_WEIGHT_"),
        (
            {"ANALYTICS_LEAD_HOT_MIN_SCORE": 30, "ANALYTICS_LEAD_WARM_MIN_SCORE": 31},
            "ANALYTICS_LEAD_WARM_MIN_SCORE",
        ),
        ({"ANALYTICS_PAGE_SIZE_DEFAULT": 501}, "ANALYTICS_PAGE_SIZE_DEFAULT"),
        ({"ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT": 1001}, "ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT"),
        ({"ANALYTICS_TOP_DEFAULT": 501}, "ANALYTICS_TOP_DEFAULT"),
        ({"ANALYTICS_LEAD_TIME_TARGET_SECONDS": 0}, "ANALYTICS_LEAD_TIME_TARGET_SECONDS"),
        ({"ANALYTICS_HIGH_INTENT_MIN_ROOMS": 0}, "ANALYTICS_HIGH_INTENT_MIN_ROOMS"),
    ],
)
def test_inconsistent_analytics_settings_are_refused(overrides: dict, named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=None, **overrides)


def test_weights_that_add_up_and_equal_thresholds_are_accepted() -> None:
    settings = Settings(
        _env_file=None,
        ANALYTICS_LEAD_WEIGHT_SESSIONS=0.1,
        ANALYTICS_LEAD_WEIGHT_TIME=0.2,
        ANALYTICS_LEAD_WEIGHT_REVISITS=0.3,
        ANALYTICS_LEAD_WEIGHT_ROOMS=0.4,
        ANALYTICS_LEAD_HOT_MIN_SCORE=50,
        ANALYTICS_LEAD_WARM_MIN_SCORE=50,
        ANALYTICS_PAGE_SIZE_DEFAULT=500,
    )

    assert settings.ANALYTICS_LEAD_WEIGHT_ROOMS == 0.4
