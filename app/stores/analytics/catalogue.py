"""SQL for the event catalogue (docs/events.md, "The catalogue"): a project's events of a
period counted per stored type and per field, with example values and the values the analytics
could not read, in one statement.

Its cost is bounded whatever the table holds: it reads at most `max_events` events, the newest
of the period, walking idx_events_project_timestamp backwards (project and period first, so
other projects' rows and older events are never touched); everything after that works on those
rows only. The plan on a million events is in docs/performance.md ("The event catalogue").
"""

from datetime import datetime
from uuid import UUID

import asyncpg

from app.domain.catalogue import CatalogueFigures, FieldFigures, ReadField, TypeFigures
from app.domain.vocabulary import FieldKind
from app.stores.analytics.vocabulary import (
    MAX_EXPLICIT_DURATION_SECONDS,
    NUMERIC_TEXT_PATTERN,
    WHITESPACE_SQL,
    duration_seconds_sql,
    name_sql,
)

# A value the analytics read but cannot use, by the kind of field (the same rules every figure
# reads with: app/stores/analytics/vocabulary.py). JSON null counts as not sent.
UNREADABLE_SQL = f"""CASE
    WHEN judge.kind IS NULL OR jsonb_typeof(field.value) = 'null' THEN false
    WHEN judge.kind = '{FieldKind.NAME}' THEN {name_sql("field.value")} IS NULL
    WHEN judge.kind = '{FieldKind.DURATION}' THEN coalesce(
        {duration_seconds_sql("field.value", seconds_per_unit="judge.seconds_per_unit")}
            NOT BETWEEN 0 AND {MAX_EXPLICIT_DURATION_SECONDS},
        true)
    WHEN judge.kind = '{FieldKind.NUMBER}' THEN NOT coalesce(
        jsonb_typeof(field.value) = 'number'
        OR btrim(field.value #>> '{{}}', {WHITESPACE_SQL}) ~ '{NUMERIC_TEXT_PATTERN}'
            AND jsonb_typeof(field.value) = 'string',
        false)
    ELSE false
END"""

# $1 project, $2/$3 the period [from, to), $4 events read at most, $5 the read fields (JSON),
# $6 examples per field, $7 characters per example, $8 types listed, $9 fields listed per type.
CATALOGUE_SQL = f"""
WITH newest AS MATERIALIZED (
    SELECT event.event_type, event.timestamp, event.event_data,
           row_number() OVER (ORDER BY event.timestamp DESC, event.id DESC) AS position
    FROM tracking_events AS event
    WHERE event.project_id = $1 AND event.timestamp >= $2 AND event.timestamp < $3
    ORDER BY event.timestamp DESC, event.id DESC
    LIMIT $4 + 1
),
events AS NOT MATERIALIZED (
    SELECT event_type, timestamp, event_data FROM newest WHERE position <= $4
),
judges AS (
    SELECT item ->> 'event_type' AS event_type,
           ARRAY(SELECT jsonb_array_elements_text(item -> 'path')) AS path,
           item ->> 'kind' AS kind,
           (item ->> 'seconds_per_unit')::numeric AS seconds_per_unit
    FROM jsonb_array_elements($5::jsonb) AS item
),
fields AS (
    -- Every top-level key, and the deeper paths a rule in force reads.
    SELECT event.event_type, ARRAY[top.key] AS path, top.value, event.timestamp
    FROM events AS event
    CROSS JOIN LATERAL jsonb_each(
        CASE WHEN jsonb_typeof(event.event_data) = 'object' THEN event.event_data END
    ) AS top (key, value)
    UNION ALL
    SELECT event.event_type, judge.path, event.event_data #> judge.path, event.timestamp
    FROM events AS event
    JOIN judges AS judge
        ON judge.event_type = event.event_type AND cardinality(judge.path) > 1
    WHERE jsonb_typeof(event.event_data) = 'object' AND event.event_data #> judge.path IS NOT NULL
),
value_figures AS (
    -- One pass over the fields: each value (cut to its example length) counted, with its
    -- times and how often it was unreadable; the fields' figures add these up.
    SELECT field.event_type, field.path,
           left(CASE WHEN jsonb_typeof(field.value) = 'string' THEN field.value #>> '{{}}'
                     ELSE field.value::text END, $7) AS example,
           count(*) AS uses, min(field.timestamp) AS first_seen_at,
           max(field.timestamp) AS last_seen_at,
           count(*) FILTER (WHERE {UNREADABLE_SQL}) AS unreadable
    FROM fields AS field
    LEFT JOIN judges AS judge ON judge.event_type = field.event_type AND judge.path = field.path
    GROUP BY field.event_type, field.path, example
),
field_figures AS (
    SELECT event_type, path, sum(uses)::bigint AS events, min(first_seen_at) AS first_seen_at,
           max(last_seen_at) AS last_seen_at, sum(unreadable)::bigint AS unreadable,
           row_number() OVER (PARTITION BY event_type ORDER BY sum(uses) DESC, path) AS rank,
           count(*) OVER (PARTITION BY event_type) AS fields_total
    FROM value_figures
    GROUP BY event_type, path
),
example_ranks AS (
    SELECT event_type, path, example,
           row_number() OVER (PARTITION BY event_type, path ORDER BY uses DESC, example) AS rank
    FROM value_figures
),
examples AS (
    SELECT event_type, path, array_agg(example ORDER BY rank) AS examples
    FROM example_ranks
    WHERE rank <= $6
    GROUP BY event_type, path
),
type_figures AS (
    SELECT event_type, count(*) AS events, min(timestamp) AS first_seen_at,
           max(timestamp) AS last_seen_at,
           row_number() OVER (ORDER BY count(*) DESC, event_type) AS rank,
           count(*) OVER () AS types_total
    FROM events
    GROUP BY event_type
),
summary AS (
    SELECT (SELECT count(*) FROM events) AS events_read,
           (SELECT count(*) FROM newest) <= $4 AS complete,
           (SELECT min(timestamp) FROM events) AS read_from
)
SELECT summary.*, listed.*
FROM summary
LEFT JOIN (
    SELECT type.event_type, type.events AS type_events, type.first_seen_at AS type_first_seen_at,
           type.last_seen_at AS type_last_seen_at, type.rank AS type_rank, type.types_total,
           field.path, field.events, field.first_seen_at, field.last_seen_at, field.unreadable,
           field.rank AS field_rank, coalesce(field.fields_total, 0) AS fields_total,
           coalesce(example.examples, '{{}}') AS examples
    FROM type_figures AS type
    LEFT JOIN field_figures AS field
        ON field.event_type = type.event_type AND field.rank <= $9
    LEFT JOIN examples AS example
        ON example.event_type = field.event_type AND example.path = field.path
    WHERE type.rank <= $8
) AS listed ON true
ORDER BY listed.type_rank, listed.field_rank
"""


