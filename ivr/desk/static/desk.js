// The agent's desk: the server pushes the call panel and the state (server-sent events).
"use strict";
(function () {
  const panel = document.getElementById("call-panel");
  const state = document.getElementById("state");
  if (!panel || !window.EventSource) return;
  const source = new EventSource(panel.dataset.events);
  source.addEventListener("desk", function (event) {
    const update = JSON.parse(event.data);
    // The server renders both fragments with escaping; nothing from the browser goes in.
    if (panel.innerHTML !== update.call) panel.innerHTML = update.call;
    if (state) state.innerHTML = update.state;
    document.body.dataset.deskUpdated = String(Date.now());
  });
})();
