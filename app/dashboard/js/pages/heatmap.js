// A heatmap of position samples: the server's PNG (fetched with the key, shown as a blob: URL)
// and, as its caption, the sample counts of the same grid from the JSON answer.
// API: GET /properties/{id}/heatmap.png and /properties/{id}/heatmap.

import { getBlob, getJson } from "../api.js";
import { h } from "../dom.js";
import * as format from "../format.js";

function cm(value) {
  return `${Number(value.toFixed(1))} cm`;
}

/**
 * A <figure> that fills itself in: data-state is "loading", then "loaded" or "error".
 * `query` holds the heatmap parameters (room, session_id, bins, plane, from, to).
 */
export function heatmapImage({ testid, propertyId, query, alt }) {
  const image = h("img", { alt, dataset: { testid: `${testid}-img` } });
  const caption = h(
    "figcaption",
    { class: "note", dataset: { testid: `${testid}-caption` } },
    "Loading…",
  );
  const figure = h(
    "figure",
    { class: "heatmap", dataset: { testid, state: "loading" } },
    image,
    caption,
  );
  const path = `/properties/${encodeURIComponent(propertyId)}/heatmap`;
  Promise.all([getBlob(`${path}.png`, query), getJson(path, query)])
    .then(([blob, counts]) => {
      const url = URL.createObjectURL(blob);
      image.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      image.src = url;
      image.dataset.bytes = String(blob.size);
      caption.textContent = describe(counts);
      caption.dataset.used = String(counts.samples.used);
      figure.dataset.floorPlan = counts.floor_plan ? String(counts.floor_plan.storey) : "none";
      figure.dataset.state = "loaded";
    })
    .catch((error) => {
      image.remove();
      caption.textContent = `No heatmap: ${error.message}`;
      figure.dataset.state = "error";
    });
  return figure;
}

function describe(counts) {
  return [describeSamples(counts), describePlan(counts)].join(" ");
}

function describePlan({ floor_plan: plan, floor_plan_note: note, samples }) {
  if (!plan) {
    return note;
  }
  const name = plan.name ? ` (${plan.name})` : "";
  const elsewhere = samples.other_storeys
    ? ` ${format.count(samples.other_storeys)} samples are on other storeys.`
    : "";
  return `Drawn over the floor plan of storey ${plan.storey}${name}.${elsewhere}`;
}

function describeSamples(counts) {
  const { samples, grid } = counts;
  if (!grid) {
    return `No position sample to show (${format.count(samples.skipped)} could not be read).`;
  }
  const [across, down] = grid.shape;
  const [sizeI, sizeJ] = grid.bin_size;
  const cells = sizeI === sizeJ ? cm(sizeI) : `${cm(sizeI)} × ${cm(sizeJ)}`;
  return (
    `${format.count(samples.used)} position samples on the ${counts.axes.join("")} plane, ` +
    `in ${across} × ${down} cells of ${cells}; the busiest cell holds ${format.count(counts.max_count)}` +
    (samples.skipped ? `; ${format.count(samples.skipped)} samples could not be read.` : ".")
  );
}
