"""SQL of the live feed: a session's events in commit order (live_position), the open streams
counted per key across workers, and the secret that signs stream tokens."""

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import asyncpg

from app.domain.live import LiveEvent
from app.domain.vocabulary import VOCABULARY, EventMapping
from app.stores.analytics.vocabulary import QueryParameters, VocabularySql


def utc_text_sql(column: str) -> str:
    """A timestamptz as the API writes times: ISO 8601 in UTC with +00:00."""
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


# Arbitrary but fixed: the advisory locks that serialize stream openings of one key.
STREAM_LOCK_NAMESPACE = 731_824_511


class LiveEventStore:
    """The events of one project's sessions, in the order they were committed."""

    def __init__(
        self, connection: asyncpg.Connection, project_id: UUID, mapping: EventMapping
    ) -> None:
        self._connection = connection
        self._project_id = project_id
        self._mapping = mapping

    async def session_exists(self, session_id: UUID) -> bool:
        return await self._connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM vr_sessions WHERE id = $2 AND project_id = $1)",
            self._project_id,
            session_id,
        )

    async def latest_position(self, session_id: UUID) -> int:
        """The position of the session's latest event (0: none has one)."""
        return await self._connection.fetchval(
            "SELECT coalesce(max(live_position), 0) FROM tracking_events "
            "WHERE project_id = $1 AND session_id = $2",
            self._project_id,
            session_id,
        )

    async def events_after(self, session_id: UUID, *, after: int, limit: int) -> list[LiveEvent]:
        """Up to `limit` events stored after position `after`, in commit order. Events stored
        before the live feed existed have no position: they come first, when `after` is 0."""
        parameters = QueryParameters(self._project_id)
        vocabulary = VocabularySql(self._mapping, parameters)
        session = parameters.add(session_id)
        kind = vocabulary.kind("e")
        known = parameters.add(sorted(VOCABULARY))
        if after == 0:
            condition = "(e.live_position > 0 OR e.live_position IS NULL)"
            order = "e.live_position NULLS FIRST, e.timestamp, e.id"
        else:
            # The index's own condition and order (positions are unique), so that it serves
            # alone: a session's new events, never the whole session read and sorted.
            condition = f"e.live_position > {parameters.add(after)}"
            order = "e.live_position"
        rows = await self._connection.fetch(
            f"""
            SELECT coalesce(e.live_position, 0) AS position, json_build_object(
                'position', coalesce(e.live_position, 0),
                'event_id', e.event_id,
                'event_type', e.event_type,
                'kind', CASE WHEN {kind} = ANY({known}::text[]) THEN {kind} END,
                'timestamp', {utc_text_sql("e.timestamp")},
                'received_at', {utc_text_sql("e.received_at")},
                'event_data', e.event_data
            )::text AS message_json,
            extract(epoch FROM e.received_at)::float8 AS received_at
            FROM tracking_events AS e
            WHERE e.project_id = $1 AND e.session_id = {session} AND {condition}
            ORDER BY {order}
            LIMIT {parameters.add(limit)}
            """,
            *parameters.values,
        )
        return [LiveEvent(*row) for row in rows]

    async def position_before_last(self, session_id: UUID, *, count: int) -> int:
        """The position after which the session's last `count` events lie (0: it has no more
        than that)."""
        return (
            await self._connection.fetchval(
                """
            SELECT coalesce(min(live_position) - 1, 0) FROM (
                SELECT live_position FROM tracking_events
                WHERE project_id = $1 AND session_id = $2 AND live_position IS NOT NULL
                ORDER BY live_position DESC
                LIMIT $3
            ) AS last_events
            HAVING count(*) >= $3
            """,
                self._project_id,
                session_id,
                count,
            )
            or 0
        )


class LiveStreamStore:
    """Open streams, counted per key across every worker and replica."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def open(
        self,
        stream_id: UUID,
        *,
        key_id: UUID,
        project_id: UUID,
        limit: int,
        stale_after: timedelta,
    ) -> bool:
        """Record a stream of the key, unless it has `limit` open already (streams not seen
        for `stale_after` do not count). Must run in a transaction: the key's lock is held to
        its end, so two openings at once cannot both take the last place."""
        await self._connection.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text))",
            STREAM_LOCK_NAMESPACE,
            key_id,
        )
        return await self._connection.fetchval(
            """
            WITH opened AS (
                INSERT INTO live_streams (id, key_id, project_id)
                SELECT $1, $2, $3
                WHERE (
                    SELECT count(*) FROM live_streams
                    WHERE key_id = $2 AND seen_at > now() - $5::interval
                ) < $4
                RETURNING id
            )
            SELECT EXISTS (SELECT 1 FROM opened)
            """,
            stream_id,
            key_id,
            project_id,
            limit,
            stale_after,
        )

    async def close(self, stream_ids: Sequence[UUID]) -> None:
        await self._connection.execute(
            "DELETE FROM live_streams WHERE id = ANY($1::uuid[])", list(stream_ids)
        )

    async def mark_seen(self, stream_ids: Sequence[UUID], *, stale_after: timedelta) -> None:
        """Keep these streams counted; forget those of workers gone for `stale_after`."""
        await self._connection.execute(
            "UPDATE live_streams SET seen_at = now() WHERE id = ANY($1::uuid[])", list(stream_ids)
        )
        await self._connection.execute(
            "DELETE FROM live_streams WHERE seen_at < now() - $1::interval", stale_after
        )

    async def token_secret(self, candidate: bytes) -> bytes:
        """The secret every replica signs stream tokens with: `candidate` if none exists yet."""
        return await self._connection.fetchval(
            """
            WITH made AS (
                INSERT INTO live_token_secrets (id, secret) VALUES (1, $1)
                ON CONFLICT (id) DO NOTHING
                RETURNING secret
            )
            SELECT secret FROM made
            UNION ALL
            SELECT secret FROM live_token_secrets WHERE id = 1
            LIMIT 1
            """,
            candidate,
        )
