// Supervisor pages: the wallboard's live updates (server-sent events) and the report's chart.
(function () {
  const board = document.getElementById("wallboard");
  if (!board) return;
  // Waits tick up between pushes, so the board never shows a frozen "longest wait".
  let pushedAt = Date.now();
  setInterval(function () {
    const elapsed = Math.floor((Date.now() - pushedAt) / 1000);
    board.querySelectorAll("[data-wait]").forEach(function (cell) {
      if (cell.dataset.wait !== "") cell.textContent = String(Number(cell.dataset.wait) + elapsed);
    });
  }, 1000);
  if (!window.EventSource) return;
  const source = new EventSource(board.dataset.events);
  source.addEventListener("wallboard", function (event) {
    // The server renders the fragment with escaping; nothing from the browser goes in.
    board.innerHTML = JSON.parse(event.data).board;
    pushedAt = Date.now();
    document.body.dataset.boardUpdated = String(pushedAt);
  });
})();

(function () {
  const canvas = document.getElementById("report-chart");
  const source = document.getElementById("report-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const chart = new window.Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: data.calls_label, data: data.calls, yAxisID: "calls", backgroundColor: "#2f6fed88" },
        {
          type: "line", label: data.sl_label, yAxisID: "sl", borderColor: "#137333",
          data: data.service_level.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }),
        },
      ],
    },
    options: {
      animation: false,
      scales: { calls: { position: "left", beginAtZero: true }, sl: { position: "right", min: 0, max: 100 } },
    },
  });
  canvas.dataset.points = String(chart.data.labels.length);
})();
