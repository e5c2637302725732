"""Settings are validated at start-up: a wrong value stops the start with a clear message."""

import pytest
from PIL import Image
from pydantic import ValidationError

from app.config import Settings
from app.domain.floor_plans import MAX_STOREY, MIN_STOREY


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_are_the_documented_limits() -> None:
    defaults = settings()

    assert defaults.MAX_BODY_BYTES == defaults.MAX_DECOMPRESSED_BODY_BYTES == 1_048_576
    assert defaults.MAX_BATCH_EVENTS == 1000
    assert defaults.MAX_EVENT_DATA_BYTES == 16_384
    assert defaults.MAX_EVENT_DATA_DEPTH == 10
    assert defaults.SESSION_TIMEOUT_MINUTES == 30
    assert defaults.CORS_ORIGINS == []
    assert defaults.FLOOR_PLAN_MAX_BYTES == 10 * 1_048_576
    assert defaults.FLOOR_PLAN_MAX_PIXELS == 40_000_000


def test_supabase_url_without_database_url_explains_what_to_set() -> None:
    with pytest.raises(ValidationError, match="Set DATABASE_URL to the Supabase connection string"):
        settings(DATABASE_URL=None, SUPABASE_URL="https://project.supabase.co")


def test_supabase_url_next_to_database_url_is_accepted() -> None:
    configured = settings(
        DATABASE_URL="postgresql://postgres@db.project.supabase.co:5432/postgres",
        SUPABASE_URL="https://project.supabase.co",
    )

    assert configured.DATABASE_URL is not None


def test_an_api_version_this_server_does_not_implement_is_refused() -> None:
    with pytest.raises(ValidationError, match="API_VERSION"):
        settings(API_VERSION="v2")


def test_pool_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="DATABASE_POOL_MIN_SIZE"):
        settings(DATABASE_POOL_MIN_SIZE=20, DATABASE_POOL_MAX_SIZE=10)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_BODY_BYTES", 0),
        ("MAX_BATCH_EVENTS", 0),
        ("MAX_EVENT_DATA_DEPTH", 0),
        ("SESSION_TIMEOUT_MINUTES", 0),
        ("LEGACY_LINK_TOLERANCE_SECONDS", 0.999),
        ("LEGACY_LINK_TOLERANCE_SECONDS", 3600.5),
        ("LEGACY_RECORD_REPEAT_SECONDS", -1),
        ("LEGACY_RECORD_RETENTION_HOURS", 0),
        ("PENDING_EVENT_RETENTION_HOURS", 8761),
        ("PENDING_EVENTS_MAX_PER_PROJECT", -1),
        ("CATALOGUE_DEFAULT_DAYS", 367),
        ("CATALOGUE_MAX_DAYS", 367),
        ("CATALOGUE_MAX_EVENTS", 500_001),
        ("CATALOGUE_MAX_EVENTS", 0),
        ("CATALOGUE_EXAMPLES", 21),
        ("CATALOGUE_EXAMPLE_MAX_CHARS", 1001),
        ("CATALOGUE_MAX_TYPES", 10_001),
        ("CATALOGUE_MAX_FIELDS", 1001),
        ("FLOOR_PLAN_MAX_BYTES", 1023),
        ("FLOOR_PLAN_MAX_BYTES", 104_857_601),
        ("FLOOR_PLAN_MAX_PIXELS", 0),
        ("FLOOR_PLAN_MAX_PIXELS", 89_478_486),
        ("FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY", 0),
        ("FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY", 112),
        ("FLOOR_PLAN_CACHE_SECONDS", -1),
        ("FLOOR_PLAN_CACHE_SECONDS", 86_401),
        ("LOG_LEVEL", "verbose"),
        ("ENVIRONMENT", "prod"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_setting(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        settings(**{name: value})


def test_catalogue_settings_are_taken_at_their_upper_bounds() -> None:
    configured = settings(
        CATALOGUE_DEFAULT_DAYS=366,
        CATALOGUE_MAX_DAYS=366,
        CATALOGUE_MAX_EVENTS=500_000,
        CATALOGUE_EXAMPLES=20,
        CATALOGUE_EXAMPLE_MAX_CHARS=1000,
        CATALOGUE_MAX_TYPES=10_000,
        CATALOGUE_MAX_FIELDS=1000,
    )

    assert configured.CATALOGUE_MAX_EVENTS == 500_000


def test_floor_plan_settings_are_taken_at_their_bounds() -> None:
    """The pixel limit's maximum is Pillow's own decompression-bomb limit (past it, Pillow
    would refuse or warn before the service's check); 111 storeys are all of -10..100."""
    highest = settings(
        FLOOR_PLAN_MAX_BYTES=104_857_600,
        FLOOR_PLAN_MAX_PIXELS=Image.MAX_IMAGE_PIXELS,
        FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY=MAX_STOREY - MIN_STOREY + 1,
        FLOOR_PLAN_CACHE_SECONDS=86_400,
    )
    lowest = settings(
        FLOOR_PLAN_MAX_BYTES=1024,
        FLOOR_PLAN_MAX_PIXELS=1,
        FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY=1,
        FLOOR_PLAN_CACHE_SECONDS=0,
    )

    assert highest.FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY == 111
    assert (lowest.FLOOR_PLAN_MAX_BYTES, lowest.FLOOR_PLAN_MAX_PIXELS) == (1024, 1)


def test_a_default_catalogue_period_longer_than_its_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="CATALOGUE_DEFAULT_DAYS must not exceed"):
        settings(CATALOGUE_DEFAULT_DAYS=32, CATALOGUE_MAX_DAYS=31)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BATCH_EVENTS", "250")
    monkeypatch.setenv("SESSION_TIMEOUT_MINUTES", "12.5")

    configured = settings()

    assert configured.MAX_BATCH_EVENTS == 250
    assert configured.SESSION_TIMEOUT_MINUTES == 12.5


def test_empty_database_url_means_the_embedded_database() -> None:
    assert settings(DATABASE_URL="").DATABASE_URL is None
    assert settings(DATABASE_URL="  ").DATABASE_URL is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_FUTURE_SECONDS", 1e12),
        ("SESSION_TIMEOUT_MINUTES", 1e12),
        ("CLOCK_SKEW_DEADBAND_SECONDS", 1e9),
        ("SESSION_SWEEP_INTERVAL_SECONDS", 1e9),
    ],
)
def test_values_too_large_to_compute_with_are_refused_at_start_up(name: str, value: float) -> None:
    """Past these bounds date arithmetic overflows: the start fails, not every request."""
    with pytest.raises(ValidationError, match=name):
        settings(**{name: value})


def test_the_link_tolerance_may_be_one_second_the_summarys_precision() -> None:
    assert settings(LEGACY_LINK_TOLERANCE_SECONDS=1).LEGACY_LINK_TOLERANCE_SECONDS == 1


def test_label_limit_stays_within_what_postgresql_can_index() -> None:
    assert settings(MAX_LABEL_LENGTH=600).MAX_LABEL_LENGTH == 600
    with pytest.raises(ValidationError, match="MAX_LABEL_LENGTH"):
        settings(MAX_LABEL_LENGTH=601)
