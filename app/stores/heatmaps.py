"""SQL for heatmaps: a property's position samples binned into a grid, in one statement.

A coordinate is usable when it is a JSON number, or a numeric string once trimmed (with an
exponent of at most two digits), written in at most 64 characters, and its magnitude is at most
`max_coordinate`: such text always fits a float8, so no value a client sends can make the query
fail. Anything else is counted as skipped, never dropped silently.

The grid is decided in the same statement from the extent of the usable samples:
- `bin_size` given: square cells of that size on a grid aligned to multiples of it (the same
  cells whatever the filters), as many as the extent needs;
- `bins` given: that many cells per axis spanning the extent exactly (cells of size 1 on an
  axis where every sample has the same coordinate).
A sample lands in cell floor((coordinate - origin) / size), kept within the grid (the far edge
belongs to the last cell). Cells are only counted when the grid has at most `max_bins` cells per
axis; otherwise the answer has the grid's shape and no cells, and the caller refuses it.

Room filter: a sample belongs to the place of the latest place event of its session at or before
it (docs/events.md: room_view and zone_enter name a place, zone_exit leaves it; names trimmed,
unnamed events are not place events; ties broken by created_at, then id; a place event at the
same instant as the sample counts as before it). Samples before the first place event, or after
a zone_exit and before the next place event, are in no room.

Position samples and place events are read through the project's event mapping, like every
figure (a client's own position type, its coordinates under other keys, its room events).
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.domain.vocabulary import PLACE_TYPES, EventMapping
from app.stores.analytics.dwell import ProjectQueries
from app.stores.analytics.vocabulary import WHITESPACE_SQL, QueryParameters, VocabularySql

COORDINATES = ("x", "y", "z")
# The JSON key of the height, as a SQL literal (Unreal is Z-up).
HEIGHT_KEY = "'z'"
# A numeric string once trimmed, with an exponent of at most two digits.
COORDINATE_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"


def coordinate_sql(key: str) -> str:
    """samples.event_data's coordinate `key` as a float8, or NULL when unusable. At most 64
    characters (a JSON number as PostgreSQL writes it, which has no exponent, or a trimmed
    numeric string): always within float8's range, so the cast never fails, whatever a client
    sent. The cheap number case is tried first; the regex only runs on strings."""
    value = f"samples.event_data -> {key}"
    text = f"btrim(samples.event_data ->> {key}, {WHITESPACE_SQL})"
    return f"""CASE jsonb_typeof({value})
                WHEN 'number' THEN CASE WHEN length({value} #>> '{{}}') <= 64
                                        THEN ({value} #>> '{{}}')::float8 END
                WHEN 'string' THEN CASE WHEN length({text}) <= 64
                                         AND {text} ~ '{COORDINATE_PATTERN}'
                                        THEN ({text})::float8 END
            END"""


# $1 project, $2 property, $3 session or NULL, $4/$5 the period the sessions started in, or NULL
# (as everywhere in analytics: a session belongs to the period it started in, with all its
# events). Events are reached by the array of the property's session ids: PostgreSQL then reads
# them through the session index, only the pages that hold them, instead of judging a
# sequential scan of every event cheaper.
def _sessions_and_positions(vocabulary: VocabularySql) -> str:
    if vocabulary.raw_types("position") == ["position"]:
        positions = "event.event_type = 'position'"
    else:
        positions = vocabulary.type_filter("event", "position")
    if vocabulary.moves(*COORDINATES):
        pairs = ", ".join(f"'{axis}', {vocabulary.value('event', axis)}" for axis in COORDINATES)
        coordinates = f"jsonb_build_object({pairs})"
    else:
        coordinates = "event.event_data"
    return f"""
    sessions AS (
        SELECT id FROM vr_sessions
        WHERE project_id = $1 AND property_id = $2 AND ($3::uuid IS NULL OR id = $3)
          AND started_at >= coalesce($4::timestamptz, '-infinity')
          AND started_at < coalesce($5::timestamptz, 'infinity')
    ),
    positions AS (
        SELECT event.session_id, event.timestamp, event.created_at, event.id,
               {coordinates} AS event_data
        FROM tracking_events AS event
        WHERE event.project_id = $1
          AND event.session_id = ANY (ARRAY(SELECT id FROM sessions))
          AND {positions}
    ),
"""


def _room_samples(vocabulary: VocabularySql, room: str) -> str:
    """Positions of the time the visitor was in `room` (a parameter)."""
    kind = vocabulary.kind("event")
    # The place a place event names (THE rule's names: trimmed JSON strings, NULL when blank).
    place = (
        f"CASE {kind} WHEN 'room_view' THEN {vocabulary.name('event', 'room_name')} "
        f"ELSE {vocabulary.name('event', 'zone_name')} END"
    )
    return f"""
    place_events AS (
        SELECT event.session_id, event.timestamp, event.created_at, event.id,
               CASE WHEN {kind} <> 'zone_exit' THEN named.place END AS place
        FROM tracking_events AS event
        CROSS JOIN LATERAL (SELECT {place} AS place) AS named
        WHERE event.project_id = $1
          AND event.session_id = ANY (ARRAY(SELECT id FROM sessions))
          AND {vocabulary.type_filter("event", *PLACE_TYPES)}
          AND named.place IS NOT NULL
    ),
    timeline AS (
        SELECT session_id, timestamp, 0 AS kind, created_at, id, place, NULL::jsonb AS event_data
        FROM place_events
        UNION ALL
        SELECT session_id, timestamp, 1, created_at, id, NULL, event_data
        FROM positions
    ),
    numbered AS (
        SELECT kind, place, event_data, session_id,
               count(*) FILTER (WHERE kind = 0) OVER (
                   PARTITION BY session_id ORDER BY timestamp, kind, created_at, id
               ) AS stay
        FROM timeline
    ),
    located AS (
        SELECT kind, event_data, max(place) OVER (PARTITION BY session_id, stay) AS place
        FROM numbered
    ),
    samples AS (
        SELECT event_data FROM located WHERE kind = 1 AND place = {room}
    ),
"""


ALL_SAMPLES = """
    samples AS (
        SELECT event_data FROM positions
    ),
"""


def _coordinates(storey_bounds: tuple[str, str] | None) -> str:
    """Each sample's two coordinates on the plane ($6, $7), NULL when unusable. With
    `storey_bounds` (the parameters of z_min and z_max, NULL for no bound), only samples whose z
    is within [z_min, z_max) keep them; one on another storey is `elsewhere`, and one whose z
    cannot be read is neither used nor elsewhere: skipped."""
    height = ""
    on_storey = "true"
    elsewhere = "false"
    if storey_bounds is not None:
        z_min, z_max = storey_bounds
        height = f", {coordinate_sql(HEIGHT_KEY)} AS z"
        on_storey = (
            f"parsed.z >= coalesce({z_min}::float8, '-infinity') "
            f"AND parsed.z < coalesce({z_max}::float8, 'infinity')"
        )
        elsewhere = f"abs(parsed.z) <= $11 AND NOT ({on_storey})"
    return f"""
    coordinates AS (
        SELECT CASE WHEN abs(parsed.u) <= $11 AND {on_storey} THEN parsed.u END AS u,
               CASE WHEN abs(parsed.v) <= $11 AND {on_storey} THEN parsed.v END AS v,
               {elsewhere} AS elsewhere
        FROM (
            -- OFFSET 0 keeps each coordinate parsed once per row.
            SELECT {coordinate_sql("$6")} AS u, {coordinate_sql("$7")} AS v{height}
            FROM samples
            OFFSET 0
        ) AS parsed
    ),
"""


# $6/$7 the keys of the two axes, $8 bin size or NULL, $9 bins per axis (when $8 is NULL),
# $10 max bins per axis, $11 max coordinate magnitude.
BINNING = """
    extent AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE u IS NOT NULL AND v IS NOT NULL) AS used,
               count(*) FILTER (WHERE elsewhere) AS elsewhere,
               min(u) FILTER (WHERE v IS NOT NULL) AS min_u,
               max(u) FILTER (WHERE v IS NOT NULL) AS max_u,
               min(v) FILTER (WHERE u IS NOT NULL) AS min_v,
               max(v) FILTER (WHERE u IS NOT NULL) AS max_v
        FROM coordinates
    ),
    grid AS (
        SELECT extent.total, extent.used, extent.elsewhere, corner.*,
               CASE WHEN $8::float8 IS NULL THEN $9::integer::float8
                    ELSE floor((extent.max_u - corner.origin_u) / corner.size_u) + 1
               END AS shape_u,
               CASE WHEN $8::float8 IS NULL THEN $9::integer::float8
                    ELSE floor((extent.max_v - corner.origin_v) / corner.size_v) + 1
               END AS shape_v
        FROM extent
        CROSS JOIN LATERAL (
            SELECT CASE WHEN $8::float8 IS NULL THEN extent.min_u
                        ELSE floor(extent.min_u / $8::float8) * $8::float8 END AS origin_u,
                   CASE WHEN $8::float8 IS NULL THEN extent.min_v
                        ELSE floor(extent.min_v / $8::float8) * $8::float8 END AS origin_v,
                   coalesce($8::float8, CASE WHEN extent.max_u > extent.min_u
                                             THEN (extent.max_u - extent.min_u) / $9::integer
                                             ELSE 1 END) AS size_u,
                   coalesce($8::float8, CASE WHEN extent.max_v > extent.min_v
                                             THEN (extent.max_v - extent.min_v) / $9::integer
                                             ELSE 1 END) AS size_v
        ) AS corner
    ),
    cells AS (
        SELECT least(greatest(floor((coordinates.u - grid.origin_u) / grid.size_u), 0),
                     grid.shape_u - 1)::integer AS i,
               least(greatest(floor((coordinates.v - grid.origin_v) / grid.size_v), 0),
                     grid.shape_v - 1)::integer AS j,
               count(*) AS count
        FROM coordinates, grid
        WHERE coordinates.u IS NOT NULL AND coordinates.v IS NOT NULL
          AND grid.shape_u <= $10::integer AND grid.shape_v <= $10::integer
        GROUP BY 1, 2
    )
