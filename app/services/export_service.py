"""Exports of a project's events or sessions as CSV or NDJSON, streamed in constant memory.

An export is opened before its answer starts: the concurrency slot, the pooled connection, the
snapshot and the row count are had first, so a busy or unreachable database is a 503 with a
JSON body, not a broken download. Then rows flow from a server-side cursor, one chunk of
ANALYTICS_EXPORT_CHUNK_ROWS at a time, until the last one.

Truncation: should the database fail mid-stream, the stream is cut (the HTTP response ends
without its final chunk, which HTTP clients report as an error). NDJSON says so in-band too:
its last line is {"complete": true, "rows": N} only when every row was sent, and
{"complete": false, ...} if the export broke. For CSV, compare the rows received with the
X-Export-Rows header (taken in the same snapshot as the rows).
"""

import csv
import io
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.config import Settings
from app.core.database import Database
from app.core.errors import ServiceUnavailableError
from app.core.export_store import EVENTS, SESSIONS, ExportFilter, ExportTable, export_snapshot
from app.models.exports import ExportFormat, ExportKind
from app.models.periods import Period

logger = logging.getLogger(__name__)

TABLES: dict[ExportKind, ExportTable] = {ExportKind.EVENTS: EVENTS, ExportKind.SESSIONS: SESSIONS}
# The last NDJSON line of an export that broke; a whole one ends {"complete": true, "rows": N}
# (data lines never have a "complete" key).
TRUNCATED_MESSAGE = "the export stopped early (database error): the rows above are incomplete"


class ExportSlots:
    """How many exports may run at once in this worker: each holds a pooled connection for as
    long as its client reads, and ingestion must keep the rest of the pool."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        if self._running >= self._limit:
            raise ServiceUnavailableError(
                f"{self._limit} exports are running already: retry after Retry-After"
            )
        self._running += 1
        try:
            yield
        finally:
            self._running -= 1


@dataclass
class RowCount:
    """The rows an export will send, known once its snapshot is taken."""

    rows: int = 0


@dataclass
class OpenExport:
    """An export ready to stream: its row count is known, its body not yet sent."""

    kind: ExportKind
    format: ExportFormat
    rows: int
    filename: str
    body: AsyncIterator[bytes]
    _source: AsyncIterator[bytes]

    @property
    def media_type(self) -> str:
        return self.format.media_type

    async def aclose(self) -> None:
        """Release the snapshot and the connection (at once if the body was not read out)."""
        await self._source.aclose()


class ExportService:
    """Exports of one project's data (the caller's)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        project_id: UUID,
        slots: ExportSlots,
    ) -> None:
        self._database = database
        self._chunk_rows = settings.ANALYTICS_EXPORT_CHUNK_ROWS
        self._project_id = project_id
        self._slots = slots

    async def open(
        self,
        kind: ExportKind,
        export_format: ExportFormat,
        *,
        period: Period,
        property_id: str | None = None,
    ) -> OpenExport:
        """Events (by event time) or sessions (by start) of [from, to), optionally of one
        property, in time order. Raises before anything is sent if the export cannot start."""
        filters = ExportFilter(start=period.start, end=period.end, property_id=property_id)
        counted = RowCount()
        source = self._stream(TABLES[kind], export_format, filters, counted)
        try:
            first = await anext(source)
        except BaseException:
            await source.aclose()
            raise
        return OpenExport(
            kind=kind,
            format=export_format,
            rows=counted.rows,
            filename=filename_of(kind, export_format, period),
            body=_starting_with(first, source),
            _source=source,
        )

    async def _stream(
        self,
        table: ExportTable,
        export_format: ExportFormat,
        filters: ExportFilter,
        counted: RowCount,
    ) -> AsyncIterator[bytes]:
        """First the header (b"" for NDJSON) once the rows are counted, then the rows."""
        as_json = export_format is ExportFormat.NDJSON
        async with self._slots.hold(), export_snapshot(self._database, self._project_id) as rows:
            counted.rows = await rows.count(table, filters)
            yield b"" if as_json else csv_bytes([table.header])
            sent = 0
            try:
                async with aclosing(
                    rows.chunks(table, filters, as_json=as_json, chunk_rows=self._chunk_rows)
                ) as chunks:
                    async for chunk in chunks:
                        sent += len(chunk)
                        yield ndjson_bytes(chunk) if as_json else csv_bytes(chunk)
            except Exception:
                # The request log has the traceback.
                logger.warning("export cut after %d of %d rows", sent, counted.rows)
                if as_json:
                    yield trailer(complete=False, rows=sent, error=TRUNCATED_MESSAGE)
                raise
            if sent != counted.rows:
                logger.error("export sent %d rows, counted %d in one snapshot", sent, counted.rows)
            if as_json:
                yield trailer(complete=True, rows=sent)


async def _starting_with(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def csv_bytes(rows: Sequence[Sequence[str | None]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def ndjson_bytes(rows: Sequence[Sequence[str | None]]) -> bytes:
    return ("\n".join(row[0] for row in rows) + "\n").encode()


def trailer(*, complete: bool, rows: int, error: str | None = None) -> bytes:
    line: dict[str, object] = {"complete": complete, "rows": rows}
    if error is not None:
        line["error"] = error
    return (json.dumps(line) + "\n").encode()


def filename_of(kind: ExportKind, export_format: ExportFormat, period: Period) -> str:
    """nexero-events-from-20250301-to-20250308.csv (ASCII only: safe in a header)."""
    name = f"nexero-{kind.value}"
    if period.start is not None:
        name += f"-from-{_stamp(period.start)}"
    if period.end is not None:
        name += f"-to-{_stamp(period.end)}"
    return f"{name}.{export_format.value}"


def _stamp(moment: datetime) -> str:
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.strftime("%Y%m%d")
    return moment.strftime("%Y%m%dT%H%M%SZ")
