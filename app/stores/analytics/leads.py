"""SQL for leads and customers: the lead score of each identified customer (docs/analytics.md)
with its parts, and one customer's time per property and top rooms. Built on dwell.py's
session scope and dwell rule; computed in PostgreSQL over all matching rows.
"""

from dataclasses import replace
from decimal import Decimal
from typing import Any

from app.domain.analytics import (
    CustomerActivity,
    CustomerRoom,
    LeadKey,
    LeadPage,
    LeadRow,
    LeadRules,
    PropertyTime,
    SessionScope,
)
from app.stores.analytics.dwell import ProjectQueries, scope_sql, stays_sql
from app.stores.analytics.vocabulary import QueryParameters, VocabularySql


class AnalyticsLeadStore(ProjectQueries):
    """Lead and customer queries over one project's sessions and events."""

    async def leads(
        self,
        scope: SessionScope,
        rules: LeadRules,
        *,
        tier: str | None,
        after: LeadKey | None,
        limit: int,
    ) -> LeadPage:
        """Identified customers of the scope's sessions scored by the lead rules, best first
        (then by customer id), with the counts per tier of the whole ranking."""
        parameters, vocabulary = self.statement()
        ctes = _scored_leads_sql(scope, rules, parameters, vocabulary)
        page_conditions = ["true"]
        if tier is not None:
            page_conditions.append(f"tier = {parameters.add(tier)}")
        if after is not None:
            score = parameters.add(after.score)
            customer = parameters.add(after.customer_id)
            page_conditions.append(
                f"(score < {score}::numeric "
                f"OR (score = {score}::numeric AND customer_id > {customer}::text))"
            )
        rows = await self._connection.fetch(
            f"""
            WITH {ctes}
            SELECT summary.total, summary.hot, summary.warm, summary.cold, page.*
            FROM (
                SELECT count(*) AS total,
                       count(*) FILTER (WHERE tier = 'hot') AS hot,
                       count(*) FILTER (WHERE tier = 'warm') AS warm,
                       count(*) FILTER (WHERE tier = 'cold') AS cold
                FROM scored
            ) AS summary
            LEFT JOIN LATERAL (
                SELECT * FROM scored
                WHERE {" AND ".join(page_conditions)}
                ORDER BY score DESC, customer_id
                LIMIT {parameters.add(limit)}
            ) AS page ON true
            """,
            *parameters.values,
        )
        summary = rows[0]
        leads = [
            LeadRow(**{field: row[field] for field in LeadRow.__dataclass_fields__})
            for row in rows
            if row["customer_id"] is not None
        ]
        return LeadPage(
            leads=leads,
            total=summary["total"],
            hot=summary["hot"],
            warm=summary["warm"],
            cold=summary["cold"],
        )

    async def customer_exists(self, customer_id: str) -> bool:
        return await self._connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM vr_sessions WHERE project_id = $1 AND customer_id = $2)",
            self._project_id,
            customer_id,
        )

    async def time_per_property(self, scope: SessionScope) -> list[PropertyTime]:
        parameters, _ = self.statement()
        rows = await self._connection.fetch(
            f"""
            SELECT s.property_id, count(*) AS sessions,
                   count(*) FILTER (WHERE s.ended_at IS NULL) AS open_sessions,
                   coalesce(
                       sum(extract(epoch FROM s.ended_at) - extract(epoch FROM s.started_at)), 0
                   ) AS total_seconds,
                   min(s.started_at) AS first_session_at, max(s.started_at) AS last_session_at
            FROM vr_sessions AS s
            WHERE {scope_sql(scope, parameters)}
            GROUP BY s.property_id
            ORDER BY total_seconds DESC, sessions DESC, s.property_id
            """,
            *parameters.values,
        )
        return [PropertyTime(**dict(row)) for row in rows]

    async def customer_activity(self, scope: SessionScope) -> CustomerActivity:
        """The scope's unit selections, screenshots and interactions, counted."""
        parameters, vocabulary = self.statement()
        signals = ("unit_selection", "screenshot_taken", "interaction")
        row = await self._connection.fetchrow(
            f"""
            SELECT count(*) FILTER (WHERE kinds.kind = 'unit_selection') AS unit_selections,
                   count(*) FILTER (WHERE kinds.kind = 'screenshot_taken') AS screenshots,
                   count(*) FILTER (WHERE kinds.kind = 'interaction') AS interactions
            FROM vr_sessions AS s
            JOIN tracking_events AS e ON e.session_id = s.id
            CROSS JOIN LATERAL (SELECT {vocabulary.kind("e")} AS kind) AS kinds
            WHERE {scope_sql(scope, parameters)} AND e.project_id = $1
              AND {vocabulary.type_filter("e", *signals)}
            """,
            *parameters.values,
        )
        return CustomerActivity(**dict(row))

    async def customer_rooms(self, scope: SessionScope, *, top: int) -> list[CustomerRoom]:
        """Rooms (per property) by the customer's total dwell, at most `top`."""
        parameters, vocabulary = self.statement()
        rows = await self._connection.fetch(
            f"""
            WITH {stays_sql(scope, parameters, vocabulary)},
            rooms AS (
                SELECT s.property_id, stays.place, sum(stays.dwell_seconds) AS dwell_seconds,
                       count(DISTINCT stays.session_id) AS sessions
                FROM stays
                JOIN scoped_sessions AS s ON s.id = stays.session_id
                GROUP BY s.property_id, stays.place
            )
            SELECT rooms.*, count(*) OVER () AS rooms
            FROM rooms
            ORDER BY dwell_seconds DESC, property_id, place
            LIMIT {parameters.add(top)}
            """,
            *parameters.values,
        )
        return [CustomerRoom(**dict(row)) for row in rows]


