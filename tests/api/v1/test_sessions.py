"""Session endpoints: the contract's shapes, timestamps in every form, retries and errors."""

import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from tests.helpers import COMPLETE, END, START, fguid, start_session, status_url


async def test_complete_session_is_created_with_the_contract_shape(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post(
        COMPLETE,
        json={
            "session_start": "1728234567",
            "session_end": "1728234890",
            "customer_id": "cust_12345",
            "property_id": "prop_villa_001",
            "device_type": "Meta Quest 3",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "Session data received and processed"
    assert body["duration_seconds"] == 323
    assert datetime.fromisoformat(body["received_at"]).tzinfo is not None
    row = await db.fetchrow(
        "SELECT * FROM vr_sessions WHERE id = $1", uuid.UUID(body["session_id"])
    )
    assert row["started_at"] == datetime.fromtimestamp(1728234567, UTC)
    assert row["ended_at"] == datetime.fromtimestamp(1728234890, UTC)
    assert row["status"] == "completed"
    assert row["end_reason"] == "client"
    assert (row["customer_id"], row["property_id"], row["device_type"]) == (
        "cust_12345",
        "prop_villa_001",
        "Meta Quest 3",
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (1728234567, 1728234890),
        (1728234567.25, "1728234890.25"),
        ("1728234567000", 1728234890000),
        ("2024-10-06T17:09:27Z", "2024-10-06T19:14:50+02:00"),
    ],
    ids=["int", "float-and-string", "milliseconds", "iso8601"],
)
async def test_timestamps_are_accepted_in_every_documented_form(
    client: httpx.AsyncClient, start: object, end: object
) -> None:
    response = await client.post(COMPLETE, json={"session_start": start, "session_end": end})

    assert response.status_code == 201, response.text
    assert response.json()["duration_seconds"] == 323


async def test_minimal_session_with_empty_optional_fields_is_accepted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post(
        COMPLETE,
        json={
            "session_start": "1727653800",
            "session_end": "1727654100",
            "customer_id": "",
            "property_id": " ",
            "device_type": "",
        },
    )

    assert response.status_code == 201
    row = await db.fetchrow(
        "SELECT customer_id, property_id, device_type FROM vr_sessions WHERE id = $1",
        uuid.UUID(response.json()["session_id"]),
    )
    assert tuple(row) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("session_start", "yesterday", "Unix timestamp"),
        ("session_start", "NaN", "Unix timestamp"),
        ("session_start", True, "boolean"),
        ("session_start", "31-Feb-2025, 2:30:00 pm", "day is out of range"),
        ("session_start", "02-Dec-2025, 13:30:00 pm", "12-hour clock"),
        ("session_start", "02-Dez-2025, 2:30:00 pm", "unknown month"),
        ("session_start", "2025.13.14-18.22.31", "month must be in 1..12"),
        ("session_start", 946684799, "before 2000"),
        ("session_end", time.time() + 2 * 86_400, "in the future"),
        ("session_end", 1e300, "out of range"),
    ],
)
async def test_implausible_timestamps_are_422_naming_the_field(
    client: httpx.AsyncClient, field: str, value: object, reason: str
) -> None:
    body = {"session_start": 1728234567, "session_end": 1728234890, field: value}

    response = await client.post(COMPLETE, json=body)

    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(p["loc"] == ["body", field] and reason in p["msg"] for p in problems), problems


async def test_end_before_start_is_422_naming_session_end(client: httpx.AsyncClient) -> None:
    response = await client.post(
        COMPLETE, json={"session_start": 1728234890, "session_end": 1728234567}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "session_end"]


async def test_missing_session_start_is_422_in_fastapi_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(COMPLETE, json={"session_end": 1728234890})

    assert response.status_code == 422
    assert response.json()["detail"][0] == {
        "type": "missing",
        "loc": ["body", "session_start"],
        "msg": "Field required",
    }


