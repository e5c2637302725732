"""The service's own endpoints: an index for people and a health check for platforms."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import HealthServiceDep, SettingsDep
from app.models.health import HealthResponse, ServiceIndex

router = APIRouter(tags=["service"])


def _format_uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    prefix = f"{days}d " if days else ""
    return f"{prefix}{hours}h {minutes:02d}m {secs:02d}s"


@router.get("/", response_model=ServiceIndex)
async def index(settings: SettingsDep) -> ServiceIndex:
    """What this service is and where to look next."""
    return ServiceIndex(version=settings.APP_VERSION, docs="/docs", health="/health")


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "The database did not answer."}},
)
async def health(service: HealthServiceDep, settings: SettingsDep) -> JSONResponse:
    """Service health, with a real database round trip (bounded by a short timeout)."""
    report = await service.check()
    body = HealthResponse(
        status="healthy" if report.database_connected else "unhealthy",
        timestamp=report.checked_at,
        environment=settings.ENVIRONMENT,
        database="connected" if report.database_connected else "unavailable",
        version=settings.APP_VERSION,
        uptime=_format_uptime(report.uptime_seconds),
        uptime_seconds=round(report.uptime_seconds, 3),
    )
    headers = (
        {} if report.database_connected else {"Retry-After": str(settings.RETRY_AFTER_SECONDS)}
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=200 if report.database_connected else 503,
        headers=headers,
    )


# Load balancers often probe with HEAD; same answer, without a body, and not a second operation
# in the OpenAPI schema.
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
