"""Exports: exact rows and formats, periods and filters, project isolation, errors before the
stream, and the figures of generated tours (many rows and broken streams:
test_exports_streaming)."""

import io
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.services.access.keys import AccessService
from scripts.export import CsvRowCounter, NdjsonWriter
from scripts.tours.generator import generate_tours, send_tours
from scripts.tours.truth import event_data
from tests.api.v1.export_files import (
    EVENT_HEADER,
    SESSION_HEADER,
    csv_rows,
    iso,
    ndjson_lines,
)
from tests.conftest import create_project_key, serve_app
from tests.helpers import BATCH, END, START

T0 = float(int(time.time()) - 5 * 3600)
TRICKY_ROOM = 'Kitchen, "big"\nsecond line'


async def post(client: httpx.AsyncClient, path: str, body: dict, status: int) -> dict:
    response = await client.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
async def project(
    access: AccessService, database_dsn: str, client: httpx.AsyncClient
) -> AsyncIterator[dict[str, Any]]:
    """A project of its own with three sessions and three events, all known here."""
    project_id, key, _ = await create_project_key(access, "exports")
    async with serve_app(database_dsn, api_key=key) as own:
        sessions = {"s1": str(uuid.uuid4()), "s2": str(uuid.uuid4()), "s3": str(uuid.uuid4())}
        starts = {"s1": T0, "s2": T0 + 50, "s3": T0 + 200}
        labels = {
            "s1": ("cust_1", "prop_a"),
            "s2": ("cust_2", "prop_b"),
            "s3": ("cust_1", "prop_a"),
        }
        for name, session_id in sessions.items():
            customer, property_id = labels[name]
            await post(
                own,
                START,
                {
                    "session_id": session_id,
                    "session_start": starts[name],
                    "customer_id": customer,
                    "property_id": property_id,
                    "device_type": "Meta Quest 3",
                },
                201,
            )
        events = {
            "e1": ("s1", "room_view", T0 + 1, {"room_name": TRICKY_ROOM, "duration": "1.5"}),
            "e2": ("s1", "position", T0 + 2, {"x": 1.5, "y": -2, "z": 150}),
            "e3": ("s2", "custom", T0 + 60, {"note": "ünïcødé", "nested": {"list": [1, None]}}),
        }
        ids = {}
        for name, (session, event_type, at, data) in events.items():
            ids[name] = str(uuid.uuid4())
            body = {
                "session_id": sessions[session],
                "events": [
                    {
                        "event_type": event_type,
                        "timestamp": at,
                        "event_data": data,
                        "event_id": ids[name],
                    }
                ],
            }
            await post(own, BATCH, body, 202)
        await post(own, END, {"session_id": sessions["s1"], "session_end": T0 + 100}, 200)
        await post(own, END, {"session_id": sessions["s3"], "session_end": T0 + 212.25}, 200)
        # The default project has data in the same period, which this project must never see.
        await post(client, START, {"session_start": T0 + 1, "property_id": "prop_a"}, 201)
        yield {
            "client": own,
            "project_id": project_id,
            "key": key,
            "sessions": sessions,
            "events": events,
            "event_ids": ids,
        }


async def test_events_csv_has_a_header_and_every_value_exactly(project):
    response = await project["client"].get("/api/v1/exports/events")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="nexero-events.csv"'
    assert "content-length" not in response.headers
    assert response.headers["x-export-rows"] == "3"
    rows = csv_rows(response)
    assert rows[0] == EVENT_HEADER
    records = [dict(zip(EVENT_HEADER, row, strict=True)) for row in rows[1:]]
    assert [record["event_id"] for record in records] == [
        project["event_ids"][name] for name in ("e1", "e2", "e3")
    ]
    for record, name in zip(records, ("e1", "e2", "e3"), strict=True):
        session, event_type, at, data = project["events"][name]
        assert record["session_id"] == project["sessions"][session]
        assert record["event_type"] == event_type
        assert record["timestamp"] == iso(at) == record["client_timestamp"]
        assert json.loads(record["event_data"]) == data
        assert record["received_at"].endswith("Z")
    assert (records[0]["customer_id"], records[0]["property_id"]) == ("cust_1", "prop_a")
    assert (records[2]["customer_id"], records[2]["property_id"]) == ("cust_2", "prop_b")


