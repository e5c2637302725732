"""Driving the dashboard in the browser and reading what it shows: sign in, wait for a page
to render, read its cards, tables and charts; ask the API the same question."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from scripts.tours.generator import Tour
from tests.live_server import LiveServer

# The live server's page size (ANALYTICS_PAGE_SIZE_DEFAULT): small, so that the seeded sessions
# and leads take several pages.
PAGE_SIZE = 10
# Debian's chromium, headless, quiet: no sandbox (root in CI), no GPU, no calls home.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class SeededDashboard:
    """A live server holding a known set of tours, and a key that may only read them."""

    server: LiveServer
    read_key: str
    ingest_key: str
    tours: list[Tour]
    first_day: date
    last_day: date

    @property
    def period(self) -> dict[str, str]:
        """The dashboard's period covering every tour (from/through: whole UTC days)."""
        return {"from": self.first_day.isoformat(), "through": self.last_day.isoformat()}

    @property
    def api_period(self) -> dict[str, str]:
        """The same period as the API takes it: half-open [from, to)."""
        return {
            "from": self.first_day.isoformat(),
            "to": (self.last_day + timedelta(days=1)).isoformat(),
        }

    def url(self, fragment: str = "") -> str:
        return f"{self.server.base_url}/dashboard{fragment}"

    def reader(self) -> httpx.AsyncClient:
        """A client of the read API with the same key the browser uses."""
        return httpx.AsyncClient(
            base_url=self.server.base_url, headers={"X-API-Key": self.read_key}, timeout=30
        )


@dataclass
class BrowserProblems:
    """What a page complained about: script errors, CSP refusals, failed requests. A test that
    provokes an error on purpose allows it by a part of its text."""

    messages: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, text: str) -> None:
        self.allowed.append(text)

    def record(self, message: str) -> None:
        if not any(text in message for text in self.allowed):
            self.messages.append(message)


async def sign_in(
    page: Any, seeded: SeededDashboard, fragment: str, key: str | None = None
) -> None:
    """Open the dashboard at `fragment`, enter the key in its form, wait for the page."""
    await page.goto(seeded.url(fragment))
    await page.fill("[data-testid=key-input]", key or seeded.read_key)
    if key is None:
        await settle(page, lambda: page.click("[data-testid=key-submit]"))
    else:
        await page.click("[data-testid=key-submit]")


async def settle(page: Any, action: Callable[[], Awaitable[Any]]) -> None:
    """Do `action`, then wait until the page it leads to has rendered with its data."""
    before = int(await page.get_attribute("main", "data-render") or 0)
    await action()
    await page.wait_for_function(
        """before => {
            const main = document.querySelector("main");
            return Number(main.dataset.render) > before && main.dataset.state === "ready";
        }""",
        arg=before,
    )


async def texts(page: Any, selector: str) -> list[str]:
    return [text.strip() for text in await page.locator(selector).all_text_contents()]


async def text(page: Any, testid: str) -> str:
    return (await page.locator(f"[data-testid={testid}]").text_content() or "").strip()


async def table_rows(page: Any, testid: str, columns: list[str]) -> list[tuple[str, ...]]:
    """The cells of a table made by dom.js's table(), by column test id."""
    rows = []
    for row in await page.locator(f"[data-testid={testid}-row]").all():
        cells = []
        for column in columns:
            cell = row.locator(f"[data-testid={testid}-{column}]")
            cells.append((await cell.text_content() or "").strip())
        rows.append(tuple(cells))
    return rows


async def row_ids(page: Any, testid: str, attribute: str = "sessionId") -> list[str]:
    """A data attribute of each row of a table (the session id of each row, by default)."""
    return await page.locator(f"[data-testid={testid}-row]").evaluate_all(
        "(rows, attribute) => rows.map((row) => row.dataset[attribute])", attribute
    )


async def chart_data(page: Any, testid: str) -> dict[str, Any]:
    """What a Chart.js chart was given to draw: labels and each dataset's values."""
    await page.wait_for_selector(f"canvas[data-testid={testid}][data-ready=true]")
    return await page.evaluate(
        """testid => {
            const chart = Chart.getChart(document.querySelector(`canvas[data-testid=${testid}]`));
            return {
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((set) => ({label: set.label, data: set.data})),
            };
        }""",
        testid,
    )


async def wait_for_heatmap(page: Any, testid: str) -> dict[str, Any]:
    """The heatmap figure once its PNG is shown: image size, bytes and samples used."""
    await page.wait_for_selector(f"[data-testid={testid}][data-state=loaded]")
    image = page.locator(f"[data-testid={testid}-img]")
    await page.wait_for_function(
        "testid => document.querySelector(`[data-testid=${testid}-img]`).complete", arg=testid
    )
    return {
        "src": await image.get_attribute("src"),
        "width": await image.evaluate("image => image.naturalWidth"),
        "bytes": int(await image.get_attribute("data-bytes") or 0),
        "used": int(
            await page.locator(f"[data-testid={testid}-caption]").get_attribute("data-used") or -1
        ),
    }


async def screenshot(page: Any, artifacts_dir: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)


async def api(seeded: SeededDashboard, path: str, **params: Any) -> Any:
    """The read API's answer to the question a page asks, with the browser's key."""
    async with seeded.reader() as reader:
        response = await reader.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def fragment(path: str, period: dict[str, str], **params: str) -> str:
    query = "&".join(f"{name}={value}" for name, value in {**period, **params}.items())
    return f"#/{path}?{query}"


def tour_of(seeded: SeededDashboard, session_id: str) -> Any:
    return next(
        tour for tour in seeded.tours if uuid.UUID(tour.session_id) == uuid.UUID(session_id)
    )
