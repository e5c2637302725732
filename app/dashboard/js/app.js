// The dashboard: a single page routed by the URL's #fragment (#/overview, #/sessions, ...).
// The period (from/through, whole UTC days) travels in the fragment, so every view has a link.

import { ApiError, forgetKey, storedKey, storeKey } from "./api.js";
import { destroyCharts } from "./charts.js";
import { h } from "./dom.js";
import {
  addDays,
  currentLocation,
  currentPeriod,
  isoDay,
  pageHash,
  periodOf,
  validDay,
} from "./location.js";
import * as customer from "./pages/customer.js";
import * as data from "./pages/data.js";
import * as leads from "./pages/leads.js";
import * as live from "./pages/live.js";
import * as overview from "./pages/overview.js";
import * as properties from "./pages/properties.js";
import * as property from "./pages/property.js";
import * as session from "./pages/session.js";
import * as sessions from "./pages/sessions.js";

const ROUTES = [
  { pattern: /^overview$/, page: "overview", render: overview.render },
  { pattern: /^sessions$/, page: "sessions", render: sessions.render },
  { pattern: /^sessions\/(?<id>[^/]+)$/, page: "sessions", render: session.render },
  { pattern: /^properties$/, page: "properties", render: properties.render },
  { pattern: /^properties\/(?<id>[^/]+)$/, page: "properties", render: property.render },
  { pattern: /^leads$/, page: "leads", render: leads.render },
  { pattern: /^live$/, page: "live", render: live.render },
  { pattern: /^live\/(?<id>[^/]+)$/, page: "live", render: live.renderSession },
  { pattern: /^customers\/(?<id>[^/]+)$/, page: "leads", render: customer.render },
  { pattern: /^data$/, page: "data", render: data.render },
];

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const keyPanel = document.getElementById("key-panel");
const keyMessage = document.getElementById("key-message");
const periodForm = document.getElementById("period-form");
let renderCount = 0;

function showBanner(message) {
  banner.textContent = message;
  banner.hidden = !message;
}

function askForKey(message) {
  keyMessage.textContent = message ?? "";
  keyPanel.hidden = false;
  main.hidden = true;
  document.getElementById("key-input").focus();
}

function updateChrome(page, period) {
  const hasKey = Boolean(storedKey());
  document.querySelector("[data-testid=key-status]").textContent = hasKey
    ? "Key set for this tab"
    : "No key";
  document.getElementById("change-key").hidden = !hasKey;
  for (const anchor of document.querySelectorAll(".nav a")) {
    anchor.classList.toggle("active", anchor.dataset.page === page);
    anchor.setAttribute("href", pageHash(anchor.dataset.page, {}, period));
  }
  periodForm.elements.from.value = period.from;
  periodForm.elements.through.value = period.through;
}

/** Show the page the fragment names; a later navigation supersedes a slower earlier one. */
async function route() {
  const { path, params } = currentLocation();
  const period = periodOf(params);
  const match = ROUTES.map((item) => ({ item, found: item.pattern.exec(path) })).find(
    (candidate) => candidate.found,
  );
  updateChrome(match?.item.page ?? "", period);
  showBanner("");
  if (!storedKey()) {
    askForKey("");
    return;
  }
  keyPanel.hidden = true;
  main.hidden = false;
  const ticket = ++renderCount;
  destroyCharts();
  live.stopLive();
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  main.dataset.state = "loading";
  // Counts renders, so that a reader (or a test) can wait for the one after its click.
  main.dataset.render = String(ticket);
  if (!match) {
    main.replaceChildren(h("p", { class: "empty" }, `No page called "${path}".`));
    main.dataset.state = "error";
    return;
  }
  const context = {
    id: match.found.groups?.id ? decodeURIComponent(match.found.groups.id) : null,
    params,
    period,
    isCurrent: () => ticket === renderCount,
  };
  try {
    const content = await match.item.render(context);
    if (!context.isCurrent()) {
      return;
    }
    main.replaceChildren(content);
    main.dataset.state = "ready";
  } catch (error) {
    if (!context.isCurrent()) {
      return;
    }
    main.dataset.state = "error";
    main.replaceChildren();
    if (error instanceof ApiError && error.needsKey) {
      forgetKey();
      updateChrome(match.item.page, period);
      askForKey(error.message);
    } else if (error instanceof ApiError) {
      showBanner(error.message);
    } else {
      showBanner(`The page could not be shown: ${error.message}`);
      throw error;
    }
  }
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("key-input");
  const key = input.value.trim();
  if (!key) {
    return;
  }
  storeKey(key);
  input.value = "";
  route();
});

document.getElementById("change-key").addEventListener("click", () => {
  forgetKey();
  destroyCharts();
  live.stopLive();
  main.replaceChildren();
  updateChrome("", currentPeriod());
  askForKey("Enter the key to use from now on.");
});

periodForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const from = periodForm.elements.from.value;
  const through = periodForm.elements.through.value;
  if (!validDay(from) || !validDay(through) || from > through) {
    showBanner("Choose a period whose first day is not after its last.");
    return;
  }
  navigateWithPeriod({ from, through });
});

for (const button of periodForm.querySelectorAll("[data-days]")) {
  button.addEventListener("click", () => {
    const through = isoDay(new Date());
    navigateWithPeriod({ from: addDays(through, -(Number(button.dataset.days) - 1)), through });
  });
}

function navigateWithPeriod(period) {
  const { path, params } = currentLocation();
  params.set("from", period.from);
  params.set("through", period.through);
  // A cursor (and the page number it reached) belongs to the old period's list.
  params.delete("cursor");
  params.delete("page");
  window.location.hash = `#/${path}?${params.toString()}`;
}

window.addEventListener("hashchange", route);
route();
