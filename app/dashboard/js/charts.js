// Charts, drawn by the vendored Chart.js (window.Chart, /dashboard/vendor/chart.umd.min.js).
// Every chart sits beside a table of the same numbers: the table is what a reader (or a test)
// reads exactly; the chart is for the eye.

import { h } from "./dom.js";

const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];
const live = new Set();

/** Destroy the charts of the previous page (Chart.js keeps listeners until told). */
export function destroyCharts() {
  for (const chart of live) {
    chart.destroy();
  }
  live.clear();
}

function mount(testid, height, config) {
  const canvas = h("canvas", { dataset: { testid }, role: "img", "aria-label": config.label });
  const holder = h("div", { class: "chart", style: { height: `${height}px` } }, canvas);
  // Built once the holder is in the document and has its size.
  requestAnimationFrame(() => {
    if (!canvas.isConnected) {
      return;
    }
    const chart = new window.Chart(canvas, {
      type: config.type,
      data: config.data,
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        ...config.options,
      },
    });
    live.add(chart);
    canvas.dataset.ready = "true";
  });
  return holder;
}

/** Horizontal bars: labels down the side, one or more series of values (seconds or counts). */
export function barChart({ testid, label, labels, series, format, height }) {
  const rows = Math.max(labels.length, 1);
  return mount(testid, height ?? Math.min(40 + rows * 26 * Math.max(series.length, 1), 640), {
    label,
    type: "bar",
    data: {
      labels,
      datasets: series.map((item, index) => ({
        label: item.label,
        data: item.values,
        backgroundColor: PALETTE[index % PALETTE.length],
      })),
    },
    options: {
      indexAxis: "y",
      plugins: {
        legend: { display: series.length > 1 },
        tooltip: {
          callbacks: {
            label: (context) => `${context.dataset.label}: ${format(context.parsed.x)}`,
          },
        },
      },
      scales: {
        x: { beginAtZero: true, ticks: { precision: 0, callback: (value) => format(value) } },
      },
    },
  });
}

/** Lines over days: dates along the bottom, one line per series. */
export function lineChart({ testid, label, labels, series, height = 280 }) {
  return mount(testid, height, {
    label,
    type: "line",
    data: {
      labels,
      datasets: series.map((item, index) => ({
        label: item.label,
        data: item.values,
        borderColor: PALETTE[index % PALETTE.length],
        backgroundColor: PALETTE[index % PALETTE.length],
        yAxisID: item.axis ?? "y",
        // Straight segments: a curve would show values between days that never were.
        tension: 0,
      })),
    },
    options: {
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        ...(series.some((item) => item.axis === "y2")
          ? { y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } }
          : {}),
      },
    },
  });
}