SELECT grid.total, grid.used, grid.elsewhere, grid.origin_u, grid.origin_v,
       grid.size_u, grid.size_v, grid.shape_u, grid.shape_v, listed.i, listed.j, listed.counts
FROM grid
CROSS JOIN (
    SELECT array_agg(i ORDER BY j, i) AS i, array_agg(j ORDER BY j, i) AS j,
           array_agg(count ORDER BY j, i) AS counts
    FROM cells
) AS listed
"""


@dataclass(frozen=True)
class BinningQuery:
    """Which samples to bin, and how (see the module's doc)."""

    property_id: str
    axes: tuple[str, str]
    bin_size: float | None
    bins: int | None
    max_bins: int
    max_coordinate: float
    session_id: UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    room: str | None = None
    storey_heights: tuple[float | None, float | None] | None = None
    """Only samples whose z is within [low, high) (None: unbounded on that side), as on one
    storey's floor plan; None: every height."""


def heatmap_statement(
    project_id: UUID, mapping: EventMapping, query: BinningQuery
) -> tuple[str, list[object]]:
    """The one statement that bins `query`'s samples, read through `mapping`, and its
    arguments ($2..$11 as the SQL above names them, then the room and the mapping's)."""
    parameters = QueryParameters(project_id)
    for value in (
        query.property_id,
        query.session_id,
        query.start,
        query.end,
        *query.axes,
        query.bin_size,
        query.bins,
        query.max_bins,
        query.max_coordinate,
    ):
        parameters.add(value)
    vocabulary = VocabularySql(mapping, parameters)
    samples = ALL_SAMPLES
    if query.room is not None:
        samples = _room_samples(vocabulary, parameters.add(query.room))
    storey_bounds = None
    if query.storey_heights is not None:
        storey_bounds = (
            parameters.add(query.storey_heights[0]),
            parameters.add(query.storey_heights[1]),
        )
    coordinates = _coordinates(storey_bounds)
    sql = "WITH" + _sessions_and_positions(vocabulary) + samples + coordinates + BINNING
    return sql, parameters.values


@dataclass(frozen=True)
class BinnedPositions:
    samples: int
    """Position samples matching the filters."""
    elsewhere: int
    """Those on another storey than the one asked for."""
    used: int
    """Those with both coordinates of the plane usable."""
    origin: tuple[float, float] | None
    bin_size: tuple[float, float] | None
    shape: tuple[float, float] | None
    """Cells per axis, as computed (may be past any limit, even huge)."""
    cells: list[tuple[int, int, int]] | None
    """(i, j, count) of the non-empty cells, by j then i; None when the grid was too large."""


class HeatmapStore(ProjectQueries):
    """Position samples of one project's properties, read through its event mapping."""

    async def property_has_sessions(self, property_id: str) -> bool:
        return await self._connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM vr_sessions WHERE project_id = $1 AND property_id = $2)",
            self._project_id,
            property_id,
        )

    async def session_property(self, session_id: UUID) -> tuple[bool, str | None]:
        """(whether the session is the project's, its property_id)."""
        row = await self._connection.fetchrow(
            "SELECT property_id FROM vr_sessions WHERE project_id = $1 AND id = $2",
            self._project_id,
            session_id,
        )
        return (row is not None, row["property_id"] if row is not None else None)

    async def bin_positions(self, query: BinningQuery) -> BinnedPositions:
        """Bin the position samples of the property's sessions that started in [start, end)
        (`bin_size` or `bins`: see the module's doc)."""
        sql, arguments = heatmap_statement(self._project_id, self.mapping, query)
        row = await self._connection.fetchrow(sql, *arguments)
        max_bins = query.max_bins
        if not row["used"]:
            return BinnedPositions(row["total"], row["elsewhere"], 0, None, None, None, [])
        shape = (row["shape_u"], row["shape_v"])
        cells = None
        if shape[0] <= max_bins and shape[1] <= max_bins:
            cells = list(zip(row["i"] or [], row["j"] or [], row["counts"] or [], strict=True))
        return BinnedPositions(
            samples=row["total"],
            elsewhere=row["elsewhere"],
            used=row["used"],
            origin=(row["origin_u"], row["origin_v"]),
            bin_size=(row["size_u"], row["size_v"]),
            shape=shape,
            cells=cells,
        )
