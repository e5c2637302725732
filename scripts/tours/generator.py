"""Synthetic VR tours: realistic sessions for N customers and properties, sent through the real
ingestion API, with the figures an analytics API must then return (scripts/tours/truth.py).

    python -m scripts.tours.generator --base-url http://127.0.0.1:8000 --customers 20 \\
        --properties 3 --seed 7

Every property has a floor plan (scripts/tours/floor_plans.py: rooms as rectangles in Unreal
centimetres, left-handed, Z up, doors onto a hallway); this module decides who visits what and
when, scripts/tours/visits.py plays each visit (walks, teleports, the headset's position about
once a second), scripts/tours/upload.py sends the tours. Generation is pure: the same seed and
arguments give the same tours, ids included. The event vocabulary is in docs/events.md.

With --as-original-client, each ended tour is sent as the original Unreal client sends it
(scripts/tours/original.py: records with no session id, then a summary in the headset's local
time ending now), one after another, a link tolerance apart; the expected figures are those of
the tours' vocabulary twins.
"""

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx

from .floor_plans import floor_plans
from .original import as_original
from .truth import customer_figures, property_figures
from .upload import TourUploadError, find_api_key, send_as_original_client, send_tours
from .visits import Customer, Tour, TourWriter, random_uuid

# What scripts.tours.generator offers its importers (docs/events.md), wherever it is defined.
__all__ = [
    "Tour",
    "TourUploadError",
    "floor_plans",
    "find_api_key",
    "generate_tours",
    "send_tours",
]

DEVICES = ("Meta Quest 3", "Pico 4", "Valve Index")


