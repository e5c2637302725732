"""Revocations through the admin API never lock a project's operators out: a key cannot revoke
itself, nor the project's last admin key (409 with the reason), also when two admin keys revoke
each other at once. The CLI, which has the database's own credentials, still can."""

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from app.services.access.keys import AccessService, Scope
from tests.conftest import ProjectKey, create_project_key
from tests.helpers import KEYS, create_key, key_header

PROJECT = "/api/v1/admin/project"
AUDIT = "/api/v1/admin/audit"
LOCK_WAIT_TIMEOUT_SECONDS = 10


def revoke_url(key_id: str | uuid.UUID) -> str:
    return f"{KEYS}/{key_id}/revoke"


@pytest.fixture
async def project(access: AccessService) -> ProjectKey:
    """A project of its own, with one key holding every scope (its only admin key)."""
    return await create_project_key(access, f"revocations {uuid.uuid4().hex[:8]}")


async def revocations_of(client: httpx.AsyncClient, key: str, key_id: str) -> list[dict]:
    audit = await client.get(AUDIT, headers=key_header(key))
    return [
        entry
        for entry in audit.json()["entries"]
        if entry["action"] == "key.revoked" and entry["target"] == key_id
    ]


async def test_a_key_cannot_revoke_itself_and_keeps_working(
    client: httpx.AsyncClient, project: ProjectKey
) -> None:
    await create_key(client, "admin", name="second admin", **key_header(project.key))

    refused = await client.post(revoke_url(project.key_id), headers=key_header(project.key))
    after = await client.get(PROJECT, headers=key_header(project.key))

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "An API key cannot revoke itself: revoke it with another admin key of the "
        "project, or with the CLI (python -m app keys revoke)"
    }
    assert after.status_code == 200
    assert await revocations_of(client, project.key, str(project.key_id)) == []


async def test_another_admin_key_may_revoke_a_key_that_is_not_the_last_admin(
    client: httpx.AsyncClient, project: ProjectKey
) -> None:
    second = await create_key(client, "admin", name="second admin", **key_header(project.key))

    revoked = await client.post(revoke_url(second["id"]), headers=key_header(project.key))

    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None


async def test_the_projects_last_admin_key_cannot_be_revoked_by_a_key_revoked_meanwhile(
    client: httpx.AsyncClient, access: AccessService, project: ProjectKey
) -> None:
    """The CLI revoked the second admin key, which this worker still trusts for up to
    API_KEY_CACHE_SECONDS: it must not take the last admin key with it."""
    second = await create_key(client, "admin", name="second admin", **key_header(project.key))
    assert (await client.get(PROJECT, headers=key_header(second["key"]))).status_code == 200
    await access.revoke_key(uuid.UUID(second["id"]), project_id=None, actor="cli (tests)")

    refused = await client.post(revoke_url(project.key_id), headers=key_header(second["key"]))
    still_admin = await client.get(PROJECT, headers=key_header(project.key))

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This is the project's last admin key: create another admin key first, or "
        "revoke it with the CLI (python -m app keys revoke)"
    }
    assert still_admin.status_code == 200


async def test_a_key_without_the_admin_scope_may_be_revoked_by_the_last_admin_key(
    client: httpx.AsyncClient, project: ProjectKey
) -> None:
    ingest = await create_key(client, "ingest", **key_header(project.key))

    revoked = await client.post(revoke_url(ingest["id"]), headers=key_header(project.key))

    assert revoked.status_code == 200, revoked.text


async def waiting_on_locks(db: asyncpg.Connection, count: int) -> bool:
    """True once `count` of the app's statements wait for a lock; False after a while (as
    when nothing takes the lock at all)."""
    try:
        async with asyncio.timeout(LOCK_WAIT_TIMEOUT_SECONDS):
            while True:
                waiting = await db.fetchval(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'nexero' AND wait_event_type = 'Lock'
                      AND datname = current_database()
                    """
                )
                if waiting >= count:
                    return True
                await asyncio.sleep(0.02)
    except TimeoutError:
        return False


async def test_two_admin_keys_revoking_each_other_at_once_leave_one_admin_key(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_dsn: str, project: ProjectKey
) -> None:
    second = await create_key(client, "admin", name="second admin", **key_header(project.key))
    assert (await client.get(PROJECT, headers=key_header(second["key"]))).status_code == 200

    # Hold what a revocation locks first, so that both requests are under way at once.
    holder = await asyncpg.connect(database_dsn)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", project.project_id)
        answers = [
            asyncio.create_task(
                client.post(revoke_url(second["id"]), headers=key_header(project.key))
            ),
            asyncio.create_task(
                client.post(revoke_url(project.key_id), headers=key_header(second["key"]))
            ),
        ]
        both_waited = await waiting_on_locks(db, 2)
        await transaction.rollback()
        statuses = sorted(answer.status_code for answer in await asyncio.gather(*answers))
    finally:
        await holder.close()

    active_admins = await db.fetchval(
        """
        SELECT count(*) FROM api_keys
        WHERE project_id = $1 AND revoked_at IS NULL AND $2 = any(scopes)
        """,
        project.project_id,
        Scope.ADMIN.value,
    )
    assert both_waited
    assert statuses == [200, 409]
    assert active_admins == 1


async def test_the_cli_may_revoke_the_projects_last_admin_key(
    client: httpx.AsyncClient, access: AccessService, project: ProjectKey
) -> None:
    revoked = await access.revoke_key(project.key_id, project_id=None, actor="cli (tests)")

    assert revoked.revoked_at is not None
