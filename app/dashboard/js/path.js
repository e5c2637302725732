// A tour's path (Unreal world x, y in cm) as a line, with a dot where the visitor is; used by
// the Live page (the path grows) and the session page's replay (the path up to a moment).
// Over the property's floor plan when it has a calibrated one (GET /properties/{id}/floor-plans):
// points are placed on the plan's pixels by its world_to_pixel, and only the points within the
// storey's heights are drawn; the storey shown is the one the visitor is on. Without a plan the
// path is scaled onto a blank square, and the note under it says why.

import { getBlob, getJson } from "./api.js";
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const BLANK_SIZE = 100;
const BLANK_MARGIN = 5;

/** The point of an event: a position sample's own x/y(/z), or the `position` of another event. */
export function pointOf(event) {
  const data = event.event_data ?? {};
  const position = event.kind === "position" || event.event_type === "position" ? data : data.position;
  if (!position || typeof position.x !== "number" || typeof position.y !== "number") {
    return null;
  }
  return [position.x, position.y, typeof position.z === "number" ? position.z : null];
}

function svgElement(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    element.setAttribute(key, value);
  }
  return element;
}

function onStorey(plan, [, , z]) {
  if (plan.z_min === null && plan.z_max === null) {
    return true;
  }
  if (z === null) {
    return false;
  }
  return (plan.z_min === null || z >= plan.z_min) && (plan.z_max === null || z < plan.z_max);
}

function toPixel(plan, [x, y]) {
  const [a, b, c, d, e, f] = plan.calibration.world_to_pixel;
  return [a * x + b * y + c, d * x + e * y + f];
}

function planTitle(plan) {
  return plan.name ? `storey ${plan.storey} (${plan.name})` : `storey ${plan.storey}`;
}

export function pathView() {
  const svg = svgElement("svg", { viewBox: `0 0 ${BLANK_SIZE} ${BLANK_SIZE}`, class: "path-view" });
  svg.dataset.testid = "path-view";
  svg.dataset.points = "0";
  svg.dataset.plan = "none";
  const background = svgElement("image", { preserveAspectRatio: "none" });
  const line = svgElement("polyline", { fill: "none", stroke: "currentColor" });
  const here = svgElement("circle", { r: "0", class: "path-here" });
  svg.append(background, line, here);
  const note = h("p", { class: "sub", dataset: { testid: "path-note" } }, "Loading the floor plan…");
  const points = [];
  let plans = [];
  let shownPlan = null;
  let shownUpTo = null;
  const images = new Map();

  function blank(reason) {
    note.textContent = `${reason}: the path is drawn on a blank square.`;
  }

  function planFor(upTo) {
    const latest = points[upTo - 1];
    return (latest && plans.find((plan) => onStorey(plan, latest))) ?? plans[0] ?? null;
  }

  async function showPlan(plan) {
    shownPlan = plan;
    svg.dataset.plan = String(plan.storey);
    svg.setAttribute("viewBox", `0 0 ${plan.width} ${plan.height}`);
    for (const name of ["width", "height"]) {
      background.setAttribute(name, String(plan[name]));
    }
    note.textContent = `Over the floor plan of ${planTitle(plan)}.`;
    if (!images.has(plan.storey)) {
      const path = `/properties/${encodeURIComponent(plan.property_id)}/floor-plans/${plan.storey}/image`;
      // The version keeps a replaced plan from being shown from the browser's cache.
      const image = await getBlob(path, { v: plan.updated_at }, "image/*");
      images.set(plan.storey, URL.createObjectURL(image));
    }
    if (shownPlan === plan) {
      background.setAttribute("href", images.get(plan.storey));
    }
  }

  function draw(upTo = points.length) {
    shownUpTo = upTo;
    const plan = planFor(upTo);
    if (plan && plan !== shownPlan) {
      showPlan(plan).catch((error) => blank(`The floor plan could not be loaded (${error.message})`));
    }
    const shown = points.slice(0, upTo).filter((point) => !plan || onStorey(plan, point));
    svg.dataset.points = String(shown.length);
    const placed = plan ? shown.map((point) => toPixel(plan, point)) : onBlank(shown);
    line.setAttribute("points", placed.map(([u, v]) => `${u},${v}`).join(" "));
    const last = placed.at(-1);
    here.setAttribute("r", last ? String((plan ? Math.max(plan.width, plan.height) : BLANK_SIZE) / 80) : "0");
    if (last) {
      here.setAttribute("cx", String(last[0]));
      here.setAttribute("cy", String(last[1]));
    }
  }

  function onBlank(shown) {
    if (!points.length) {
      return [];
    }
    const xs = points.map((point) => point[0]);
    const ys = points.map((point) => point[1]);
    const minX = Math.min(...xs);
    const minY = Math.min(...ys);
    const span = Math.max(Math.max(...xs) - minX, Math.max(...ys) - minY, 1);
    const inner = BLANK_SIZE - 2 * BLANK_MARGIN;
    return shown.map(([x, y]) => [
      BLANK_MARGIN + (inner * (x - minX)) / span,
      BLANK_MARGIN + (inner * (y - minY)) / span,
    ]);
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
    /** Look up the property's floor plans; the path is redrawn over the right one. */
    async usePlansOf(propertyId) {
      if (!propertyId) {
        blank("No property on this tour, so no floor plan");
        return;
      }
      try {
        const answer = await getJson(`/properties/${encodeURIComponent(propertyId)}/floor-plans`);
        plans = answer.floor_plans
          .filter((plan) => plan.calibration)
          .map((plan) => ({ ...plan, property_id: propertyId }));
        if (!plans.length) {
          blank(
            answer.floor_plans.length
              ? "The property's floor plans are not calibrated"
              : "No floor plan for this property",
          );
        }
      } catch (error) {
        blank(`No floor plan (${error.message})`);
      }
      draw(shownUpTo ?? points.length);
    },
  };
}
