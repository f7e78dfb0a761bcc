// The Event Queue tab's scheduled events (SPEC 7.2): pending events waiting for their run_at,
// soonest first, apart from the queue above them. Uses app.js's helpers (api, el, badge,
// fmtTime, cancelEvent); loadQueue() calls loadScheduled() on every refresh.
"use strict";

async function loadScheduled() {
  const r = await api("GET", "/api/events?scheduled=1&limit=200");
  if (r.status !== 200) throw new Error(r.body && r.body.error);
  const events = r.body.events;
  $("scheduled-counts").textContent = events.length + " scheduled" +
      (events.length >= 200 ? " (soonest 200)" : "");
  $("scheduled-empty").hidden = events.length > 0;
  $("scheduled-rows").replaceChildren(...events.map((e) => el("tr", { "data-id": e.event_id },
    el("td", { class: "num" }, e.event_id), el("td", {}, e.event_type),
    el("td", { class: "clip" }, e.event_source), el("td", { class: "num" }, e.priority),
    el("td", {}, fmtTime(e.run_at)), el("td", {}, fmtIn(e.run_at)),
    el("td", {}, el("button", { class: "small danger", onclick: () => cancelEvent(e.event_id) },
                    "Cancel")))));
}

// "in 4m 10s" until a future time.
function fmtIn(iso) {
  let s = Math.max(0, Math.round((new Date(iso) - Date.now()) / 1000));
  const parts = [];
  for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (s >= n) {
      parts.push(Math.floor(s / n) + unit);
      s %= n;
    }
  }
  if (parts.length < 2) parts.push(s + "s");
  return "in " + parts.join(" ");
}
