"""Dependencies that hand handlers what they need, built from what the lifespan set up."""

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.core.database import Database
from app.services.health_service import HealthService
from app.services.session_service import SessionService
from app.services.tracking_service import TrackingService


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
RequestIdDep = Annotated[str | None, Depends(get_request_id)]


def get_session_service(database: DatabaseDep, settings: SettingsDep) -> SessionService:
    return SessionService(database, settings)


def get_tracking_service(database: DatabaseDep, settings: SettingsDep) -> TrackingService:
    return TrackingService(database, settings)


def get_health_service(
    request: Request, database: DatabaseDep, settings: SettingsDep
) -> HealthService:
    return HealthService(database, settings, started_monotonic=request.app.state.started_monotonic)


SessionServiceDep = Annotated[SessionService, Depends(get_session_service)]
TrackingServiceDep = Annotated[TrackingService, Depends(get_tracking_service)]
HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]
