// Small pieces shown on several pages: status and tier badges, the parts of a lead score.

import { h } from "./dom.js";
import * as format from "./format.js";

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
