"""The original Unreal client, unchanged (docs/unreal-client.md): its view, POI and unit
selection records on POST /api/v1/unreal/session are kept as sent and answered 201; its session
summary (an FGuid and local human times) claims the records its sender sent during the tour,
which become the session's events, laid out on its timeline; what cannot be recognised is a
422 kept in rejected_events; nothing is stored twice."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import httpx
import pytest

from app.services.access.keys import AccessService
from tests.api.v1.analytics_data import SESSIONS, Tenant, get_ok
from tests.conftest import create_project_key, serve_app
from tests.helpers import COMPLETE

INDIA = timezone(timedelta(hours=5, minutes=30))
GARBAGE_FIRST = {"View": "", "TotalDuration": "1,77,50,078:30:03"}


def human(moment: datetime) -> str:
    """The headset's local time as the original client writes it: 02-Dec-2025, 2:30:00 pm."""
    local = moment.astimezone(INDIA)
    hour = local.hour % 12 or 12
    return (
        f"{local.day:02d}-{local.strftime('%b')}-{local.year}, "
        f"{hour}:{local:%M:%S} {'pm' if local.hour >= 12 else 'am'}"
    )


def view(name: str, seconds: int) -> dict[str, str]:
    return {"View": name, "TotalDuration": f"{seconds // 60}:{seconds % 60:02d}"}


def summary(*, seconds: int, ended: datetime | None = None, guid: str | None = None) -> dict:
    end = (ended or datetime.now(UTC)).replace(microsecond=0)
    return {
        "session_id": guid or uuid.uuid4().hex.upper(),
        "session_start": human(end - timedelta(seconds=seconds)),
        "session_end": human(end),
        "duration": f"{seconds // 60}:{seconds % 60:02d}",
    }


@dataclass(frozen=True)
class Headset(Tenant):
    """A build's key (its sessions labelled with its property), and its project's admin key."""

    admin_key: str = ""
    dsn: str = ""

    async def another_key(self) -> str:
        async with serve_app(self.dsn, api_key=self.admin_key) as admin:
            return await labelled_key(admin)


