"""SQL for floor plans: one image per storey of a property, with its calibration."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from app.domain.floor_plans import Affine, Calibration, FloorPlan, FloorPlanImage

PLAN_COLUMNS = """
    property_id, storey, name, image_type, width, height, octet_length(image) AS image_size,
    calibration, pixel_to_world, z_min, z_max, updated_at
"""


def _plan(row: asyncpg.Record) -> FloorPlan:
    calibration = None
    if row["pixel_to_world"] is not None:
        calibration = Calibration(
            pixel_to_world=Affine(*row["pixel_to_world"]), source=row["calibration"]
        )
    return FloorPlan(
        property_id=row["property_id"],
        storey=row["storey"],
        name=row["name"],
        image_type=row["image_type"],
        width=row["width"],
        height=row["height"],
        image_size=row["image_size"],
        calibration=calibration,
        z_min=row["z_min"],
        z_max=row["z_max"],
        updated_at=row["updated_at"],
    )


@dataclass(frozen=True)
class SavedImage:
    plan: FloorPlan
    calibration_cleared: bool
    """The image replaced one of another size: its calibration no longer applied and was
    removed."""
    created: bool
    """The storey had no image before."""


class FloorPlanStore:
    """The floor plans of one project."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def save_image(
        self,
        property_id: str,
        storey: int,
        *,
        image_type: str,
        image: bytes,
        width: int,
        height: int,
    ) -> SavedImage:
        """Store the storey's image, replacing any. A calibration survives a new image of the
        same size only: pixels of another size are other places."""
        row = await self._connection.fetchrow(
            f"""
            WITH previous AS MATERIALIZED (
                SELECT width, height, calibration IS NOT NULL AS calibrated FROM floor_plans
                WHERE project_id = $1 AND property_id = $2 AND storey = $3
            ),
            saved AS (
                INSERT INTO floor_plans AS plan
                    (project_id, property_id, storey, image_type, image, width, height)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (project_id, property_id, storey) DO UPDATE
                SET image_type = excluded.image_type, image = excluded.image,
                    width = excluded.width, height = excluded.height, updated_at = now(),
                    calibration = CASE WHEN (plan.width, plan.height)
                                            = (excluded.width, excluded.height)
                                       THEN plan.calibration END,
                    pixel_to_world = CASE WHEN (plan.width, plan.height)
                                               = (excluded.width, excluded.height)
                                          THEN plan.pixel_to_world END
                RETURNING {PLAN_COLUMNS}
            )
            SELECT saved.*,
                   coalesce((SELECT calibrated AND (width, height) <> ($6, $7) FROM previous),
                            false) AS calibration_cleared,
                   NOT EXISTS (SELECT 1 FROM previous) AS created
            FROM saved
            """,
            self._project_id,
            property_id,
            storey,
            image_type,
            image,
            width,
            height,
        )
        return SavedImage(
            plan=_plan(row),
            calibration_cleared=row["calibration_cleared"],
            created=row["created"],
        )

    async def lock_property(self, property_id: str) -> None:
        """Hold, until the transaction ends, the right to add a storey to the property: two
        uploads at once then cannot both take its last free storey."""
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text || '/' || $2, 0))",
            self._project_id,
            property_id,
        )

    async def plan(self, property_id: str, storey: int, *, for_update: bool) -> FloorPlan | None:
        """One storey's plan; `for_update`: locked until the transaction ends, so that its
        image (and size) cannot change under a calibration being made for it."""
        lock = "FOR UPDATE" if for_update else ""
        row = await self._connection.fetchrow(
            f"""
            SELECT {PLAN_COLUMNS} FROM floor_plans
            WHERE project_id = $1 AND property_id = $2 AND storey = $3 {lock}
            """,
            self._project_id,
            property_id,
            storey,
        )
        return _plan(row) if row is not None else None

    async def place(
        self,
        property_id: str,
        storey: int,
        *,
        name: str | None,
        calibration: Calibration | None,
        z_min: float | None,
        z_max: float | None,
    ) -> FloorPlan | None:
        """Set the storey's name, calibration and heights (None: none). None when the storey
        has no image yet."""
        source: dict[str, Any] | None = calibration.source if calibration else None
        matrix = calibration.pixel_to_world.as_list() if calibration else None
        row = await self._connection.fetchrow(
            f"""
            UPDATE floor_plans
            SET name = $4, calibration = $5::jsonb, pixel_to_world = $6::float8[],
                z_min = $7, z_max = $8, updated_at = now()
            WHERE project_id = $1 AND property_id = $2 AND storey = $3
            RETURNING {PLAN_COLUMNS}
            """,
            self._project_id,
            property_id,
            storey,
            name,
            source,
            matrix,
            z_min,
            z_max,
        )
        return _plan(row) if row is not None else None

    async def plans(self, property_id: str) -> list[FloorPlan]:
        """The property's storeys, lowest first."""
        rows = await self._connection.fetch(
            f"""
            SELECT {PLAN_COLUMNS} FROM floor_plans
            WHERE project_id = $1 AND property_id = $2 ORDER BY storey
            """,
            self._project_id,
            property_id,
        )
        return [_plan(row) for row in rows]

    async def all_plans(self) -> list[FloorPlan]:
        """Every storey of every property of the project, by property then storey."""
        rows = await self._connection.fetch(
            f"""
            SELECT {PLAN_COLUMNS} FROM floor_plans
            WHERE project_id = $1 ORDER BY property_id, storey
            """,
            self._project_id,
        )
        return [_plan(row) for row in rows]

    async def image(self, property_id: str, storey: int) -> FloorPlanImage | None:
        row = await self._connection.fetchrow(
            """
            SELECT image_type, image, updated_at FROM floor_plans
            WHERE project_id = $1 AND property_id = $2 AND storey = $3
            """,
            self._project_id,
            property_id,
            storey,
        )
        if row is None:
            return None
        return FloorPlanImage(
            image_type=row["image_type"], data=row["image"], updated_at=row["updated_at"]
        )

    async def delete(self, property_id: str, storey: int) -> bool:
        status = await self._connection.execute(
            "DELETE FROM floor_plans WHERE project_id = $1 AND property_id = $2 AND storey = $3",
            self._project_id,
            property_id,
            storey,
        )
        return status == "DELETE 1"
