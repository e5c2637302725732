"""The JSON log line: its time to the microsecond (the date and second are formatted once a
second, so a line just after a second's turn must not keep the second before), and the fields
given with `extra=`, whatever other handlers did to the record first."""

import json
import logging
from datetime import UTC, datetime

import pytest

from app.observability.logging import JsonFormatter


def record_at(created: float, **extra: object) -> logging.LogRecord:
    record = logging.getLogger("nexero.test").makeRecord(
        "nexero.test", logging.INFO, "(unknown file)", 0, "request", (), None, extra=extra
    )
    record.created = created
    return record


def line(formatter: JsonFormatter, record: logging.LogRecord) -> dict[str, object]:
    return json.loads(formatter.format(record))


@pytest.mark.parametrize(
    "created",
    [1_796_290_457.531550, 1_796_290_457.0, 1_796_290_457.999_999, 1_796_290_458.000_001],
)
def test_the_time_is_the_records_to_the_microsecond_in_utc(created: float) -> None:
    logged = line(JsonFormatter(), record_at(created))["time"]

    expected = datetime.fromtimestamp(created, tz=UTC)
    assert datetime.fromisoformat(str(logged)) == expected
    assert str(logged).endswith("+00:00")


def test_a_line_after_the_seconds_turn_has_the_new_second() -> None:
    formatter = JsonFormatter()
    times = [1_796_290_457.999_998, 1_796_290_458.000_002, 1_796_290_458.5, 1_796_290_399.25]

    logged = [line(formatter, record_at(created))["time"] for created in times]

    assert logged == [
        "2026-12-03T09:34:17.999998+00:00",
        "2026-12-03T09:34:18.000002+00:00",
        "2026-12-03T09:34:18.500000+00:00",
        "2026-12-03T09:33:19.250000+00:00",
    ]


def test_extra_fields_are_written_in_order_and_none_is_left_out() -> None:
    record = record_at(1_796_290_457.5, method="GET", route="/", status=200, key_id=None)
    # What another handler's formatter (pytest's capture, say) adds before ours runs.
    logging.Formatter("%(asctime)s %(message)s").format(record)
    record.request_id = "abc"

    logged = line(JsonFormatter(), record)

    assert list(logged) == [
        "time",
        "level",
        "logger",
        "message",
        "method",
        "route",
        "status",
        "request_id",
    ]
    assert (logged["level"], logged["logger"], logged["message"]) == (
        "info",
        "nexero.test",
        "request",
    )
