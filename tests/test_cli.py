"""`python -m app`: projects and keys from a shell, run as a real subprocess against the test
database, its keys checked against the app on the same database."""

import asyncio
import getpass
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.services.access.keys import AccessService
from tests.conftest import REPO_ROOT, AppFactory
from tests.floor_plan_images import jpeg, padded_png, png
from tests.helpers import START

CLI_TIMEOUT_SECONDS = 60
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str


CliRunner = Callable[..., Awaitable[CliRun]]


@pytest.fixture
def cli(database_dsn: str, client: httpx.AsyncClient) -> CliRunner:
    """Run `python -m app ...` with DATABASE_URL set to the test database."""

    async def run(*arguments: str) -> CliRun:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("NEXERO_", "DATABASE_"))
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app",
            *arguments,
            cwd=REPO_ROOT,
            env={**environment, "DATABASE_URL": database_dsn},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(CLI_TIMEOUT_SECONDS):
            stdout, stderr = await process.communicate()
        return CliRun(process.returncode or 0, stdout.decode(), stderr.decode())

    return run


def created_project_id(run: CliRun) -> str:
    match = re.search(rf"created project ({UUID_PATTERN})", run.stdout)
    assert match, run
    return match.group(1)


def created_key(run: CliRun) -> tuple[str, str]:
    """The key id and the key itself, as `keys create` prints them."""
    match = re.search(rf"created key ({UUID_PATTERN})", run.stdout)
    assert match, run
    return match.group(1), run.stdout.strip().splitlines()[-1]


# --- projects --------------------------------------------------------------------------------


async def test_projects_are_created_listed_and_renamed(
    cli: CliRunner, db: asyncpg.Connection
) -> None:
    name = f"Riverside Lofts {uuid.uuid4().hex[:6]}"

    created = await cli("projects", "create", name)
    project_id = created_project_id(created)
    renamed = await cli("projects", "rename", project_id, name + " (sold out)")
    listed = await cli("projects", "list")

    assert created.returncode == 0, created
    assert created.stdout.strip() == f"created project {project_id} ({name})"
    assert renamed.returncode == 0, renamed
    assert renamed.stdout.strip() == f"renamed project {project_id} to {name} (sold out)"
    assert listed.returncode == 0, listed
    [line] = [line for line in listed.stdout.splitlines() if project_id in line]
    assert line.endswith(f"{name} (sold out)")
    assert "default" in listed.stdout
    assert (
        await db.fetchval("SELECT name FROM projects WHERE id = $1", uuid.UUID(project_id))
        == name + " (sold out)"
    )
    actions = await db.fetch(
        "SELECT action, actor FROM audit_log WHERE project_id = $1 ORDER BY id",
        uuid.UUID(project_id),
    )
    assert [row["action"] for row in actions] == ["project.created", "project.renamed"]
    assert all(row["actor"].startswith("cli (") for row in actions)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201], ids=["empty", "blank", "too long"])
async def test_project_with_a_bad_name_is_refused_with_a_message(cli: CliRunner, name: str) -> None:
    run = await cli("projects", "create", name)

    assert run.returncode == 1
    assert run.stderr.startswith("error:")
    assert "name" in run.stderr
    assert "Traceback" not in run.stderr


async def test_renaming_an_unknown_project_fails_with_a_message(cli: CliRunner) -> None:
    run = await cli("projects", "rename", str(uuid.uuid4()), "anything")

    assert run.returncode == 1
    assert run.stderr.strip() == "error: Project not found"


# --- keys ------------------------------------------------------------------------------------


async def test_printed_key_works_against_the_app_in_its_project(
    cli: CliRunner, app_with: AppFactory, db: asyncpg.Connection
) -> None:
    project_id = created_project_id(await cli("projects", "create", "CLI keys"))

    run = await cli(
        "keys",
        "create",
        "--name",
        "Quest build 7",
        "--scopes",
        "ingest,read",
        "--project",
        project_id,
    )
    key_id, secret = created_key(run)
    async with app_with() as app:
        started = await app.post(
            START, json={"session_start": time.time()}, headers={"X-API-Key": secret}
        )
        forbidden = await app.get("/api/v1/admin/project", headers={"X-API-Key": secret})

    assert run.returncode == 0, run
    assert f"in project {project_id}, scopes ingest,read" in run.stdout
    assert secret.startswith("nxr_")
    assert started.status_code == 201, started.text
    assert forbidden.status_code == 403
    stored_project = await db.fetchval(
        "SELECT project_id FROM vr_sessions WHERE id = $1",
        uuid.UUID(started.json()["session_id"]),
    )
    assert str(stored_project) == project_id
    assert (
        await db.fetchval(
            "SELECT actor FROM audit_log WHERE action = 'key.created' AND target = $1", key_id
        )
        == f"cli ({getpass.getuser()})"
    )


