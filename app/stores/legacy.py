"""SQL for the original Unreal client's records (docs/ingestion.md, "The original client"):
view, POI and unit selection records kept in legacy_records until the session summary that
covers them arrives, then laid out on the session's timeline as its events.

A sender is a project, a key (NULL: keyless) and a client address. Records without a session id
belong to the tour of their sender whose summary covers their receive time (legacy_tours).
Every statement about a sender runs under that sender's advisory lock (`lock_sender`), so a
record and the summary that covers it never miss each other.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from app.domain.events import Sender, UnclaimedRecords
from app.stores.analytics.vocabulary import MAX_EXPLICIT_DURATION_SECONDS, duration_seconds_sql

# A view record's own duration (clock text such as "0:06"), valid from 0 to a day; NULL when it
# is garbage, as the analytics read it (docs/events.md).
VIEW_SECONDS_SQL = f"""(
    SELECT CASE WHEN parsed.value BETWEEN 0 AND {MAX_EXPLICIT_DURATION_SECONDS}
                THEN parsed.value END
    FROM (SELECT {duration_seconds_sql("r.record -> 'TotalDuration'")} AS value) AS parsed
)"""
VIEW_TYPE = "View"


@dataclass(frozen=True)
class StoredRecord:
    id: int
    event_type: str
    record: dict
    received_at: datetime
    session_id: UUID | None


class LegacyStore:
    """The records and tours of one project."""

    def __init__(self, connection: asyncpg.Connection, project_id: UUID) -> None:
        self._connection = connection
        self._project_id = project_id

    async def lock_sender(self, sender: Sender) -> None:
        """Serialise this sender's records and summaries until the transaction ends."""
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"legacy|{self._project_id}|{sender.key_id}|{sender.client_address}",
        )

    async def latest_record(self, sender: Sender) -> StoredRecord | None:
        row = await self._connection.fetchrow(
            """
            SELECT id, event_type, record, received_at, session_id FROM legacy_records
            WHERE project_id = $1 AND key_id IS NOT DISTINCT FROM $2 AND client_address = $3
            ORDER BY received_at DESC, id DESC
            LIMIT 1
            """,
            self._project_id,
            sender.key_id,
            sender.client_address,
        )
        return StoredRecord(**dict(row)) if row is not None else None

    async def insert_record(
        self,
        sender: Sender,
        *,
        event_type: str,
        record: dict,
        session_id: UUID | None,
        received_at: datetime,
    ) -> int:
        return await self._connection.fetchval(
            """
            INSERT INTO legacy_records (
                project_id, key_id, client_address, session_id, event_type, record, received_at
            )
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
            RETURNING id
            """,
            self._project_id,
            sender.key_id,
            sender.client_address,
            session_id,
            event_type,
            record,
            received_at,
        )

    async def covering_tour(self, sender: Sender, *, received_at: datetime) -> UUID | None:
        """The session of this sender whose summary covers a record received then."""
        return await self._connection.fetchval(
            """
            SELECT session_id FROM legacy_tours
            WHERE project_id = $1 AND key_id IS NOT DISTINCT FROM $2 AND client_address = $3
              AND $4 BETWEEN covers_from AND covers_until
            ORDER BY covers_until DESC
            LIMIT 1
            """,
            self._project_id,
            sender.key_id,
            sender.client_address,
            received_at,
        )

    async def ensure_tour(
        self,
        session_id: UUID,
        sender: Sender,
        *,
        starts: datetime,
        ends: datetime,
        tolerance: timedelta,
    ) -> None:
        """Record that this sender's summary covers [starts, ends] (with `tolerance` on both
        sides), its records laid out from `starts`; a retried summary keeps the first."""
        await self._connection.execute(
            """
            INSERT INTO legacy_tours (
                session_id, project_id, key_id, client_address, covers_from, covers_until,
                layout_at
            )
            VALUES ($1, $2, $3, $4, $5::timestamptz - $7::interval,
                    $6::timestamptz + $7::interval, $5)
            ON CONFLICT (session_id) DO NOTHING
            """,
            session_id,
            self._project_id,
            sender.key_id,
            sender.client_address,
            starts,
            ends,
            tolerance,
        )

    async def unclaimed(self, *, limit: int) -> tuple[int, list[UnclaimedRecords]]:
        """Records no summary has claimed yet: how many, and per sender (key, address) and
        type, their count and first and last receive times (the `limit` latest senders)."""
        rows = await self._connection.fetch(
            """
            SELECT key_id, client_address, event_type, count(*) AS records,
                   min(received_at) AS first_received_at, max(received_at) AS last_received_at,
                   sum(count(*)) OVER () AS total
            FROM legacy_records
            WHERE project_id = $1 AND NOT attached
            GROUP BY key_id, client_address, event_type
            ORDER BY last_received_at DESC
            LIMIT $2
            """,
            self._project_id,
            limit,
        )
        total = int(rows[0]["total"]) if rows else 0
        return total, [
            UnclaimedRecords(**{key: row[key] for key in row.keys() if key != "total"})
            for row in rows
        ]

    async def attach(self, session_id: UUID, *, sender: Sender | None) -> int:
        """Lay the session's records out on its timeline as its events, once: those sent with
        its id, and (given a sender) that sender's records without an id received while its
        tour covers them. In the order received, each at the tour's layout time; a view record
        moves the layout on by its duration. Returns how many became events."""
        return await self._connection.fetchval(
            f"""
            WITH tour AS (
                SELECT layout_at, covers_from, covers_until FROM legacy_tours
                WHERE session_id = $2 AND project_id = $1
                FOR UPDATE
            ),
            records AS (
                UPDATE legacy_records AS r
                SET session_id = $2, attached = true
                FROM tour
                WHERE r.project_id = $1 AND NOT r.attached
                  AND (r.session_id = $2
                       OR ($5 AND r.session_id IS NULL
                           AND r.key_id IS NOT DISTINCT FROM $3 AND r.client_address = $4
                           AND r.received_at BETWEEN tour.covers_from AND tour.covers_until))
                RETURNING r.id, r.event_type, r.record, r.received_at
            ),
            timed AS (
                SELECT r.*,
                       CASE WHEN r.event_type = '{VIEW_TYPE}' THEN {VIEW_SECONDS_SQL} END
                           AS view_seconds
                FROM records AS r
            ),
            laid AS (
                SELECT timed.*,
                       tour.layout_at + make_interval(secs => coalesce(sum(view_seconds) OVER (
                           ORDER BY timed.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                       ), 0)) AS at,
                       -- Stored a microsecond apart, so that records laid out at the same time
                       -- keep the order they came in (the timeline's tie-break).
                       now() + make_interval(secs => (
                           row_number() OVER (ORDER BY timed.id) - 1
                       ) * 0.000001) AS stored_at
                FROM timed, tour
            ),
            inserted AS (
                INSERT INTO tracking_events (
                    project_id, session_id, event_id, content_id, event_type, timestamp,
                    client_timestamp, event_data, received_at, created_at
                )
                SELECT $1, $2, md5('legacy-record:' || id)::uuid,
                       md5('legacy-record:' || id)::uuid, event_type, at, at, record, received_at,
                       stored_at
                FROM laid
                ON CONFLICT (session_id, event_id) DO NOTHING
                RETURNING event_id
            ),
            moved AS (
                UPDATE legacy_tours
                SET layout_at = layout_at
                    + make_interval(secs => (SELECT coalesce(sum(view_seconds), 0) FROM laid))
                WHERE session_id = $2
            )
            SELECT count(*) FROM inserted
            """,
            self._project_id,
            session_id,
            sender.key_id if sender else None,
            sender.client_address if sender else "",
            sender is not None,
        )


async def purge_legacy_records(connection: asyncpg.Connection, *, older_than: timedelta) -> int:
    """Forget the records (of every project) received longer ago than `older_than`: those laid
    out already (their events stay), and those no summary covered in time."""
    deleted = await connection.execute(
        "DELETE FROM legacy_records WHERE received_at < now() - $1::interval", older_than
    )
    return int(deleted.split()[-1])
