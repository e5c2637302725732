"""Settings, read once from the environment (and .env) and validated at start-up."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "staging", "production", "test"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    ENVIRONMENT: Environment = "development"
    LOG_LEVEL: Literal["debug", "info", "warning", "error"] = "info"
    # The original configuration's name; this server implements v1 only, so anything else is
    # refused at start-up rather than silently ignored.
    API_VERSION: Literal["v1"] = "v1"
    APP_VERSION: str = "1.0.0"
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Storage: any PostgreSQL 15+; without it an embedded PostgreSQL in NEXERO_DATA_DIR.
    DATABASE_URL: SecretStr | None = None
    NEXERO_DATA_DIR: Path = Path(".nexero")
    DATABASE_POOL_MIN_SIZE: int = Field(default=1, ge=0)
    DATABASE_POOL_MAX_SIZE: int = Field(default=10, ge=1)
    # None: automatic (0, i.e. no prepared-statement cache, behind PgBouncer/Supabase pooler).
    DATABASE_STATEMENT_CACHE_SIZE: int | None = Field(default=None, ge=0)
    DATABASE_CONNECT_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    DATABASE_ACQUIRE_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    DATABASE_COMMAND_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0)
    # Adopting a large existing table (backfill, unique index) can take minutes.
    DATABASE_MIGRATION_TIMEOUT_SECONDS: float = Field(default=3600.0, gt=0)
    HEALTH_DATABASE_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    # At shutdown, after uvicorn's graceful period: how long to wait for pooled connections
    # still in use before closing them abruptly.
    DATABASE_CLOSE_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0, le=300)
    RETRY_AFTER_SECONDS: int = Field(default=5, ge=1)

    # The original deployment's setting, read only to explain what replaces it. (Its
    # SUPABASE_KEY is ignored like any unknown variable.)
    SUPABASE_URL: str | None = None

    # Request limits.
    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1)
    MAX_DECOMPRESSED_BODY_BYTES: int = Field(default=1_048_576, ge=1)
    MAX_BATCH_EVENTS: int = Field(default=1000, ge=1)
    MAX_EVENT_DATA_BYTES: int = Field(default=16_384, ge=2)
    MAX_EVENT_DATA_DEPTH: int = Field(default=10, ge=1)
    MAX_EVENT_TYPE_LENGTH: int = Field(default=64, ge=1)
    MAX_EVENT_ID_LENGTH: int = Field(default=128, ge=1)
    # Labels are indexed: PostgreSQL's btree entries hold about 2.7 kB, 4 bytes a character.
    MAX_LABEL_LENGTH: int = Field(default=256, ge=1, le=600)

    # Timestamps and clock skew.
    MAX_FUTURE_SECONDS: float = Field(default=86_400, ge=0, le=366 * 86_400)
    CLOCK_SKEW_DEADBAND_SECONDS: float = Field(default=10.0, ge=0, le=86_400)

    # Sessions without activity are closed as timed_out by a periodic sweep.
    SESSION_TIMEOUT_MINUTES: float = Field(default=30, gt=0, le=7 * 24 * 60)
    SESSION_SWEEP_INTERVAL_SECONDS: float = Field(default=60, gt=0, le=86_400)

    # Access. A key with this value (admin, ingest and read, default project) is ensured at
    # start-up; without any key, the embedded quick start creates one and saves it.
    NEXERO_BOOTSTRAP_KEY: SecretStr | None = None
    API_KEY_CACHE_SECONDS: float = Field(default=30.0, ge=0, le=3600)
    API_KEY_USAGE_FLUSH_SECONDS: float = Field(default=60.0, gt=0, le=3600)
    # /docs, /redoc and /openapi.json; may be turned off in production.
    DOCS_ENABLED: bool = True

    # Rate limits: a token bucket per key and scope, shared by all workers through PostgreSQL
    # (default: nothing more to run) or Redis (REDIS_URL; no write load on the database).
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_BACKEND: Literal["postgres", "redis"] = "postgres"
    REDIS_URL: SecretStr | None = None
    RATE_LIMIT_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0, le=60)
    RATE_LIMIT_INGEST_PER_SECOND: float = Field(default=100.0, gt=0)
    RATE_LIMIT_INGEST_BURST: int = Field(default=500, ge=1)
    RATE_LIMIT_READ_PER_SECOND: float = Field(default=20.0, gt=0)
    RATE_LIMIT_READ_BURST: int = Field(default=100, ge=1)
    RATE_LIMIT_ADMIN_PER_SECOND: float = Field(default=2.0, gt=0)
    RATE_LIMIT_ADMIN_BURST: int = Field(default=20, ge=1)
    RATE_LIMIT_METRICS_PER_SECOND: float = Field(default=1.0, gt=0)
    RATE_LIMIT_METRICS_BURST: int = Field(default=10, ge=1)

    # Analytics. Page sizes and list lengths (a request past a maximum is a 422 naming the
    # parameter), what counts as engaged and as high intent, and the lead score (docs/analytics.md).
    ANALYTICS_PAGE_SIZE_DEFAULT: int = Field(default=50, ge=1)
    ANALYTICS_PAGE_SIZE_MAX: int = Field(default=500, ge=1, le=10_000)
    ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT: int = Field(default=200, ge=1)
    ANALYTICS_EVENTS_PAGE_SIZE_MAX: int = Field(default=1000, ge=1, le=10_000)
    ANALYTICS_TIMELINE_MAX_EVENTS: int = Field(default=2000, ge=1, le=100_000)
    ANALYTICS_TOP_DEFAULT: int = Field(default=20, ge=1)
    ANALYTICS_TOP_MAX: int = Field(default=500, ge=1, le=10_000)
    ANALYTICS_SERIES_MAX_DAYS: int = Field(default=731, ge=1, le=36_600)
    ANALYTICS_ENGAGED_MIN_SECONDS: float = Field(default=120.0, ge=0, le=86_400)
    ANALYTICS_ROOM_INTEREST_MIN_SECONDS: float = Field(default=30.0, ge=0, le=86_400)
    ANALYTICS_HIGH_INTENT_MIN_ROOMS: int = Field(default=3, ge=1, le=1000)
    ANALYTICS_LEAD_SESSIONS_TARGET: int = Field(default=3, ge=1, le=1000)
    ANALYTICS_LEAD_TIME_TARGET_SECONDS: float = Field(default=1800.0, gt=0, le=10_000_000)
    ANALYTICS_LEAD_REVISITS_TARGET: int = Field(default=2, ge=1, le=1000)
    ANALYTICS_LEAD_ROOMS_TARGET: int = Field(default=4, ge=1, le=1000)
    ANALYTICS_LEAD_WEIGHT_SESSIONS: float = Field(default=0.25, ge=0, le=1)
    ANALYTICS_LEAD_WEIGHT_TIME: float = Field(default=0.35, ge=0, le=1)
    ANALYTICS_LEAD_WEIGHT_REVISITS: float = Field(default=0.2, ge=0, le=1)
    ANALYTICS_LEAD_WEIGHT_ROOMS: float = Field(default=0.2, ge=0, le=1)
    ANALYTICS_LEAD_HOT_MIN_SCORE: float = Field(default=70.0, ge=0, le=100)
    ANALYTICS_LEAD_WARM_MIN_SCORE: float = Field(default=40.0, ge=0, le=100)

    # Analytics. Heatmaps and exports (docs/exports-and-heatmaps.md).
    # Bins per axis of a heatmap grid: the most `bins` may ask for, or `bin_size` may produce.
    ANALYTICS_HEATMAP_MAX_BINS: int = Field(default=500, ge=1, le=2000)
    # Rows fetched from the export's server-side cursor at a time (memory per export ~ this).
    ANALYTICS_EXPORT_CHUNK_ROWS: int = Field(default=2000, ge=1, le=100_000)
    # Exports running at once per worker; each holds a pooled connection while it streams.
    ANALYTICS_EXPORT_MAX_CONCURRENT: int = Field(default=2, ge=1, le=100)
    # Of those, how many one project may run at once: one read key cannot take every slot.
    ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT: int = Field(default=1, ge=1, le=100)
    # A client that takes no chunk for this long is abandoned: its slot, pooled connection and
    # snapshot are released (a stalled download would hold them, and vacuum, forever).
    ANALYTICS_EXPORT_STALL_SECONDS: float = Field(default=60.0, gt=0, le=3600)

    # Event mappings (docs/events.md, "Mappings"): the rules one project's mapping may hold.
    EVENT_MAPPING_MAX_RULES: int = Field(default=200, ge=1, le=10_000)

    # The event catalogue (docs/events.md, "The catalogue"): the period it covers when none is
    # asked for and the longest one may ask for; the newest events of the period it reads (the
    # bound on its cost); example values per field and their length; types and fields listed.
    CATALOGUE_DEFAULT_DAYS: int = Field(default=7, ge=1, le=366)
    CATALOGUE_MAX_DAYS: int = Field(default=31, ge=1, le=366)
    CATALOGUE_MAX_EVENTS: int = Field(default=100_000, ge=1, le=500_000)
    CATALOGUE_EXAMPLES: int = Field(default=3, ge=0, le=20)
    CATALOGUE_EXAMPLE_MAX_CHARS: int = Field(default=60, ge=1, le=1000)
    CATALOGUE_MAX_TYPES: int = Field(default=200, ge=1, le=10_000)
    CATALOGUE_MAX_FIELDS: int = Field(default=50, ge=1, le=1000)

    # The original Unreal client's records (docs/ingestion.md, "The original client"): a
    # summary claims its sender's records received from its start to its end, give or take
    # the tolerance; a record repeating the sender's previous one within the repeat window is a
    # retry; records and pending events are kept this long for a summary or session to claim.
    # The summary's times are whole seconds: a tolerance under one second would miss the
    # records of its last second.
    LEGACY_LINK_TOLERANCE_SECONDS: float = Field(default=10.0, ge=1, le=3600)
    LEGACY_RECORD_REPEAT_SECONDS: float = Field(default=10.0, ge=0, le=3600)
    LEGACY_RECORD_RETENTION_HOURS: float = Field(default=168.0, gt=0, le=8760)
    PENDING_EVENT_RETENTION_HOURS: float = Field(default=72.0, gt=0, le=8760)
    # Events for unknown sessions one project may keep waiting at once (past it, not kept).
    PENDING_EVENTS_MAX_PER_PROJECT: int = Field(default=100_000, ge=0, le=10_000_000)

    # The live feed (docs/dashboard.md, "Live"). LIVE_DATABASE_URL: a direct or session-mode
    # connection for LISTEN (a transaction pooler drops it); unset, DATABASE_URL is used unless
    # it is a transaction pooler, and then each worker asks the database every
    # LIVE_POLL_SECONDS instead (docs/operations.md, "Live feed behind a pooler").
    LIVE_ENABLED: bool = True
    LIVE_DATABASE_URL: SecretStr | None = None
    LIVE_POLL_SECONDS: float = Field(default=1.0, gt=0, le=60)
    # Streams one key may hold open at once, across every worker and replica.
    LIVE_STREAMS_PER_KEY: int = Field(default=10, ge=1, le=1000)
    # A stream token (for EventSource, which cannot send headers) is good for this long.
    LIVE_TOKEN_TTL_SECONDS: float = Field(default=60.0, gt=0, le=3600)
    # Messages waiting for one viewer; a viewer that falls this far behind is dropped (it
    # reconnects with Last-Event-ID and misses nothing).
    LIVE_VIEWER_QUEUE_MAX: int = Field(default=1000, ge=1, le=100_000)
    # Events a new viewer of a session gets first (the latest ones).
    LIVE_BACKLOG_MAX_EVENTS: int = Field(default=5000, ge=0, le=100_000)
    # Tours in progress the project feed lists at most.
    LIVE_TOURS_MAX: int = Field(default=200, ge=1, le=10_000)
    LIVE_KEEPALIVE_SECONDS: float = Field(default=15.0, gt=0, le=300)
    # A stream ends after this long; the browser reconnects (a new token, Last-Event-ID).
    LIVE_STREAM_MAX_SECONDS: float = Field(default=3600.0, gt=0, le=86_400)

    # Floor plans (docs/floor-plans.md): an image's bytes (the upload's body limit, for that
    # route only) and pixels (read from its header before decoding; at most Pillow's own
    # decompression-bomb limit), and the storeys one property may have plans for. Browsers may
    # keep a plan image this long before asking again (If-None-Match, 304 when unchanged).
    FLOOR_PLAN_MAX_BYTES: int = Field(default=10_485_760, ge=1024, le=104_857_600)
    FLOOR_PLAN_MAX_PIXELS: int = Field(default=40_000_000, ge=1, le=89_478_485)
    FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY: int = Field(default=20, ge=1, le=111)
    FLOOR_PLAN_CACHE_SECONDS: int = Field(default=300, ge=0, le=86_400)

    @field_validator("NEXERO_BOOTSTRAP_KEY", "REDIS_URL", "LIVE_DATABASE_URL", mode="before")
    @classmethod
    def blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("NEXERO_BOOTSTRAP_KEY")
    @classmethod
    def bootstrap_key_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 24 <= len(value.get_secret_value()) <= 256:
            raise ValueError("NEXERO_BOOTSTRAP_KEY must be 24 to 256 characters (use a random one)")
        return value

    @field_validator("DATABASE_URL", mode="before")
    @classmethod
    def blank_database_url_is_unset(cls, value: object) -> object:
        """DATABASE_URL= (empty, as platforms often leave it) means: use the embedded one."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def parse_origins(cls, value: object) -> object:
        """Accept a JSON list (the original's `["*"]`) or a comma-separated string."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def check_consistency(self) -> "Settings":
        if self.DATABASE_POOL_MIN_SIZE > self.DATABASE_POOL_MAX_SIZE:
            raise ValueError("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE")
        if self.DATABASE_URL is None and self.SUPABASE_URL:
            raise ValueError(
                "SUPABASE_URL is set but DATABASE_URL is not: Nexero talks to PostgreSQL directly. "
                "Set DATABASE_URL to the Supabase connection string "
                "(Project Settings > Database > Connection string)."
            )
        if self.RATE_LIMIT_ENABLED and self.RATE_LIMIT_BACKEND == "redis" and not self.REDIS_URL:
            raise ValueError("RATE_LIMIT_BACKEND=redis needs REDIS_URL (redis://host:6379/0)")
        return self

    @model_validator(mode="after")
    def check_analytics(self) -> "Settings":
        if self.ANALYTICS_PAGE_SIZE_DEFAULT > self.ANALYTICS_PAGE_SIZE_MAX:
            raise ValueError("ANALYTICS_PAGE_SIZE_DEFAULT must not exceed ANALYTICS_PAGE_SIZE_MAX")
        if self.ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT > self.ANALYTICS_EVENTS_PAGE_SIZE_MAX:
            raise ValueError(
                "ANALYTICS_EVENTS_PAGE_SIZE_DEFAULT must not exceed ANALYTICS_EVENTS_PAGE_SIZE_MAX"
            )
        if self.ANALYTICS_TOP_DEFAULT > self.ANALYTICS_TOP_MAX:
            raise ValueError("ANALYTICS_TOP_DEFAULT must not exceed ANALYTICS_TOP_MAX")
        weights = (
            self.ANALYTICS_LEAD_WEIGHT_SESSIONS
            + self.ANALYTICS_LEAD_WEIGHT_TIME
            + self.ANALYTICS_LEAD_WEIGHT_REVISITS
            + self.ANALYTICS_LEAD_WEIGHT_ROOMS
        )
        if abs(weights - 1) > 1e-9:
            raise ValueError(
                f"the ANALYTICS_LEAD_WEIGHT_* settings must add up to 1, not {weights}"
            )
        if self.ANALYTICS_LEAD_WARM_MIN_SCORE > self.ANALYTICS_LEAD_HOT_MIN_SCORE:
            raise ValueError(
                "ANALYTICS_LEAD_WARM_MIN_SCORE must not exceed ANALYTICS_LEAD_HOT_MIN_SCORE"
            )
        if self.CATALOGUE_DEFAULT_DAYS > self.CATALOGUE_MAX_DAYS:
            raise ValueError("CATALOGUE_DEFAULT_DAYS must not exceed CATALOGUE_MAX_DAYS")
        if self.ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT > self.ANALYTICS_EXPORT_MAX_CONCURRENT:
            raise ValueError(
                "ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT must not exceed "
                "ANALYTICS_EXPORT_MAX_CONCURRENT"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