async def test_keys_are_listed_without_the_keys_themselves(cli: CliRunner) -> None:
    project_id = created_project_id(await cli("projects", "create", "CLI listing"))
    key_id, secret = created_key(
        await cli(
            "keys", "create", "--name", "list me", "--scopes", "read", "--project", project_id
        )
    )

    everything = await cli("keys", "list")
    only_this_project = await cli("keys", "list", "--project", project_id)

    assert everything.returncode == only_this_project.returncode == 0
    assert key_id in everything.stdout
    [line] = only_this_project.stdout.splitlines()
    assert line.startswith(f"{key_id}  {secret[:12]}")
    assert "active" in line
    assert "never" in line
    assert line.endswith("list me")
    for output in (everything, only_this_project):
        assert secret not in output.stdout + output.stderr


async def test_revoked_key_is_refused_by_the_app(cli: CliRunner, app_with: AppFactory) -> None:
    key_id, secret = created_key(
        await cli("keys", "create", "--name", "short-lived", "--scopes", "ingest")
    )

    revoked = await cli("keys", "revoke", key_id)
    listed = await cli("keys", "list")
    async with app_with() as app:
        refused = await app.get(
            f"/api/v1/unreal/session/{uuid.uuid4()}/status", headers={"X-API-Key": secret}
        )

    assert revoked.returncode == 0, revoked
    assert revoked.stdout.startswith(f"revoked key {key_id} (short-lived)")
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(key_id)]
    assert "revoked" in line
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--scopes", "root"], "unknown scope 'root'"),
        (["--scopes", "ingest,superuser"], "unknown scope 'superuser'"),
        (["--scopes", ""], "scope"),
        (["--scopes", "ingest", "--project", str(uuid.uuid4())], "Project not found"),
        (["--scopes", "ingest", "--name", " "], "name"),
    ],
    ids=["unknown scope", "one unknown among known", "no scope", "unknown project", "blank name"],
)
async def test_bad_key_request_exits_1_with_a_message_and_creates_nothing(
    cli: CliRunner, db: asyncpg.Connection, arguments: list[str], message: str
) -> None:
    keys_before = await db.fetchval("SELECT count(*) FROM api_keys")
    named = "--name" in arguments

    run = await cli("keys", "create", *(() if named else ("--name", "bad")), *arguments)

    assert run.returncode == 1, run
    assert run.stderr.startswith("error:")
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert await db.fetchval("SELECT count(*) FROM api_keys") == keys_before


async def test_revoking_an_unknown_key_exits_1(cli: CliRunner) -> None:
    run = await cli("keys", "revoke", str(uuid.uuid4()))

    assert run.returncode == 1
    assert run.stderr.strip() == "error: API key not found"


@pytest.mark.parametrize(
    "arguments",
    [["keys", "revoke", "not-a-uuid"], ["keys", "create", "--name", "x"], ["keys"], []],
    ids=["malformed id", "missing scopes", "no action", "nothing"],
)
async def test_malformed_command_line_prints_usage_and_exits_2(
    cli: CliRunner, arguments: list[str]
) -> None:
    run = await cli(*arguments)

    assert run.returncode == 2
    assert "usage: python -m app" in run.stderr


async def test_a_mapping_is_saved_from_a_file_shown_and_listed(
    cli: CliRunner, access: AccessService, tmp_path: Path
) -> None:
    project = await access.create_project("cli mappings", actor="tests")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "presets": [],
                "rules": [
                    {
                        "source_type": "ViewChanged",
                        "target_type": "room_view",
                        "fields": {"room_name": "payload.room.name"},
                    }
                ],
            }
        )
    )

    saved = await cli("mappings", "set", "--project", str(project.id), str(mapping))
    shown = await cli("mappings", "show", "--project", str(project.id))
    listed = await cli("mappings", "versions", "--project", str(project.id))

    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip() == "saved version 1 of the event mapping"
    in_force = json.loads(shown.stdout)
    assert (in_force["version"], in_force["presets"]) == (1, [])
    assert in_force["rules"][0]["fields"]["room_name"]["path"] == ["payload", "room", "name"]
    assert in_force["actor"] == f"cli ({getpass.getuser()})"
    assert listed.stdout.startswith("version 1 ")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            '{"presets": [], "rules": [{"source_type": "X", "target_type": "room_visit"}]}',
            "not in the vocabulary",
        ),
        ('{"presets": [], "rules": "all of them"}', "file.rules"),
        ("not json", "file"),
    ],
)
async def test_a_mapping_file_that_cannot_work_exits_1_and_saves_nothing(
    cli: CliRunner, access: AccessService, tmp_path: Path, content: str, words: str
) -> None:
    project = await access.create_project("cli bad mapping", actor="tests")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(content)

    run = await cli("mappings", "set", "--project", str(project.id), str(mapping))
    shown = await cli("mappings", "show", "--project", str(project.id))

    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and words in run.stderr
    assert json.loads(shown.stdout)["version"] == 0


# --- floor plans -----------------------------------------------------------------------------


