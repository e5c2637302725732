"""Never lose a tour to its start (docs/ingestion.md): events for a session the project does not
have (yet) are answered 404, as the contract says, and kept; the session, once created, takes
them; a retry of the batch after the start stores nothing twice; what waits is visible, bounded
and forgotten after its retention."""

import time
import uuid

import asyncpg
import httpx

from app.services.access.keys import AccessService
from app.services.ingestion.records import purge_unclaimed
from tests.conftest import create_project_key, make_settings, pool_on, serve_app
from tests.helpers import BATCH, EVENT, START, event


def events_of(count: int, *, at: float) -> list[dict]:
    return [
        event(
            "room_view",
            at=at + step,
            event_data={"room_name": f"Room {step}"},
            event_id=str(uuid.uuid4()),
        )
        for step in range(count)
    ]


async def test_a_batch_before_its_start_is_kept_and_taken_by_the_session(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = str(uuid.uuid4())
    started = time.time() - 60
    batch = {"session_id": session_id, "events": events_of(3, at=started + 1)}

    early = await client.post(BATCH, json=batch)
    waiting = (await client.get("/api/v1/unclaimed")).json()
    await client.post(START, json={"session_id": session_id, "session_start": started})
    retried = await client.post(BATCH, json=batch)

    assert early.status_code == 404
    assert early.json() == {"detail": "Session not found"}
    assert {"session_id": session_id, "events": 3} in [
        {key: group[key] for key in ("session_id", "events")} for group in waiting["events"]
    ]
    assert retried.status_code == 202
    assert len(retried.json()["duplicates"]) == 3
    stored = await db.fetchval(
        "SELECT count(*) FROM tracking_events WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert stored == 3
    assert (
        await db.fetchval(
            "SELECT count(*) FROM pending_events WHERE session_id = $1", uuid.UUID(session_id)
        )
        == 0
    )


async def test_a_single_event_before_its_start_is_kept_too(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = str(uuid.uuid4())
    started = time.time() - 30

    early = await client.post(EVENT, json={"session_id": session_id, **events_of(1, at=started)[0]})
    await client.post(START, json={"session_id": session_id, "session_start": started})

    assert early.status_code == 404
    detail = (await client.get(f"/api/v1/sessions/{session_id}")).json()
    assert detail["events_total"] == 1


async def test_the_events_a_project_keeps_waiting_are_bounded(
    database_dsn: str, access: AccessService
) -> None:
    # A project of its own: the shared one keeps what other tests left waiting.
    owner = await create_project_key(access, "pending cap")
    async with serve_app(
        database_dsn, api_key=owner.key, PENDING_EVENTS_MAX_PER_PROJECT=3
    ) as client:
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        now = time.time()
        await client.post(BATCH, json={"session_id": first, "events": events_of(3, at=now)})
        await client.post(BATCH, json={"session_id": second, "events": events_of(1, at=now)})
        await client.post(START, json={"session_id": first, "session_start": now - 1})
        await client.post(START, json={"session_id": second, "session_start": now - 1})
        at_the_limit = (await client.get(f"/api/v1/sessions/{first}")).json()
        past_it = (await client.get(f"/api/v1/sessions/{second}")).json()

    assert (at_the_limit["events_total"], past_it["events_total"]) == (3, 0)


async def test_what_no_session_claims_is_forgotten_after_its_retention(
    database_dsn: str, client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = str(uuid.uuid4())
    await client.post(
        BATCH, json={"session_id": session_id, "events": events_of(2, at=time.time())}
    )
    await db.execute(
        "UPDATE pending_events SET received_at = now() - interval '73 hours' WHERE session_id = $1",
        uuid.UUID(session_id),
    )
    async with pool_on(database_dsn) as database:
        _, events = await purge_unclaimed(database, make_settings(database_dsn))

    assert events >= 2
    assert (
        await db.fetchval(
            "SELECT count(*) FROM pending_events WHERE session_id = $1", uuid.UUID(session_id)
        )
        == 0
    )
