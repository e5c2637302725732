// Sessions: a filtered table in start order, a page at a time; a row opens the session.
// API: GET /sessions (filters, cursor pagination).

import { getJson } from "../api.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { pageLink, pageNumberOf, pager, statusBadge } from "../widgets.js";

// Filters kept in the fragment (and across pages).
const FILTERS = ["property", "customer", "device", "status", "order"];
// Filter fields of the form: [parameter in the fragment, API parameter, label].
const TEXT_FILTERS = [
  ["property", "property_id", "Property"],
  ["customer", "customer_id", "Customer"],
  ["device", "device_type", "Device"],
];

export async function render({ period, params }) {
  const query = {
    from: period.from,
    to: period.to,
    status: params.get("status"),
    order: params.get("order") === "asc" ? "asc" : "desc",
    cursor: params.get("cursor"),
  };
  for (const [name, apiName] of TEXT_FILTERS) {
    query[apiName] = params.get(name)?.trim();
  }
  const answer = await getJson("/sessions", query);
  const pageNumber = pageNumberOf(params);
  return h(
    "div",
    { dataset: { testid: "page-sessions" } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Sessions"),
      h("span", { class: "sub" }, `started ${period.from} through ${period.through}`),
    ),
    panel("Filters", {}, filterForm(params)),
    panel(
      `Page ${pageNumber}`,
      { dataset: { testid: "sessions-panel" } },
      sessionsTable(answer.sessions),
      pager({
        path: "sessions",
        filters: Object.fromEntries(FILTERS.map((name) => [name, params.get(name)])),
        answer,
        pageNumber,
        note: `${format.count(answer.sessions.length)} on this page (up to ${answer.limit}).`,
      }),
    ),
  );
}

function filterForm(params) {
  const form = h(
    "form",
    { class: "filters", dataset: { testid: "session-filters" } },
    TEXT_FILTERS.map(([name, , label]) =>
      h(
        "label",
        {},
        label,
        h("input", {
          name,
          value: params.get(name) ?? "",
          dataset: { testid: `filter-${name}` },
          placeholder: "any",
        }),
      ),
    ),
    h(
      "label",
      {},
      "Status",
      select("status", params.get("status") ?? "", [
        ["", "any"],
        ["active", "active"],
        ["completed", "completed"],
      ]),
    ),
    h(
      "label",
      {},
      "Order",
      select("order", params.get("order") === "asc" ? "asc" : "desc", [
        ["desc", "newest first"],
        ["asc", "oldest first"],
      ]),
    ),
    h("button", { type: "submit", class: "primary", dataset: { testid: "filter-apply" } }, "Apply"),
    h("a", { href: pageHash("sessions"), dataset: { testid: "filter-clear" } }, "Clear"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const filters = {};
    for (const name of FILTERS) {
      filters[name] = form.elements[name].value.trim();
    }
    window.location.hash = pageHash("sessions", filters);
  });
  return form;
}

function select(name, current, options) {
  return h(
    "select",
    { name, dataset: { testid: `filter-${name}` } },
    options.map(([value, text]) => h("option", { value, selected: value === current }, text)),
  );
}

function sessionsTable(sessions) {
  return table({
    testid: "sessions",
    rows: sessions,
    empty: "No session matches in this period.",
    rowAttributes: (session) => ({
      class: "clickable",
      tabindex: "0",
      dataset: { sessionId: session.id },
      on: {
        click: (event) => {
          if (!event.target.closest("a")) {
            window.location.hash = `#/sessions/${encodeURIComponent(session.id)}`;
          }
        },
        keydown: (event) => {
          if (event.key === "Enter") {
            window.location.hash = `#/sessions/${encodeURIComponent(session.id)}`;
          }
        },
      },
    }),
    columns: [
      {
        title: "Started (UTC)",
        value: (session) => format.time(session.started_at),
        testid: "started",
      },
      {
        title: "Customer",
        value: (session) => pageLink("customers", session.customer_id),
        testid: "customer",
      },
      {
        title: "Property",
        value: (session) => pageLink("properties", session.property_id),
        testid: "property",
      },
      { title: "Device", value: (session) => session.device_type ?? format.NONE, testid: "device" },
      { title: "Status", value: (session) => statusBadge(session), testid: "status" },
      {
        title: "Duration",
        value: (session) => format.duration(session.duration_seconds),
        numeric: true,
        testid: "duration",
      },
    ],
  });
}
