"""With no DATABASE_URL the app runs its own PostgreSQL, with the data in NEXERO_DATA_DIR."""

import logging
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.services.access.bootstrap import quick_start_key_path
from tests.conftest import serve
from tests.helpers import START, start_session

UNREACHABLE_DATABASE_URL = "postgresql://nobody@127.0.0.1:1/never_used"


@pytest.fixture
def embedded_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # An environment pointing elsewhere must not matter: the constructor's None wins.
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DATABASE_URL)
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    settings = Settings(
        _env_file=None,
        DATABASE_URL=None,
        NEXERO_DATA_DIR=tmp_path / "data",
        ENVIRONMENT="test",
        LOG_LEVEL="info",
        SESSION_SWEEP_INTERVAL_SECONDS=3600,
    )
    assert settings.DATABASE_URL is None
    return settings


@contextmanager
def app_logs_captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """create_app() replaces the root logger's handlers, caplog's among them: put it back."""
    root = logging.getLogger()
    root.addHandler(caplog.handler)
    try:
        yield
    finally:
        root.removeHandler(caplog.handler)


async def session_status(client: httpx.AsyncClient, session_id: str) -> httpx.Response:
    return await client.get(f"/api/v1/unreal/session/{session_id}/status")


async def test_embedded_database_serves_requests_and_keeps_data_across_restarts(
    embedded_settings: Settings,
) -> None:
    data_dir = embedded_settings.NEXERO_DATA_DIR
    async with serve(create_app(embedded_settings), api_key=None) as client:
        client.headers["X-API-Key"] = quick_start_key_path(data_dir).read_text().strip()
        health = await client.get("/health")
        session_id = await start_session(client, customer_id="cust_embedded")
        first_status = await session_status(client, session_id)

    assert health.status_code == 200, health.text
    assert health.json()["database"] == "connected"
    assert first_status.status_code == 200, first_status.text
    assert first_status.json()["status"] == "active"
    assert (data_dir / "PG_VERSION").is_file()
    # The server really stopped with the app, so what follows is read back from disk.
    assert not (data_dir / "postmaster.pid").exists()

    async with serve(create_app(embedded_settings), api_key=None) as client:
        client.headers["X-API-Key"] = quick_start_key_path(data_dir).read_text().strip()
        after_restart = await session_status(client, session_id)

    assert after_restart.status_code == 200, after_restart.text
    assert after_restart.json()["customer_id"] == "cust_embedded"
    assert after_restart.json()["started_at"] == first_status.json()["started_at"]


async def test_first_embedded_start_creates_one_key_shows_it_once_and_saves_it(
    embedded_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = quick_start_key_path(embedded_settings.NEXERO_DATA_DIR)

    async with serve(create_app(embedded_settings), api_key=None) as client:
        refused = await client.post(START, json={"session_start": time.time()})
        key = key_file.read_text().strip()
        shown = capsys.readouterr().err
        client.headers["X-API-Key"] = key
        accepted = await client.post(START, json={"session_start": time.time()})
    async with serve(create_app(embedded_settings), api_key=None):
        shown_again = capsys.readouterr().err

    assert refused.status_code == 401
    assert accepted.status_code == 201, accepted.text
    assert key.startswith("nxr_") and len(key) > 40
    assert key in shown and "X-API-Key" in shown
    assert key not in shown_again
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_embedded_database_logs_where_its_data_lives(
    embedded_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(embedded_settings)

    with app_logs_captured(caplog), caplog.at_level(logging.INFO):
        async with serve(app):
            pass

    data_dir = str(embedded_settings.NEXERO_DATA_DIR.resolve())
    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name == "app.db.embedded_postgres"
    ]
    assert any(data_dir in message for message in messages), messages
