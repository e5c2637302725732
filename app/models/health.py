"""Shapes of the service's own endpoints: the index and the health check."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.fields import UtcDateTime


class ServiceIndex(BaseModel):
    name: Literal["Nexero"] = "Nexero"
    version: str
    docs: str = Field(description="Where the interactive API documentation is.")
    health: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Nexero", "version": "1.0.0", "docs": "/docs", "health": "/health"}
            ]
        }
    )


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    timestamp: UtcDateTime
    environment: str
    database: Literal["connected", "unavailable"]
    version: str
    uptime: str = Field(description="Time since the process started, e.g. '2h 03m 10s'.")
    uptime_seconds: float

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "healthy",
                    "timestamp": "2025-10-06T17:09:27.412000+00:00",
                    "environment": "production",
                    "database": "connected",
                    "version": "1.0.0",
                    "uptime": "2h 03m 10s",
                    "uptime_seconds": 7390.113,
                }
            ]
        }
    )
