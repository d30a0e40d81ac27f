// Tollgate's dashboard in the browser: draws the charts from the data the page carries, and keeps
// the runs list live through server-sent events. No inline script: the page's CSP allows only this.
"use strict";

function drawCharts() {
  if (typeof Chart === "undefined") return;
  for (const holder of document.querySelectorAll("script.chart-data")) {
    const data = JSON.parse(holder.textContent);
    const canvas = document.getElementById(holder.dataset.for);
    if (!canvas) continue;
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels.map((d) => d.slice(5)), datasets: data.datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: (v) => "$" + v } } },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: $${c.parsed.y.toFixed(4)}` } },
        },
      },
    });
  }
}

function liveRuns() {
  const table = document.querySelector("table[data-live]");
  if (!table || typeof EventSource === "undefined") return;
  const source = new EventSource(table.dataset.live);
  let reloading = false;
  source.addEventListener("run", (event) => {
    const run = JSON.parse(event.data);
    const row = table.querySelector(`tr[data-run="${CSS.escape(run.id)}"]`);
    if (!row) return reloadRows(table);
    for (const [cell, value] of Object.entries(run.cells)) {
      const td = row.querySelector(`[data-cell="${cell}"]`);
      if (!td) continue;
      if (cell === "status") {
        td.replaceChildren(Object.assign(document.createElement("span"), { className: `status status-${value}`, textContent: value }));
      } else td.textContent = value;
    }
  });
  // a run the page does not show yet: fetch the rows again, with the page's own filters
  async function reloadRows() {
    if (reloading || new URL(location.href).searchParams.has("before")) return;
    reloading = true;
    try {
      const url = new URL(location.href);
      url.searchParams.set("fragment", "rows");
      const response = await fetch(url, { headers: { accept: "text/html" } });
      if (response.ok) table.tBodies[0].innerHTML = await response.text();
    } finally {
      reloading = false;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  liveRuns();
});