def generate_tours(
    *,
    seed: int,
    customers: int,
    properties: int,
    sessions_per_customer: tuple[int, int] = (1, 4),
    start: datetime,
    days: int = 14,
    open_share: float = 0.15,
    position_interval: float = 1.0,
) -> list[Tour]:
    """Tours for `customers` customers over `properties` properties, starting within `days`
    days of `start`, sorted by start time. Keen customers come back, to the same property
    and to others; `open_share` of the tours are never ended. The same arguments give the
    same tours, ids included."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    low, high = sessions_per_customer
    if not 1 <= low <= high:
        raise ValueError("sessions_per_customer must be (low, high) with 1 <= low <= high")
    plans = floor_plans(seed=seed, properties=properties)
    # The start is part of the seed: tours of another period get other ids, so sending them
    # to a server that holds this period's is never mistaken for reusing event ids.
    rng = random.Random(f"{seed}:{int(start.timestamp())}:tours")
    tours = []
    for number in range(1, customers + 1):
        interest = rng.betavariate(1.3, 2.5)
        customer = Customer(
            customer_id=f"cust_{number:04d}",
            interest=interest,
            device_type=rng.choice(DEVICES),
            favourite=rng.choice(sorted(plans)),
        )
        visits = low + round((high - low) * interest**1.2 + rng.uniform(-0.4, 0.4))
        visits = min(max(visits, low), high)
        day_offsets = sorted(rng.randrange(days) for _ in range(visits))
        not_before = 0
        for day in day_offsets:
            day_start = int((start + timedelta(days=day)).timestamp())
            begins = max(not_before, day_start + rng.randint(9 * 3600, 20 * 3600))
            plan = plans[customer.favourite if rng.random() < 0.7 else rng.choice(sorted(plans))]
            device = customer.device_type if rng.random() < 0.9 else rng.choice(DEVICES)
            writer = TourWriter(rng, plan, customer, begins, position_interval)
            tour = writer.write(
                session_id=random_uuid(rng), device_type=device, left_open=rng.random() < open_share
            )
            tours.append(tour)
            not_before = math.ceil(writer.last_ms / 1000) + rng.randint(600, 7200)
    return sorted(tours, key=lambda tour: (tour.session_start, tour.session_id))


# Command line


def _sessions_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError("expected N or LOW-HIGH, such as 1-4") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("expected 1 <= LOW <= HIGH")
    return bounds


def _start_date(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", help="env NEXERO_API_KEY or .nexero/api-key if not given")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--properties", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sessions-per-customer", type=_sessions_range, default=(1, 4))
    parser.add_argument("--days", type=int, default=14, help="days the tours are spread over")
    parser.add_argument(
        "--start",
        type=_start_date,
        help="ISO date of the first day (default: DAYS+1 days ago, midnight UTC)",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--truth", type=Path, help="write the expected figures to this JSON file")
    parser.add_argument("--dry-run", action="store_true", help="generate only; send nothing")
    parser.add_argument(
        "--as-original-client",
        action="store_true",
        help="send each ended tour as the original Unreal client (records, then a summary)",
    )
    parser.add_argument(
        "--utc-offset",
        type=_utc_offset,
        default=UTC,
        help="the headset's local time for --as-original-client, such as +05:30 (default UTC)",
    )
    parser.add_argument(
        "--link-tolerance",
        type=_link_tolerance,
        default=10.0,
        help="the server's LEGACY_LINK_TOLERANCE_SECONDS (at least 1): tours sent as the "
        "original client are spaced past it",
    )
    return parser.parse_args(argv)


def _link_tolerance(text: str) -> float:
    seconds = float(text)
    if seconds < 1:
        raise argparse.ArgumentTypeError("at least 1 (the summary's times are whole seconds)")
    return seconds


def _utc_offset(text: str) -> timezone:
    try:
        moment = datetime.fromisoformat(f"2000-01-01T00:00:00{text}")
    except ValueError:
        raise argparse.ArgumentTypeError("expected an offset such as +05:30 or -08:00") from None
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError("expected an offset such as +05:30 or -08:00")
    return timezone(moment.utcoffset())


async def run(arguments: argparse.Namespace) -> int:
    start = arguments.start
    if start is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=arguments.days + 1)
    tours = generate_tours(
        seed=arguments.seed,
        customers=arguments.customers,
        properties=arguments.properties,
        sessions_per_customer=arguments.sessions_per_customer,
        start=start,
        days=arguments.days,
    )
    events = sum(len(tour.events) for tour in tours)
    print(f"generated {len(tours)} tours, {events} events (seed {arguments.seed}, from {start})")
    if arguments.truth and not arguments.as_original_client:
        write_truth(arguments.truth, tours)
    if arguments.dry_run:
        return 0
    api_key = find_api_key(arguments.api_key)
    headers = {"X-API-Key": api_key} if api_key else {}
    if not api_key:
        print("no API key given (--api-key, NEXERO_API_KEY, .nexero/api-key): sending none")
    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=arguments.base_url.rstrip("/"), headers=headers, timeout=arguments.timeout
    ) as client:
        if arguments.as_original_client:
            return await send_as_original(client, tours, arguments)
        try:
            summary = await send_tours(
                client, tours, batch_size=arguments.batch_size, concurrency=arguments.concurrency
            )
        except (TourUploadError, httpx.TransportError) as error:
            print(f"failed: {error}", file=sys.stderr)
            return 1
    elapsed = time.perf_counter() - began
    print(
        f"sent {summary.sessions} sessions and {summary.events} events to {arguments.base_url} "
        f"in {elapsed:.1f} s ({summary.events / elapsed:.0f} events/s), "
        f"{summary.duplicates} already stored"
    )
    return 0


async def send_as_original(
    client: httpx.AsyncClient, tours: list[Tour], arguments: argparse.Namespace
) -> int:
    """The ended tours as the original client sends them, one after another: each next tour
    begins past the link tolerance of the one before, as a new visitor's would."""
    twins = []
    ended = [tour for tour in tours if tour.session_end is not None]
    for tour in ended:
        original = as_original(tour, zone=arguments.utc_offset)
        try:
            ends_at = await send_as_original_client(client, original)
        except (TourUploadError, httpx.TransportError) as error:
            print(f"failed: {error}", file=sys.stderr)
            return 1
        twins.append(original.twin(ends_at, session_id=tour.session_id))
        print(f"sent {original.fguid}: {len(original.records)} records and its summary")
        await asyncio.sleep(
            max(0.0, ends_at.timestamp() + arguments.link_tolerance + 1 - time.time())
        )
    if arguments.truth:
        write_truth(arguments.truth, twins)
    return 0


def write_truth(path: Path, tours: Sequence[Tour]) -> None:
    truth = {
        "properties": {key: asdict(value) for key, value in property_figures(tours).items()},
        "customers": {key: asdict(value) for key, value in customer_figures(tours).items()},
    }
    path.write_text(json.dumps(truth, indent=2))
    print(f"expected figures written to {path}")


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_arguments())))