async def labelled_key(admin: httpx.AsyncClient) -> str:
    created = await admin.post(
        "/api/v1/admin/keys",
        json={
            "name": "Quest build, Skyline Towers",
            "scopes": ["ingest", "read"],
            "default_labels": {"property_id": "skyline", "device_type": "Meta Quest 3"},
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["key"]


@pytest.fixture
async def headset(access: AccessService, database_dsn: str) -> AsyncIterator[Headset]:
    project = await create_project_key(access, f"original {uuid.uuid4().hex[:8]}")
    async with serve_app(database_dsn, api_key=project.key) as admin:
        key = await labelled_key(admin)
    async with serve_app(database_dsn, api_key=key) as client:
        yield Headset(
            client=client,
            project_id=project.project_id,
            key=key,
            admin_key=project.key,
            dsn=database_dsn,
        )


async def send(client: httpx.AsyncClient, *bodies: dict[str, Any]) -> list[dict]:
    answers = []
    for body in bodies:
        response = await client.post(COMPLETE, json=body)
        assert response.status_code == 201, response.text
        answers.append(response.json())
    return answers


async def test_each_record_is_answered_201_and_waits_for_its_summary(headset: Headset) -> None:
    answers = await send(
        headset.client,
        GARBAGE_FIRST,
        view("Home", 4),
        {"POI": "Gym", "POI_Source": "Floating", "Parent": "Amenities", "POI_Duration": "0:01"},
        {"POI": "", "Source": "Floating", "Parent": "Location"},
        {"Name": "Unit 7C", "Sqft": "1250", "Type": "2BHK", "Datetime": "02-Dec-2025"},
    )

    assert [answer["record"] for answer in answers] == [
        "view",
        "view",
        "poi",
        "poi",
        "unit_selection",
    ]
    assert {answer["session_id"] for answer in answers} == {None}
    waiting = await get_ok(headset.client, "/api/v1/unclaimed")
    assert waiting["records_total"] == 5
    assert {(group["event_type"], group["records"]) for group in waiting["records"]} == {
        ("View", 2),
        ("POI", 2),
        ("UnitSelection", 1),
    }


async def test_the_summary_claims_the_tour_with_its_views_pois_and_durations(
    headset: Headset,
) -> None:
    client = headset.client
    await send(
        client,
        GARBAGE_FIRST,
        view("Home", 4),
        {"POI": "Gym", "POI_Source": "Floating", "Parent": "Amenities", "POI_Duration": "0:01"},
        view("Amenities", 6),
        {"Name": "Unit 7C", "Sqft": "1250", "Type": "2BHK", "Datetime": "02-Dec-2025"},
        view("Location", 3),
    )
    tour = summary(seconds=14)

    [answer] = await send(client, tour)

    assert (answer["session_id"], answer["duration_seconds"]) == (tour["session_id"], 14)
    detail = await get_ok(client, f"{SESSIONS}/{tour['session_id']}")
    assert {room["room"]: room["dwell_seconds"] for room in detail["rooms"]} == {
        "Amenities": 6.0,
        "Home": 4.0,
        "Location": 3.0,
    }
    assert detail["session"]["property_id"] == "skyline"
    assert detail["events_not_understood"] == 0
    report = await get_ok(client, "/api/v1/properties/skyline/report")
    assert report["pois"]["items"] == [{"name": "Gym", "count": 1, "sessions": 1, "seconds": 1.0}]
    assert report["unit_selections"]["items"][0]["name"] == "Unit 7C"
    assert (await get_ok(client, "/api/v1/unclaimed"))["records_total"] == 0


async def test_a_repeated_summary_claims_nothing_twice(
    headset: Headset, db: asyncpg.Connection
) -> None:
    client = headset.client
    await send(client, view("Home", 4), view("Pool", 5))
    tour = summary(seconds=10)

    await send(client, tour, tour)

    events = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(tour["session_id"])
    )
    assert events == 2


async def test_a_late_retry_of_the_summary_still_claims_its_tour(headset: Headset) -> None:
    """Sent again a minute after the tour ended: its end is a minute old, which still tells
    its offset (to the quarter hour), and its records are those received in its time."""
    client = headset.client
    await send(client, view("Gallery", 30))
    ended = datetime.now(UTC)
    tour = summary(seconds=40, ended=ended + timedelta(seconds=1))

    [answer] = await send(client, tour)

    assert answer["duration_seconds"] == 40
    detail = await get_ok(client, f"{SESSIONS}/{tour['session_id']}")
    assert detail["rooms"] == [{"room": "Gallery", "dwell_seconds": 30.0, "visits": 1}]


async def test_a_record_sent_twice_in_a_row_is_a_retry_kept_once(headset: Headset) -> None:
    first, again, other, back = await send(
        headset.client, view("Spa", 9), view("Spa", 9), view("Roof", 2), view("Spa", 9)
    )

    assert [first["duplicate"], again["duplicate"], other["duplicate"], back["duplicate"]] == [
        False,
        True,
        False,
        False,
    ]
    assert (await get_ok(headset.client, "/api/v1/unclaimed"))["records_total"] == 3


async def test_a_record_after_its_summary_joins_its_tour_at_once(headset: Headset) -> None:
    """The client may post the last view after the summary: it is still within the tour."""
    client = headset.client
    await send(client, view("Lobby", 5))
    tour = summary(seconds=12)
    await send(client, tour)

    [late] = await send(client, view("Terrace", 7))

    assert late["session_id"] == tour["session_id"]
    detail = await get_ok(client, f"{SESSIONS}/{tour['session_id']}")
    assert {room["room"]: room["dwell_seconds"] for room in detail["rooms"]} == {
        "Lobby": 5.0,
        "Terrace": 7.0,
    }


async def test_each_sender_s_summary_claims_only_its_own_records(headset: Headset) -> None:
    """Two headsets at once, each with its own key: interleaved records stay apart."""
    second_key = await headset.another_key()
    async with (
        serve_app(headset.dsn, api_key=headset.key) as first,
        serve_app(headset.dsn, api_key=second_key) as second,
    ):
        await send(first, view("Kitchen", 3))
        await send(second, view("Garage", 8))
        await send(first, view("Den", 2))
        first_tour, second_tour = summary(seconds=8), summary(seconds=9)
        await send(second, second_tour)
        await send(first, first_tour)

        mine = await get_ok(first, f"{SESSIONS}/{first_tour['session_id']}")
        theirs = await get_ok(first, f"{SESSIONS}/{second_tour['session_id']}")

    assert [room["room"] for room in mine["rooms"]] == ["Kitchen", "Den"]
    assert [room["room"] for room in theirs["rooms"]] == ["Garage"]


async def test_a_record_with_its_session_id_joins_that_session(headset: Headset) -> None:
    client = headset.client
    guid = uuid.uuid4().hex.upper()
    await send(client, {**view("Foyer", 4), "session_id": guid})
    tour = summary(seconds=5, guid=guid)

    await send(client, tour)

    detail = await get_ok(client, f"{SESSIONS}/{guid}")
    assert detail["rooms"] == [{"room": "Foyer", "dwell_seconds": 4.0, "visits": 1}]


@pytest.mark.parametrize(
    "body",
    [
        {"Foo": "bar"},
        {"session_start": "02-Dec-2025, 2:30:00 pm"},
        {"session_start": "yesterday", "session_end": "today"},
    ],
)
async def test_a_body_it_cannot_recognise_is_a_422_kept_in_rejected_events(
    headset: Headset, db: asyncpg.Connection, body: dict
) -> None:
    marker = uuid.uuid4().hex
    response = await headset.client.post(COMPLETE, json={**body, "marker": marker})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"
    kept = await db.fetchrow(
        "SELECT session_id, reason, payload FROM rejected_events "
        "WHERE project_id = $1 AND payload LIKE '%' || $2 || '%'",
        headset.project_id,
        marker,
    )
    assert kept is not None and kept["session_id"] is None
    assert "session_end" in kept["reason"]


async def test_a_record_too_large_to_store_is_refused(headset: Headset) -> None:
    response = await headset.client.post(
        COMPLETE, json={"View": "x" * 20_000, "TotalDuration": "0:01"}
    )

    assert response.status_code == 422
    assert "bytes" in response.json()["detail"][0]["msg"]


async def test_records_of_a_keyed_build_do_not_need_a_key_of_their_own(
    headset: Headset, anonymous: httpx.AsyncClient
) -> None:
    """Without keyless writes turned on, a record without a key is refused like any request."""
    response = await anonymous.post(COMPLETE, json=view("Home", 4))

    assert response.status_code == 401
