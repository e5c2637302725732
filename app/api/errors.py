"""How domain errors are answered: one JSON shape, with the headers each kind of error needs.
Used by the app's exception handler and by middleware that answers before routing."""

from fastapi import Request
from fastapi.responses import JSONResponse

from app.errors import (
    InvalidInputError,
    NexeroError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from app.observability import metrics


def nexero_error_response(request: Request, error: NexeroError) -> JSONResponse:
    headers = {}
    if isinstance(error, ServiceUnavailableError):
        headers["Retry-After"] = str(request.app.state.settings.RETRY_AFTER_SECONDS)
        metrics.unavailable.labels(error.cause).inc()
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, InvalidInputError):
        detail: object = [
            {"type": problem.type, "loc": list(problem.loc), "msg": problem.msg}
            for problem in error.problems
        ]
    else:
        detail = error.message
    return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)
