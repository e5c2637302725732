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

Limits: an export holds a slot of ExportSlots (so many per worker, fewer per project) from
before its count until its stream ends; a client that stops reading is abandoned by the
response (app/api/v1/exports.py), which then closes the stream here.

Spreadsheets: CSV is opened in Excel, LibreOffice or Google Sheets, which read a cell that
starts with = + - @ (or a tab or carriage return) as a formula. Any text value may come from an
ingest key, so CSV writes such a value with a ' before it (OWASP's advice on CSV injection);
numbers are written as they are, and NDJSON is never changed.
"""

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.errors import ExportCapacityError
from app.models.exports import ExportFormat, ExportKind
from app.models.periods import Period
from app.observability import metrics
from app.stores.exports import EVENTS, SESSIONS, ExportFilter, ExportTable, export_snapshot

logger = logging.getLogger(__name__)

TABLES: dict[ExportKind, ExportTable] = {ExportKind.EVENTS: EVENTS, ExportKind.SESSIONS: SESSIONS}
# The last NDJSON line of an export that broke; a whole one ends {"complete": true, "rows": N}
# (data lines never have a "complete" key).
TRUNCATED_MESSAGE = "the export stopped early (database error): the rows above are incomplete"
# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection), and what CSV puts
# before such a text value so that it is shown as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SPREADSHEET_TEXT_MARK = "'"


class ExportSlots:
    """How many exports may run at once in this worker, in all and per project: each holds a
    pooled connection for as long as its client reads, ingestion must keep the rest of the
    pool, and one project's read key must not take the slots of every other project."""

    def __init__(self, *, total: int, per_project: int) -> None:
        self._total = total
        self._per_project = per_project
        self._running: Counter[UUID] = Counter()

    @property
    def running(self) -> int:
        return self._running.total()

    @asynccontextmanager
    async def hold(self, project_id: UUID) -> AsyncIterator[None]:
        if self._running[project_id] >= self._per_project:
            raise ExportCapacityError(
                f"this project already has {_exports(self._per_project)} running, the most one "
                "project may run at once (ANALYTICS_EXPORT_MAX_CONCURRENT_PER_PROJECT): "
                "retry after Retry-After"
            )
        if self.running >= self._total:
            raise ExportCapacityError(
                f"{_exports(self._total)} running already, the most this server runs at once "
                "for all projects (ANALYTICS_EXPORT_MAX_CONCURRENT): retry after Retry-After"
            )
        self._running[project_id] += 1
        metrics.exports_running.inc()
        try:
            yield
        finally:
            metrics.exports_running.dec()
            self._running[project_id] -= 1
            if not self._running[project_id]:
                del self._running[project_id]


def _exports(count: int) -> str:
    return "1 export" if count == 1 else f"{count} exports"


@dataclass
class ExportProgress:
    """How far an export got: the rows it will send (known once its snapshot is taken), and
    the rows of the chunks its client's connection has taken so far."""

    rows: int = 0
    sent: int = 0


@dataclass
class OpenExport:
    """An export ready to stream: its row count is known, its body not yet sent."""

    kind: ExportKind
    format: ExportFormat
    filename: str
    body: AsyncIterator[bytes]
    progress: ExportProgress
    _source: AsyncIterator[bytes]

    @property
    def media_type(self) -> str:
        return self.format.media_type

    @property
    def rows(self) -> int:
        return self.progress.rows

    @property
    def rows_sent(self) -> int:
        return self.progress.sent

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
        progress = ExportProgress()
        source = self._stream(TABLES[kind], export_format, filters, progress)
        try:
            first = await anext(source)
        except BaseException:
            await source.aclose()
            raise
        return OpenExport(
            kind=kind,
            format=export_format,
            filename=filename_of(kind, export_format, period),
            body=_starting_with(first, source),
            progress=progress,
            _source=source,
        )

    async def _stream(
        self,
        table: ExportTable,
        export_format: ExportFormat,
        filters: ExportFilter,
        progress: ExportProgress,
    ) -> AsyncIterator[bytes]:
        """First the header (b"" for NDJSON) once the rows are counted, then the rows."""
        as_json = export_format is ExportFormat.NDJSON
        async with (
            self._slots.hold(self._project_id),
            export_snapshot(self._database, self._project_id) as rows,
        ):
            progress.rows = await rows.count(table, filters)
            yield b"" if as_json else csv_bytes([table.header])
            try:
                async with aclosing(
                    rows.chunks(table, filters, as_json=as_json, chunk_rows=self._chunk_rows)
                ) as chunks:
                    async for chunk in chunks:
                        if as_json:
                            yield ndjson_bytes(chunk)
                        else:
                            yield csv_bytes(chunk, text_columns=table.text_columns)
                        # Asked for more: the response has sent this chunk.
                        progress.sent += len(chunk)
            except Exception:
                # The request log has the traceback.
                logger.warning("export cut after %d of %d rows", progress.sent, progress.rows)
                if as_json:
                    yield trailer(complete=False, rows=progress.sent, error=TRUNCATED_MESSAGE)
                raise
            if progress.sent != progress.rows:
                logger.error(
                    "export sent %d rows, counted %d in one snapshot", progress.sent, progress.rows
                )
            if as_json:
                yield trailer(complete=True, rows=progress.sent)


async def _starting_with(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def csv_bytes(rows: Sequence[Sequence[str | None]], *, text_columns: Sequence[int] = ()) -> bytes:
    """RFC 4180 lines; the values of `text_columns` made safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if text_columns:
        writer.writerows(spreadsheet_safe(row, text_columns) for row in rows)
    else:
        writer.writerows(rows)
    return buffer.getvalue().encode()


def spreadsheet_safe(
    row: Sequence[str | None], text_columns: Sequence[int]
) -> Sequence[str | None]:
    """The row with a ' before each value of `text_columns` that a spreadsheet would read as
    a formula (a value starting with one of FORMULA_PREFIXES); the row itself if none does."""
    risky = [
        index
        for index in text_columns
        if (value := row[index]) is not None and value.startswith(FORMULA_PREFIXES)
    ]
    if not risky:
        return row
    values = list(row)
    for index in risky:
        values[index] = SPREADSHEET_TEXT_MARK + values[index]
    return values


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
