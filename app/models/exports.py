"""Export parameters: what to export and in which format."""

from enum import StrEnum


class ExportKind(StrEnum):
    EVENTS = "events"
    SESSIONS = "sessions"


class ExportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/x-ndjson"
