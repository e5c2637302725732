"""`python -m app`: manage projects, API keys and event mappings from a shell that can reach the
database.

Uses the service's own settings (DATABASE_URL, else the embedded PostgreSQL in NEXERO_DATA_DIR)
and applies pending migrations first, so it works on a fresh database too. Its actions are
audited as `cli (<os user>)`.
"""

import argparse
import asyncio
import getpass
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import ValidationError

from app.config import Settings, get_settings
from app.db.database import Database
from app.db.embedded_postgres import EmbeddedPostgres
from app.db.migrations import apply_migrations
from app.domain.access import DEFAULT_PROJECT_ID
from app.errors import FieldProblem, InvalidInputError, NexeroError
from app.models.fields import problem_message
from app.models.mappings import MappingRequest, MappingResponse
from app.services.access.keys import AccessService, parse_scopes
from app.services.mappings import MappingService


def say(line: str) -> None:
    """The command's answer, on standard output: what the operator asked to see (a key shown
    once, a listing), not a log line, so not through logging (whose lines are JSON)."""
    sys.stdout.write(line + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n\n")[0])
    groups = parser.add_subparsers(dest="group", required=True)

    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--name", required=True, help="what the key is for")
    create.add_argument(
        "--scopes", required=True, help="comma-separated: ingest, read, admin (e.g. ingest,read)"
    )
    create.add_argument(
        "--project",
        type=uuid.UUID,
        default=DEFAULT_PROJECT_ID,
        help="project id (default: the default project)",
    )
    listing = keys.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--project", type=uuid.UUID, help="only this project's keys")
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", type=uuid.UUID)

    projects = groups.add_parser("projects", help="projects (tenants)").add_subparsers(
        dest="action", required=True
    )
    projects.add_parser("create", help="create a project").add_argument("name")
    projects.add_parser("list", help="list projects")
    rename = projects.add_parser("rename", help="rename a project")
    rename.add_argument("project_id", type=uuid.UUID)
    rename.add_argument("name")

    mappings = groups.add_parser(
        "mappings", help="event mappings (docs/events.md, Mappings)"
    ).add_subparsers(dest="action", required=True)
    for action, text in (
        ("show", "print the mapping in force as JSON"),
        ("versions", "list the saved versions"),
        ("set", "save a mapping from a JSON file (the body of PUT /api/v1/admin/event-mapping)"),
    ):
        command = mappings.add_parser(action, help=text)
        command.add_argument(
            "--project",
            type=uuid.UUID,
            default=DEFAULT_PROJECT_ID,
            help="project id (default: the default project)",
        )
        if action == "set":
            command.add_argument("file", type=Path, help="the mapping, as JSON ('-': stdin)")
    return parser


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Database]:
    embedded = None
    if settings.DATABASE_URL is not None:
        dsn = settings.DATABASE_URL.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.NEXERO_DATA_DIR)
        dsn = await asyncio.to_thread(embedded.start)
    try:
        database = await Database.connect(
            dsn,
            min_size=0,
            max_size=1,
            statement_cache_size=settings.DATABASE_STATEMENT_CACHE_SIZE,
            connect_timeout_seconds=settings.DATABASE_CONNECT_TIMEOUT_SECONDS,
            acquire_timeout_seconds=settings.DATABASE_ACQUIRE_TIMEOUT_SECONDS,
            command_timeout_seconds=settings.DATABASE_COMMAND_TIMEOUT_SECONDS,
        )
        try:
            async with database.connection() as connection:
                await apply_migrations(
                    connection, timeout_seconds=settings.DATABASE_MIGRATION_TIMEOUT_SECONDS
                )
            yield database
        finally:
            await database.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def run(arguments: argparse.Namespace, settings: Settings) -> None:
    actor = f"cli ({getpass.getuser()})"
    async with connected(settings) as database:
        access = AccessService(database)
        match arguments.group, arguments.action:
            case "keys", "create":
                created = await access.create_key(
                    project_id=arguments.project,
                    name=arguments.name,
                    scopes=parse_scopes(arguments.scopes.split(",")),
                    actor=actor,
                )
                record = created.record
                say(
                    f"created key {record.id} ({record.name}) in project {record.project_id}, "
                    f"scopes {','.join(record.scopes)}"
                )
                say("the key (shown only now; send it as the X-API-Key header):")
                say(created.secret)
            case "keys", "list":
                for key in await access.list_keys(arguments.project):
                    state = (
                        f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
                    )
                    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                    say(
                        f"{key.id}  {key.key_prefix}…  project {key.project_id}  "
                        f"{','.join(key.scopes):<18} last used {used:<16}  {state}  {key.name}"
                    )
            case "keys", "revoke":
                revoked = await access.revoke_key(arguments.key_id, project_id=None, actor=actor)
                say(f"revoked key {revoked.id} ({revoked.name}) at {revoked.revoked_at:%c %Z}")
            case "projects", "create":
                project = await access.create_project(arguments.name, actor=actor)
                say(f"created project {project.id} ({project.name})")
            case "projects", "list":
                for project in await access.list_projects():
                    say(f"{project.id}  {project.created_at:%Y-%m-%d}  {project.name}")
            case "projects", "rename":
                project = await access.rename_project(
                    arguments.project_id, arguments.name, actor=actor
                )
                say(f"renamed project {project.id} to {project.name}")
            case "mappings", action:
                await run_mappings(
                    action,
                    MappingService(database, settings, project_id=arguments.project),
                    arguments,
                    actor=actor,
                )


async def run_mappings(
    action: str, service: MappingService, arguments: argparse.Namespace, *, actor: str
) -> None:
    match action:
        case "show":
            say(MappingResponse.of(await service.current()).model_dump_json(indent=2))
        case "versions":
            for saved in await service.versions():
                rules = ", ".join(f"{r.source_type}->{r.target_type}" for r in saved.rules)
                say(
                    f"version {saved.version}  {saved.created_at:%Y-%m-%d %H:%M}  {saved.actor}  "
                    f"presets [{', '.join(saved.presets)}]  rules [{rules}]"
                )
        case "set":
            text = sys.stdin.read() if str(arguments.file) == "-" else arguments.file.read_text()
            try:
                body = MappingRequest.model_validate_json(text)
            except ValidationError as error:
                raise InvalidInputError(
                    [
                        FieldProblem(("file", *problem["loc"]), problem_message(problem))
                        for problem in error.errors(include_url=False)
                    ]
                ) from None
            saved = await service.save(body.to_draft(), actor=actor)
            say(f"saved version {saved.version} of the event mapping")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        asyncio.run(run(arguments, get_settings()))
    except NexeroError as error:
        sys.stderr.write(f"error: {error.message}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    return 0
