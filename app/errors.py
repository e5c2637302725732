"""Domain errors: each carries its HTTP status; one handler in app.main renders them."""

from dataclasses import dataclass


class NexeroError(Exception):
    status_code = 500
    message = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class NotFoundError(NexeroError):
    status_code = 404
    message = "Not found"


class ConflictError(NexeroError):
    status_code = 409
    message = "Conflict"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field, located the way FastAPI locates validation errors."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"


class InvalidInputError(NexeroError):
    """Input that will never become valid: rendered as 422 in FastAPI's error shape."""

    status_code = 422

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems

    @classmethod
    def single(cls, *loc: str | int, msg: str) -> "InvalidInputError":
        return cls([FieldProblem(loc=loc, msg=msg)])


class UnsupportedMediaTypeError(InvalidInputError):
    """Input of a type the endpoint does not take (an image that is neither PNG nor JPEG)."""

    status_code = 415


class PayloadTooLargeError(InvalidInputError):
    """Input past a size limit; the message names the limit."""

    status_code = 413


class ServiceUnavailableError(NexeroError):
    """Transient trouble: rendered as 503 with Retry-After, so clients retry instead of dropping.
    `cause` names the trouble in the metrics (nexero_unavailable_total)."""

    status_code = 503
    message = "Service unavailable, retry later"
    cause = "other"


class DatabaseUnavailableError(ServiceUnavailableError):
    """Transient: the write was rolled back (or, if the connection died during COMMIT, may have
    landed). Either way the client should retry after a pause; retries never duplicate."""

    status_code = 503
    message = "Database unavailable, retry later"
    cause = "database"


class RateLimiterUnavailableError(ServiceUnavailableError):
    """The rate-limit store (Redis) did not answer in time."""

    message = "Rate limiter unavailable, retry later"
    cause = "rate_limiter"


class ExportCapacityError(ServiceUnavailableError):
    """As many exports as allowed are running already."""

    cause = "export_capacity"


class UnauthorizedError(NexeroError):
    """No API key, or one that is unknown or revoked: rendered with WWW-Authenticate."""

    status_code = 401
    message = "A valid API key is required (X-API-Key header or Authorization: Bearer)"


class ForbiddenError(NexeroError):
    status_code = 403
    message = "This API key may not do that"


class RateLimitedError(NexeroError):
    """Too many requests for one key and scope; the client may retry after `retry_after`."""

    status_code = 429
    message = "Too many requests for this API key, retry later"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(None)
        self.retry_after_seconds = retry_after_seconds


class ErasedError(NexeroError):
    """A write for a customer (or a session of a customer) an admin erased: refused for good,
    so a client drops it instead of retrying (docs/security.md, "Erasure")."""

    status_code = 410
    message = (
        "This customer's data was erased from the project: writes for the customer and its "
        "erased sessions are refused (an admin can lift this)"
    )


class StreamLimitError(RateLimitedError):
    """The key holds as many live streams open as LIVE_STREAMS_PER_KEY allows."""

    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds)
        self.message = f"This API key has {limit} live streams open already (LIVE_STREAMS_PER_KEY)"
