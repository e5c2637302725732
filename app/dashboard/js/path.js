// A tour's path (x, y in Unreal world units) as a line on a square, scaled to the points; used
// by the Live page (the path grows) and the session page's replay (the path up to a moment).
// Floor plans are not drawn yet: the square is blank, and the page says so.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

/** The point of an event: a position sample's own x/y, or the `position` of another event. */
export function pointOf(event) {
  const data = event.event_data ?? {};
  const position = event.kind === "position" || event.event_type === "position" ? data : data.position;
  if (!position || typeof position.x !== "number" || typeof position.y !== "number") {
    return null;
  }
  return [position.x, position.y];
}

export function pathView() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 100");
  svg.setAttribute("class", "path-view");
  svg.dataset.testid = "path-view";
  svg.dataset.points = "0";
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  svg.append(line);
  const note = h(
    "p",
    { class: "sub" },
    "No floor plan for this property: the path is drawn on a blank square.",
  );
  const points = [];
  function draw(upTo = points.length) {
    const shown = points.slice(0, upTo);
    svg.dataset.points = String(shown.length);
    if (!points.length) {
      line.setAttribute("points", "");
      return;
    }
    const xs = points.map((point) => point[0]);
    const ys = points.map((point) => point[1]);
    const minX = Math.min(...xs);
    const minY = Math.min(...ys);
    const span = Math.max(Math.max(...xs) - minX, Math.max(...ys) - minY, 1);
    line.setAttribute(
      "points",
      shown
        .map(([x, y]) => `${5 + (90 * (x - minX)) / span},${95 - (90 * (y - minY)) / span}`)
        .join(" "),
    );
  }
  return {
    element: h("div", {}, svg, note),
    points,
    draw,
    add(event) {
      const point = pointOf(event);
      if (point) {
        points.push(point);
        draw();
      }
    },
  };
}
