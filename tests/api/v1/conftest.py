"""Fixtures of the analytics tests: a project of their own per test module, with an ingest and
read key, served by the real app. Figures over a whole project are then not disturbed by other
modules' data; inside a module, tests keep apart by property, customer or period."""

import uuid
from collections.abc import AsyncIterator

import pytest

from app.services.access.keys import AccessService, Scope
from tests.api.v1.analytics_data import Tenant, january_tours, record
from tests.conftest import create_project_key, serve_app


@pytest.fixture(scope="module")
async def tenant(access: AccessService, database_dsn: str) -> AsyncIterator[Tenant]:
    """A fresh project per test module, and a client sending its ingest+read key."""
    project = await create_project_key(
        access, f"analytics {uuid.uuid4().hex[:8]}", frozenset({Scope.INGEST, Scope.READ})
    )
    async with serve_app(database_dsn, api_key=project.key) as tenant_client:
        yield Tenant(client=tenant_client, project_id=project.project_id, key=project.key)


@pytest.fixture(scope="module")
async def january(tenant: Tenant) -> None:
    """The hand-made January 2022 of analytics_data, recorded in the module's project."""
    for tour in january_tours():
        await record(tenant.client, tour)
