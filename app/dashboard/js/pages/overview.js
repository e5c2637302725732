// Overview: KPI cards with the change against the previous equal period, the daily trend and
// the funnel, and what was received but waits for its session (no figure counts it yet).
// API: GET /overview, /overview/daily and /funnel for the period, and /unclaimed.

import { getJson } from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { card, h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";

const STEP_NAMES = { started: "Started", engaged: "Engaged", high_intent: "High intent" };

export async function render({ period, params }) {
  const query = { from: period.from, to: period.to, property_id: params.get("property") };
  const [overview, daily, funnel, unclaimed] = await Promise.all([
    getJson("/overview", query),
    getJson("/overview/daily", query),
    getJson("/funnel", query),
    getJson("/unclaimed"),
  ]);
  return h(
    "div",
    { dataset: { testid: "page-overview" } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Overview"),
      h(
        "span",
        { class: "sub" },
        `${period.from} through ${period.through}` +
          (query.property_id ? `, property ${query.property_id}` : ", all properties") +
          ` · changes against ${overview.previous_period.from.slice(0, 10)} to ` +
          `${dayBefore(overview.previous_period.to)}`,
      ),
    ),
    propertyFilter(query.property_id),
    waitingNotice(unclaimed),
    kpiCards(overview),
    h("div", { class: "grid" }, trendPanel(daily), funnelPanel(funnel)),
  );
}

/** Data received that no figure counts yet, because its session is not known (yet). */
function waitingNotice(unclaimed) {
  const parts = [];
  if (unclaimed.records_total > 0) {
    parts.push(
      `${format.count(unclaimed.records_total)} records of the original Unreal client wait ` +
        "for their tour's summary",
    );
  }
  if (unclaimed.events_total > 0) {
    parts.push(
      `${format.count(unclaimed.events_total)} events wait for their session to start`,
    );
  }
  if (parts.length === 0) {
    return null;
  }
  return h(
    "p",
    { class: "notice", dataset: { testid: "overview-unclaimed" } },
    `${parts.join("; ")}. No figure counts them until then; what no session ever claims is ` +
      'deleted after a while (docs/ingestion.md, "The original client").',
  );
}

/** Narrow every figure of the page to one property (empty: all of them). */
function propertyFilter(current) {
  const input = h("input", {
    name: "property",
    value: current ?? "",
    placeholder: "all properties",
    dataset: { testid: "overview-property" },
  });
  const form = h(
    "form",
    { class: "filters" },
    h("label", {}, "Property", input),
    h("button", { type: "submit" }, "Apply"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = pageHash("overview", { property: input.value.trim() });
  });
  return form;
}

function dayBefore(iso) {
  return new Date(Date.parse(iso) - 86_400_000).toISOString().slice(0, 10);
}

/** "+25.0% vs 96 in the previous period" (a share: "+2.5 pts vs ..."), in words. */
function comparison(kpi, show, { inPoints = false } = {}) {
  if (kpi.previous === null || kpi.previous === undefined) {
    return "nothing to compare with in the previous period";
  }
  const previous = `${show(kpi.previous)} in the previous period`;
  if (kpi.value === null || kpi.value === undefined) {
    return previous;
  }
  if (kpi.change === 0) {
    return `same as ${previous}`;
  }
  if (inPoints) {
    return `${format.pointsChange(kpi.change)} vs ${previous}`;
  }
  // No relative change from 0.
  if (kpi.relative_change === null || kpi.relative_change === undefined) {
    return `up from ${previous}`;
  }
  return `${format.change(kpi.relative_change)} vs ${previous}`;
}

function relativeNote(kpi, show) {
  return { note: comparison(kpi, show), noteClass: direction(kpi.change) };
}

function direction(change) {
  if (change === null || change === undefined || change === 0) {
    return "";
  }
  return change > 0 ? "up" : "down";
}

function kpiCards(overview) {
  const { kpis } = overview;
  const engagedRate = kpis.engaged_rate;
  return h(
    "div",
    { class: "cards" },
    card({
      testid: "kpi-sessions",
      label: "Sessions",
      value: format.count(kpis.sessions.value),
      ...relativeNote(kpis.sessions, format.count),
    }),
    card({
      testid: "kpi-unique-customers",
      label: "Unique customers",
      value: format.count(kpis.unique_customers.value),
      ...relativeNote(kpis.unique_customers, format.count),
    }),
    card({
      testid: "kpi-median-duration",
      label: "Median session duration",
      value: format.duration(kpis.median_duration_seconds.value),
      ...relativeNote(kpis.median_duration_seconds, format.duration),
    }),
    card({
      testid: "kpi-engaged-rate",
      label: `Engaged sessions (at least ${format.duration(overview.engaged_min_seconds)})`,
      value: format.percent(engagedRate.value),
      note:
        `${format.count(kpis.engaged_sessions.value)} sessions · ` +
        comparison(engagedRate, format.percent, { inPoints: true }),
      noteClass: direction(engagedRate.change),
    }),
  );
}

function trendPanel(daily) {
  const labels = daily.days.map((day) => day.date);
  return panel(
    "Sessions per day",
    { dataset: { testid: "trend" } },
    lineChart({
      testid: "trend-chart",
      label: "Sessions, unique customers and engaged sessions per UTC day",
      labels,
      series: [
        { label: "Sessions", values: daily.days.map((day) => day.sessions) },
        { label: "Unique customers", values: daily.days.map((day) => day.unique_customers) },
        { label: "Engaged sessions", values: daily.days.map((day) => day.engaged_sessions) },
      ],
    }),
    h(
      "details",
      { class: "note" },
      h("summary", {}, "Daily figures"),
      table({
        testid: "daily",
        rows: daily.days,
        columns: [
          { title: "Day (UTC)", value: (day) => day.date, testid: "date" },
          {
            title: "Sessions",
            value: (day) => format.count(day.sessions),
            numeric: true,
            testid: "sessions",
          },
          {
            title: "Unique customers",
            value: (day) => format.count(day.unique_customers),
            numeric: true,
            testid: "customers",
          },
          {
            title: "Engaged",
            value: (day) => format.count(day.engaged_sessions),
            numeric: true,
            testid: "engaged",
          },
          {
            title: "Median duration",
            value: (day) => format.duration(day.median_duration_seconds),
            numeric: true,
            testid: "median",
          },
        ],
      }),
    ),
  );
}

function funnelPanel(funnel) {
  const { thresholds, high_intent_reasons: reasons } = funnel;
  return panel(
    "Funnel",
    { dataset: { testid: "funnel" } },
    barChart({
      testid: "funnel-chart",
      label: "Sessions started, engaged and of high intent",
      labels: funnel.steps.map((step) => STEP_NAMES[step.step] ?? step.step),
      series: [{ label: "Sessions", values: funnel.steps.map((step) => step.sessions) }],
      format: format.count,
      height: 170,
    }),
    table({
      testid: "funnel-steps",
      rows: funnel.steps,
      columns: [
        { title: "Step", value: (step) => STEP_NAMES[step.step] ?? step.step, testid: "step" },
        {
          title: "Sessions",
          value: (step) => format.count(step.sessions),
          numeric: true,
          testid: "sessions",
        },
        {
          title: "Of previous step",
          value: (step) => format.percent(step.rate_from_previous),
          numeric: true,
          testid: "from-previous",
        },
        {
          title: "Of started",
          value: (step) => format.percent(step.rate_from_start),
          numeric: true,
          testid: "from-start",
        },
      ],
    }),
    h(
      "p",
      { class: "note", dataset: { testid: "funnel-thresholds" } },
      `Engaged: an ended session of at least ${format.duration(thresholds.engaged_min_seconds)}. ` +
        "High intent: an engaged session that selected a unit, or spent at least " +
        `${format.duration(thresholds.room_interest_min_seconds)} in each of ` +
        `${format.count(thresholds.high_intent_min_rooms)} or more rooms ` +
        `(${format.count(reasons.unit_selection)} selected a unit, ` +
        `${format.count(reasons.rooms_of_interest)} had enough rooms).`,
    ),
    h("p", { class: "note" }, h("a", { href: pageHash("leads") }, "See the ranked leads →")),
  );
}
