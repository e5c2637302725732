// Data: what the project's clients send, per event type and field, and whether the analytics
// read it (vocabulary, mapped through the event mapping, or ignored), with the values they
// could not read. Types and fields that count for nothing are highlighted.
// API: GET /events/catalogue (docs/events.md, "The catalogue").

import { getJson } from "../api.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { mappingGuide } from "../widgets.js";

export async function render({ period }) {
  const catalogue = await getJson("/events/catalogue", { from: period.from, to: period.to });
  const ignored = catalogue.types.filter((entry) => entry.understood === "ignored");
  return h(
    "div",
    { dataset: { testid: "page-data" } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Data"),
      h("span", { class: "sub" }, `events sent ${period.from} through ${period.through}`),
    ),
    summaryPanel(catalogue, ignored),
    typesPanel(catalogue),
    catalogue.types.map((entry) => fieldsPanel(entry)),
  );
}

function summaryPanel(catalogue, ignored) {
  const ignoredEvents = ignored.reduce((sum, entry) => sum + entry.events, 0);
  return panel(
    "What the clients send",
    { dataset: { testid: "data-summary" } },
    h(
      "p",
      { dataset: { testid: "data-read" } },
      catalogue.complete
        ? `${format.count(catalogue.events_read)} events read: all of the period.`
        : `Only the newest ${format.count(catalogue.events_read)} events of the period were ` +
            `read (from ${format.time(catalogue.read_from)}): the server reads at most ` +
            `${format.count(catalogue.max_events)}.`,
      ` Judged by event mapping version ${catalogue.mapping_version}.`,
    ),
    ignored.length
      ? h(
          "p",
          { class: "warning", dataset: { testid: "data-ignored" } },
          `${format.count(ignoredEvents)} ${ignoredEvents === 1 ? "event" : "events"} of ` +
            `${ignored.length} ${ignored.length === 1 ? "type" : "types"} ` +
            `${ignoredEvents === 1 ? "counts" : "count"} for nothing: ` +
            `${ignored.map((entry) => entry.event_type).join(", ")}. `,
          mappingGuide(),
        )
      : h(
          "p",
          { class: "note", dataset: { testid: "data-ignored" } },
          "Every event type is read by the analytics.",
        ),
    h(
      "p",
      { class: "note" },
      "Highlighted: types and fields no figure reads. A field is read as its vocabulary " +
        "field (read as); unreadable counts values sent that could not be used (a blank name, " +
        "a duration that is none).",
    ),
  );
}

function understoodBadge(understood) {
  return h("span", { class: `badge understood ${understood}` }, understood);
}

function typesPanel(catalogue) {
  return panel(
    "Event types",
    { dataset: { testid: "data-types" } },
    table({
      testid: "catalogue-types",
      rows: catalogue.types,
      empty: "No event in this period.",
      rowAttributes: (entry) => ({
        class: entry.understood === "ignored" ? "uncounted" : null,
        dataset: { type: entry.event_type, understood: entry.understood },
      }),
      columns: [
        { title: "Type", value: (entry) => entry.event_type, testid: "type" },
        {
          title: "Read",
          value: (entry) => understoodBadge(entry.understood),
          testid: "understood",
        },
        { title: "As", value: (entry) => entry.read_as ?? format.NONE, testid: "read-as" },
        {
          title: "Events",
          value: (entry) => format.count(entry.events),
          numeric: true,
          testid: "events",
        },
        { title: "First seen (UTC)", value: (entry) => format.time(entry.first_seen_at) },
        { title: "Last seen (UTC)", value: (entry) => format.time(entry.last_seen_at) },
      ],
    }),
    catalogue.types_total > catalogue.types.length
      ? h(
          "p",
          { class: "note" },
          `The ${catalogue.types.length} types with most events of ` +
            `${format.count(catalogue.types_total)}.`,
        )
      : null,
  );
}

function fieldsPanel(entry) {
  return panel(
    `Fields of ${entry.event_type}`,
    { dataset: { testid: "data-fields", type: entry.event_type } },
    table({
      testid: "catalogue-fields",
      rows: entry.fields,
      empty: "Its events carry no event_data keys.",
      rowAttributes: (field) => ({
        class: field.counted ? null : "uncounted",
        dataset: { path: field.path.join("."), counted: String(field.counted) },
      }),
      columns: [
        { title: "Field", value: (field) => h("code", {}, field.path.join(".")), testid: "path" },
        {
          title: "Read",
          value: (field) => understoodBadge(field.understood),
          testid: "understood",
        },
        { title: "As", value: (field) => field.read_as ?? format.NONE, testid: "read-as" },
        {
          title: "Events",
          value: (field) => format.count(field.events),
          numeric: true,
          testid: "events",
        },
        {
          title: "Unreadable",
          value: (field) =>
            field.unreadable === null ? format.NONE : format.count(field.unreadable),
          numeric: true,
          testid: "unreadable",
        },
        {
          title: "Examples",
          value: (field) => field.examples.map((example) => JSON.stringify(example)).join(", "),
          testid: "examples",
        },
      ],
    }),
    entry.fields_total > entry.fields.length
      ? h(
          "p",
          { class: "note" },
          `The ${entry.fields.length} most frequent fields of ${format.count(entry.fields_total)}.`,
        )
      : null,
  );
}
