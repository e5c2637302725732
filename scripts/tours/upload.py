"""Sending synthetic tours through the real ingestion API (scripts/tours/generator.py makes
them): session/start, tracking/batch in batches, session/end, a few tours at a time; and where
the command line finds its API key."""

import asyncio
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

START_PATH = "/api/v1/unreal/session/start"
BATCH_PATH = "/api/v1/unreal/tracking/batch"
END_PATH = "/api/v1/unreal/session/end"
ORIGINAL_CLIENT_PATH = "/api/v1/unreal/session"


class SendableTour(Protocol):
    """What sending needs of a tour (scripts/tours/generator.py's Tour has it)."""

    session_id: str
    session_end: float | None
    events: Sequence[Mapping[str, Any]]

    def start_body(self) -> dict[str, Any]: ...


class OriginalClientTour(Protocol):
    """What sending as the original client needs (scripts/tours/original.py's OriginalTour)."""

    @property
    def records(self) -> list[dict[str, Any]]: ...

    def summary(self, ends_at: datetime) -> dict[str, Any]: ...


class TourUploadError(RuntimeError):
    """The API answered a tour's request with anything but full success."""


@dataclass
class UploadSummary:
    sessions: int = 0
    events: int = 0
    duplicates: int = 0


async def send_tours(
    client: httpx.AsyncClient,
    tours: Iterable[SendableTour],
    *,
    batch_size: int = 100,
    concurrency: int = 4,
) -> UploadSummary:
    """Send each tour through the real API (session/start, tracking/batch in batches,
    session/end), `concurrency` tours at a time, retrying after 429 and 503 as told by
    Retry-After. Raises TourUploadError on any other non-2xx answer, on a 429/503 that
    persists, or on any event not processed. Safe to repeat: ids make retries duplicates,
    not copies."""
    pending = iter(list(tours))
    summary = UploadSummary()

    async def worker() -> None:
        for tour in pending:
            await _send_tour(client, tour, batch_size=batch_size, summary=summary)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return summary


async def _send_tour(
    client: httpx.AsyncClient, tour: SendableTour, *, batch_size: int, summary: UploadSummary
) -> None:
    await _post(client, START_PATH, tour.start_body(), expected=201)
    for first in range(0, len(tour.events), batch_size):
        batch = tour.events[first : first + batch_size]
        body = {"session_id": tour.session_id, "events": batch}
        answer = await _post(client, BATCH_PATH, body, expected=202)
        if answer.get("failed") != 0 or answer.get("processed") != len(batch):
            raise TourUploadError(
                f"session {tour.session_id}: batch at event {first} not fully processed: "
                f"{answer.get('processed')} of {len(batch)}, errors {answer.get('errors')}"
            )
        summary.events += len(batch)
        summary.duplicates += len(answer.get("duplicates") or [])
    if tour.session_end is not None:
        end = {"session_id": tour.session_id, "session_end": tour.session_end}
        await _post(client, END_PATH, end, expected=200)
    summary.sessions += 1


async def send_as_original_client(client: httpx.AsyncClient, tour: OriginalClientTour) -> datetime:
    """Send a tour as the original Unreal client does: each record on its own, then the
    summary ending now (whole seconds). Returns that end: the server converts the summary's
    local times back to it, and the tour's twin is laid out from it."""
    for record in tour.records:
        await _post(client, ORIGINAL_CLIENT_PATH, record, expected=201)
    ends_at = datetime.fromtimestamp(math.floor(time.time()), tz=UTC)
    await _post(client, ORIGINAL_CLIENT_PATH, tour.summary(ends_at), expected=201)
    return ends_at


# Like a VR client: wait as told and send the same request again after a 429 (rate limit) or a
# 503 (transient trouble); ids make the retries safe.
RETRIED_STATUSES = (429, 503)
MAX_ATTEMPTS = 10


async def _post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], *, expected: int
) -> dict[str, Any]:
    for _ in range(MAX_ATTEMPTS - 1):
        response = await client.post(path, json=body)
        if response.status_code not in RETRIED_STATUSES:
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    else:
        response = await client.post(path, json=body)
    if response.status_code != expected:
        request_id = response.headers.get("X-Request-ID", "-")
        raise TourUploadError(
            f"POST {path} answered {response.status_code} (expected {expected}, request id "
            f"{request_id}): {response.text[:300]}"
        )
    return response.json()


def find_api_key(given: str | None) -> str | None:
    """--api-key, else env NEXERO_API_KEY, else the file .nexero/api-key (here or in the
    repository root)."""
    if given:
        return given
    if os.environ.get("NEXERO_API_KEY"):
        return os.environ["NEXERO_API_KEY"]
    for folder in (Path.cwd(), Path(__file__).resolve().parents[2]):
        key_file = folder / ".nexero" / "api-key"
        if key_file.is_file():
            return key_file.read_text().strip() or None
    return None
