// One customer: lead score and why, time per property, the rooms they dwelt in, and their
// sessions (each opens its timeline). API: GET /customers/{id} and /sessions?customer_id=...

import { getJson } from "../api.js";
import { barChart } from "../charts.js";
import { card, h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { leadFactors, pageLink, scoringNote, statusBadge, tierBadge } from "../widgets.js";

export async function render({ id, period }) {
  const [summary, sessions] = await Promise.all([
    getJson(`/customers/${encodeURIComponent(id)}`, { from: period.from, to: period.to }),
    getJson("/sessions", { from: period.from, to: period.to, customer_id: id }),
  ]);
  const lead = summary.lead;
  return h(
    "div",
    { dataset: { testid: "page-customer", customerId: summary.customer_id } },
    h(
      "div",
      { class: "page-head" },
      h("h1", { dataset: { testid: "customer-title" } }, summary.customer_id),
      lead ? tierBadge(lead.tier) : null,
      h("span", { class: "sub" }, `sessions started ${period.from} through ${period.through}`),
      h("a", { href: pageHash("leads") }, "← All leads"),
    ),
    lead
      ? h(
          "div",
          { class: "cards" },
          card({ testid: "customer-score", label: "Lead score", value: format.score(lead.score) }),
          card({
            testid: "customer-sessions",
            label: "Sessions",
            value: format.count(lead.parts.sessions.value),
          }),
          card({
            testid: "customer-properties",
            label: "Properties",
            value: format.count(lead.properties),
          }),
          card({
            testid: "customer-time",
            label: "Time in ended tours",
            value: format.duration(lead.parts.total_time_seconds.value),
          }),
          card({
            testid: "customer-unit-selections",
            label: "Units selected",
            value: format.count(summary.activity.unit_selections),
          }),
          card({
            testid: "customer-screenshots",
            label: "Screenshots",
            value: format.count(summary.activity.screenshots),
          }),
          card({
            testid: "customer-interactions",
            label: "Interactions",
            value: format.count(summary.activity.interactions),
          }),
        )
      : h(
          "p",
          { class: "empty", dataset: { testid: "customer-no-lead" } },
          "No session of this customer in this period.",
        ),
    lead
      ? panel(
          "Why this score",
          { dataset: { testid: "customer-why" } },
          leadFactors(lead.parts),
          scoringNote(summary.scoring),
        )
      : null,
    h("div", { class: "grid" }, propertiesPanel(summary), roomsPanel(summary)),
    sessionsPanel(sessions),
  );
}

function propertiesPanel(summary) {
  return panel(
    "Time per property",
    { dataset: { testid: "customer-properties-panel" } },
    table({
      testid: "customer-properties",
      rows: summary.properties,
      columns: [
        {
          title: "Property",
          value: (row) => pageLink("properties", row.property_id),
          testid: "property",
        },
        {
          title: "Sessions",
          value: (row) => format.count(row.sessions),
          numeric: true,
          testid: "sessions",
        },
        {
          title: "Open",
          value: (row) => format.count(row.open_sessions),
          numeric: true,
          testid: "open",
        },
        {
          title: "Time (ended)",
          value: (row) => format.duration(row.total_time_seconds),
          numeric: true,
          testid: "time",
        },
        {
          title: "First (UTC)",
          value: (row) => format.time(row.first_session_at),
          testid: "first",
        },
        { title: "Last (UTC)", value: (row) => format.time(row.last_session_at), testid: "last" },
      ],
    }),
  );
}

function roomsPanel(summary) {
  const rooms = summary.top_rooms.items;
  const label = (room) => `${room.room} (${room.property_id ?? format.NONE})`;
  return panel(
    "Top rooms",
    { dataset: { testid: "customer-rooms-panel" } },
    rooms.length
      ? barChart({
          testid: "customer-rooms-chart",
          label: "Dwell per room",
          labels: rooms.map(label),
          series: [{ label: "Dwell", values: rooms.map((room) => room.dwell_seconds) }],
          format: format.duration,
        })
      : null,
    table({
      testid: "customer-rooms",
      rows: rooms,
      columns: [
        { title: "Room", value: (room) => room.room, testid: "room" },
        { title: "Property", value: (room) => room.property_id ?? format.NONE, testid: "property" },
        {
          title: "Dwell",
          value: (room) => format.duration(room.dwell_seconds),
          numeric: true,
          testid: "dwell",
        },
        {
          title: "Sessions",
          value: (room) => format.count(room.sessions),
          numeric: true,
          testid: "sessions",
        },
      ],
    }),
    summary.top_rooms.total > rooms.length
      ? h(
          "p",
          { class: "note" },
          `The top ${rooms.length} of ${format.count(summary.top_rooms.total)}.`,
        )
      : null,
  );
}

function sessionsPanel(answer) {
  return panel(
    "Sessions",
    { dataset: { testid: "customer-sessions-panel" } },
    table({
      testid: "customer-sessions",
      rows: answer.sessions,
      rowAttributes: (session) => ({ dataset: { sessionId: session.id } }),
      columns: [
        {
          title: "Started (UTC)",
          value: (session) =>
            h(
              "a",
              { href: `#/sessions/${encodeURIComponent(session.id)}` },
              format.time(session.started_at),
            ),
          testid: "started",
        },
        {
          title: "Property",
          value: (session) => session.property_id ?? format.NONE,
          testid: "property",
        },
        {
          title: "Device",
          value: (session) => session.device_type ?? format.NONE,
          testid: "device",
        },
        { title: "Status", value: (session) => statusBadge(session), testid: "status" },
        {
          title: "Duration",
          value: (session) => format.duration(session.duration_seconds),
          numeric: true,
          testid: "duration",
        },
      ],
    }),
    answer.next_cursor
      ? h(
          "p",
          { class: "note" },
          h(
            "a",
            { href: pageHash("sessions", { customer: answer.sessions[0]?.customer_id }) },
            "All of this customer's sessions →",
          ),
        )
      : null,
  );
}
