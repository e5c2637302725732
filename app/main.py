"""The Nexero application: `uvicorn app.main:app` serves it."""

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.routing import compile_path

from app.api import dashboard, health, metrics
from app.api.authentication import ApiKeyMiddleware
from app.api.errors import nexero_error_response
from app.api.middleware import (
    RawBodyRoute,
    RequestBodyMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
    TrailingSlashMiddleware,
)
from app.api.openapi import strict_openapi
from app.api.v1 import (
    admin,
    analytics,
    catalogue,
    exports,
    floor_plans,
    heatmap,
    live,
    mappings,
    unclaimed,
    unreal,
)
from app.config import Settings, get_settings
from app.db.database import Database
from app.db.embedded_postgres import EmbeddedPostgres
from app.db.migrations import apply_migrations
from app.errors import NexeroError
from app.models.fields import problem_message
from app.observability.logging import configure_logging
from app.observability.metrics import forget_dead_workers
from app.observability.metrics import publish_every as publish_metrics_every
from app.services.access.bootstrap import ensure_access
from app.services.access.keys import KeyVerifier, Scope
from app.services.access.rate_limiter import RateLimiter
from app.services.ingestion.sweeper import sweep_inactive_sessions
from app.services.live.hub import LiveHub, listen_dsn_for
from app.services.live.tokens import StreamTokens

logger = logging.getLogger(__name__)

# How often each worker writes its request and pool figures for /metrics.
METRICS_INTERVAL_SECONDS = 1.0


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Database (embedded if no DATABASE_URL), migrations and the timeout sweep; each part
    started is stopped again, also when a later part fails to start."""
    settings: Settings = app.state.settings
    async with AsyncExitStack() as cleanup:
        embedded = settings.DATABASE_URL is None
        if not embedded:
            dsn = settings.DATABASE_URL.get_secret_value()
        else:
            server = EmbeddedPostgres(settings.NEXERO_DATA_DIR)
            dsn = await asyncio.to_thread(server.start)
            cleanup.push_async_callback(asyncio.to_thread, server.stop)
        database = await Database.connect(
            dsn,
            min_size=settings.DATABASE_POOL_MIN_SIZE,
            max_size=settings.DATABASE_POOL_MAX_SIZE,
            statement_cache_size=settings.DATABASE_STATEMENT_CACHE_SIZE,
            connect_timeout_seconds=settings.DATABASE_CONNECT_TIMEOUT_SECONDS,
            acquire_timeout_seconds=settings.DATABASE_ACQUIRE_TIMEOUT_SECONDS,
            command_timeout_seconds=settings.DATABASE_COMMAND_TIMEOUT_SECONDS,
        )
        cleanup.push_async_callback(
            partial(database.close, timeout_seconds=settings.DATABASE_CLOSE_TIMEOUT_SECONDS)
        )
        async with database.connection() as connection:
            applied = await apply_migrations(
                connection, timeout_seconds=settings.DATABASE_MIGRATION_TIMEOUT_SECONDS
            )
        logger.info("database ready", extra={"migrations_applied": applied})
        app.state.database = database
        await ensure_access(database, settings, embedded=embedded)
        key_verifier = KeyVerifier(database, cache_seconds=settings.API_KEY_CACHE_SECONDS)
        app.state.key_verifier = key_verifier
        # Pushed before the background tasks: runs after they stop, before the pool closes.
        cleanup.push_async_callback(key_verifier.close)
        app.state.rate_limiter = None
        if settings.RATE_LIMIT_ENABLED:
            rate_limiter = RateLimiter.from_settings(settings, database)
            cleanup.push_async_callback(rate_limiter.close)
            app.state.rate_limiter = rate_limiter
        app.state.live_hub = None
        if settings.LIVE_ENABLED:
            app.state.stream_tokens = await StreamTokens.load(
                database, ttl_seconds=settings.LIVE_TOKEN_TTL_SECONDS
            )
            live_hub = LiveHub(database, settings, listen_dsn=listen_dsn_for(settings, dsn))
            live_hub.start()
            cleanup.push_async_callback(live_hub.close)
            app.state.live_hub = live_hub
        # A worker that replaced one that died: the dead one's pool no longer counts.
        forget_dead_workers()
        for task in (
            sweep_inactive_sessions(database, settings),
            key_verifier.flush_usage_every(settings.API_KEY_USAGE_FLUSH_SECONDS),
            publish_metrics_every(METRICS_INTERVAL_SECONDS, database.pool_figures),
        ):
            cleanup.push_async_callback(cancel_and_wait, asyncio.create_task(task))
        # What exists now (the app, its routes and schemas, the pool) lives as long as the
        # worker: out of the collector's sight, full collections stay short (the p99 tail).
        gc.collect()
        gc.freeze()
        yield


def validation_error_response(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 shape, without echoing the input back; JSON syntax errors say why."""
    detail = []
    for problem in error.errors():
        message = problem_message(problem)
        if problem["type"] == "json_invalid":
            message = f"Invalid JSON: {problem.get('ctx', {}).get('error', 'malformed')}"
        detail.append({"type": problem["type"], "loc": list(problem["loc"]), "msg": message})
    return JSONResponse({"detail": detail}, status_code=422)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.LOG_LEVEL)
    app = FastAPI(
        title="Nexero",
        summary="VR real-estate tour analytics: ingestion API for Unreal Engine clients.",
        version=settings.APP_VERSION,
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url="/docs" if settings.DOCS_ENABLED else None,
        redoc_url="/redoc" if settings.DOCS_ENABLED else None,
        openapi_url="/openapi.json" if settings.DOCS_ENABLED else None,
    )
    app.state.settings = settings
    app.state.started_monotonic = time.monotonic()
    app.openapi = partial(strict_openapi, app, settings)  # type: ignore[method-assign]
    app.include_router(health.router)
    app.include_router(unreal.router)
    app.include_router(admin.router)
    app.include_router(mappings.router)
    app.include_router(unclaimed.router)
    app.include_router(dashboard.router)
    app.include_router(heatmap.router)
    app.include_router(exports.router)
    app.include_router(analytics.router)
    app.include_router(catalogue.router)
    app.include_router(live.router)
    app.include_router(floor_plans.router)
    app.include_router(floor_plans.admin_router)
    app.include_router(metrics.router)
    app.add_exception_handler(NexeroError, nexero_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    # Added innermost first: requests pass SecurityHeaders, RequestContext, CORS, ApiKey,
    # TrailingSlash, RequestBody (the key is checked before the body is read).
    app.add_middleware(
        RequestBodyMiddleware,
        max_body_bytes=settings.MAX_BODY_BYTES,
        max_decompressed_bytes=settings.MAX_DECOMPRESSED_BODY_BYTES,
        raw_routes=[
            RawBodyRoute(
                method="PUT",
                path=compile_path(floor_plans.IMAGE_UPLOAD_PATH)[0],
                max_bytes=settings.FLOOR_PLAN_MAX_BYTES,
                limit_name="FLOOR_PLAN_MAX_BYTES",
                scope=Scope.ADMIN,
            )
        ],
    )
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(ApiKeyMiddleware)
    if settings.CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_credentials="*" not in settings.CORS_ORIGINS,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "Content-Encoding",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["X-Request-ID", "Retry-After", "X-Export-Rows", "Content-Disposition"],
        )
    app.add_middleware(RequestContextMiddleware)
    # Outermost, so that the 500 the request-context layer writes carries the headers too.
    app.add_middleware(
        SecurityHeadersMiddleware,
        strict_transport_security=settings.ENVIRONMENT == "production",
    )
    return app


app = create_app()
