// One session: its facts, the path through the property, dwell per room (bars), the timeline,
// and a heatmap of where the visitor walked. API: GET /sessions/{id} and
// /properties/{property}/heatmap.png?session_id=...

import { getJson } from "../api.js";
import { barChart } from "../charts.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { notUnderstoodNote, pageLink, statusBadge } from "../widgets.js";
import { heatmapImage } from "./heatmap.js";
import { replayPanel } from "./replay.js";

export async function render({ id }) {
  const detail = await getJson(`/sessions/${encodeURIComponent(id)}`);
  const { session } = detail;
  const startMs = Date.parse(session.started_at);
  const replay = await replayPanel(detail);
  return h(
    "div",
    { dataset: { testid: "page-session", sessionId: session.id } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Session"),
      h("span", { class: "sub", dataset: { testid: "session-id" } }, session.id),
      h("a", { href: pageHash("sessions") }, "← All sessions"),
    ),
    h("div", { class: "grid" }, factsPanel(detail), pathPanel(detail)),
    h("div", { class: "grid" }, roomsPanel(detail), heatmapPanel(session)),
    replay,
    timelinePanel(detail, startMs),
  );
}

function factsPanel(detail) {
  const { session } = detail;
  const fact = (label, testid, value) => [
    h("dt", {}, label),
    h("dd", { dataset: { testid } }, value),
  ];
  return panel(
    "Facts",
    {},
    h(
      "dl",
      { class: "facts" },
      fact(
        "Customer",
        "session-customer",
        pageLink("customers", session.customer_id),
      ),
      fact(
        "Property",
        "session-property",
        pageLink("properties", session.property_id),
      ),
      fact("Device", "session-device", session.device_type ?? format.NONE),
      fact("Status", "session-status", statusBadge(session)),
      fact("Started (UTC)", "session-started", format.time(session.started_at)),
      fact("Ended (UTC)", "session-ended", format.time(session.ended_at)),
      fact("Duration", "session-duration", format.duration(session.duration_seconds)),
      fact("Last activity (UTC)", "session-last-activity", format.time(session.last_activity_at)),
      fact("Events", "session-events", format.count(detail.events_total)),
      fact(
        "Not understood",
        "session-not-understood",
        format.count(detail.events_not_understood),
      ),
    ),
    notUnderstoodNote(detail.events_not_understood, { testid: "session-not-understood-note" }),
  );
}

/** The places in visiting order: the customer's path through the property. */
function pathPanel(detail) {
  const stays = detail.timeline.filter(
    (entry) => entry.place !== null && entry.place !== undefined,
  );
  const steps = [];
  stays.forEach((entry, index) => {
    if (index > 0) {
      steps.push(h("span", { class: "arrow", "aria-hidden": "true" }, "→"));
    }
    steps.push(
      h(
        "span",
        { class: "step", dataset: { testid: "path-step" } },
        `${entry.place} · ${format.duration(entry.dwell_seconds)}`,
      ),
    );
  });
  return panel(
    "Path through the property",
    { dataset: { testid: "session-path" } },
    steps.length
      ? h("div", { class: "path" }, steps)
      : h("p", { class: "empty" }, "No room or zone was entered."),
    detail.timeline_truncated
      ? h("p", { class: "note" }, "The path stops where the shown timeline stops (see below).")
      : null,
  );
}

function roomsPanel(detail) {
  const rooms = detail.rooms;
  return panel(
    "Dwell per room",
    { dataset: { testid: "session-rooms" } },
    rooms.length
      ? barChart({
          testid: "session-rooms-chart",
          label: "Seconds spent in each room",
          labels: rooms.map((room) => room.room),
          series: [{ label: "Dwell", values: rooms.map((room) => room.dwell_seconds) }],
          format: format.duration,
        })
      : null,
    table({
      testid: "session-rooms",
      rows: rooms,
      empty: "No room or zone was entered.",
      columns: [
        { title: "Room", value: (room) => room.room, testid: "room" },
        {
          title: "Dwell",
          value: (room) => format.duration(room.dwell_seconds),
          numeric: true,
          testid: "dwell",
        },
        {
          title: "Visits",
          value: (room) => format.count(room.visits),
          numeric: true,
          testid: "visits",
        },
      ],
    }),
  );
}

function heatmapPanel(session) {
  if (!session.property_id) {
    return panel(
      "Where the visitor walked",
      {},
      h("p", { class: "empty" }, "The session names no property."),
    );
  }
  return panel(
    "Where the visitor walked",
    { dataset: { testid: "session-heatmap" } },
    heatmapImage({
      testid: "session-heatmap-image",
      propertyId: session.property_id,
      query: { session_id: session.id },
      alt: `Heatmap of the position samples of session ${session.id}`,
    }),
  );
}

/** What an event says, in a few words. */
export function describe(entry) {
  const data = entry.event_data && typeof entry.event_data === "object" ? entry.event_data : {};
  const text = (value) =>
    typeof value === "string" || typeof value === "number" ? String(value) : "";
  switch (entry.event_type) {
    case "room_view":
    case "zone_enter":
      return entry.place ?? text(data.room_name ?? data.zone_name);
    case "zone_exit":
      return `left ${text(data.zone_name)}`;
    case "poi_visit":
      return [text(data.poi), data.zone ? `(${text(data.zone)})` : ""].filter(Boolean).join(" ");
    case "view":
      return text(data.view_name);
    case "gaze":
      return text(data.target);
    case "interaction":
      return [text(data.object), text(data.action)].filter(Boolean).join(": ");
    case "teleport":
      return `to ${text(data.to)}`;
    case "unit_selection":
      return [
        text(data.name),
        data.type ? text(data.type) : "",
        data.sqft ? `${text(data.sqft)} sq ft` : "",
      ]
        .filter(Boolean)
        .join(", ");
    default:
      return "";
  }
}

function timelinePanel(detail, startMs) {
  return panel(
    "Timeline",
    { dataset: { testid: "session-timeline" } },
    h(
      "p",
      { class: "note", dataset: { testid: "timeline-count" } },
      `${format.count(detail.timeline.length)} of ${format.count(detail.timeline_total)} events ` +
        "(position samples are left out: they make the heatmap)." +
        (detail.timeline_truncated
          ? " The timeline is cut at the server's limit; GET /api/v1/sessions/{id}/events has all."
          : ""),
    ),
    table({
      testid: "timeline",
      rows: detail.timeline,
      empty: "No events besides position samples.",
      columns: [
        {
          title: "At",
          value: (entry) => format.offset((Date.parse(entry.timestamp) - startMs) / 1000),
          numeric: true,
          testid: "offset",
        },
        { title: "Time (UTC)", value: (entry) => format.time(entry.timestamp), testid: "time" },
        { title: "Event", value: (entry) => entry.event_type, testid: "type" },
        { title: "What", value: (entry) => describe(entry), testid: "what" },
        {
          title: "Dwell",
          value: (entry) =>
            entry.dwell_seconds === null || entry.dwell_seconds === undefined
              ? ""
              : `${format.duration(entry.dwell_seconds)} (${entry.dwell_source})`,
          numeric: true,
          testid: "dwell",
        },
      ],
    }),
  );
}
