"""Erasure sticks (docs/security.md, "Erasure"): after an admin erases a customer, writes for
that customer or its erased sessions are refused with 410 and counted, never stored, whatever
the client retries or flushes later; an admin can lift it, audited, and the project next door
is untouched."""

import time
import uuid

import asyncpg
import httpx

from app.domain.sessions import customer_reference
from app.services.access.keys import AccessService
from tests.conftest import create_project_key, serve_app
from tests.helpers import BATCH, COMPLETE, EVENT, START, event

ERASURES = "/api/v1/admin/erasures"


async def erased_tour(client: httpx.AsyncClient) -> tuple[str, str, dict]:
    """A customer with one tour of two events, then erased: its id, the session id, and the
    start body the headset would send again."""
    customer = f"cust-{uuid.uuid4().hex[:10]}"
    session_id = str(uuid.uuid4())
    start = {"session_id": session_id, "session_start": time.time() - 60, "customer_id": customer}
    assert (await client.post(START, json=start)).status_code == 201
    batch = {"session_id": session_id, "events": [event(at=time.time() - 50) for _ in range(2)]}
    assert (await client.post(BATCH, json=batch)).status_code == 202
    assert (await client.post(ERASURES, json={"customer_id": customer})).status_code == 200
    return customer, session_id, start


async def stored_rows(db: asyncpg.Connection, session_id: str) -> tuple[int, int, int]:
    session = uuid.UUID(session_id)
    return (
        await db.fetchval("SELECT count(*) FROM vr_sessions WHERE id = $1", session),
        await db.fetchval("SELECT count(*) FROM tracking_events WHERE session_id = $1", session),
        await db.fetchval("SELECT count(*) FROM pending_events WHERE session_id = $1", session),
    )


async def test_a_restarted_erased_session_and_its_flushed_cache_are_refused_and_counted(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    _, session_id, start = await erased_tour(client)
    flushed = {"session_id": session_id, "events": [event(at=time.time() - 40)]}

    cache = await client.post(BATCH, json=flushed)
    restart = await client.post(START, json=start)
    anonymous_restart = await client.post(
        START, json={"session_id": session_id, "session_start": start["session_start"]}
    )
    single = await client.post(EVENT, json={"session_id": session_id, **event()})
    record = await client.post(
        COMPLETE, json={"View": "Home", "TotalDuration": "0:04", "session_id": session_id}
    )

    assert [r.status_code for r in (cache, restart, anonymous_restart, single, record)] == [410] * 5
    assert "erased" in cache.json()["detail"]
    assert await stored_rows(db, session_id) == (0, 0, 0)
    listed = (await client.get(ERASURES)).json()["erasures"]
    [mine] = [entry for entry in listed if entry["refused_writes"] == 5]
    assert mine["sessions"] == 1 and mine["last_refused_at"] is not None


async def test_a_new_session_for_an_erased_customer_is_refused_whatever_its_id(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    customer, _, _ = await erased_tour(client)
    new_id = str(uuid.uuid4())

    start = await client.post(
        START, json={"session_id": new_id, "session_start": time.time(), "customer_id": customer}
    )
    summary = await client.post(
        COMPLETE,
        json={
            "session_start": time.time() - 30,
            "session_end": time.time(),
            "customer_id": f"  {customer}  ",
        },
    )
    someone_else = await client.post(
        START, json={"session_start": time.time(), "customer_id": f"{customer}-2"}
    )

    assert (start.status_code, summary.status_code, someone_else.status_code) == (410, 410, 201)
    assert await stored_rows(db, new_id) == (0, 0, 0)


async def test_an_existing_session_cannot_be_given_an_erased_customer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    customer, _, _ = await erased_tour(client)
    unlabelled = str(uuid.uuid4())
    await client.post(START, json={"session_id": unlabelled, "session_start": time.time()})

    labelled = await client.post(
        START,
        json={"session_id": unlabelled, "session_start": time.time(), "customer_id": customer},
    )

    assert labelled.status_code == 410
    assert (
        await db.fetchval(
            "SELECT customer_id FROM vr_sessions WHERE id = $1", uuid.UUID(unlabelled)
        )
        is None
    )


async def test_lifting_an_erasure_takes_writes_again_and_is_audited(
    client: httpx.AsyncClient,
) -> None:
    customer, session_id, start = await erased_tour(client)

    lifted = await client.post(f"{ERASURES}/lift", json={"customer_id": customer})
    again = await client.post(START, json=start)
    not_erased = await client.post(f"{ERASURES}/lift", json={"customer_id": customer})
    audit = (await client.get("/api/v1/admin/audit")).json()["entries"]

    assert lifted.status_code == 200
    assert lifted.json()["customer_reference"].startswith("sha256:")
    assert lifted.json()["sessions"] == 1
    assert again.status_code == 201
    assert not_erased.status_code == 404
    assert audit[0]["action"] == "customer.erasure_lifted"
    assert audit[0]["target"] == lifted.json()["customer_reference"]
    assert customer not in str(audit)


async def test_the_suppression_list_keeps_no_customer_id_and_another_project_is_untouched(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_dsn: str, access: AccessService
) -> None:
    customer, _, _ = await erased_tour(client)
    other = await create_project_key(access, f"erasure neighbour {uuid.uuid4().hex[:6]}")

    async with serve_app(database_dsn, api_key=other.key) as neighbour:
        elsewhere = await neighbour.post(
            START, json={"session_start": time.time(), "customer_id": customer}
        )

    assert elsewhere.status_code == 201
    assert (
        await db.fetchval(
            "SELECT count(*) FROM erased_customers AS e WHERE strpos(e::text, $1) > 0", customer
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM erased_customers WHERE customer_reference = $1",
            customer_reference(uuid.UUID("00000000-0000-0000-0000-000000000001"), customer),
        )
        == 1
    )
