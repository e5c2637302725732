"""`python -m app`: manage projects and API keys from a shell that can reach the database.

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

from app.config import Settings, get_settings
from app.db.database import Database
from app.db.embedded_postgres import EmbeddedPostgres
from app.db.migrations import apply_migrations
from app.domain.access import DEFAULT_PROJECT_ID
from app.errors import NexeroError
from app.services.access.keys import AccessService, parse_scopes


def say(line: str) -> None:
    """The command's answer, on standard output: what the operator asked to see (a key shown
    once, a listing), not a log line, so not through logging (whose lines are JSON)."""
    sys.stdout.write(line + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
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


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        asyncio.run(run(arguments, get_settings()))
    except NexeroError as error:
        sys.stderr.write(f"error: {error.message}\n")
        return 1
    return 0
