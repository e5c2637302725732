// Live: the tours in progress, updating in place (GET /live, an EventSource), and one tour
// as it happens (GET /sessions/<id>/live): its path growing, current room, dwell so far and
// signals. Streams close when the page is left (stopLive, called by the router).

import { openStream } from "../api.js";
import { h, panel } from "../dom.js";
import * as format from "../format.js";
import { pathView } from "../path.js";
import { pageLink } from "../widgets.js";

const streams = new Set();
const RECENT_EVENTS = 50;

export function stopLive() {
  for (const stream of streams) {
    stream.close();
  }
  streams.clear();
}

function keep(stream) {
  streams.add(stream);
}

export async function render() {
  const rows = h("tbody", { dataset: { testid: "live-tours-body" } });
  const note = h("p", { class: "sub", dataset: { testid: "live-status" } }, "Connecting…");
  const byId = new Map();
  function show(tour) {
    const existing = byId.get(tour.id);
    if (tour.status !== "active") {
      existing?.remove();
      byId.delete(tour.id);
      return;
    }
    const row = h(
      "tr",
      { dataset: { sessionId: tour.id, testid: "live-tour" } },
      h("td", {}, pageLink("live", tour.id, {}) ?? tour.id),
      h("td", {}, tour.customer_id ?? format.NONE),
      h("td", {}, tour.property_id ?? format.NONE),
      h("td", { dataset: { testid: "live-room" } }, tour.current_room ?? format.NONE),
      h("td", { dataset: { testid: "live-signal" } }, signalText(tour)),
      h("td", { dataset: { started: tour.started_at, testid: "live-elapsed" } }, ""),
    );
    if (existing) {
      existing.replaceWith(row);
    } else {
      rows.prepend(row);
    }
    byId.set(tour.id, row);
    tick();
  }
  function tick() {
    for (const cell of rows.querySelectorAll("[data-testid=live-elapsed]")) {
      const seconds = (Date.now() - Date.parse(cell.dataset.started)) / 1000;
      cell.textContent = format.duration(Math.max(0, seconds));
    }
  }
  keep({ close: clearInterval.bind(null, setInterval(tick, 1000)) });
  keep(
    await openStream("/live", {
      onMessage(name, data) {
        note.textContent = "Live";
        if (name === "tours") {
          rows.replaceChildren();
          byId.clear();
          data.tours.forEach(show);
        } else if (name === "tour") {
          show(data);
        }
      },
      onTrouble(error) {
        note.textContent = error.message;
      },
    }),
  );
  const head = h(
    "thead",
    {},
    h(
      "tr",
      {},
      ...["Session", "Customer", "Property", "Room now", "Latest signal", "In tour"].map(
        (name) => h("th", {}, name),
      ),
    ),
  );
  return h(
    "div",
    { dataset: { testid: "page-live" } },
    h("div", { class: "page-head" }, h("h1", {}, "Live"), note),
    panel("Tours in progress", {}, h("table", { dataset: { testid: "live-tours" } }, head, rows)),
  );
}

function signalText(tour) {
  if (!tour.signal_type) {
    return format.NONE;
  }
  return tour.signal_name ? `${tour.signal_type}: ${tour.signal_name}` : tour.signal_type;
}

export async function renderSession({ id }) {
  const room = h("strong", { dataset: { testid: "live-current-room" } }, format.NONE);
  const dwell = h("span", { dataset: { testid: "live-dwell" } }, format.NONE);
  const rooms = h("ul", { dataset: { testid: "live-rooms" } });
  const events = h("ol", { class: "live-events", dataset: { testid: "live-events" } });
  const status = h("p", { class: "sub", dataset: { testid: "live-status" } }, "Connecting…");
  const path = pathView();
  let plansAsked = false;
  keep(
    await openStream(`/sessions/${encodeURIComponent(id)}/live`, {
      sessionId: id,
      onMessage(name, data) {
        status.textContent = "Live";
        if (name === "state") {
          if (!plansAsked) {
            plansAsked = true;
            path.usePlansOf(data.tour.property_id);
          }
          room.textContent = data.tour.current_room ?? format.NONE;
          dwell.textContent = format.duration(data.dwell_seconds);
          rooms.replaceChildren(
            ...data.rooms.map((item) =>
              h("li", {}, `${item.room}: ${format.duration(item.dwell_seconds)}`),
            ),
          );
        } else if (name === "tour_event") {
          events.prepend(
            h(
              "li",
              { dataset: { eventId: data.event_id, testid: "live-event" } },
              `${format.time(data.timestamp)} ${data.kind ?? data.event_type}`,
            ),
          );
          while (events.children.length > RECENT_EVENTS) {
            events.lastElementChild.remove();
          }
          path.add(data);
        }
      },
      onTrouble(error) {
        status.textContent = error.message;
      },
    }),
  );
  return h(
    "div",
    { dataset: { testid: "page-live-session" } },
    h("div", { class: "page-head" }, h("h1", {}, "Live tour"), status),
    panel(
      "Now",
      {},
      h("p", {}, "Room now: ", room, " · dwell so far: ", dwell),
      rooms,
    ),
    panel("Path", {}, path.element),
    panel("Events as they arrive", {}, events),
  );
}
