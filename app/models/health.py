"""Shapes of the service's own endpoints: the index and the health check."""

from typing import Literal

from pydantic import BaseModel, Field

from app.models.fields import UtcDateTime


class ServiceIndex(BaseModel):
    name: Literal["Nexero"] = "Nexero"
    version: str
    docs: str = Field(description="Where the interactive API documentation is.")
    health: str


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    timestamp: UtcDateTime
    environment: str
    database: Literal["connected", "unavailable"]
    version: str
    uptime: str = Field(description="Time since the process started, e.g. '2h 03m 10s'.")
    uptime_seconds: float
