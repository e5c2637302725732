"""The dashboard's files, without a browser (these run where chromium is missing too): served
without a key, under the page's Content-Security-Policy, revalidated on every load; the data
behind them is not."""

import re

import httpx
import pytest

from app.api.dashboard import DASHBOARD_DIR
from app.api.middleware import PAGE_CSP

SCRIPT_OR_STYLE = re.compile(r'(?:src|href)="(/dashboard/[^"]+)"')


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/", "/dashboard/js/app.js", "/dashboard/css/dashboard.css"]
)
async def test_files_are_served_without_a_key_under_the_page_policy(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    response = await anonymous.get(path)

    assert response.status_code == 200
    assert response.headers["content-security-policy"] == PAGE_CSP.decode()
    assert response.headers["cache-control"] == "no-cache"


async def test_the_page_names_only_files_that_exist_on_this_server(
    anonymous: httpx.AsyncClient,
) -> None:
    page = (await anonymous.get("/dashboard")).text
    linked = SCRIPT_OR_STYLE.findall(page)

    assert "/dashboard/vendor/chart.umd.min.js" in linked
    assert "/dashboard/js/app.js" in linked
    for path in linked:
        response = await anonymous.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] in {"text/javascript", "text/css"}
    # No inline script: the policy would refuse it.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None


async def test_every_module_the_scripts_import_is_served(anonymous: httpx.AsyncClient) -> None:
    imports = re.compile(r'^import .* from "(\./[^"]+|\.\./[^"]+)";$', re.MULTILINE)
    for script in sorted((DASHBOARD_DIR / "js").rglob("*.js")):
        for relative in imports.findall(script.read_text()):
            target = (script.parent / relative).resolve().relative_to(DASHBOARD_DIR)
            response = await anonymous.get(f"/dashboard/{target.as_posix()}")
            assert response.status_code == 200, f"{script.name} imports {relative}"


@pytest.mark.parametrize(
    "path", ["/dashboard/js/missing.js", "/dashboard/../app/config.py", "/dashboard/js"]
)
async def test_anything_else_under_dashboard_is_not_found(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    assert (await anonymous.get(path)).status_code == 404


async def test_the_data_still_needs_a_read_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(
        "/api/v1/overview", params={"from": "2025-03-01", "to": "2025-04-01"}
    )

    assert response.status_code == 401
