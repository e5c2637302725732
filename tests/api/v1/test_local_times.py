"""Local times (docs/ingestion.md): times without a UTC offset (Unreal's FDateTime::ToString(),
the original client's "02-Dec-2025, 2:30:00 pm", ISO 8601 without an offset) are read with the
offset the request reveals, else in the project's time zone; the session says which rule."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from app.services.access.keys import AccessService
from tests.api.v1.analytics_data import SESSIONS, Tenant, get_ok
from tests.conftest import create_project_key, serve_app
from tests.helpers import BATCH, COMPLETE, END, START

PROJECT = "/api/v1/admin/project"
INDIA = timezone(timedelta(hours=5, minutes=30))


def human(moment: datetime) -> str:
    """As the original client writes a time: 02-Dec-2025, 2:30:00 pm."""
    hour = moment.hour % 12 or 12
    return (
        f"{moment.day:02d}-{moment.strftime('%b')}-{moment.year}, "
        f"{hour}:{moment:%M:%S} {'pm' if moment.hour >= 12 else 'am'}"
    )


def unreal(moment: datetime) -> str:
    """As FDateTime::ToString() writes a time: 2025.10.14-18.22.31."""
    return moment.strftime("%Y.%m.%d-%H.%M.%S")


def whole_seconds_ago(seconds: float) -> datetime:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0)


@pytest.fixture
async def project(access: AccessService, database_dsn: str) -> AsyncIterator[Tenant]:
    created = await create_project_key(access, f"local times {uuid.uuid4().hex[:8]}")
    async with serve_app(database_dsn, api_key=created.key) as client:
        yield Tenant(client=client, project_id=created.project_id, key=created.key)


async def session_of(client: httpx.AsyncClient, session_id: str) -> dict:
    return (await get_ok(client, f"{SESSIONS}/{session_id}"))["session"]


async def test_a_summary_in_local_human_time_reveals_its_offset(project: Tenant) -> None:
    """The original client's summary: an FGuid, the headset's local time (UTC+05:30 here) for
    humans, and its end is when it is sent."""
    end = whole_seconds_ago(1)
    start = end - timedelta(seconds=14)
    guid = uuid.uuid4().hex.upper()

    response = await project.client.post(
        COMPLETE,
        json={
            "session_id": guid,
            "session_start": human(start.astimezone(INDIA)),
            "session_end": human(end.astimezone(INDIA)),
            "duration": "0:14",
        },
    )

    assert response.status_code == 201, response.text
    assert response.json()["session_id"] == guid
    assert response.json()["duration_seconds"] == 14
    session = await session_of(project.client, guid)
    assert session["started_at"] == start.isoformat()
    assert session["local_time_rule"] == "session_end"


async def test_a_local_sent_at_reveals_the_offset_of_a_batch(project: Tenant) -> None:
    tokyo = timezone(timedelta(hours=9))
    start = whole_seconds_ago(120)
    session_id = str(uuid.uuid4())
    await project.client.post(
        START, json={"session_id": session_id, "session_start": start.timestamp()}
    )
    event_at = start + timedelta(seconds=30)
    response = await project.client.post(
        BATCH,
        json={
            "session_id": session_id,
            "sent_at": unreal(datetime.now(UTC).astimezone(tokyo)),
            "events": [
                {
                    "event_type": "room_view",
                    "timestamp": unreal(event_at.astimezone(tokyo)),
                    "event_data": {"room_name": "Genkan"},
                }
            ],
        },
    )

    assert response.json()["processed"] == 1, response.text
    events = await get_ok(project.client, f"{SESSIONS}/{session_id}/events")
    assert events["events"][0]["timestamp"] == event_at.isoformat()


async def test_without_a_revealing_time_the_project_time_zone_reads_local_times(
    project: Tenant,
) -> None:
    before = await project.client.post(
        START, json={"session_start": unreal(datetime(2025, 6, 1, 12))}
    )
    await project.client.patch(PROJECT, json={"time_zone": "Asia/Kolkata"})
    after = await project.client.post(START, json={"session_start": "2025-06-01T12:00:00"})

    in_utc = await session_of(project.client, before.json()["session_id"])
    in_india = await session_of(project.client, after.json()["session_id"])
    assert (in_utc["started_at"], in_utc["local_time_rule"]) == (
        "2025-06-01T12:00:00+00:00",
        "project_time_zone",
    )
    assert in_india["started_at"] == "2025-06-01T06:30:00+00:00"


async def test_a_time_zone_with_summer_time_reads_each_date_with_its_own_offset(
    project: Tenant,
) -> None:
    await project.client.patch(PROJECT, json={"time_zone": "Europe/Paris"})
    winter = await project.client.post(START, json={"session_start": "2025.01.15-10.00.00"})
    summer = await project.client.post(START, json={"session_start": "2025.07.15-10.00.00"})

    assert (await session_of(project.client, winter.json()["session_id"]))["started_at"] == (
        "2025-01-15T09:00:00+00:00"
    )
    assert (await session_of(project.client, summer.json()["session_id"]))["started_at"] == (
        "2025-07-15T08:00:00+00:00"
    )


async def test_an_end_far_from_now_reveals_nothing_and_the_time_zone_reads_it(
    project: Tenant,
) -> None:
    """A summary retried a day late cannot tell its offset (no real clock is 24 h off)."""
    start = datetime(2025, 3, 1, 10, 0, 0)
    response = await project.client.post(
        COMPLETE,
        json={"session_start": unreal(start), "session_end": unreal(start + timedelta(minutes=5))},
    )

    session = await session_of(project.client, response.json()["session_id"])
    assert (session["started_at"], session["local_time_rule"]) == (
        "2025-03-01T10:00:00+00:00",
        "project_time_zone",
    )


async def test_an_end_in_local_time_of_a_started_session_is_read_the_same_way(
    project: Tenant,
) -> None:
    start = whole_seconds_ago(300)
    session_id = str(uuid.uuid4())
    await project.client.post(
        START, json={"session_id": session_id, "session_start": start.isoformat()}
    )
    end = whole_seconds_ago(0)

    response = await project.client.post(
        END, json={"session_id": session_id, "session_end": human(end.astimezone(INDIA))}
    )

    assert response.status_code == 200, response.text
    assert (await session_of(project.client, session_id))["ended_at"] == end.isoformat()


@pytest.mark.parametrize("time_zone", ["Mars/Olympus_Mons", "", "UTC+5", "../../etc/passwd"])
async def test_an_unknown_time_zone_is_refused(project: Tenant, time_zone: str) -> None:
    response = await project.client.patch(PROJECT, json={"time_zone": time_zone})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "time_zone"]
    assert (await get_ok(project.client, PROJECT))["time_zone"] == "UTC"


async def test_a_time_zone_change_is_audited(project: Tenant) -> None:
    await project.client.patch(PROJECT, json={"time_zone": "America/Sao_Paulo"})

    audit = await get_ok(project.client, "/api/v1/admin/audit")
    entry = next(e for e in audit["entries"] if e["action"] == "project.time_zone_set")
    assert entry["details"] == {"from": "UTC", "to": "America/Sao_Paulo"}
