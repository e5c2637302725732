// Small pieces shown on several pages: links to a customer's and a property's page, status and
// tier badges, the parts of a lead score, the pager of a cursor-paged list.

import { h } from "./dom.js";
import * as format from "./format.js";
import { pageHash } from "./location.js";

/** A link to the page of a customer or property (`path`: "customers", "properties"), or a dash. */
export function pageLink(path, id, dataset = {}) {
  if (id === null || id === undefined) {
    return format.NONE;
  }
  return h("a", { href: pageHash(`${path}/${encodeURIComponent(id)}`), dataset }, id);
}

/** The page number of a paged list, from the fragment's `page` (1 when absent). */
export function pageNumberOf(params) {
  return Math.max(1, Number.parseInt(params.get("page") ?? "1", 10) || 1);
}

/**
 * Links to the first and the next page of a list the API pages by cursor: `path` and `filters`
 * make the page's fragment, `answer.next_cursor` continues it; `note` is said beside them.
 */
export function pager({ path, filters, answer, pageNumber, note = null }) {
  return h(
    "div",
    { class: "pager" },
    pageNumber > 1
      ? h("a", { href: pageHash(path, filters), dataset: { testid: "page-first" } }, "First page")
      : null,
    answer.next_cursor
      ? h(
          "a",
          {
            href: pageHash(path, { ...filters, cursor: answer.next_cursor, page: pageNumber + 1 }),
            dataset: { testid: "page-next" },
          },
          "Next page →",
        )
      : h("span", { class: "note", dataset: { testid: "page-end" } }, "End of the list."),
    note === null ? null : h("span", { class: "note" }, note),
  );
}

export function statusBadge(session) {
  let text = "completed";
  if (session.status === "active") {
    text = "active";
  } else if (session.end_reason === "timed_out") {
    text = "timed out";
  }
  return h(
    "span",
    { class: `badge status ${session.status}`, dataset: { testid: "status-badge" } },
    text,
  );
}

export function tierBadge(tier) {
  return h("span", { class: `badge ${tier}`, dataset: { testid: "tier-badge" } }, tier);
}

function plural(value, one, many) {
  return `${format.count(value)} ${Number(value) === 1 ? one : many}`;
}

/** Why a lead scores what it does: each part's value and the points it adds. */
export function leadFactors(parts) {
  const factor = (testid, text, points) =>
    h(
      "span",
      { class: "factor", dataset: { testid: `factor-${testid}` } },
      `${text} · ${format.score(points)} pts`,
    );
  return h(
    "div",
    { class: "factors" },
    factor("sessions", plural(parts.sessions.value, "session", "sessions"), parts.sessions.points),
    factor(
      "time",
      `${format.duration(parts.total_time_seconds.value)} in tours`,
      parts.total_time_seconds.points,
    ),
    factor("revisits", plural(parts.revisits.value, "revisit", "revisits"), parts.revisits.points),
    factor(
      "rooms",
      plural(parts.rooms_of_interest.value, "room of interest", "rooms of interest"),
      parts.rooms_of_interest.points,
    ),
  );
}

/** How the score is made, from the settings the API returns with it. */
export function scoringNote(scoring) {
  const part = (name, rule, show) =>
    `${name}: ${format.score(rule.weight * 100)} pts at ${show(rule.target)}`;
  return h(
    "p",
    { class: "note", dataset: { testid: "scoring" } },
    "Score (0–100) = the sum of four parts, each worth its weight × 100 points at its target " +
      "and in proportion below it: " +
      [
        part("sessions", scoring.sessions, format.count),
        part("time in ended tours", scoring.total_time_seconds, format.duration),
        part("revisits of a property", scoring.revisits, format.count),
        part(
          `rooms with at least ${format.duration(scoring.room_interest_min_seconds)} of dwell`,
          scoring.rooms_of_interest,
          format.count,
        ),
      ].join("; ") +
      `. Hot from ${format.score(scoring.hot_min_score)}, warm from ${format.score(scoring.warm_min_score)}, ` +
      "cold below.",
  );
}

// Where a project learns to map its clients' own event types (served docs cannot link to the
// repository's Markdown; the API docs' route to save a mapping is served).
export const MAPPING_GUIDE = "docs/events.md#mappings-a-clients-own-vocabulary";
const MAPPING_ROUTE_DOCS = "/docs#/admin/save_mapping_api_v1_admin_event_mapping_put";

/** How to make the analytics read what they ignore: the guide, and the route that does it. */
export function mappingGuide() {
  return h(
    "span",
    { class: "mapping-guide", dataset: { testid: "mapping-guide" } },
    "Map them onto the vocabulary with an event mapping: see ",
    h("code", {}, MAPPING_GUIDE),
    " and ",
    h(
      "a",
      { href: MAPPING_ROUTE_DOCS, target: "_blank", rel: "noopener" },
      "PUT /api/v1/admin/event-mapping",
    ),
    ".",
  );
}

/**
 * What a session or a report cannot show: `counts` maps event types no figure reads to their
 * events (an object), or is a number of events. Null when there are none.
 */
export function notUnderstoodNote(counts, { testid }) {
  const entries = typeof counts === "number" ? [] : Object.entries(counts);
  const events =
    typeof counts === "number" ? counts : entries.reduce((sum, [, count]) => sum + count, 0);
  if (!events) {
    return null;
  }
  const types = entries.length
    ? ` (${entries.map(([type, count]) => `${type}: ${format.count(count)}`).join(", ")})`
    : "";
  return h(
    "p",
    { class: "warning", dataset: { testid } },
    `${format.count(events)} events are of types no figure reads${types}: they count for ` +
      "nothing here. ",
    h("a", { href: pageHash("data") }, "See what the clients send"),
    ". ",
    mappingGuide(),
  );
}
