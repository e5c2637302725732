"""Seed a running Nexero with a demo of synthetic tours, then say how to open the dashboard.

    .venv/bin/python scripts/seed_demo.py --base-url http://127.0.0.1:8000
    .venv/bin/python scripts/seed_demo.py --live 3 --speed 4   # then 3 tours in real time

The tours come from scripts/tours/generator.py (same seed, same tours) and go through the real
ingestion API (scripts/tours/upload.py) with an admin key (--api-key, env NEXERO_API_KEY or
.nexero/api-key: the quick start's key has every scope). A read-only key is then created for
the dashboard and printed with the link to open; it is shown only this once.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx

if __package__:  # imported as scripts.seed_demo
    from scripts.tours.floor_plans import floor_plans
    from scripts.tours.generator import generate_tours
    from scripts.tours.plan_images import plan_image, upload_plan
    from scripts.tours.play import play_all
    from scripts.tours.upload import TourUploadError, find_api_key, send_tours
else:  # run as python scripts/seed_demo.py
    from tours.floor_plans import floor_plans
    from tours.generator import generate_tours
    from tours.plan_images import plan_image, upload_plan
    from tours.play import play_all
    from tours.upload import TourUploadError, find_api_key, send_tours

KEYS_PATH = "/api/v1/admin/keys"


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", help="an admin and ingest key (default: NEXERO_API_KEY)")
    parser.add_argument("--customers", type=int, default=25)
    parser.add_argument("--properties", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=14, help="days up to today the tours span")
    parser.add_argument(
        "--live",
        type=int,
        default=0,
        metavar="N",
        help="then play N of the tours in real time, as headsets would (the Live page)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="with --live: this many times faster"
    )
    return parser.parse_args(argv)


async def seed(arguments: argparse.Namespace) -> int:
    api_key = find_api_key(arguments.api_key)
    if not api_key:
        print("no API key: pass --api-key or set NEXERO_API_KEY", file=sys.stderr)
        return 2
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=arguments.days)
    tours = generate_tours(
        seed=arguments.seed,
        customers=arguments.customers,
        properties=arguments.properties,
        start=first_day,
        days=arguments.days,
    )
    base_url = arguments.base_url.rstrip("/")
    async with httpx.AsyncClient(
        base_url=base_url, headers={"X-API-Key": api_key}, timeout=30
    ) as client:
        try:
            summary = await send_tours(client, tours)
        except (TourUploadError, httpx.TransportError) as error:
            print(f"failed to send the tours: {error}", file=sys.stderr)
            return 1
        print(
            f"sent {summary.sessions} sessions and {summary.events} events "
            f"({summary.duplicates} were already stored)"
        )
        await upload_plans(client, arguments)
        created = await client.post(KEYS_PATH, json={"name": "dashboard demo", "scopes": ["read"]})
    period = f"from={first_day.date().isoformat()}&through={today.date().isoformat()}"
    print(f"open {base_url}/dashboard#/overview?{period}")
    if created.status_code == 201:
        print(f"and enter this read-only key (shown only now): {created.json()['key']}")
    else:
        print(
            f"(no read-only key created: the admin API answered {created.status_code}); "
            "enter a key with the read scope"
        )
    if arguments.live:
        print(f"playing {arguments.live} tours live: open {base_url}/dashboard#/live")
        async with httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": api_key}, timeout=30
        ) as client:
            await play_all(client, tours[-arguments.live :], speed=arguments.speed)
    return 0


async def upload_plans(client: httpx.AsyncClient, arguments: argparse.Namespace) -> None:
    """Each demo property's floor plan, calibrated, so heatmaps and paths are drawn on it."""
    plans = floor_plans(seed=arguments.seed, properties=arguments.properties).values()
    try:
        for plan in plans:
            await upload_plan(client, plan_image(plan))
    except httpx.HTTPStatusError as error:
        print(
            f"(no floor plans: the admin API answered {error.response.status_code}); the "
            "heatmaps and paths are drawn on blank axes",
            file=sys.stderr,
        )
        return
    print(f"uploaded {len(plans)} floor plans, calibrated")


if __name__ == "__main__":
    sys.exit(asyncio.run(seed(parse_arguments())))
