"""Tours played in real time (scripts/tours/play.py, seed_demo.py --live): each becomes a new
session that starts now, with every event of the recorded tour, and ends."""

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from scripts.tours.generator import generate_tours
from scripts.tours.play import play_all, starting_now

SPEED = 5000.0


async def test_a_played_tour_starts_now_and_arrives_whole(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    recorded = [
        tour
        for tour in generate_tours(
            seed=11,
            customers=3,
            properties=1,
            start=datetime.now(UTC) - timedelta(days=2),
            days=1,
        )
        if tour.session_end is not None
    ][:2]
    assert recorded
    before = datetime.now(UTC)
    moved = starting_now(recorded[0], speed=SPEED)
    assert moved.session_id != recorded[0].session_id
    assert moved.session_start >= before.timestamp()
    await play_all(client, recorded, speed=SPEED)
    rows = await db.fetch(
        """
        SELECT s.status, s.started_at, count(e.id) AS events
        FROM vr_sessions AS s LEFT JOIN tracking_events AS e ON e.session_id = s.id
        WHERE s.started_at >= $1 AND s.property_id = $2
        GROUP BY s.id
        """,
        before,
        recorded[0].property_id,
    )
    played = sorted(row["events"] for row in rows if row["started_at"] >= before)
    assert played == sorted(len(tour.events) for tour in recorded)
    assert {row["status"] for row in rows if row["started_at"] >= before} == {"completed"}