def _scored_leads_sql(
    scope: SessionScope,
    rules: LeadRules,
    parameters: QueryParameters,
    vocabulary: VocabularySql,
) -> str:
    """CTEs ending in `scored`: one row per identified customer of the scope with the parts of
    the lead score, each part's points (rounded to 0.1), the score (their sum) and the tier."""
    identified = replace(scope, identified_customers_only=True)
    stays = stays_sql(identified, parameters, vocabulary)

    def add(value: Any) -> str:
        return f"{parameters.add(value)}::numeric"

    def points(value: str, target: Decimal, weight: Decimal) -> str:
        # One division, then rounding: exact to reproduce (docs/analytics.md).
        return f"round(100 * {add(weight)} * least({value}, {add(target)}) / {add(target)}, 1)"

    room_min = add(rules.room_interest_min_seconds)
    return f"""
    {stays},
    customer_rooms AS (
        SELECT s.customer_id, s.property_id, stays.place, sum(stays.dwell_seconds) AS dwell_seconds
        FROM stays
        JOIN scoped_sessions AS s ON s.id = stays.session_id
        GROUP BY s.customer_id, s.property_id, stays.place
    ),
    interest AS (
        SELECT customer_id, count(*) FILTER (WHERE dwell_seconds >= {room_min}) AS rooms
        FROM customer_rooms
        GROUP BY customer_id
    ),
    parts AS (
        SELECT s.customer_id, count(*) AS sessions,
               coalesce(sum(s.duration_seconds), 0) AS total_seconds,
               count(s.property_id) - count(DISTINCT s.property_id) AS revisits,
               count(DISTINCT s.property_id) AS properties,
               min(s.started_at) AS first_session_at, max(s.started_at) AS last_session_at
        FROM scoped_sessions AS s
        GROUP BY s.customer_id
    ),
    pointed AS (
        SELECT parts.*, coalesce(interest.rooms, 0) AS rooms_of_interest,
               {points("parts.sessions", rules.sessions_target, rules.sessions_weight)}
                   AS sessions_points,
               {points("parts.total_seconds", rules.time_target_seconds, rules.time_weight)}
                   AS time_points,
               {points("parts.revisits", rules.revisits_target, rules.revisits_weight)}
                   AS revisits_points,
               {points("coalesce(interest.rooms, 0)", rules.rooms_target, rules.rooms_weight)}
                   AS rooms_points
        FROM parts
        LEFT JOIN interest ON interest.customer_id = parts.customer_id
    ),
    summed AS (
        SELECT pointed.*, sessions_points + time_points + revisits_points + rooms_points AS score
        FROM pointed
    ),
    scored AS (
        SELECT summed.*,
               CASE WHEN score >= {add(rules.hot_min_score)} THEN 'hot'
                    WHEN score >= {add(rules.warm_min_score)} THEN 'warm'
                    ELSE 'cold' END AS tier
        FROM summed
    )"""