async def test_a_floor_plan_is_uploaded_calibrated_listed_and_deleted_audited_as_cli(
    cli: CliRunner, access: AccessService, db: asyncpg.Connection, tmp_path: Path
) -> None:
    project = str((await access.create_project("cli plans", actor="tests")).id)
    image = tmp_path / "ground.jpg"
    image.write_bytes(jpeg(200, 100))
    where = ("--project", project, "--property", "villa 7", "--storey", "-1")

    uploaded = await cli("floor-plans", "upload", *where, str(image))
    by_points = await cli(
        "floor-plans",
        "calibrate",
        *where,
        "--points",
        "0,0=1000,2000;200,0=1000,2400",
        "--name",
        "Basement",
        "--z-range=-400,0",
    )
    by_box = await cli("floor-plans", "calibrate", *where, "--box=-1000,500,1000,-500")
    listed = await cli("floor-plans", "list", "--project", project)
    deleted = await cli("floor-plans", "delete", *where)
    after = await cli("floor-plans", "list", "--project", project, "--property", "villa 7")

    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stdout.startswith("stored the plan of storey -1 of villa 7: jpeg 200x100, ")
    assert by_points.returncode == 0, by_points.stderr
    assert "pixels to world [0.0, -2.0, 1000.0, 2.0, 0.0, 2000.0]" in by_points.stdout
    assert "pixels to world [10.0, 0.0, -1000.0, 0.0, -10.0, 500.0]" in by_box.stdout
    [line] = listed.stdout.splitlines()
    assert line.startswith("villa 7  storey  -1  jpeg 200x100  ")
    assert "calibration box  z -400..0  " in line and line.endswith("  Basement")
    assert deleted.stdout.strip() == "deleted the plan of storey -1 of villa 7"
    assert after.stdout == ""
    actions = await db.fetch(
        "SELECT action, actor FROM audit_log WHERE project_id = $1 ORDER BY id",
        uuid.UUID(project),
    )
    plan_actions = [row for row in actions if row["action"].startswith("floor_plan")]
    assert [row["action"] for row in plan_actions] == [
        "floor_plan.image_saved",
        "floor_plan.placed",
        "floor_plan.placed",
        "floor_plan.deleted",
    ]
    assert {row["actor"] for row in plan_actions} == {f"cli ({getpass.getuser()})"}


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("--points", "0,0=1,1"), "calibration.points"),
        (("--points", "0,0=1,1;a,b=2,2"), "--points: must be u1,v1=x1,y1;u2,v2=x2,y2"),
        (("--points", "0,0=1,1;500,0=2,2"), "calibration.points.1.pixel: must lie on the image"),
        (("--box", "1,2,3"), "--box: must be LEFT,TOP,RIGHT,BOTTOM"),
        (("--none", "--z-range", "5,5"), "z_min must be below z_max"),
        (("--none", "--name", "n" * 201), "name: String should have at most 200 characters"),
    ],
    ids=["one-point", "not-numbers", "off-image", "short-box", "flat-heights", "long-name"],
)
async def test_a_calibration_that_cannot_be_exits_1_naming_the_field(
    cli: CliRunner, access: AccessService, tmp_path: Path, arguments: tuple[str, ...], words: str
) -> None:
    project = str((await access.create_project("cli bad plans", actor="tests")).id)
    image = tmp_path / "plan.png"
    image.write_bytes(png(200, 100))
    where = ("--project", project, "--property", "villa", "--storey", "0")
    await cli("floor-plans", "upload", *where, str(image))

    run = await cli("floor-plans", "calibrate", *where, *arguments)
    listed = await cli("floor-plans", "list", "--project", project)

    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and words in run.stderr, run.stderr
    assert "calibration none" in listed.stdout


def upload_plan(cli: CliRunner, project: str, storey: str, image: Path) -> Awaitable[CliRun]:
    """`floor-plans upload` of `image` as the plan of property "villa"."""
    return cli(
        "floor-plans",
        "upload",
        "--project",
        project,
        "--property",
        "villa",
        "--storey",
        storey,
        str(image),
    )


@pytest.mark.parametrize(
    ("content", "storey", "words"),
    [
        (b"GIF89a....", "0", "image: not a PNG or JPEG image (the bytes say: a GIF image)"),
        (png()[:-30], "0", "image: is not a readable PNG image"),
        (png(), "101", "storey: must be from -10 to 100"),
    ],
    ids=["gif", "truncated", "storey"],
)
async def test_an_upload_that_cannot_be_exits_1_and_stores_nothing(
    cli: CliRunner, access: AccessService, tmp_path: Path, content: bytes, storey: str, words: str
) -> None:
    project = str((await access.create_project("cli bad upload", actor="tests")).id)
    image = tmp_path / "plan.png"
    image.write_bytes(content)

    run = await upload_plan(cli, project, storey, image)
    listed = await cli("floor-plans", "list", "--project", project)

    assert run.returncode == 1
    assert run.stderr.startswith("error: ") and words in run.stderr, run.stderr
    assert listed.stdout == ""


async def test_a_file_past_the_byte_limit_is_refused_without_reading_it_all(
    cli: CliRunner, access: AccessService, tmp_path: Path
) -> None:
    project = str((await access.create_project("cli large plan", actor="tests")).id)
    image = tmp_path / "huge.png"
    image.write_bytes(padded_png(10_485_761))

    run = await upload_plan(cli, project, "0", image)

    assert run.returncode == 1
    assert "image: is 10485761 bytes, more than FLOOR_PLAN_MAX_BYTES (10485760)" in run.stderr
