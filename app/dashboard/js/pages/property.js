// A property's report for the period: sessions, customers, durations, rooms ranked by dwell,
// POIs, gaze targets, views, interactions, unit selections, and the heatmap of where visitors
// walked. API: GET /properties/{id}/report and /properties/{id}/heatmap(.png).

import { getJson } from "../api.js";
import { barChart } from "../charts.js";
import { card, h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { notUnderstoodNote } from "../widgets.js";
import { heatmapImage } from "./heatmap.js";
import { listProperties, propertyChooser } from "./properties.js";

const BIN_CHOICES = [32, 64, 128];
const DEFAULT_BINS = 64;

export async function render({ id, period, params }) {
  const [report, properties, plans] = await Promise.all([
    getJson(`/properties/${encodeURIComponent(id)}/report`, { from: period.from, to: period.to }),
    listProperties(period),
    getJson(`/properties/${encodeURIComponent(id)}/floor-plans`),
  ]);
  const names = properties.properties.map((row) => row.property_id);
  return h(
    "div",
    { dataset: { testid: "page-property", propertyId: id } },
    h(
      "div",
      { class: "page-head" },
      h("h1", { dataset: { testid: "property-title" } }, report.property_id),
      h("span", { class: "sub" }, `sessions started ${period.from} through ${period.through}`),
      propertyChooser(names, id),
    ),
    figureCards(report),
    emptyReason(report),
    h("div", { class: "grid" }, roomsPanel(report), heatmapPanel(report, period, params, plans.floor_plans)),
    h(
      "div",
      { class: "grid" },
      namesPanel("Points of interest", "pois", report.pois, "Visits", { timed: true }),
      namesPanel("Gaze targets", "gaze", report.gaze_targets, "Gazes", { timed: true }),
      namesPanel("Views", "views", report.views, "Views", { timed: true }),
      namesPanel("Interactions by object", "interactions", report.interactions, "Interactions", {
        timed: false,
      }),
      namesPanel("Unit selections", "units", report.unit_selections, "Selections", {
        timed: false,
      }),
    ),
  );
}

const RANKED_LISTS = ["rooms", "pois", "views", "gaze_targets", "interactions", "unit_selections"];

/**
 * Why the report says nothing although its sessions sent events: types no figure reads (with
 * how to map them), or events that name nothing. Else, what some events count for nothing.
 */
function emptyReason(report) {
  const sum = (counts) => Object.values(counts).reduce((total, count) => total + count, 0);
  const events = sum(report.event_counts);
  const notUnderstood = sum(report.events_not_understood);
  const empty = RANKED_LISTS.every((name) => report[name].total === 0);
  if (report.sessions === 0 || !empty) {
    return notUnderstoodNote(report.events_not_understood, { testid: "property-not-understood" });
  }
  if (events === 0) {
    return h(
      "p",
      { class: "note", dataset: { testid: "property-empty-reason" } },
      "This report is empty: the sessions of this period sent no events.",
    );
  }
  return h(
    "div",
    { class: "warning", dataset: { testid: "property-empty-reason" } },
    `This report is empty although its sessions sent ${format.count(events)} events: `,
    notUnderstood
      ? `${format.count(notUnderstood)} of them are of types no figure reads.`
      : "none of them names a room, POI, view, gaze target, object or unit (blank or " +
          "unreadable names count for nothing).",
    notUnderstood
      ? notUnderstoodNote(report.events_not_understood, { testid: "property-not-understood" })
      : h("a", { href: pageHash("data") }, " See what the clients send."),
  );
}

function figureCards(report) {
  return h(
    "div",
    { class: "cards" },
    card({ testid: "property-sessions", label: "Sessions", value: format.count(report.sessions) }),
    card({
      testid: "property-open",
      label: "Still open",
      value: format.count(report.open_sessions),
    }),
    card({
      testid: "property-customers",
      label: "Unique customers",
      value: format.count(report.unique_customers),
    }),
    card({
      testid: "property-median",
      label: "Median duration (ended sessions)",
      value: format.duration(report.median_duration_seconds),
    }),
    card({
      testid: "property-mean",
      label: "Mean duration (ended sessions)",
      value: format.duration(report.mean_duration_seconds),
    }),
  );
}

function shownOf(list) {
  return list.total > list.items.length
    ? h("p", { class: "note" }, `The top ${list.items.length} of ${format.count(list.total)}.`)
    : null;
}

function roomsPanel(report) {
  const rooms = report.rooms.items;
  return panel(
    "Rooms by dwell",
    { dataset: { testid: "property-rooms" } },
    rooms.length
      ? barChart({
          testid: "property-rooms-chart",
          label: "Total dwell and dwell per session in each room",
          labels: rooms.map((room) => room.room),
          series: [
            { label: "Total dwell", values: rooms.map((room) => room.dwell_seconds) },
            { label: "Per session", values: rooms.map((room) => room.dwell_per_session_seconds) },
          ],
          format: format.duration,
        })
      : null,
    table({
      testid: "rooms",
      rows: rooms,
      empty: "No room was entered in this period.",
      columns: [
        { title: "Room", value: (room) => room.room, testid: "room" },
        {
          title: "Total dwell",
          value: (room) => format.duration(room.dwell_seconds),
          numeric: true,
          testid: "dwell",
        },
        { title: "Rank", value: (room) => `#${room.rank_by_dwell}`, numeric: true, testid: "rank" },
        {
          title: "Per session",
          value: (room) => format.duration(room.dwell_per_session_seconds),
          numeric: true,
          testid: "per-session",
        },
        {
          title: "Rank",
          value: (room) => `#${room.rank_by_dwell_per_session}`,
          numeric: true,
          testid: "rank-per-session",
        },
        {
          title: "Sessions",
          value: (room) => format.count(room.sessions),
          numeric: true,
          testid: "sessions",
        },
        {
          title: "Visits",
          value: (room) => format.count(room.visits),
          numeric: true,
          testid: "visits",
        },
      ],
    }),
    shownOf(report.rooms),
  );
}

/**
 * A ranked list of names (POIs, gaze targets, views: `timed`, with a chart of their seconds;
 * interactions, unit selections: counted only) as a table of count and sessions.
 */
function namesPanel(title, testid, list, countTitle, { timed }) {
  const column = (heading, field, show, id) => ({
    title: heading,
    value: (item) => show(item[field]),
    numeric: true,
    testid: id,
  });
  return panel(
    title,
    { dataset: { testid: `property-${testid}` } },
    timed && list.items.length
      ? barChart({
          testid: `property-${testid}-chart`,
          label: `${title}: total seconds`,
          labels: list.items.map((item) => item.name),
          series: [{ label: "Time", values: list.items.map((item) => item.seconds) }],
          format: format.duration,
        })
      : null,
    table({
      testid,
      rows: list.items,
      columns: [
        { title: "Name", value: (item) => item.name, testid: "name" },
        timed ? column("Time", "seconds", format.duration, "seconds") : null,
        column(countTitle, "count", format.count, "count"),
        column("Sessions", "sessions", format.count, "sessions"),
      ].filter(Boolean),
    }),
    shownOf(list),
  );
}

function heatmapPanel(report, period, params, plans) {
  const room = params.get("room") ?? "";
  const requestedBins = Number.parseInt(params.get("bins") ?? "", 10);
  const bins = BIN_CHOICES.includes(requestedBins) ? requestedBins : DEFAULT_BINS;
  const storeys = plans.map((plan) => String(plan.storey));
  const storey = storeys.includes(params.get("storey")) ? params.get("storey") : storeys[0];
  const form = h(
    "form",
    { class: "filters", dataset: { testid: "heatmap-controls" } },
    h(
      "label",
      {},
      "Room",
      h(
        "select",
        { name: "room", dataset: { testid: "heatmap-room" } },
        h("option", { value: "" }, "whole property"),
        report.rooms.items.map((item) =>
          h("option", { value: item.room, selected: item.room === room }, item.room),
        ),
      ),
    ),
    h(
      "label",
      {},
      "Cells per side",
      h(
        "select",
        { name: "bins", dataset: { testid: "heatmap-bins" } },
        BIN_CHOICES.map((choice) =>
          h("option", { value: String(choice), selected: choice === bins }, String(choice)),
        ),
      ),
    ),
    storeys.length > 1
      ? h(
          "label",
          {},
          "Storey",
          h(
            "select",
            { name: "storey", dataset: { testid: "heatmap-storey" } },
            plans.map((plan) =>
              h(
                "option",
                { value: String(plan.storey), selected: String(plan.storey) === storey },
                plan.name ? `${plan.storey}: ${plan.name}` : String(plan.storey),
              ),
            ),
          ),
        )
      : null,
    h("button", { type: "submit" }, "Redraw"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = pageHash(`properties/${encodeURIComponent(report.property_id)}`, {
      room: form.elements.room.value,
      bins: form.elements.bins.value,
      storey: form.elements.storey?.value,
    });
  });
  return panel(
    "Where visitors walked",
    { dataset: { testid: "property-heatmap" } },
    form,
    heatmapImage({
      testid: "property-heatmap-image",
      propertyId: report.property_id,
      query: { from: period.from, to: period.to, room: room || null, bins, storey: storey ?? null },
      alt: `Heatmap of position samples in ${room || report.property_id}, seen from above`,
    }),
  );
}