async def test_start_returns_201_with_the_contract_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        START, json={"session_start": 1728234567.89, "customer_id": "cust_12345"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "Session started successfully"
    assert body["session_id"] == str(uuid.UUID(body["session_id"]))
    stored = await client.get(f"/api/v1/unreal/session/{body['session_id']}/status")
    assert stored.json()["customer_id"] == "cust_12345"


async def test_an_fguid_comes_back_as_an_fguid_in_every_answer(
    client: httpx.AsyncClient,
) -> None:
    guid = fguid()
    canonical = str(uuid.UUID(hex=guid))

    started = await start_session(client, session_id=guid)
    status = await client.get(status_url(guid))
    beat = await client.post(f"/api/v1/unreal/session/{guid}/heartbeat")
    ended = await client.post(END, json={"session_id": guid, "session_end": time.time()})
    by_uuid = await client.get(status_url(canonical))
    detail = await client.get(f"/api/v1/sessions/{guid}")

    assert started == guid
    assert status.status_code == 200
    assert [status.json()["session_id"], beat.json()["session_id"]] == [guid, guid]
    assert ended.json()["session_id"] == guid
    # Asked for by its UUID spelling, it is answered that way; the analytics show both.
    assert by_uuid.json()["session_id"] == canonical
    assert detail.json()["session"]["id"] == canonical
    assert detail.json()["session"]["client_session_id"] == guid


async def test_a_complete_session_with_an_fguid_answers_it(client: httpx.AsyncClient) -> None:
    guid = fguid().lower()

    response = await client.post(
        COMPLETE,
        json={"session_id": guid, "session_start": time.time() - 60, "session_end": time.time()},
    )

    assert response.status_code == 201, response.text
    assert response.json()["session_id"] == guid


async def test_retried_start_returns_the_same_session_and_stores_one_row(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = {"session_id": fguid(), "session_start": time.time(), "customer_id": "cust_retry"}

    first = await client.post(START, json=body)
    second = await client.post(START, json=body)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    count = await db.fetchval(
        "SELECT count(*) FROM vr_sessions WHERE id = $1", uuid.UUID(body["session_id"])
    )
    assert count == 1


async def test_reusing_a_session_id_for_another_customer_is_409(client: httpx.AsyncClient) -> None:
    guid = fguid()
    await start_session(client, session_id=guid, customer_id="cust_a")

    response = await client.post(
        START, json={"session_id": guid, "session_start": time.time(), "customer_id": "cust_b"}
    )

    assert response.status_code == 409
    assert "customer_id" in response.json()["detail"]


async def test_idempotency_key_makes_a_start_without_session_id_retry_safe(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": f"tour-{uuid.uuid4()}"}
    body = {"session_start": time.time(), "property_id": "prop_1"}

    first = await client.post(START, json=body, headers=headers)
    second = await client.post(START, json=body, headers=headers)
    other = await client.post(START, json=body)

    assert first.json()["session_id"] == second.json()["session_id"]
    assert other.json()["session_id"] != first.json()["session_id"]


async def test_retried_complete_session_returns_the_same_result(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    body = {"session_id": fguid(), "session_start": 1728234567, "session_end": 1728234890}

    first = await client.post(COMPLETE, json=body)
    second = await client.post(COMPLETE, json=body)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    count = await db.fetchval(
        "SELECT count(*) FROM vr_sessions WHERE id = $1", uuid.UUID(body["session_id"])
    )
    assert count == 1


async def test_end_returns_the_duration_and_completes_the_session(
    client: httpx.AsyncClient,
) -> None:
    session_id = await start_session(client, session_start=1728234567.89)

    response = await client.post(END, json={"session_id": session_id, "session_end": 1728234890.45})

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "message": "Session ended successfully",
        "session_id": session_id,
        "duration_seconds": 323,
    }
    status = (await client.get(status_url(session_id))).json()
    assert status["status"] == "completed"
    assert status["end_reason"] == "client"
    assert status["duration_so_far"] is None
    assert status["ended_at"] == "2024-10-06T17:14:50.450000+00:00"


async def test_ending_twice_returns_the_first_result(client: httpx.AsyncClient) -> None:
    session_id = await start_session(client, session_start=1728234567)
    first = await client.post(END, json={"session_id": session_id, "session_end": 1728234890})

    again = await client.post(END, json={"session_id": session_id, "session_end": 1728234890})
    later = await client.post(END, json={"session_id": session_id, "session_end": 1728239999})

    assert first.json() == again.json() == later.json()
    assert later.json()["duration_seconds"] == 323


async def test_end_before_the_stored_start_is_422(client: httpx.AsyncClient) -> None:
    session_id = await start_session(client, session_start=1728234567)

    response = await client.post(END, json={"session_id": session_id, "session_end": 1728234000})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "session_end"]


async def test_ending_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        END, json={"session_id": str(uuid.uuid4()), "session_end": time.time()}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Session not found"}


async def test_status_of_an_active_session_reports_duration_so_far(
    client: httpx.AsyncClient,
) -> None:
    session_id = await start_session(
        client, session_start=time.time() - 60, customer_id="cust_1", device_type="Pico 4"
    )

    response = await client.get(status_url(session_id))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active"
    assert body["ended_at"] is None
    assert body["duration_seconds"] is None
    assert 59 <= body["duration_so_far"] < 3600
    assert (body["customer_id"], body["device_type"]) == ("cust_1", "Pico 4")


async def test_status_of_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(status_url(str(uuid.uuid4())))

    assert response.status_code == 404
    assert response.json() == {"detail": "Session not found"}


async def test_status_with_a_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(status_url("not-a-session"))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "session_id"]


async def test_heartbeat_records_last_seen_at(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    await db.execute(
        "UPDATE vr_sessions SET last_seen_at = now() - interval '10 minutes' WHERE id = $1",
        uuid.UUID(session_id),
    )

    response = await client.post(f"/api/v1/unreal/session/{session_id}/heartbeat")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["session_id"] == session_id
    stored = await db.fetchval(
        "SELECT last_seen_at FROM vr_sessions WHERE id = $1", uuid.UUID(session_id)
    )
    assert stored == datetime.fromisoformat(body["last_seen_at"])
    assert (datetime.now(UTC) - stored).total_seconds() < 60


async def test_heartbeat_for_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/api/v1/unreal/session/{uuid.uuid4()}/heartbeat")

    assert response.status_code == 404


async def test_start_with_client_clock_skew_is_corrected_by_sent_at(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    now = time.time()
    skew = 3 * 3600  # the headset's clock runs three hours behind

    session_id = await start_session(client, session_start=now - skew - 5, sent_at=now - skew)

    started_at = await db.fetchval(
        "SELECT started_at FROM vr_sessions WHERE id = $1", uuid.UUID(session_id)
    )
    assert abs(started_at.timestamp() - (now - 5)) < 30


async def test_nul_character_in_a_label_is_422_not_a_database_error(
    client: httpx.AsyncClient,
) -> None:
    """PostgreSQL text cannot hold NUL: it is refused at the edge, naming the field."""
    response = await client.post(
        START, json={"session_start": time.time(), "customer_id": "a\u0000b"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]


async def test_lone_surrogate_in_a_label_is_422_not_a_database_error(
    client: httpx.AsyncClient,
) -> None:
    body = '{"session_start": 1728234567, "customer_id": "cust \\ud83d"}'

    response = await client.post(START, content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert "surrogate" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "value", [10**400, "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
async def test_timestamps_beyond_the_calendar_are_422_not_500(
    client: httpx.AsyncClient, value: object
) -> None:
    response = await client.post(START, json={"session_start": value})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "session_start"]


async def test_complete_session_call_ends_a_session_opened_by_start(
    client: httpx.AsyncClient,
) -> None:
    guid = fguid()
    await start_session(client, session_id=guid, session_start=1728234567)

    response = await client.post(
        COMPLETE, json={"session_id": guid, "session_start": 1728234567, "session_end": 1728234867}
    )
    again = await client.post(
        COMPLETE, json={"session_id": guid, "session_start": 1728234567, "session_end": 1728239999}
    )

    assert response.status_code == 201
    assert response.json()["duration_seconds"] == 300
    assert again.json() == response.json()
    status = (await client.get(status_url(guid))).json()
    assert (status["status"], status["end_reason"]) == ("completed", "client")


async def test_legacy_complete_session_without_any_id_is_safe_to_retry(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """The original client sends neither a session id nor a key: its retry must not make a
    second session, while a different session is still a different one."""
    body = {"session_start": "1795000000", "session_end": "1795000323", "customer_id": "c_legacy"}

    first = await client.post(COMPLETE, json=body)
    retry = await client.post(COMPLETE, json=body)
    other = await client.post(COMPLETE, json={**body, "session_end": "1795000324"})

    assert first.json() == retry.json()
    assert other.json()["session_id"] != first.json()["session_id"]
    count = await db.fetchval("SELECT count(*) FROM vr_sessions WHERE customer_id = 'c_legacy'")
    assert count == 2


async def test_an_idempotency_key_names_different_sessions_on_different_endpoints(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}

    started = await client.post(START, json={"session_start": 1728234567}, headers=headers)
    completed = await client.post(
        COMPLETE, json={"session_start": 1728230000, "session_end": 1728230300}, headers=headers
    )
    status = (await client.get(status_url(started.json()["session_id"]))).json()

    assert completed.json()["session_id"] != started.json()["session_id"]
    assert status["status"] == "active"


async def test_a_later_call_fills_in_a_label_the_start_left_empty(
    client: httpx.AsyncClient,
) -> None:
    guid = fguid()
    await client.post(
        START, json={"session_id": guid, "session_start": 1728234567, "customer_id": ""}
    )

    response = await client.post(
        COMPLETE,
        json={
            "session_id": guid,
            "session_start": 1728234567,
            "session_end": 1728234867,
            "customer_id": "cust_12345",
        },
    )

    assert response.status_code == 201
    status = (await client.get(status_url(guid))).json()
    assert (status["customer_id"], status["status"]) == ("cust_12345", "completed")
