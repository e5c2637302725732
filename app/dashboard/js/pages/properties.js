// Properties: every property with sessions started in the period, a page at a time, each with
// its sessions, unique customers and latest session; and a form to open any property's report.
// API: GET /properties (cursor pagination).

import { getJson } from "../api.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { pageLink, pageNumberOf, pager } from "../widgets.js";

export async function render({ period, params }) {
  const answer = await listProperties(period, params.get("cursor"));
  const names = answer.properties.map((row) => row.property_id);
  return h(
    "div",
    { dataset: { testid: "page-properties" } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Properties"),
      h("span", { class: "sub" }, `sessions started ${period.from} through ${period.through}`),
    ),
    panel("Open a property's report", {}, propertyChooser(names, "")),
    panel(
      `Page ${pageNumberOf(params)}`,
      { dataset: { testid: "properties-panel" } },
      table({
        testid: "properties",
        rows: answer.properties,
        empty: "No session in this period.",
        columns: [
          {
            title: "Property",
            value: (row) => pageLink("properties", row.property_id, { testid: "property-link" }),
            testid: "name",
          },
          {
            title: "Sessions",
            value: (row) => format.count(row.sessions),
            numeric: true,
            testid: "sessions",
          },
          {
            title: "Unique customers",
            value: (row) => format.count(row.unique_customers),
            numeric: true,
            testid: "customers",
          },
          {
            title: "Last session (UTC)",
            value: (row) => format.time(row.last_session_at),
            testid: "last",
          },
        ],
      }),
      pager({
        path: "properties",
        filters: {},
        answer,
        pageNumber: pageNumberOf(params),
        note: `${format.count(answer.properties.length)} on this page (up to ${answer.limit}).`,
      }),
    ),
  );
}

/** A page of the properties with sessions started in the period (GET /properties). */
export function listProperties(period, cursor = null) {
  return getJson("/properties", { from: period.from, to: period.to, cursor });
}

/** A form to open any property's report, suggesting `names`. */
export function propertyChooser(names, current) {
  const input = h("input", {
    name: "property",
    list: "property-suggestions",
    value: current,
    placeholder: "property id",
    required: true,
    dataset: { testid: "property-input" },
  });
  const form = h(
    "form",
    { class: "filters", dataset: { testid: "property-chooser" } },
    h("label", {}, "Property", input),
    h(
      "datalist",
      { id: "property-suggestions" },
      names.map((name) => h("option", { value: name })),
    ),
    h("button", { type: "submit", class: "primary" }, "Show report"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = input.value.trim();
    if (chosen) {
      window.location.hash = pageHash(`properties/${encodeURIComponent(chosen)}`);
    }
  });
  return form;
}
