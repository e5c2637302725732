"""A heatmap PNG whose title holds characters the font lacks makes matplotlib warn. On a live
server the warning is a JSON log line that quotes nothing of the request: stdout and stderr
hold JSON lines only, and the client's labels appear in none of them."""

import json
import time
from pathlib import Path

import httpx

from tests.helpers import START, TEST_API_KEY
from tests.live_server import live_uvicorn

# CJK and an emoji: DejaVu Sans, matplotlib's font, has neither.
PROPERTY = "Résidence 客厅 🏠 north"
ROOM = "主卧 🛏"


async def test_matplotlib_warnings_are_json_log_lines_without_the_request_text(
    database_dsn: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "uvicorn.log"
    async with live_uvicorn(database_dsn, log_path) as server:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"X-API-Key": TEST_API_KEY}, timeout=60
        ) as http:
            started = await http.post(
                START, json={"session_start": time.time(), "property_id": PROPERTY}
            )
            image = await http.get(
                f"/api/v1/properties/{PROPERTY}/heatmap.png", params={"room": ROOM}
            )
    output = log_path.read_text(encoding="utf-8", errors="replace")

    assert started.status_code == 201, started.text
    assert image.status_code == 200, image.text
    lines = output.splitlines()
    not_json = [line for line in lines if not line.startswith("{")]
    assert not_json == []
    entries = [json.loads(line) for line in lines]
    warnings_logged = [entry for entry in entries if entry["logger"] == "py.warnings"]
    assert warnings_logged, "matplotlib no longer warns about missing glyphs: pick others"
    assert {entry["category"] for entry in warnings_logged} == {"UserWarning"}
    for label in ("客厅", "🏠", "主卧", "🛏", "Résidence"):
        assert label not in output
