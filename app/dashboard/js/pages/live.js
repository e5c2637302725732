// Live: the tours in progress, updating in place (GET /live, an EventSource), and one tour
// as it happens (GET /sessions/<id>/live): its path growing, current room, dwell so far and
// signals. Streams close when the page is left (stopLive, called by the router).

import { openStream } from "../api.js";
import { h, panel } from "../dom.js";
import * as format from "../format.js";
import { pageLink } from "../widgets.js";

const streams = new Set();
const RECENT_EVENTS = 50;
const SVG = "http://www.w3.org/2000/svg";

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
  keep(
    await openStream(`/sessions/${encodeURIComponent(id)}/live`, {
      sessionId: id,
      onMessage(name, data) {
        status.textContent = "Live";
        if (name === "state") {
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

/** The positions of a tour as a growing line (x, y in Unreal world units). */
export function pathView() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 100");
  svg.setAttribute("class", "path-view");
  svg.dataset.testid = "path-view";
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  svg.append(line);
  const note = h("p", { class: "sub" }, "No floor plan for this property: the path is drawn on a blank square.");
  const points = [];
  function pointOf(event) {
    const data = event.event_data ?? {};
    const position = event.kind === "position" ? data : data.position;
    if (!position || typeof position.x !== "number" || typeof position.y !== "number") {
      return null;
    }
    return [position.x, position.y];
  }
  function draw(upTo = points.length) {
    const shown = points.slice(0, upTo);
    if (!shown.length) {
      line.setAttribute("points", "");
      return;
    }
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(maxX - minX, maxY - minY, 1);
    line.setAttribute(
      "points",
      shown.map(([x, y]) => `${5 + (90 * (x - minX)) / span},${95 - (90 * (y - minY)) / span}`).join(" "),
    );
    svg.dataset.points = String(shown.length);
  }
  return {
    element: h("div", {}, svg, note),
    add(event) {
      const point = pointOf(event);
      if (point) {
        points.push(point);
        draw();
      }
    },
    points,
    draw,
  };
}
