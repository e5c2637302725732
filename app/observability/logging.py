"""JSON log lines on stdout, each carrying the id of the request being served."""

import json
import logging
import sys
import warnings
from contextvars import ContextVar
from datetime import UTC, datetime
from itertools import islice

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# uvicorn repeats its message with ANSI colours in this attribute.
_IGNORED_EXTRAS = frozenset({"color_message"})
# Attributes every LogRecord has; anything else passed through `extra=` is written as a field.
_INITIAL_ATTRIBUTES = vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
_STANDARD_ATTRIBUTES = frozenset(_INITIAL_ATTRIBUTES | {"message", "asctime"})
# A record's own attributes come first, in the order its constructor sets them: a line's
# fields are looked for after them (formatters add theirs, message and asctime, later still).
_FIRST_EXTRA = len(_INITIAL_ATTRIBUTES)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on the record, where any handler can see it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


# json.dumps(entry, default=str) builds an encoder on every call: built once instead.
_LINE_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, microseconds), level, logger, message, then the
    fields passed with `extra=` (None left out) and the exception, if any. Written for the
    request log's pace, a line per request: the time's date and second are formatted once a
    second, and only the attributes after a record's own are looked at."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        second, microsecond = divmod(round(created * 1_000_000), 1_000_000)
        cached_second, text = self._second
        if second != cached_second:
            text = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (second, text)
        return f"{text}.{microsecond:06d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in islice(vars(record).items(), _FIRST_EXTRA, None):
            if key in _STANDARD_ATTRIBUTES or key in _IGNORED_EXTRAS or value is None:
                continue
            entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _LINE_ENCODER.encode(entry)


class CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (test runners and tools swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """Python warnings as JSON log lines, in place of the plain text they would print on
    stderr. Their text is left out: it may quote request content (matplotlib names the
    characters of a heatmap title, the client's labels, that its font cannot draw)."""
    logging.getLogger("py.warnings").warning(
        "warning", extra={"category": category.__name__, "source": f"{filename}:{lineno}"}
    )


def configure_logging(level: str) -> None:
    """Send every log record, and every Python warning, to stdout as JSON. Safe to call again:
    it replaces only its own handler, leaving any other (a test's capture, say) in place."""
    handler = CurrentStdoutHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [
        existing for existing in root.handlers if not isinstance(existing, CurrentStdoutHandler)
    ]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # No line says which thread, process or source line wrote it: the records need not find
    # out (the logging HOWTO's "Optimization"; the caller's frame is the dearest of the four).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    warnings.showwarning = log_warning
    # Our request log replaces uvicorn's access log (one line per request, with its id).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
