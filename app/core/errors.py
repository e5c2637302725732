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


class DatabaseUnavailableError(NexeroError):
    """Transient: the write was rolled back (or, if the connection died during COMMIT, may have
    landed). Either way the client should retry after a pause; retries never duplicate."""

    status_code = 503
    message = "Database unavailable, retry later"
