// The session page's replay: the recorded path drawn up to a moment of the tour, with a time
// slider, play/pause and a speed; the room at that moment comes from the session's timeline
// (the dwell rule's place events). API: GET /sessions/{id}/events (every page, at most
// MAX_EVENTS events).

import { getJson } from "../api.js";
import { h, panel } from "../dom.js";
import * as format from "../format.js";
import { pathView, pointOf } from "../path.js";

const PAGE = 1000;
const MAX_EVENTS = 20000;
const STEP_MS = 100;
const SPEEDS = [1, 4, 16, 64, 256];

async function allEvents(sessionId) {
  const events = [];
  let cursor = null;
  do {
    const page = await getJson(`/sessions/${encodeURIComponent(sessionId)}/events`, {
      limit: PAGE,
      cursor,
    });
    events.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor && events.length < MAX_EVENTS);
  return events;
}

export async function replayPanel(detail) {
  const { session } = detail;
  const events = await allEvents(session.id);
  const startMs = Date.parse(session.started_at);
  const moments = [];
  const path = pathView();
  for (const event of events) {
    const point = pointOf(event);
    if (point) {
      path.points.push(point);
      moments.push(Date.parse(event.timestamp) - startMs);
    }
  }
  const places = detail.timeline
    .filter((entry) => entry.place)
    .map((entry) => [Date.parse(entry.timestamp) - startMs, entry.place]);
  const endMs = Math.max(
    0,
    ...moments,
    ...places.map(([at]) => at),
    session.ended_at ? Date.parse(session.ended_at) - startMs : 0,
  );
  const slider = h("input", {
    type: "range",
    min: "0",
    max: String(endMs),
    step: "100",
    value: "0",
    dataset: { testid: "replay-slider" },
    "aria-label": "Moment of the tour",
  });
  const clock = h("span", { dataset: { testid: "replay-time" } }, "");
  const room = h("strong", { dataset: { testid: "replay-room" } }, format.NONE);
  const speed = h(
    "select",
    { dataset: { testid: "replay-speed" }, "aria-label": "Speed" },
    ...SPEEDS.map((factor) => h("option", { value: String(factor) }, `${factor}×`)),
  );
  const play = h("button", { type: "button", dataset: { testid: "replay-play" } }, "Play");
  const element = panel(
    "Replay",
    { dataset: { testid: "replay", state: "paused" } },
    h("p", {}, play, " ", speed, " ", clock, " · room: ", room),
    slider,
    path.element,
  );
  function show(atMs) {
    const shown = moments.filter((moment) => moment <= atMs).length;
    path.draw(shown);
    const current = places.filter(([at]) => at <= atMs).at(-1);
    room.textContent = current ? current[1] : format.NONE;
    clock.textContent = `${format.duration(atMs / 1000)} of ${format.duration(endMs / 1000)}`;
    slider.value = String(atMs);
  }
  let timer = null;
  function stop(state) {
    clearInterval(timer);
    timer = null;
    play.textContent = "Play";
    element.dataset.state = state;
  }
  play.addEventListener("click", () => {
    if (timer) {
      stop("paused");
      return;
    }
    let atMs = Number(slider.value) >= endMs ? 0 : Number(slider.value);
    play.textContent = "Pause";
    element.dataset.state = "playing";
    timer = setInterval(() => {
      if (!element.isConnected) {
        stop("paused");
        return;
      }
      atMs = Math.min(endMs, atMs + STEP_MS * Number(speed.value));
      show(atMs);
      if (atMs >= endMs) {
        stop("ended");
      }
    }, STEP_MS);
  });
  slider.addEventListener("input", () => show(Number(slider.value)));
  show(0);
  await path.usePlansOf(session.property_id);
  element.dataset.positions = String(moments.length);
  return element;
}
