"""`python -m app`: manage projects, API keys, event mappings and floor plans from a shell that
can reach the database.

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
from app.models.floor_plans import FloorPlanPlacementRequest
from app.models.mappings import MappingRequest, MappingResponse
from app.services.access.keys import AccessService, parse_scopes
from app.services.floor_plans import FloorPlanService
from app.services.mappings import MappingService

BOX_SIDES = ("left", "top", "right", "bottom")


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
    add_floor_plan_commands(groups)
    return parser


def add_floor_plan_commands(groups: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    plans = groups.add_parser(
        "floor-plans", help="floor plans of properties (docs/floor-plans.md)"
    ).add_subparsers(dest="action", required=True)
    listing = plans.add_parser("list", help="list the plans (all properties, or one)")
    listing.add_argument("--property", help="only this property's plans")
    upload = plans.add_parser("upload", help="store a PNG or JPEG as a storey's plan")
    upload.add_argument("file", type=Path, help="the image (PNG or JPEG)")
    calibrate = plans.add_parser(
        "calibrate",
        help="place a storey's plan in the world; --name and --z-range are kept unless given",
    )
    form = calibrate.add_mutually_exclusive_group(required=True)
    form.add_argument(
        "--points",
        help="two pixels and their world positions (cm): 'u1,v1=x1,y1;u2,v2=x2,y2'",
    )
    form.add_argument(
        "--box",
        help="world x of the left and right edges, y of the top and bottom: LEFT,TOP,RIGHT,BOTTOM "
        "(write --box=-1000,... when it starts with a minus sign)",
    )
    form.add_argument("--none", action="store_true", help="remove the calibration")
    calibrate.add_argument(
        "--mirrored", action="store_true", help="with --points: the plan is mirrored"
    )
    calibrate.add_argument("--name", help="the storey's name ('' removes it)")
    calibrate.add_argument(
        "--z-range",
        help="world heights (cm) the storey spans: MIN,MAX (either may be empty: unbounded; "
        "write --z-range=-50,270 for a negative MIN)",
    )
    delete = plans.add_parser("delete", help="delete a storey's plan")
    for command in (listing, upload, calibrate, delete):
        command.add_argument(
            "--project",
            type=uuid.UUID,
            default=DEFAULT_PROJECT_ID,
            help="project id (default: the default project)",
        )
        if command is not listing:
            command.add_argument("--property", required=True, help="the property's id")
            command.add_argument("--storey", type=int, required=True, help="0: ground floor")


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
            case "floor-plans", action:
                await run_floor_plans(
                    action,
                    FloorPlanService(database, settings, project_id=arguments.project),
                    arguments,
                    settings=settings,
                    actor=actor,
                )


def validation_problems(error: ValidationError, *prefix: str) -> InvalidInputError:
    """A pydantic error as the API answers it, each field located under `prefix`."""
    return InvalidInputError(
        [
            FieldProblem((*prefix, *problem["loc"]), problem_message(problem))
            for problem in error.errors(include_url=False)
        ]
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
                raise validation_problems(error, "file") from None
            saved = await service.save(body.to_draft(), actor=actor)
            say(f"saved version {saved.version} of the event mapping")


async def run_floor_plans(
    action: str,
    service: FloorPlanService,
    arguments: argparse.Namespace,
    *,
    settings: Settings,
    actor: str,
) -> None:
    match action:
        case "list":
            plans = (
                await service.plans(arguments.property)
                if arguments.property is not None
                else await service.all_plans()
            )
            for plan in plans:
                placed = plan.calibration and next(iter(plan.calibration.source))
                heights = f"{_number(plan.z_min)}..{_number(plan.z_max)}"
                say(
                    f"{plan.property_id}  storey {plan.storey:>3}  {plan.image_type:<4} "
                    f"{plan.width}x{plan.height}  {plan.image_size} bytes  "
                    f"calibration {placed or 'none'}  z {heights}  "
                    f"updated {plan.updated_at:%Y-%m-%d %H:%M}  {plan.name or ''}".rstrip()
                )
        case "upload":
            # One byte past the limit is enough to refuse the file; a larger one is not read.
            with arguments.file.open("rb") as image:
                data = image.read(settings.FLOOR_PLAN_MAX_BYTES + 1)
            saved = await service.upload(
                arguments.property, arguments.storey, data, declared_type=None, actor=actor
            )
            plan = saved.plan
            say(
                f"{'stored' if saved.created else 'replaced'} the plan of storey {plan.storey} "
                f"of {plan.property_id}: {plan.image_type} {plan.width}x{plan.height}, "
                f"{plan.image_size} bytes"
                + (
                    "; its calibration was removed (other size)"
                    if saved.calibration_cleared
                    else ""
                )
            )
        case "calibrate":
            current = await service.plan(arguments.property, arguments.storey)
            z_min, z_max = (
                _z_range(arguments.z_range)
                if arguments.z_range is not None
                else (current.z_min, current.z_max)
            )
            body = {
                "name": (arguments.name or None) if arguments.name is not None else current.name,
                "calibration": _calibration_body(arguments),
                "z_min": z_min,
                "z_max": z_max,
            }
            try:
                request = FloorPlanPlacementRequest.model_validate(body)
            except ValidationError as error:
                raise validation_problems(error) from None
            plan = await service.place(
                arguments.property, arguments.storey, request.to_placement(), actor=actor
            )
            matrix = plan.calibration.pixel_to_world.as_list() if plan.calibration else None
            say(
                f"storey {plan.storey} of {plan.property_id}: "
                + (f"pixels to world {matrix}" if matrix else "not calibrated")
            )
        case "delete":
            await service.delete(arguments.property, arguments.storey, actor=actor)
            say(f"deleted the plan of storey {arguments.storey} of {arguments.property}")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _numbers(text: str, count: int, *, option: str, form: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count:
        raise InvalidInputError.single(option, msg=f"must be {form}, not {text!r}")
    return values


def _calibration_body(arguments: argparse.Namespace) -> dict[str, object] | None:
    if arguments.points is not None:
        form = "u1,v1=x1,y1;u2,v2=x2,y2"
        points = []
        for point in arguments.points.split(";"):
            pixel, _, world = point.partition("=")
            points.append(
                {
                    "pixel": _numbers(pixel, 2, option="--points", form=form),
                    "world": _numbers(world, 2, option="--points", form=form),
                }
            )
        return {"points": points, "mirrored": arguments.mirrored}
    if arguments.box is not None:
        sides = _numbers(arguments.box, 4, option="--box", form="LEFT,TOP,RIGHT,BOTTOM")
        return {"box": dict(zip(BOX_SIDES, sides, strict=True)), "mirrored": arguments.mirrored}
    return None


def _z_range(text: str) -> tuple[float | None, float | None]:
    low, separator, high = text.partition(",")
    try:
        if not separator:
            raise ValueError
        return (float(low) if low.strip() else None, float(high) if high.strip() else None)
    except ValueError:
        raise InvalidInputError.single(
            "--z-range", msg=f"must be MIN,MAX (either may be empty), not {text!r}"
        ) from None


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