async def test_events_ndjson_rows_end_with_a_complete_trailer(project):
    response = await project["client"].get("/api/v1/exports/events", params={"format": "ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"].endswith('filename="nexero-events.ndjson"')
    lines = ndjson_lines(response)
    assert lines[-1] == {"complete": True, "rows": 3}
    assert [list(line) for line in lines[:-1]] == [EVENT_HEADER] * 3
    first = lines[0]
    assert first["event_data"] == project["events"]["e1"][3]
    assert first["timestamp"] == iso(T0 + 1)
    assert lines[2]["event_data"]["note"] == "ünïcødé"


async def test_period_is_half_open_and_named_in_the_filename(project):
    response = await project["client"].get(
        "/api/v1/exports/events",
        params={"from": iso(T0 + 2), "to": iso(T0 + 60), "format": "ndjson"},
    )
    lines = ndjson_lines(response)
    assert [line.get("event_id") for line in lines[:-1]] == [project["event_ids"]["e2"]]
    assert lines[-1] == {"complete": True, "rows": 1}
    stamp = datetime.fromtimestamp(T0 + 2, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"-from-{stamp}-to-" in response.headers["content-disposition"]
    day = await project["client"].get(
        "/api/v1/exports/sessions", params={"from": "2025-03-01", "to": "2025-03-08"}
    )
    assert day.headers["content-disposition"].endswith(
        'filename="nexero-sessions-from-20250301-to-20250308.csv"'
    )
    assert day.headers["x-export-rows"] == "0" and csv_rows(day) == [SESSION_HEADER]


async def test_property_filter_keeps_that_propertys_rows(project):
    response = await project["client"].get(
        "/api/v1/exports/events", params={"property_id": "prop_b"}
    )
    rows = csv_rows(response)
    assert [row[2] for row in rows[1:]] == [project["event_ids"]["e3"]]
    assert response.headers["x-export-rows"] == "1"


async def test_sessions_export_by_start_in_both_formats(project):
    sessions = project["sessions"]
    response = await project["client"].get("/api/v1/exports/sessions", params={"to": iso(T0 + 200)})
    rows = csv_rows(response)
    assert rows[0] == SESSION_HEADER
    records = [dict(zip(SESSION_HEADER, row, strict=True)) for row in rows[1:]]
    assert [record["id"] for record in records] == [sessions["s1"], sessions["s2"]]
    first, second = records
    assert first["status"] == "completed" and first["end_reason"] == "client"
    assert first["started_at"] == iso(T0) and first["ended_at"] == iso(T0 + 100)
    assert first["duration_seconds"] == "100"
    assert second["ended_at"] == "" and second["end_reason"] == "" and second["status"] == "active"
    lines = ndjson_lines(
        await project["client"].get(
            "/api/v1/exports/sessions", params={"format": "ndjson", "property_id": "prop_a"}
        )
    )
    assert [line.get("id") for line in lines[:-1]] == [sessions["s1"], sessions["s3"]]
    # Exact, as everywhere but the original contract's answers (docs/analytics.md, "Precision").
    assert lines[0]["duration_seconds"] == 100 and lines[1]["duration_seconds"] == 12.25
    assert lines[-1] == {"complete": True, "rows": 2}


async def test_one_project_never_sees_anothers_rows(client, project):
    ours = set(project["event_ids"].values()) | set(project["sessions"].values())
    for kind in ("events", "sessions"):
        response = await client.get(f"/api/v1/exports/{kind}", params={"format": "ndjson"})
        lines = ndjson_lines(response)
        assert lines[-1]["complete"] is True
        seen = {line.get("id") for line in lines} | {line.get("event_id") for line in lines}
        assert not ours & seen
    # And this project's export holds its own rows only (the default project has others).
    sessions = await project["client"].get("/api/v1/exports/sessions")
    assert sessions.headers["x-export-rows"] == "3"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"from": "last week"}, "from"),
        ({"to": "2025-03-01T10:00:00"}, "to"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "to"),
        ({"property_id": ""}, "property_id"),
    ],
)
@pytest.mark.parametrize("kind", ["events", "sessions"])
async def test_bad_parameters_answer_422_before_any_stream(project, kind, params, field):
    response = await project["client"].get(f"/api/v1/exports/{kind}", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert [problem["loc"] for problem in response.json()["detail"]] == [["query", field]]


async def test_exports_need_a_key(client):
    response = await client.get("/api/v1/exports/events", headers={"X-API-Key": ""})
    assert response.status_code == 401


# Generated tours: what was sent is what is exported.


async def test_generated_tours_export_every_event_sent(database_dsn, access):
    own_project = await create_project_key(access, "export tours")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    tours = generate_tours(seed=5, customers=5, properties=2, start=start, days=10)
    async with serve_app(database_dsn, api_key=own_project.key) as own:
        await send_tours(own, tours)
        response = await own.get("/api/v1/exports/events", params={"format": "ndjson"})
        lines = ndjson_lines(response)
        sessions = await own.get("/api/v1/exports/sessions")
    exported = lines[:-1]
    sent = [event for tour in tours for event in tour.events]
    assert lines[-1] == {"complete": True, "rows": len(sent)}
    by_id = {line["event_id"]: line for line in exported}
    assert len(by_id) == len(sent)
    for tour in tours:
        for event in tour.events:
            line = by_id[event["event_id"]]
            assert line["session_id"] == tour.session_id
            assert line["event_type"] == event["event_type"]
            assert line["event_data"] == event_data(event)
            assert line["property_id"] == tour.property_id
            assert line["customer_id"] == tour.customer_id
    assert [line["timestamp"] for line in exported] == sorted(
        line["timestamp"] for line in exported
    )
    per_session = Counter(line["session_id"] for line in exported)
    assert per_session == Counter({tour.session_id: len(tour.events) for tour in tours})
    assert sessions.headers["x-export-rows"] == str(len(tours))


# The command-line tool's bookkeeping (scripts/export.py).


def test_cli_counts_csv_rows_across_chunks_and_quoted_newlines():
    body = b'a,b\r\n1,"x\r\ny"\r\n2,"say ""hi"""\r\n3,z\r\n'
    counter = CsvRowCounter()
    for cut in range(0, len(body), 3):
        counter.feed(body[cut : cut + 3])
    assert counter.records == 4  # the header and three rows


def test_cli_ndjson_writer_keeps_data_and_checks_the_trailer():
    output = io.BytesIO()
    writer = NdjsonWriter(output)
    body = b'{"id": 1}\n{"id": 2}\n{"complete": true, "rows": 2}\n'
    for cut in range(0, len(body), 4):
        writer.feed(body[cut : cut + 4])
    assert writer.finish() == 2
    assert output.getvalue() == b'{"id": 1}\n{"id": 2}\n'
    cut_short = NdjsonWriter(io.BytesIO())
    cut_short.feed(b'{"id": 1}\n{"complete": false, "rows": 1, "error": "x"}\n')
    with pytest.raises(ValueError, match="incomplete"):
        cut_short.finish()
    no_trailer = NdjsonWriter(io.BytesIO())
    no_trailer.feed(b'{"id": 1}\n{"id": 2}\n')
    with pytest.raises(ValueError, match="incomplete"):
        no_trailer.finish()