def judges_parameter(judges: list[ReadField]) -> list[dict[str, object]]:
    """$5 of CATALOGUE_SQL: where each read field is and how it is judged (kind None: no
    figure reads it, so nothing about it is unreadable)."""
    return [
        {
            "event_type": judge.event_type,
            "path": list(judge.path),
            "kind": judge.kind.value if judge.counted else None,
            "seconds_per_unit": str(judge.seconds_per_unit),
        }
        for judge in judges
    ]


# For this statement only (the caller's transaction; they end with it). The one bounded plan is
# the backward walk of idx_events_project_timestamp that the LIMIT stops. When the period holds
# not many more events than the limit, the planner prefers a bitmap scan of the whole period or,
# on a small table, a sequential scan of it, each then sorted: cheaper by its estimate, but what
# they read grows with the period (or the table), not with the limit. And its guesses about
# jsonb_each make the statement look costly enough to JIT-compile, which took longer than the
# work itself (docs/performance.md, "The event catalogue").
PLANNER_SETTINGS = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off"
)


class CatalogueStore:
    """The catalogue of one project's events."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def figures(
        self,
        start: datetime,
        end: datetime,
        *,
        judges: list[ReadField],
        max_events: int,
        examples: int,
        example_chars: int,
        max_types: int,
        max_fields: int,
    ) -> CatalogueFigures:
        """Types and fields of the newest `max_events` events of [start, end), each field
        judged as the analytics read it (`judges`; a field no judge names is not read)."""
        await self._connection.execute(PLANNER_SETTINGS)
        rows = await self._connection.fetch(
            CATALOGUE_SQL,
            self._project_id,
            start,
            end,
            max_events,
            judges_parameter(judges),
            examples,
            example_chars,
            max_types,
            max_fields,
        )
        types: dict[str, TypeFigures] = {}
        for row in rows:
            if row["event_type"] is None:
                continue
            figures = types.get(row["event_type"])
            if figures is None:
                figures = types[row["event_type"]] = TypeFigures(
                    event_type=row["event_type"],
                    events=row["type_events"],
                    first_seen_at=row["type_first_seen_at"],
                    last_seen_at=row["type_last_seen_at"],
                    fields=[],
                    fields_total=row["fields_total"],
                )
            if row["path"] is not None:
                figures.fields.append(
                    FieldFigures(
                        path=tuple(row["path"]),
                        events=row["events"],
                        first_seen_at=row["first_seen_at"],
                        last_seen_at=row["last_seen_at"],
                        examples=list(row["examples"]),
                        unreadable=row["unreadable"],
                    )
                )
        first = rows[0]
        return CatalogueFigures(
            events_read=first["events_read"],
            complete=first["complete"],
            read_from=first["read_from"],
            types=list(types.values()),
            types_total=first["types_total"] or 0,
        )
