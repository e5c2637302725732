"""Stream an export (events or sessions of a period, CSV or NDJSON) from the API to a file, with
a progress bar of rows and bytes.

    python scripts/export.py events --from 2025-03-01 --to 2025-03-08 --format csv
    python scripts/export.py sessions --format ndjson --property prop_001 -o sessions.ndjson

The key comes from --api-key, else env NEXERO_API_KEY, else .nexero/api-key (it needs the read
scope). The file is written as NAME.part and renamed to NAME only once the export is known to
be whole: every row announced by X-Export-Rows arrived and, for NDJSON, the server's final
{"complete": true, "rows": N} line came (that line is checked, not written). A cut stream
leaves the .part file and exits with status 1.
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import BinaryIO

import httpx
from tqdm import tqdm

if __package__:  # imported as scripts.export (tests)
    from scripts._client_common import DEFAULT_BASE_URL, default_api_key
else:  # run as python scripts/export.py
    from _client_common import DEFAULT_BASE_URL, default_api_key

ROW_COUNT_HEADER = "X-Export-Rows"
FILENAME = re.compile(r'filename="([A-Za-z0-9._-]+)"')


class CsvRowCounter:
    """Counts CSV records as bytes arrive: a newline ends a record unless it is inside a quoted
    field (quotes toggle; an escaped quote "" toggles twice)."""

    def __init__(self) -> None:
        self.records = 0
        self._quoted = False

    def feed(self, chunk: bytes) -> int:
        before = self.records
        for index, part in enumerate(chunk.split(b'"')):
            if index:
                self._quoted = not self._quoted
            if not self._quoted:
                self.records += part.count(b"\n")
        return self.records - before


class NdjsonWriter:
    """Writes NDJSON data lines to `output`, always holding back the latest complete line: the
    last one must be the server's trailer, which `finish` checks instead of writing."""

    def __init__(self, output: BinaryIO) -> None:
        self._output = output
        self._held = b""
        self._tail = b""
        self.rows = 0

    def feed(self, chunk: bytes) -> int:
        data = self._tail + chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = data
            return 0
        lines, self._tail = data[: end + 1], data[end + 1 :]
        last = lines.rfind(b"\n", 0, end) + 1
        ready = self._held + lines[:last]
        self._held = lines[last:]
        self._output.write(ready)
        written = ready.count(b"\n")
        self.rows += written
        return written

    def finish(self) -> int:
        """The rows written; ValueError if the export is not whole."""
        if self._tail.strip():
            raise ValueError("the export is incomplete: it ends inside a line")
        try:
            trailer = json.loads(self._held) if self._held else None
        except ValueError:
            trailer = None
        if not isinstance(trailer, dict) or "complete" not in trailer or "id" in trailer:
            raise ValueError("the export is incomplete: its final line is missing")
        if trailer["complete"] is not True:
            raise ValueError(f"the export is incomplete: {trailer.get('error', 'cut short')}")
        if trailer.get("rows") != self.rows:
            raise ValueError(
                f"the export is incomplete: {self.rows} rows received, {trailer.get('rows')} sent"
            )
        return self.rows


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("events", "sessions"))
    parser.add_argument("--format", choices=("csv", "ndjson"), default="csv")
    parser.add_argument("--from", dest="start", help="ISO 8601 date or date-time (inclusive)")
    parser.add_argument("--to", dest="end", help="ISO 8601 date or date-time (exclusive)")
    parser.add_argument("--property", dest="property_id", help="only this property's rows")
    parser.add_argument("-o", "--output", type=Path, help="default: the server's file name")
    parser.add_argument(
        "--base-url", default=os.environ.get("BASE_URL", DEFAULT_BASE_URL), help="API root"
    )
    parser.add_argument("--api-key", help="default: env NEXERO_API_KEY, else .nexero/api-key")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds without data")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def export(arguments: argparse.Namespace) -> int:
    api_key = arguments.api_key or default_api_key()
    if not api_key:
        print("no API key: give --api-key, or set NEXERO_API_KEY", file=sys.stderr)
        return 2
    params = {"format": arguments.format}
    for name, value in (
        ("from", arguments.start),
        ("to", arguments.end),
        ("property_id", arguments.property_id),
    ):
        if value:
            params[name] = value
    began = time.perf_counter()
    with (
        httpx.Client(
            base_url=arguments.base_url.rstrip("/"),
            headers={"X-API-Key": api_key},
            timeout=arguments.timeout,
        ) as client,
        client.stream("GET", f"/api/v1/exports/{arguments.kind}", params=params) as response,
    ):
        if response.status_code != 200:
            response.read()
            print(f"the server answered {response.status_code}: {response.text}", file=sys.stderr)
            return 1
        expected = int(response.headers[ROW_COUNT_HEADER])
        named = FILENAME.search(response.headers.get("content-disposition", ""))
        target = arguments.output or Path(
            named.group(1) if named else f"{arguments.kind}.{arguments.format}"
        )
        partial = target.with_name(target.name + ".part")
        received, error = _receive(response, partial, arguments, expected)
    elapsed = time.perf_counter() - began
    if error is None and received != expected:
        error = f"{received} rows received, {expected} announced"
    if error is not None:
        print(f"export failed: {error}; what arrived is in {partial}", file=sys.stderr)
        return 1
    partial.replace(target)
    size = target.stat().st_size
    print(
        f"{received} rows, {tqdm.format_sizeof(size, 'B', 1024)} written to {target} in "
        f"{elapsed:.1f} s",
        file=sys.stderr,
    )
    return 0


def _receive(
    response: httpx.Response, partial: Path, arguments: argparse.Namespace, expected: int
) -> tuple[int, str | None]:
    """Write the body to `partial`; (rows received, what went wrong or None)."""
    received_bytes = 0
    with (
        partial.open("wb") as output,
        tqdm(total=expected, unit="rows", unit_scale=True, disable=arguments.quiet) as progress,
    ):
        ndjson = NdjsonWriter(output) if arguments.format == "ndjson" else None
        csv_rows = CsvRowCounter()
        try:
            for chunk in response.iter_bytes():
                received_bytes += len(chunk)
                if ndjson is not None:
                    progress.update(ndjson.feed(chunk))
                else:
                    output.write(chunk)
                    # The first record is the header.
                    before = max(csv_rows.records - 1, 0)
                    csv_rows.feed(chunk)
                    progress.update(max(csv_rows.records - 1, 0) - before)
                progress.set_postfix_str(tqdm.format_sizeof(received_bytes, "B", 1024))
        except httpx.HTTPError as error:
            rows = ndjson.rows if ndjson is not None else max(csv_rows.records - 1, 0)
            return rows, f"the stream was cut ({error.__class__.__name__}: {error})"
        if ndjson is None:
            return max(csv_rows.records - 1, 0), None
        try:
            return ndjson.finish(), None
        except ValueError as error:
            return ndjson.rows, str(error)


if __name__ == "__main__":
    sys.exit(export(parse_arguments()))
