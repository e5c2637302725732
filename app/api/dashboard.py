"""The browser dashboard: static files only (they hold no data, so no key is needed for them);
the page calls the public read API with the key its user enters (docs/dashboard.md)."""

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "dashboard"
# Revalidate on every load (a 304 when unchanged), so that after a deployment a browser never
# runs old scripts against the new API.
CACHE_CONTROL = "no-cache"


class DashboardFiles(StaticFiles):
    """The dashboard's scripts, styles and vendored chart library."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


router = APIRouter(include_in_schema=False)


# `/dashboard/` arrives here too (the trailing-slash middleware serves it as `/dashboard`), so
# the page names its files by absolute path, and no redirect is needed.
@router.api_route("/dashboard", methods=["GET", "HEAD"])
async def dashboard_page() -> FileResponse:
    """The single page; it routes by the URL's #fragment."""
    return FileResponse(DASHBOARD_DIR / "index.html", headers={"Cache-Control": CACHE_CONTROL})


router.mount("/dashboard", DashboardFiles(directory=DASHBOARD_DIR), name="dashboard-files")
