"""Exports: a period's events or sessions as CSV or NDJSON, streamed (scripts/export.py is the
command-line equivalent, with a progress bar)."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from app.api.deps import DatabaseDep, ReadCallerDep, SettingsDep
from app.api.responses import ACCESS_ERRORS
from app.config import Settings
from app.models.exports import ExportFormat, ExportKind
from app.models.periods import Period, PeriodDep
from app.services.analytics.exports import ExportService, ExportSlots, OpenExport

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], responses=ACCESS_ERRORS)

ROW_COUNT_HEADER = "X-Export-Rows"
EXPORT_ANSWERS: dict[int | str, dict] = {
    200: {
        "description": "The rows, streamed without Content-Length. X-Export-Rows says how many "
        "will follow (counted in the same snapshot). NDJSON ends with "
        '{"complete": true, "rows": N}; a stream cut short lacks it. In CSV, a text value '
        "starting with = + - @, a tab or a carriage return has a ' put before it, so that "
        "spreadsheets show it as text (NDJSON values are exact). A client that takes no data "
        "for ANALYTICS_EXPORT_STALL_SECONDS is cut off.",
        "headers": {
            ROW_COUNT_HEADER: {"description": "Rows in the export", "schema": {"type": "integer"}}
        },
        "content": {
            "text/csv": {
                "example": "id,session_id,event_id,event_type,timestamp,client_timestamp,"
                "received_at,customer_id,property_id,event_data\r\n"
                "0b6f3c1e-52d4-4a8e-9a53-6f0d6ad7f4d2,7d1e...,0b6f...,room_view,"
                "2025-03-01T09:30:00.250000Z,2025-03-01T09:30:00.250000Z,"
                '2025-03-01T09:30:01.004211Z,cust_0001,prop_001,"{""room_name"": ""Kitchen""}"\r\n'
            },
            "application/x-ndjson": {
                "example": '{"id": "0b6f3c1e-...", "event_type": "room_view", '
                '"timestamp": "2025-03-01T09:30:00.250000Z", "event_data": '
                '{"room_name": "Kitchen"}, "...": "..."}\n{"complete": true, "rows": 1}\n'
            },
        },
    },
    503: {
        "description": "The database is unavailable, or as many exports as allowed are "
        "running already: ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT of this project, or "
        "ANALYTICS_EXPORT_MAX_CONCURRENT in all (the message says which). Retry after "
        "Retry-After."
    },
}


def export_slots(request: Request, settings: SettingsDep) -> ExportSlots:
    """The worker's export slots, made on first use (tests may set app.state.export_slots)."""
    slots = getattr(request.app.state, "export_slots", None)
    if slots is None:
        slots = ExportSlots(
            total=settings.ANALYTICS_EXPORT_MAX_CONCURRENT,
            per_project=settings.ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT,
        )
        request.app.state.export_slots = slots
    return slots


def get_export_service(
    database: DatabaseDep,
    settings: SettingsDep,
    caller: ReadCallerDep,
    slots: Annotated[ExportSlots, Depends(export_slots)],
) -> ExportService:
    return ExportService(database, settings, project_id=caller.project_id, slots=slots)


ExportServiceDep = Annotated[ExportService, Depends(get_export_service)]


class ClientStalledError(Exception):
    """The client took nothing for the stall limit: its export is abandoned."""


def give_up_after(seconds: float, send: Send) -> Send:
    """`send`, raising ClientStalledError when one message waits longer than `seconds` for the
    client (uvicorn's send waits while the connection's buffers are full: flow control)."""

    async def send_or_give_up(message: Message) -> None:
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                await send(message)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise ClientStalledError from None

    return send_or_give_up


class ExportResponse(StreamingResponse):
    """Streams an open export and releases it however the response ends: read out, cut by
    the client, abandoned because the client stopped reading, or never started."""

    def __init__(self, export: OpenExport, *, stall_seconds: float) -> None:
        super().__init__(
            export.body,
            media_type=export.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                ROW_COUNT_HEADER: str(export.rows),
            },
        )
        self._export = export
        self._stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, give_up_after(self._stall_seconds, send))
        except ClientStalledError:
            # Expected of a client that went quiet, not a fault of ours: no traceback. The
            # response stays unfinished, so the server closes the connection.
            logger.warning(
                "export abandoned: its client took nothing for %s s; %d of %d rows sent",
                self._stall_seconds,
                self._export.rows_sent,
                self._export.rows,
                extra={"rows_sent": self._export.rows_sent, "rows": self._export.rows},
            )
        finally:
            await self._export.aclose()


@dataclass(frozen=True)
class ExportQuery:
    """What both exports take: the period, the format and an optional property."""

    period: Period
    export_format: ExportFormat
    property_id: str | None


def export_query(
    period: PeriodDep,
    export_format: Annotated[
        ExportFormat,
        Query(alias="format", description="csv (a header row; event_data as JSON text) or ndjson."),
    ] = ExportFormat.CSV,
    property_id: Annotated[
        str | None, Query(min_length=1, description="Only the rows of this property.")
    ] = None,
) -> ExportQuery:
    return ExportQuery(period=period, export_format=export_format, property_id=property_id)


ExportQueryDep = Annotated[ExportQuery, Depends(export_query)]


async def open_export(
    service: ExportService, settings: Settings, kind: ExportKind, query: ExportQuery
) -> ExportResponse:
    """Opened before the answer starts: a refusal is still a JSON error, not a broken file."""
    export = await service.open(
        kind, query.export_format, period=query.period, property_id=query.property_id
    )
    return ExportResponse(export, stall_seconds=settings.ANALYTICS_EXPORT_STALL_SECONDS)


@router.get("/events", response_class=StreamingResponse, responses=EXPORT_ANSWERS)
async def export_events(
    service: ExportServiceDep, settings: SettingsDep, query: ExportQueryDep
) -> ExportResponse:
    """The events whose (server) time is in [from, to), in time order, with their session's
    customer and property."""
    return await open_export(service, settings, ExportKind.EVENTS, query)


@router.get("/sessions", response_class=StreamingResponse, responses=EXPORT_ANSWERS)
async def export_sessions(
    service: ExportServiceDep, settings: SettingsDep, query: ExportQueryDep
) -> ExportResponse:
    """The sessions that started in [from, to), in start order."""
    return await open_export(service, settings, ExportKind.SESSIONS, query)
