"""The key cache: a revocation in this worker is never undone by a lookup that began before it."""

import asyncio

import pytest

from app.errors import UnauthorizedError
from app.services.access.keys import AccessService, KeyVerifier, hash_key
from tests.conftest import create_project_key, pool_on


async def test_a_lookup_that_began_before_a_revocation_is_not_remembered(
    database_dsn: str, access: AccessService
) -> None:
    tenant = await create_project_key(access, "revocation race")
    # One connection, held by the test: the verifier's lookup must wait for it.
    async with pool_on(database_dsn) as database:
        verifier = KeyVerifier(database, cache_seconds=3600)
        async with database.connection():
            lookup = asyncio.create_task(verifier.authenticate(tenant.key))
            await asyncio.sleep(0.1)  # the lookup is now waiting for the connection
            verifier.forget(hash_key(tenant.key))  # a revocation served by this worker
        before_revocation = await lookup
        await access.revoke_key(tenant.key_id, project_id=tenant.project_id, actor="tests")

        with pytest.raises(UnauthorizedError):
            await verifier.authenticate(tenant.key)

    assert before_revocation.key_id == tenant.key_id
