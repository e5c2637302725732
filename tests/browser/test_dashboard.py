"""The dashboard, page by page, in a real browser: every number it shows is the read API's
answer to the same question (and, where the seeded tours define it, the ground truth's), shown
by the rules of app/dashboard/js/format.js. Screenshots go to test-artifacts/dashboard/."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scripts.tours.truth import customer_figures, property_figures, room_dwell
from tests.browser.browsing import (
    CHROMIUM,
    PAGE_SIZE,
    BrowserProblems,
    SeededDashboard,
    api,
    chart_data,
    fragment,
    row_ids,
    screenshot,
    settle,
    sign_in,
    table_rows,
    text,
    texts,
    tour_of,
    wait_for_heatmap,
)
from tests.browser.shown import (
    shown_change,
    shown_count,
    shown_duration,
    shown_percent,
    shown_score,
    shown_status,
    shown_time,
)

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)",
        allow_module_level=True,
    )
pytest.importorskip(
    "playwright.async_api", reason="the playwright package is missing (requirements-dev.txt)"
)

PROPERTY = "prop_001"


async def test_a_key_is_asked_for_once_and_refusals_are_explained(
    page: Any, seeded: SeededDashboard, browser_problems: BrowserProblems, artifacts_dir: Path
) -> None:
    browser_problems.allow("status of 401")
    browser_problems.allow("status of 403")
    browser_problems.allow("status of 429")
    start = fragment("overview", seeded.period)

    await sign_in(page, seeded, start, key="nexero-not-a-key-000000000000")
    await page.wait_for_selector("[data-testid=key-message]:has-text('401')")
    assert await page.locator("[data-testid=main]").is_hidden()
    await page.fill("[data-testid=key-input]", seeded.ingest_key)
    await page.click("[data-testid=key-submit]")
    await page.wait_for_selector("[data-testid=key-message]:has-text('403')")
    assert "read scope" in await text(page, "key-message")
    await screenshot(page, artifacts_dir, "key-refused")

    await page.fill("[data-testid=key-input]", seeded.read_key)
    await settle(page, lambda: page.click("[data-testid=key-submit]"))
    assert await page.locator("[data-testid=key-panel]").is_hidden()
    assert await page.evaluate("sessionStorage.getItem('nexero.apiKey')") == seeded.read_key
    # Another page of the same tab does not ask again.
    await settle(page, lambda: page.click("nav a[data-page=leads]"))
    assert await page.locator("[data-testid=page-leads]").count() == 1

    # The rate limit's 429 says when to try again.
    await page.route(
        re.compile(r"/api/v1/leads\?"),
        lambda route: route.fulfill(
            status=429, headers={"Retry-After": "7"}, json={"detail": "Rate limit exceeded"}
        ),
    )
    await page.click("nav a[data-page=overview]")
    await page.wait_for_selector("main[data-state=ready]")
    await page.click("nav a[data-page=leads]")
    await page.wait_for_selector("[data-testid=error-banner]:has-text('try again in 7 s')")
    assert await page.locator("[data-testid=key-panel]").is_hidden()

    await page.click("[data-testid=change-key]")
    assert await page.locator("[data-testid=key-panel]").is_visible()
    assert await page.evaluate("sessionStorage.getItem('nexero.apiKey')") is None


async def test_overview_shows_the_api_kpis_with_changes_trend_and_funnel(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    # A period holding the second week of tours: the week before is its previous period.
    first = seeded.first_day + timedelta(days=7)
    period = {"from": first.isoformat(), "through": seeded.last_day.isoformat()}
    api_period = {"from": period["from"], "to": (seeded.last_day + timedelta(days=1)).isoformat()}
    overview = await api(seeded, "/overview", **api_period)
    daily = await api(seeded, "/overview/daily", **api_period)
    funnel = await api(seeded, "/funnel", **api_period)

    await sign_in(page, seeded, fragment("overview", seeded.period))
    await page.fill("[data-testid=period-from]", period["from"])
    await page.fill("[data-testid=period-through]", period["through"])
    await settle(page, lambda: page.click("[data-testid=period-form] button[type=submit]"))

    kpis = overview["kpis"]
    # Every seeded event found its session: nothing waits, so no notice says so.
    assert await page.locator("[data-testid=overview-unclaimed]").count() == 0
    assert kpis["sessions"]["previous"] > 0 and kpis["sessions"]["value"] > 0
    starts = datetime.fromisoformat(f"{period['from']}T00:00:00+00:00").timestamp()
    in_period = [tour for tour in seeded.tours if tour.session_start >= starts]
    assert kpis["sessions"]["value"] == len(in_period)
    assert kpis["unique_customers"]["value"] == len({tour.customer_id for tour in in_period})
    assert await text(page, "kpi-sessions-value") == shown_count(kpis["sessions"]["value"])
    assert await text(page, "kpi-unique-customers-value") == shown_count(
        kpis["unique_customers"]["value"]
    )
    assert await text(page, "kpi-median-duration-value") == shown_duration(
        kpis["median_duration_seconds"]["value"]
    )
    assert await text(page, "kpi-engaged-rate-value") == shown_percent(
        kpis["engaged_rate"]["value"]
    )
    for testid, metric, show in (
        ("kpi-sessions", "sessions", shown_count),
        ("kpi-unique-customers", "unique_customers", shown_count),
        ("kpi-median-duration", "median_duration_seconds", shown_duration),
    ):
        kpi = kpis[metric]
        previous = f"{show(kpi['previous'])} in the previous period"
        if kpi["change"] == 0:
            expected = f"same as {previous}"
        elif kpi["relative_change"] is None:
            expected = f"up from {previous}"
        else:
            expected = f"{shown_change(kpi['relative_change'])} vs {previous}"
        assert await text(page, f"{testid}-change") == expected, metric
    assert shown_count(kpis["engaged_sessions"]["value"]) in await text(
        page, "kpi-engaged-rate-change"
    )

    trend = await chart_data(page, "trend-chart")
    assert trend["labels"] == [day["date"] for day in daily["days"]]
    assert [dataset["data"] for dataset in trend["datasets"]] == [
        [day[field] for day in daily["days"]]
        for field in ("sessions", "unique_customers", "engaged_sessions")
    ]
    assert await table_rows(page, "daily", ["date", "sessions", "engaged"]) == [
        (day["date"], shown_count(day["sessions"]), shown_count(day["engaged_sessions"]))
        for day in daily["days"]
    ]
    assert await table_rows(page, "funnel-steps", ["sessions", "from-previous", "from-start"]) == [
        (
            shown_count(step["sessions"]),
            shown_percent(step["rate_from_previous"]),
            shown_percent(step["rate_from_start"]),
        )
        for step in funnel["steps"]
    ]
    assert (await chart_data(page, "funnel-chart"))["datasets"][0]["data"] == [
        step["sessions"] for step in funnel["steps"]
    ]
    await screenshot(page, artifacts_dir, "overview")

    # One property's overview.
    one = await api(seeded, "/overview", **api_period, property_id=PROPERTY)
    await page.fill("[data-testid=overview-property]", PROPERTY)
    await settle(page, lambda: page.press("[data-testid=overview-property]", "Enter"))
    assert await text(page, "kpi-sessions-value") == shown_count(one["kpis"]["sessions"]["value"])
    assert one["kpis"]["sessions"]["value"] < kpis["sessions"]["value"]


async def test_sessions_table_filters_and_opens_a_session_timeline_with_room_dwell(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    # Page by page, as the API pages them.
    await sign_in(page, seeded, fragment("sessions", seeded.period))
    columns = ["started", "customer", "property", "device", "status", "duration"]
    walked: list[str] = []
    paging: dict[str, str] = {}
    while True:
        listed = await api(seeded, "/sessions", **seeded.api_period, **paging)
        assert await row_ids(page, "sessions") == [session["id"] for session in listed["sessions"]]
        assert await table_rows(page, "sessions", columns) == [
            (
                shown_time(session["started_at"]),
                session["customer_id"],
                session["property_id"],
                session["device_type"],
                shown_status(session),
                shown_duration(session["duration_seconds"]),
            )
            for session in listed["sessions"]
        ]
        walked += await row_ids(page, "sessions")
        if listed["next_cursor"] is None:
            assert await page.locator("[data-testid=page-end]").count() == 1
            break
        paging = {"cursor": listed["next_cursor"]}
        await settle(page, lambda: page.click("[data-testid=page-next]"))
    assert len(walked) > PAGE_SIZE
    assert sorted(walked) == sorted(str(uuid.UUID(tour.session_id)) for tour in seeded.tours)

    await page.fill("[data-testid=filter-property]", PROPERTY)
    await page.select_option("[data-testid=filter-status]", "completed")
    await settle(page, lambda: page.click("[data-testid=filter-apply]"))
    filtered = await api(
        seeded, "/sessions", **seeded.api_period, property_id=PROPERTY, status="completed"
    )
    assert filtered["sessions"]
    assert await row_ids(page, "sessions") == [session["id"] for session in filtered["sessions"]]

    # Open the session whose tour has the most rooms.
    chosen = max(
        filtered["sessions"],
        key=lambda session: len(room_dwell(tour_of(seeded, session["id"]))),
    )
    detail = await api(seeded, f"/sessions/{chosen['id']}")
    await settle(
        page, lambda: page.click(f"[data-testid=sessions-row][data-session-id='{chosen['id']}']")
    )
    assert (
        await page.locator(f"[data-testid=page-session][data-session-id='{chosen['id']}']").count()
        == 1
    )
    assert await text(page, "session-customer") == chosen["customer_id"]
    assert await text(page, "session-property") == PROPERTY
    assert await text(page, "session-duration") == shown_duration(chosen["duration_seconds"])
    assert await text(page, "session-events") == shown_count(detail["events_total"])

    truth = room_dwell(tour_of(seeded, chosen["id"]))
    assert await table_rows(page, "session-rooms", ["room", "dwell", "visits"]) == [
        (room["room"], shown_duration(room["dwell_seconds"]), shown_count(room["visits"]))
        for room in detail["rooms"]
    ]
    assert {room["room"]: shown_duration(room["dwell_seconds"]) for room in detail["rooms"]} == {
        room: shown_duration(seconds) for room, seconds in truth.items()
    }
    bars = await chart_data(page, "session-rooms-chart")
    assert bars["labels"] == [room["room"] for room in detail["rooms"]]
    assert bars["datasets"][0]["data"] == [room["dwell_seconds"] for room in detail["rooms"]]

    stays = [entry for entry in detail["timeline"] if entry["place"] is not None]
    assert await texts(page, "[data-testid=path-step]") == [
        f"{entry['place']} · {shown_duration(entry['dwell_seconds'])}" for entry in stays
    ]
    assert await table_rows(page, "timeline", ["time", "type"]) == [
        (shown_time(entry["timestamp"]), entry["event_type"]) for entry in detail["timeline"]
    ]
    heatmap_counts = await api(seeded, f"/properties/{PROPERTY}/heatmap", session_id=chosen["id"])
    heatmap = await wait_for_heatmap(page, "session-heatmap-image")
    assert heatmap["src"].startswith("blob:")
    assert heatmap["width"] > 0 and heatmap["bytes"] > 0
    assert heatmap["used"] == heatmap_counts["samples"]["used"] > 0
    await screenshot(page, artifacts_dir, "session")


async def test_property_report_shows_rooms_pois_gaze_and_a_heatmap(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    report = await api(seeded, f"/properties/{PROPERTY}/report", **seeded.api_period)
    truth = property_figures(seeded.tours)[PROPERTY]

    await sign_in(page, seeded, fragment("properties", seeded.period))
    # Every property of the period (one page here), each with its true figures.
    everyone = property_figures(seeded.tours)
    listed = await api(seeded, "/properties", **seeded.api_period)
    assert [row["property_id"] for row in listed["properties"]] == sorted(everyone)
    assert listed["next_cursor"] is None
    latest = {
        name: max(tour.session_start for tour in seeded.tours if tour.property_id == name)
        for name in everyone
    }
    assert await table_rows(page, "properties", ["name", "sessions", "customers", "last"]) == [
        (
            name,
            shown_count(everyone[name].sessions),
            shown_count(everyone[name].unique_customers),
            shown_time(datetime.fromtimestamp(latest[name], UTC).isoformat()),
        )
        for name in sorted(everyone)
    ]
    assert await page.locator("[data-testid=page-end]").count() == 1
    # Each name opens its report; any property id can be typed too.
    other = sorted(everyone)[-1]
    await settle(page, lambda: page.click(f"[data-testid=property-link]:text-is('{other}')"))
    assert await text(page, "property-title") == other
    await page.fill("[data-testid=property-input]", PROPERTY)
    await settle(page, lambda: page.press("[data-testid=property-input]", "Enter"))
    assert await text(page, "property-title") == PROPERTY

    assert (report["sessions"], report["unique_customers"], report["open_sessions"]) == (
        truth.sessions,
        truth.unique_customers,
        truth.open_sessions,
    )
    for testid, value in (
        ("property-sessions", shown_count(report["sessions"])),
        ("property-open", shown_count(report["open_sessions"])),
        ("property-customers", shown_count(report["unique_customers"])),
        ("property-median", shown_duration(report["median_duration_seconds"])),
        ("property-mean", shown_duration(report["mean_duration_seconds"])),
    ):
        assert await text(page, f"{testid}-value") == value, testid
    assert await text(page, "property-median-value") == shown_duration(truth.median_session_seconds)

    columns = ["room", "dwell", "rank", "per-session", "rank-per-session", "sessions", "visits"]
    assert await table_rows(page, "rooms", columns) == [
        (
            room["room"],
            shown_duration(room["dwell_seconds"]),
            f"#{room['rank_by_dwell']}",
            shown_duration(room["dwell_per_session_seconds"]),
            f"#{room['rank_by_dwell_per_session']}",
            shown_count(room["sessions"]),
            shown_count(room["visits"]),
        )
        for room in report["rooms"]["items"]
    ]
    assert {
        room["room"]: shown_duration(room["dwell_seconds"]) for room in report["rooms"]["items"]
    } == {room: shown_duration(seconds) for room, seconds in truth.room_dwell.items()}
    for testid, key in (("pois", "pois"), ("gaze", "gaze_targets"), ("views", "views")):
        assert await table_rows(page, testid, ["name", "seconds", "count", "sessions"]) == [
            (
                item["name"],
                shown_duration(item["seconds"]),
                shown_count(item["count"]),
                shown_count(item["sessions"]),
            )
            for item in report[key]["items"]
        ], testid
    for testid, key in (("interactions", "interactions"), ("units", "unit_selections")):
        assert await table_rows(page, testid, ["name", "count", "sessions"]) == [
            (item["name"], shown_count(item["count"]), shown_count(item["sessions"]))
            for item in report[key]["items"]
        ], testid
    gaze = await chart_data(page, "property-gaze-chart")
    assert gaze["labels"] == [item["name"] for item in report["gaze_targets"]["items"]]
    assert gaze["datasets"][0]["data"] == [
        item["seconds"] for item in report["gaze_targets"]["items"]
    ]

    whole = await api(seeded, f"/properties/{PROPERTY}/heatmap", **seeded.api_period, bins=64)
    heatmap = await wait_for_heatmap(page, "property-heatmap-image")
    assert heatmap["src"].startswith("blob:") and heatmap["width"] > 0
    assert heatmap["used"] == whole["samples"]["used"] > 0
    await screenshot(page, artifacts_dir, "property")

    # One room's heatmap, with finer cells.
    room = report["rooms"]["items"][0]["room"]
    await page.select_option("[data-testid=heatmap-room]", room)
    await page.select_option("[data-testid=heatmap-bins]", "128")
    await settle(page, lambda: page.click("[data-testid=heatmap-controls] button"))
    one_room = await api(
        seeded, f"/properties/{PROPERTY}/heatmap", **seeded.api_period, bins=128, room=room
    )
    heatmap = await wait_for_heatmap(page, "property-heatmap-image")
    assert heatmap["used"] == one_room["samples"]["used"] < whole["samples"]["used"]
    await screenshot(page, artifacts_dir, "property-room-heatmap")


async def test_leads_are_ranked_with_tiers_and_reasons_and_open_a_customer(
    page: Any, seeded: SeededDashboard, artifacts_dir: Path
) -> None:
    leads = await api(seeded, "/leads", **seeded.api_period)
    truth = customer_figures(seeded.tours)

    await sign_in(page, seeded, fragment("leads", seeded.period))
    assert (
        await text(page, "tier-all-value") == shown_count(leads["total"]) == shown_count(len(truth))
    )
    for tier in ("hot", "warm", "cold"):
        assert await text(page, f"tier-{tier}-value") == shown_count(leads["tiers"][tier])
    rows = await table_rows(page, "leads", ["rank", "customer", "score", "tier"])
    assert rows == [
        (str(rank), lead["customer_id"], shown_score(lead["score"]), lead["tier"])
        for rank, lead in enumerate(leads["leads"], start=1)
    ]
    reasons = await table_rows(page, "leads", ["why"])
    for (why,), lead in zip(reasons, leads["leads"], strict=True):
        parts = lead["parts"]
        sessions = truth[lead["customer_id"]].sessions
        assert parts["sessions"]["value"] == sessions
        assert f"{sessions} session" in why
        assert f"{shown_duration(parts['total_time_seconds']['value'])} in tours" in why
        for part in ("sessions", "total_time_seconds", "revisits", "rooms_of_interest"):
            assert f"{shown_score(parts[part]['points'])} pts" in why
    assert "Hot from" in await text(page, "scoring")
    await screenshot(page, artifacts_dir, "leads")

    # The next page goes on with the ranks.
    assert leads["next_cursor"] is not None
    more = await api(seeded, "/leads", **seeded.api_period, cursor=leads["next_cursor"])
    await settle(page, lambda: page.click("[data-testid=page-next]"))
    assert await table_rows(page, "leads", ["rank", "customer", "score"]) == [
        (str(rank), lead["customer_id"], shown_score(lead["score"]))
        for rank, lead in enumerate(more["leads"], start=len(leads["leads"]) + 1)
    ]

    hot = await api(seeded, "/leads", **seeded.api_period, tier="hot")
    await settle(page, lambda: page.click("[data-testid=tier-hot]"))
    assert await texts(page, "[data-testid=leads-customer]") == [
        lead["customer_id"] for lead in hot["leads"]
    ]

    best = leads["leads"][0]
    summary = await api(seeded, f"/customers/{best['customer_id']}", **seeded.api_period)
    sessions = await api(seeded, "/sessions", **seeded.api_period, customer_id=best["customer_id"])
    await settle(
        page,
        lambda: page.click(f"[data-testid=leads-row][data-customer-id='{best['customer_id']}'] a"),
    )
    assert await text(page, "customer-title") == best["customer_id"]
    assert await text(page, "customer-score-value") == shown_score(summary["lead"]["score"])
    assert await text(page, "customer-sessions-value") == shown_count(
        truth[best["customer_id"]].sessions
    )
    for signal, figure in (
        ("unit-selections", truth[best["customer_id"]].unit_selections),
        ("screenshots", truth[best["customer_id"]].screenshots),
        ("interactions", truth[best["customer_id"]].interactions),
    ):
        assert await text(page, f"customer-{signal}-value") == shown_count(figure)
    assert await table_rows(page, "customer-properties", ["property", "sessions", "time"]) == [
        (
            row["property_id"],
            shown_count(row["sessions"]),
            shown_duration(row["total_time_seconds"]),
        )
        for row in summary["properties"]
    ]
    assert await table_rows(page, "customer-rooms", ["room", "property", "dwell"]) == [
        (row["room"], row["property_id"], shown_duration(row["dwell_seconds"]))
        for row in summary["top_rooms"]["items"]
    ]
    assert await row_ids(page, "customer-sessions") == [
        session["id"] for session in sessions["sessions"]
    ]
    await screenshot(page, artifacts_dir, "customer")

    # A session of the customer opens its timeline.
    first = sessions["sessions"][0]["id"]
    await settle(
        page,
        lambda: page.click(f"[data-testid=customer-sessions-row][data-session-id='{first}'] a"),
    )
    assert await page.locator(f"[data-testid=page-session][data-session-id='{first}']").count() == 1
