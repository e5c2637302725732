// Properties: the ones the period's latest sessions visited, each with its overview figures,
// and a form to open any property's report. API: GET /sessions (one page) for the names, then
// GET /overview?property_id=... for each.

import { getJson } from "../api.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";

export async function render({ period }) {
  const names = await recentProperties(period);
  const query = { from: period.from, to: period.to };
  const overviews = await Promise.all(
    names.map((name) => getJson("/overview", { ...query, property_id: name })),
  );
  const rows = names.map((name, index) => ({ name, kpis: overviews[index].kpis }));
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
      "Properties of the latest sessions",
      { dataset: { testid: "properties-panel" } },
      table({
        testid: "properties",
        rows,
        empty: "No session in this period.",
        columns: [
          {
            title: "Property",
            value: (row) =>
              h(
                "a",
                {
                  href: pageHash(`properties/${encodeURIComponent(row.name)}`),
                  dataset: { testid: "property-link" },
                },
                row.name,
              ),
            testid: "name",
          },
          {
            title: "Sessions",
            value: (row) => format.count(row.kpis.sessions.value),
            numeric: true,
            testid: "sessions",
          },
          {
            title: "Unique customers",
            value: (row) => format.count(row.kpis.unique_customers.value),
            numeric: true,
            testid: "customers",
          },
          {
            title: "Median duration",
            value: (row) => format.duration(row.kpis.median_duration_seconds.value),
            numeric: true,
            testid: "median",
          },
          {
            title: "Engaged",
            value: (row) => format.percent(row.kpis.engaged_rate.value),
            numeric: true,
            testid: "engaged",
          },
        ],
      }),
      h(
        "p",
        { class: "note" },
        "The properties visited by the period's latest sessions (one page of the sessions " +
          "list); type any other property id above.",
      ),
    ),
  );
}

/** The properties of the period's latest sessions (one page of GET /sessions), sorted. */
export async function recentProperties(period) {
  const recent = await getJson("/sessions", { from: period.from, to: period.to });
  return [...new Set(recent.sessions.map((session) => session.property_id).filter(Boolean))].sort();
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
