"""The dashboard in a real headless browser: Debian's chromium driven by Playwright, against a
live uvicorn serving a database of its own, seeded with synthetic tours through the real API.

The tests skip themselves (with the reason) where /usr/bin/chromium or the playwright package
is missing; .ci/run installs both."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.tours.generator import generate_tours, send_tours
from tests.browser.browsing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_SIZE,
    BrowserProblems,
    SeededDashboard,
)
from tests.conftest import REPO_ROOT, fresh_database
from tests.helpers import TEST_API_KEY, create_key
from tests.live_server import LiveServer, live_uvicorn

ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "dashboard"
SEED = 11
CUSTOMERS = 12
PROPERTIES = 3
TOUR_DAYS = 14


@pytest.fixture(scope="module")
async def live_dashboard_server(
    server_dsn: str, tmp_path_factory: Any
) -> AsyncIterator[LiveServer]:
    """`uvicorn app.main:app` on a free loopback port, with a fresh database of its own (the
    figures must be those of the seeded tours alone)."""
    log_path = tmp_path_factory.mktemp("dashboard") / "uvicorn.log"
    async with (
        fresh_database(server_dsn, prefix="nexero_browser") as dsn,
        live_uvicorn(
            dsn,
            log_path,
            RATE_LIMIT_ENABLED="false",
            ANALYTICS_PAGE_SIZE_DEFAULT=str(PAGE_SIZE),
            # One sweep at start-up, then none while the tests compare page and API.
            SESSION_SWEEP_INTERVAL_SECONDS="3600",
        ) as server,
    ):
        yield server


@pytest.fixture(scope="module")
async def seeded(live_dashboard_server: LiveServer) -> SeededDashboard:
    """The synthetic tours of a fixed seed over the last two weeks, sent through the ingestion
    API; a read-only key for the browser and an ingest-only one (which may not read)."""
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=TOUR_DAYS + 1)
    tours = generate_tours(
        seed=SEED,
        customers=CUSTOMERS,
        properties=PROPERTIES,
        start=datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC),
        days=TOUR_DAYS,
    )
    async with httpx.AsyncClient(
        base_url=live_dashboard_server.base_url,
        headers={"X-API-Key": TEST_API_KEY},
        timeout=30,
    ) as admin:
        await send_tours(admin, tours)
        reader = await create_key(admin, "read", name="dashboard browser test")
        ingester = await create_key(admin, "ingest", name="dashboard browser test (ingest)")
    return SeededDashboard(
        server=live_dashboard_server,
        read_key=reader["key"],
        ingest_key=ingester["key"],
        tours=tours,
        first_day=first_day,
        last_day=today,
    )


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's chromium (Playwright's own browser download cannot work here)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.fixture
async def page(browser: Any, browser_problems: BrowserProblems) -> AsyncIterator[Any]:
    """A fresh tab (its own sessionStorage) that fails the test on any console error or
    script exception: that is how a Content-Security-Policy violation shows itself."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = await context.new_page()
    tab.set_default_timeout(15_000)
    tab.on(
        "console",
        lambda message: (
            browser_problems.record(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    tab.on("pageerror", lambda error: browser_problems.record(f"page error: {error}"))
    try:
        yield tab
    finally:
        await context.close()
    assert browser_problems.messages == [], "\n".join(browser_problems.messages)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots land here (a CI artifact; not committed)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR
