"""What the Unreal API's answers say, counted for /metrics: events stored, duplicate and
rejected (by reason class), sessions started and ended. Kept apart from the routes, which call
one of these after their service has answered."""

from app.errors import InvalidInputError
from app.observability import metrics
from app.services.ingestion.tracking import BatchResult, EventResult


def record_batch(result: BatchResult) -> None:
    metrics.count_events(
        stored=result.stored,
        duplicates=len(result.duplicates),
        rejections=[(rejection.field, rejection.reason) for rejection in result.rejections],
    )


def record_event(result: EventResult) -> None:
    metrics.count_events(stored=0 if result.duplicate else 1, duplicates=int(result.duplicate))


def record_refused_event(error: InvalidInputError) -> None:
    """A single event the service refused (422): counted once, by its first problem."""
    problem = error.problems[0]
    field = str(problem.loc[1]) if len(problem.loc) > 1 else None
    metrics.count_events(stored=0, duplicates=0, rejections=[(field, problem.msg)])


def record_sessions(*, started: int = 0, ended: int = 0) -> None:
    if started:
        metrics.sessions_started.inc(started)
    if ended:
        metrics.sessions_ended.inc(ended)
