"""Reading what the app logged: its JSON log lines in captured output, and its request log."""

import json
from typing import Any

REQUEST_LOGGER = "nexero.request"


def logged_lines(output: str) -> list[dict[str, Any]]:
    """The JSON log lines written to captured output, as the app formats them."""
    lines = []
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "logger" in entry:
            lines.append(entry)
    return lines


def request_lines(output: str) -> list[dict[str, Any]]:
    """The request log's lines (one per request) in captured output."""
    return [
        line
        for line in logged_lines(output)
        if line["logger"] == REQUEST_LOGGER and line["message"] == "request"
    ]
