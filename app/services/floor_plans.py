"""Floor plans of a project's properties: one image per storey, checked and re-encoded before it
is stored, and the calibration that places its pixels in the world (docs/floor-plans.md). Every
change is audited."""

import asyncio
import uuid
from typing import Any

import asyncpg

from app.config import Settings
from app.db.database import Database
from app.domain.floor_plans import (
    MAX_STOREY,
    MIN_STOREY,
    CalibrationError,
    FloorPlan,
    FloorPlanImage,
    Placement,
    calibrate,
)
from app.errors import (
    ConflictError,
    FieldProblem,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from app.services.floor_plan_images import check_declared_type, image_type_of, reencode
from app.stores.access import AccessStore
from app.stores.floor_plans import FloorPlanStore, SavedImage


def storey_not_found(storey: int) -> NotFoundError:
    return NotFoundError(f"This property has no floor plan for storey {storey}")


class FloorPlanService:
    """The floor plans of one project."""

    def __init__(self, database: Database, settings: Settings, *, project_id: uuid.UUID) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id

    async def plans(self, property_id: str) -> list[FloorPlan]:
        """The property's storeys, lowest first (none: an empty list; a property is a label)."""
        async with self._database.connection() as connection:
            return await FloorPlanStore(connection, self._project_id).plans(property_id)

    async def all_plans(self) -> list[FloorPlan]:
        async with self._database.connection() as connection:
            return await FloorPlanStore(connection, self._project_id).all_plans()

    async def plan(self, property_id: str, storey: int) -> FloorPlan:
        async with self._database.connection() as connection:
            found = await FloorPlanStore(connection, self._project_id).plan(
                property_id, storey, for_update=False
            )
        if found is None:
            raise storey_not_found(storey)
        return found

    async def image(self, property_id: str, storey: int) -> FloorPlanImage:
        """The storey's image as stored (re-encoded); 404 naming the storey when it has none."""
        async with self._database.connection() as connection:
            found = await FloorPlanStore(connection, self._project_id).image(property_id, storey)
        if found is None:
            raise storey_not_found(storey)
        return found

    async def upload(
        self,
        property_id: str,
        storey: int,
        data: bytes,
        *,
        declared_type: str | None,
        actor: str,
    ) -> SavedImage:
        """Check the image (type from the bytes, agreeing with `declared_type` when one is
        named; bytes and pixels within the limits), re-encode it in a worker thread and store
        it as the storey's plan. A calibration is kept only when the new image has the old
        one's size."""
        self._check_where(property_id, storey)
        if len(data) > self._settings.FLOOR_PLAN_MAX_BYTES:
            raise PayloadTooLargeError(
                [
                    FieldProblem(
                        ("image",),
                        f"is {len(data)} bytes, more than FLOOR_PLAN_MAX_BYTES "
                        f"({self._settings.FLOOR_PLAN_MAX_BYTES})",
                    )
                ]
            )
        check_declared_type(declared_type, image_type_of(data))
        encoded = await asyncio.to_thread(
            reencode, data, max_pixels=self._settings.FLOOR_PLAN_MAX_PIXELS
        )
        async with self._database.transaction() as connection:
            store = FloorPlanStore(connection, self._project_id)
            await store.lock_property(property_id)
            storeys = {plan.storey for plan in await store.plans(property_id)}
            limit = self._settings.FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY
            if storey not in storeys and len(storeys) >= limit:
                raise ConflictError(
                    f"This property has floor plans for {len(storeys)} storeys already, "
                    f"the most FLOOR_PLAN_MAX_STOREYS_PER_PROPERTY allows: delete one first"
                )
            saved = await store.save_image(
                property_id,
                storey,
                image_type=encoded.image_type,
                image=encoded.data,
                width=encoded.width,
                height=encoded.height,
            )
            await self._audit(
                connection,
                "image_saved",
                property_id,
                storey,
                actor=actor,
                details={
                    "image_type": encoded.image_type,
                    "width": encoded.width,
                    "height": encoded.height,
                    "uploaded_bytes": len(data),
                    "stored_bytes": len(encoded.data),
                    "created": saved.created,
                    "calibration_cleared": saved.calibration_cleared,
                },
            )
        return saved

    async def place(
        self, property_id: str, storey: int, placement: Placement, *, actor: str
    ) -> FloorPlan:
        """Set the storey's name, calibration (made for its image's size) and heights; 404 when
        the storey has no image yet, 422 naming the field of a calibration that cannot be."""
        self._check_where(property_id, storey)
        async with self._database.transaction() as connection:
            store = FloorPlanStore(connection, self._project_id)
            current = await store.plan(property_id, storey, for_update=True)
            if current is None:
                raise storey_not_found(storey)
            calibration = None
            if placement.calibration is not None:
                try:
                    calibration = calibrate(
                        placement.calibration, width=current.width, height=current.height
                    )
                except CalibrationError as error:
                    raise InvalidInputError(
                        [FieldProblem(calibration_location(error.field), error.reason)]
                    ) from None
            placed = await store.place(
                property_id,
                storey,
                name=placement.name,
                calibration=calibration,
                z_min=placement.z_min,
                z_max=placement.z_max,
            )
            await self._audit(
                connection,
                "placed",
                property_id,
                storey,
                actor=actor,
                details={
                    "name": placement.name,
                    "calibration": calibration.source if calibration else None,
                    "z_min": placement.z_min,
                    "z_max": placement.z_max,
                },
            )
        if placed is None:  # the row is locked: it cannot have gone, but the types do not know
            raise storey_not_found(storey)
        return placed

    async def delete(self, property_id: str, storey: int, *, actor: str) -> None:
        """Delete the storey's plan, image and calibration; 404 when it has none."""
        async with self._database.transaction() as connection:
            deleted = await FloorPlanStore(connection, self._project_id).delete(property_id, storey)
            if not deleted:
                raise storey_not_found(storey)
            await self._audit(connection, "deleted", property_id, storey, actor=actor, details={})

    async def _audit(
        self,
        connection: asyncpg.Connection,
        action: str,
        property_id: str,
        storey: int,
        *,
        actor: str,
        details: dict[str, Any],
    ) -> None:
        """An audit entry `floor_plan.<action>` naming the plan as `property <id> storey <n>`."""
        await AccessStore(connection).audit(
            project_id=self._project_id,
            actor=actor,
            action=f"floor_plan.{action}",
            target=f"property {property_id} storey {storey}",
            details=details,
        )

    def _check_where(self, property_id: str, storey: int) -> None:
        """The property and storey a plan may be stored for (the API checks these as it parses
        the path; the CLI comes through here only)."""
        problems = []
        if not MIN_STOREY <= storey <= MAX_STOREY:
            problems.append(FieldProblem(("storey",), f"must be from {MIN_STOREY} to {MAX_STOREY}"))
        if not 1 <= len(property_id) <= self._settings.MAX_LABEL_LENGTH:
            problems.append(
                FieldProblem(
                    ("property_id",),
                    f"must be 1 to {self._settings.MAX_LABEL_LENGTH} characters "
                    "(MAX_LABEL_LENGTH, as sessions' property ids)",
                )
            )
        if problems:
            raise InvalidInputError(problems)


def calibration_location(field: str) -> tuple[str | int, ...]:
    """Where a CalibrationError's field ("points.0.pixel") lies in the request body."""
    parts = (int(part) if part.isdigit() else part for part in field.split("."))
    return ("body", "calibration", *parts)
