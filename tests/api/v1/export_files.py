"""What an export looks like to its client, for the export tests: the header rows, a time as
exports write it, and the rows of a CSV or NDJSON answer."""

import csv
import io
import json
from datetime import UTC, datetime

import httpx

EVENT_HEADER = [
    "id",
    "session_id",
    "event_id",
    "event_type",
    "timestamp",
    "client_timestamp",
    "received_at",
    "customer_id",
    "property_id",
    "event_data",
]
SESSION_HEADER = [
    "id",
    "customer_id",
    "property_id",
    "device_type",
    "status",
    "end_reason",
    "started_at",
    "ended_at",
    "duration_seconds",
    "last_activity_at",
]


def iso(seconds: float) -> str:
    """As exports write times: ISO 8601 UTC with microseconds and Z."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csv_rows(response: httpx.Response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text, newline="")))


def ndjson_lines(response: httpx.Response) -> list[dict]:
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]
