"""The event catalogue of one project (docs/events.md, "The catalogue"): every event type and
field its clients send, how often, since when, a few examples, and whether the analytics read
it: as the vocabulary defines it, through the mapping in force, or not at all.

The cost is bounded by settings: a period of at most CATALOGUE_MAX_DAYS (default: the last
CATALOGUE_DEFAULT_DAYS), of which the newest CATALOGUE_MAX_EVENTS events are read.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.config import Settings
from app.db.database import Database
from app.domain.catalogue import (
    CatalogueFigures,
    CataloguePeriod,
    FieldFigures,
    ReadField,
    TypeFigures,
    Understanding,
    read_fields,
)
from app.domain.vocabulary import EventMapping
from app.errors import InvalidInputError
from app.models.periods import Period
from app.stores.analytics.catalogue import CatalogueStore
from app.stores.mappings import MappingStore


@dataclass(frozen=True)
class FieldEntry:
    figures: FieldFigures
    understood: Understanding
    read_as: str | None
    counted: bool


@dataclass(frozen=True)
class TypeEntry:
    figures: TypeFigures
    understood: Understanding
    read_as: str | None
    """The vocabulary type its events count as; None when ignored."""
    fields: list[FieldEntry]


@dataclass(frozen=True)
class Catalogue:
    period: CataloguePeriod
    mapping_version: int
    events_read: int
    complete: bool
    read_from: datetime | None
    max_events: int
    types: list[TypeEntry]
    types_total: int


class CatalogueService:
    """What one project's clients send, judged by the project's mapping in force."""

    def __init__(self, database: Database, settings: Settings, *, project_id: UUID) -> None:
        self._database = database
        self._settings = settings
        self._project_id = project_id

    def period(self, asked: Period, *, now: datetime | None = None) -> CataloguePeriod:
        """The period asked for, or the default: the last CATALOGUE_DEFAULT_DAYS up to `to`
        (default: now, plus the MAX_FUTURE_SECONDS a headset's clock may run ahead). Longer
        than CATALOGUE_MAX_DAYS: a 422 naming `from`."""
        now = now or datetime.now(UTC)
        # The headset clocks' slack past now is not counted against CATALOGUE_MAX_DAYS.
        counted_end = asked.end or now
        end = asked.end or now + timedelta(seconds=self._settings.MAX_FUTURE_SECONDS)
        start = asked.start or counted_end - timedelta(days=self._settings.CATALOGUE_DEFAULT_DAYS)
        if end <= start:
            raise InvalidInputError.single("query", "to", msg="must be later than from")
        if counted_end - start > timedelta(days=self._settings.CATALOGUE_MAX_DAYS):
            raise InvalidInputError.single(
                "query",
                "from",
                msg=f"the catalogue covers at most {self._settings.CATALOGUE_MAX_DAYS} days "
                "(CATALOGUE_MAX_DAYS): ask for a shorter period",
            )
        return CataloguePeriod(start=start, end=end)

    async def catalogue(self, asked: Period) -> Catalogue:
        """Types and fields of the newest events of the period, each judged as the analytics
        read it through the mapping in force (read in the same snapshot)."""
        period = self.period(asked)
        settings = self._settings
        async with self._database.read_snapshot() as connection:
            mapping = await MappingStore(connection, self._project_id).in_force()
            judges = read_fields(mapping)
            figures = await CatalogueStore(connection, self._project_id).figures(
                period.start,
                period.end,
                judges=judges,
                max_events=settings.CATALOGUE_MAX_EVENTS,
                examples=settings.CATALOGUE_EXAMPLES,
                example_chars=settings.CATALOGUE_EXAMPLE_MAX_CHARS,
                max_types=settings.CATALOGUE_MAX_TYPES,
                max_fields=settings.CATALOGUE_MAX_FIELDS,
            )
        return judged_catalogue(
            figures, mapping, judges, period=period, max_events=settings.CATALOGUE_MAX_EVENTS
        )


def judged_catalogue(
    figures: CatalogueFigures,
    mapping: EventMapping,
    judges: list[ReadField],
    *,
    period: CataloguePeriod,
    max_events: int,
) -> Catalogue:
    by_path = {(judge.event_type, judge.path): judge for judge in judges}
    types = []
    for type_figures in figures.types:
        target = mapping.kind_of(type_figures.event_type)
        understood: Understanding = (
            "ignored"
            if target is None
            else "mapped"
            if type_figures.event_type in mapping.rules_by_source
            else "vocabulary"
        )
        fields = [
            _field_entry(field, by_path, type_figures.event_type) for field in type_figures.fields
        ]
        types.append(
            TypeEntry(
                figures=type_figures,
                understood=understood,
                read_as=target,
                fields=fields,
            )
        )
    return Catalogue(
        period=period,
        mapping_version=mapping.version,
        events_read=figures.events_read,
        complete=figures.complete,
        read_from=figures.read_from,
        max_events=max_events,
        types=types,
        types_total=figures.types_total,
    )


def _field_entry(
    field: FieldFigures, by_path: dict[tuple[str, tuple[str, ...]], ReadField], event_type: str
) -> FieldEntry:
    judge = by_path.get((event_type, field.path))
    if judge is not None:
        return FieldEntry(field, judge.understood, judge.read_as, judge.counted)
    # A key that holds a deeper path a rule reads ("payload" of "payload.room.name").
    inner = [
        candidate
        for (candidate_type, path), candidate in by_path.items()
        if candidate_type == event_type
        and len(path) > len(field.path)
        and path[: len(field.path)] == field.path
    ]
    counted_inner = [candidate for candidate in inner if candidate.counted]
    if inner:
        chosen = (counted_inner or inner)[0]
        return FieldEntry(field, chosen.understood, chosen.read_as, bool(counted_inner))
    return FieldEntry(field, "ignored", None, False)
