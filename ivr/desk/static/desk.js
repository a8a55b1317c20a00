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
    const badge = document.getElementById("voicemail-badge");
    if (badge && typeof update.voicemails === "number") badge.textContent = String(update.voicemails);
    document.body.dataset.deskUpdated = String(Date.now());
  });
})();

// The browser softphone (Twilio Voice JS SDK from the npm lock file): routed calls ring here
// when the agent has no phone number. Accept, decline, mute and hang up are buttons (keyboard).
(function () {
  const box = document.getElementById("softphone");
  if (!box || !window.Twilio || !window.Twilio.Device) return;
  const status = box.querySelector("[data-testid=softphone-status]");
  const button = (name) => box.querySelector(`[data-action=${name}]`);
  const show = (...names) => {
    for (const b of box.querySelectorAll("button")) b.hidden = !names.includes(b.dataset.action);
  };
  let current = null;

  async function token() {
    const response = await fetch(box.dataset.tokenUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error("no token");
    return (await response.json()).token;
  }

  token().then((initial) => {
    const device = new window.Twilio.Device(initial, { closeProtection: true });
    device.on("registered", () => { status.textContent = box.dataset.ready; });
    device.on("error", () => { status.textContent = box.dataset.failed; });
    device.on("tokenWillExpire", async () => device.updateToken(await token()));
    device.on("incoming", (call) => {
      current = call;
      status.textContent = box.dataset.ringing;
      show("accept", "decline");
      button("accept").focus();
      call.on("accept", () => { status.textContent = box.dataset.talking; show("mute", "hangup"); });
      call.on("disconnect", () => { current = null; status.textContent = box.dataset.ready; show(); });
      call.on("cancel", () => { current = null; status.textContent = box.dataset.ready; show(); });
    });
    device.register();
  }).catch(() => { status.textContent = box.dataset.failed; });

  button("accept").addEventListener("click", () => current && current.accept());
  button("decline").addEventListener("click", () => current && current.reject());
  button("hangup").addEventListener("click", () => current && current.disconnect());
  button("mute").addEventListener("click", () => {
    if (!current) return;
    const muted = !current.isMuted();
    current.mute(muted);
    button("mute").setAttribute("aria-pressed", String(muted));
  });
})();
