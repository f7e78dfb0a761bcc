// pubsub admin page: pause and resume (SPEC 7.4). Loaded after app.js and uses its helpers
// (api, change, el, $, state). Subscriber rows get a Pause/Resume button (pauseButton, called
// by app.js); the Service Status tab gets a Pauses section: what is paused, the held
// deliveries, and a Pause/Resume button per job type's pool.
"use strict";

const pauses = { subscribers: [], pools: [], held: 0 };
const jobTypes = ["import", "inbox_processor", "report", "custom", "noop"];

function isPaused(kind, name) {
  return pauses[kind].includes(name);
}

async function setPaused(kind, name, paused) {
  const action = paused ? "pause" : "resume";
  const what = (kind === "pools" ? "pool " : "") + name;
  const r = await change("POST", "/api/" + kind + "/" + encodeURIComponent(name) + "/" + action,
                         undefined, what + (paused ? " paused: new deliveries are held"
                                                   : " resumed: held deliveries run now"));
  if (r) await loadPauses();
}

// A button for a subscriber row of app.js; its label follows loadPauses().
function pauseButton(s) {
  const name = s.subscriber_name;
  return el("button", { class: "small secondary", "data-pause-sub": name,
                        onclick: () => setPaused("subscribers", name, !isPaused("subscribers", name)) },
            isPaused("subscribers", name) ? "Resume" : "Pause");
}

function poolButton(t) {
  const on = isPaused("pools", t);
  return el("button", { class: "small " + (on ? "danger" : "secondary"), "data-pool": t,
                        title: on ? "paused: click to resume" : "running: click to pause",
                        onclick: () => setPaused("pools", t, !on) },
            t + (on ? ": resume" : ": pause"));
}

function renderPauses() {
  for (const b of document.querySelectorAll("button[data-pause-sub]")) {
    b.textContent = isPaused("subscribers", b.dataset.pauseSub) ? "Resume" : "Pause";
  }
  const box = $("pauses");
  if (!box) return;
  const subs = pauses.subscribers.length
    ? pauses.subscribers.map((n) => el("span", { class: "paused" }, n, " ",
        el("button", { class: "small secondary", onclick: () => setPaused("subscribers", n, false) },
           "Resume"), " "))
    : [el("span", { class: "muted" }, "none")];
  box.replaceChildren(
    el("p", {}, el("b", { id: "held-count" }, pauses.held), " deliveries held"),
    el("p", {}, "Paused subscribers: ", ...subs),
    el("p", {}, "Pools: ", ...jobTypes.map((t) => [poolButton(t), " "])));
}

async function loadPauses() {
  try {
    const r = await api("GET", "/api/pauses");
    if (r.status !== 200 || !r.body) return;
    pauses.subscribers = r.body.subscribers || [];
    pauses.pools = r.body.pools || [];
    pauses.held = r.body.held || 0;
    renderPauses();
  } catch (e) {
    // The page's other requests report an unreachable server.
  }
}

loadPauses();
setInterval(() => {
  if (state.tab === "status" || state.tab === "subscribers") loadPauses();
}, 3000);
