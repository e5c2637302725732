// Leads: customers ranked by engagement score, with their tier and the parts of the score that
// explain it. API: GET /leads (tier filter, cursor pagination).

import { getJson } from "../api.js";
import { h, panel, table } from "../dom.js";
import * as format from "../format.js";
import { pageHash } from "../location.js";
import { leadFactors, pageLink, pageNumberOf, pager, scoringNote, tierBadge } from "../widgets.js";

const TIERS = ["hot", "warm", "cold"];

export async function render({ period, params }) {
  const tier = TIERS.includes(params.get("tier")) ? params.get("tier") : null;
  const answer = await getJson("/leads", {
    from: period.from,
    to: period.to,
    tier,
    cursor: params.get("cursor"),
  });
  const pageNumber = pageNumberOf(params);
  const firstRank = (pageNumber - 1) * answer.limit + 1;
  return h(
    "div",
    { dataset: { testid: "page-leads" } },
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Leads"),
      h(
        "span",
        { class: "sub" },
        `customers with sessions started ${period.from} through ${period.through}`,
      ),
    ),
    tierCounts(answer, tier),
    panel(
      tier ? `${tier[0].toUpperCase()}${tier.slice(1)} leads` : "All leads",
      { dataset: { testid: "leads-panel" } },
      table({
        testid: "leads",
        rows: answer.leads,
        empty: "No identified customer had a session in this period.",
        rowAttributes: (lead) => ({ dataset: { customerId: lead.customer_id } }),
        columns: [
          {
            title: "#",
            value: (_lead, index) => String(firstRank + index),
            numeric: true,
            testid: "rank",
          },
          {
            title: "Customer",
            value: (lead) => pageLink("customers", lead.customer_id),
            testid: "customer",
          },
          {
            title: "Score",
            value: (lead) => format.score(lead.score),
            numeric: true,
            testid: "score",
          },
          { title: "Tier", value: (lead) => tierBadge(lead.tier), testid: "tier" },
          { title: "Why", value: (lead) => leadFactors(lead.parts), testid: "why" },
          {
            title: "Properties",
            value: (lead) => format.count(lead.properties),
            numeric: true,
            testid: "properties",
          },
          {
            title: "Last session (UTC)",
            value: (lead) => format.time(lead.last_session_at),
            testid: "last",
          },
        ],
      }),
      pager({ path: "leads", filters: { tier }, answer, pageNumber }),
      scoringNote(answer.scoring),
    ),
  );
}

function tierCounts(answer, current) {
  const chip = (tier, count) =>
    h(
      "a",
      {
        href: pageHash("leads", { tier }),
        class: `card tier-card${current === tier ? " active" : ""}`,
        dataset: { testid: `tier-${tier ?? "all"}` },
      },
      h("div", { class: "card-label" }, tier ? tierBadge(tier) : "All customers"),
      h(
        "div",
        { class: "card-value", dataset: { testid: `tier-${tier ?? "all"}-value` } },
        format.count(count),
      ),
    );
  return h(
    "div",
    { class: "cards" },
    chip(null, answer.total),
    TIERS.map((tier) => chip(tier, answer.tiers[tier])),
  );
}
