// pubsub admin page: four tabs over the JSON API of pubsubd (admin/api.h).
// Plain browser JavaScript, no build step, no requests to anywhere but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { tab: null, timer: null, logBefore: null, filterSeq: 0, editing: null };

// ---- helpers -------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function fmtAge(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function badge(status) {
  return el("span", { class: "badge s-" + status }, status);
}

function showMessage(text, bad) {
  const m = $("message");
  m.textContent = text;
  m.className = bad ? "bad" : "";
  m.hidden = !text;
  clearTimeout(showMessage.timer);
  if (text) showMessage.timer = setTimeout(() => { m.hidden = true; }, bad ? 8000 : 4000);
}

// Calls the API; resolves to {status, body} (body parsed when JSON). Network errors reject.
async function api(method, path, body) {
  const headers = {};
  const token = $("token").value.trim();
  // Reads too: under --http-auth all they need it (harmless otherwise: same origin only).
  if (token) headers["Authorization"] = "Bearer " + token;
  // Always JSON: without a token pubsubd refuses changes whose body is anything else.
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let parsed = null;
  const text = await res.text();
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = { error: text }; }
  return { status: res.status, body: parsed };
}

// A change (POST/PUT/DELETE); shows the server's error, returns the reply or null.
async function change(method, path, body, okText) {
  try {
    const r = await api(method, path, body);
    if (r.status >= 200 && r.status < 300) {
      if (okText) showMessage(okText);
      return r;
    }
    let why = (r.body && r.body.error) || "HTTP " + r.status;
    if (r.status === 401) why += " (enter the token at the top right)";
    showMessage(why, true);
    return r;
  } catch (e) {
    showMessage("request failed: " + e.message, true);
    return null;
  }
}

// ---- tabs ------------------------------------------------------------------------------------

const tabs = {
  queue: { load: loadQueue, every: 1000 },
  subscribers: { load: loadSubscribers, every: 0 },
  log: { load: () => loadLog(false), every: 0 },
  status: { load: loadStatus, every: 3000 },
};

function showTab(name) {
  if (!tabs[name]) name = "queue";
  state.tab = name;
  for (const b of document.querySelectorAll("#tabs button")) {
    b.setAttribute("aria-selected", b.dataset.tab === name ? "true" : "false");
  }
  for (const p of document.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
  clearInterval(state.timer);
  tabs[name].load();
  if (tabs[name].every) {
    state.timer = setInterval(() => {
      if (name === "queue" && !$("queue-live").checked) return;
      tabs[name].load();
    }, tabs[name].every);
  }
}

// ---- Event Queue -----------------------------------------------------------------------------

async function loadQueue() {
  try {
    const [open, failed] = await Promise.all([
      api("GET", "/api/events?status=pending,processing&order=queue&limit=200&scheduled=0"),
      api("GET", "/api/events?status=failed&limit=20"),
      loadScheduled(),  // scheduled.js
    ]);
    if (open.status !== 200) throw new Error(open.body && open.body.error);
    renderQueue(open.body.events);
    if (failed.status === 200) renderFailed(failed.body.events);
    $("queue-updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("queue-updated").textContent = "update failed: " + e.message;
  }
}

function renderQueue(events) {
  const pending = events.filter((e) => e.status === "pending").length;
  $("queue-counts").textContent = pending + " pending, " + (events.length - pending) +
      " processing" + (events.length >= 200 ? " (first 200)" : "");
  $("queue-empty").hidden = events.length > 0;
  $("queue-rows").replaceChildren(...events.map((e) => el("tr", { "data-id": e.event_id },
    el("td", { class: "num" }, e.event_id), el("td", {}, e.event_type),
    el("td", { class: "clip" }, e.event_source), el("td", { class: "num" }, e.priority),
    el("td", {}, badge(e.status)), el("td", {}, fmtTime(e.created_at)),
    el("td", {}, fmtAge(e.created_at)),
    el("td", {}, el("button", { class: "small danger", onclick: () => cancelEvent(e.event_id) },
                    "Cancel")))));
}

function renderFailed(events) {
  $("failed-rows").replaceChildren(...events.map((e) => el("tr", { "data-id": e.event_id },
    el("td", { class: "num" }, e.event_id), el("td", {}, e.event_type),
    el("td", { class: "clip" }, e.event_source), el("td", {}, fmtTime(e.completed_at)),
    el("td", { class: "clip", title: e.error_message || "" }, e.error_message || ""),
    el("td", { class: "num" }, e.retry_count),
    el("td", {}, el("button", { class: "small", onclick: () => retryEvent(e.event_id) },
                    "Retry")))));
}

async function cancelEvent(id) {
  if (await change("POST", "/api/events/" + id + "/cancel", undefined, "event " + id + " cancelled")) {
    tabs[state.tab].load();
  }
}

async function retryEvent(id) {
  const r = await change("POST", "/api/events/" + id + "/retry", undefined, "event " + id + " queued again");
  if (r && state.tab === "log") loadLog(false);
  else if (r) tabs[state.tab].load();
}

// ---- Subscribers -----------------------------------------------------------------------------

async function loadSubscribers() {
  const r = await api("GET", "/api/subscribers");
  if (r.status !== 200) return showMessage((r.body && r.body.error) || "cannot load subscribers", true);
  const subs = r.body.subscribers;
  $("subs-count").textContent = subs.length + " subscriber" + (subs.length === 1 ? "" : "s");
  $("subs-rows").replaceChildren(...subs.map((s) => el("tr", { "data-name": s.subscriber_name },
    el("td", { class: "num" }, s.subscriber_id), el("td", {}, s.subscriber_name),
    el("td", {}, s.event_type),
    el("td", { class: "clip", title: JSON.stringify(s.event_filter) },
       el("code", {}, JSON.stringify(s.event_filter))),
    el("td", {}, s.job_type + (s.config_id !== null ? " #" + s.config_id : "")),
    el("td", {}, s.run_mode === "persistent" ? "persistent \u00d7" + s.workers : "process"),
    el("td", {}, s.is_active ? "yes" : "no"), el("td", { class: "num" }, s.max_retries),
    el("td", { class: "num" }, s.timeout_s + " s"),
    el("td", {},
       el("button", { class: "small secondary", onclick: () => editSubscriber(s) }, "Edit"), " ",
       el("button", { class: "small secondary", onclick: () => toggleSubscriber(s) },
          s.is_active ? "Disable" : "Enable"), " ",
       typeof pauseButton === "function" ? [pauseButton(s), " "] : null,  // pause.js
       el("button", { class: "small danger", onclick: () => deleteSubscriber(s) }, "Delete")))));
}

function resetForm() {
  state.editing = null;
  $("sub-form").reset();
  $("sub-filter").value = "{}";
  $("sub-form-title").textContent = "Add a subscriber";
  $("sub-save").textContent = "Add";
  $("sub-name").disabled = false;
  $("sub-form-error").textContent = "";
  validateFilter();
}

function editSubscriber(s) {
  state.editing = s.subscriber_name;
  $("sub-form-title").textContent = "Edit " + s.subscriber_name;
  $("sub-save").textContent = "Save";
  $("sub-name").value = s.subscriber_name;
  $("sub-event-type").value = s.event_type;
  $("sub-job-type").value = s.job_type;
  $("sub-filter").value = JSON.stringify(s.event_filter, null, 2);
  $("sub-config-id").value = s.config_id === null ? "" : s.config_id;
  $("sub-max-retries").value = s.max_retries;
  $("sub-timeout").value = s.timeout_s;
  $("sub-script").value = s.script_path || "";
  $("sub-run-mode").value = s.run_mode || "process";
  $("sub-workers").value = s.workers || 1;
  $("sub-active").checked = s.is_active;
  $("sub-form-error").textContent = "";
  validateFilter();
}

function formBody() {
  const body = {
    subscriber_name: $("sub-name").value.trim(),
    event_type: $("sub-event-type").value.trim(),
    job_type: $("sub-job-type").value,
    event_filter: $("sub-filter").value,
    is_active: $("sub-active").checked,
    run_mode: $("sub-run-mode").value,
  };
  const num = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  if (num("sub-config-id") !== undefined) body.config_id = num("sub-config-id");
  if (num("sub-max-retries") !== undefined) body.max_retries = num("sub-max-retries");
  if (num("sub-timeout") !== undefined) body.timeout_s = num("sub-timeout");
  if (num("sub-workers") !== undefined) body.workers = num("sub-workers");
  if ($("sub-script").value.trim() || state.editing) body.script_path = $("sub-script").value.trim();
  return body;
}

async function saveSubscriber(ev) {
  ev.preventDefault();
  const body = formBody();
  const r = state.editing
    ? await change("PUT", "/api/subscribers/" + encodeURIComponent(state.editing), body,
                   "subscriber " + body.subscriber_name + " saved")
    : await change("POST", "/api/subscribers", body, "subscriber " + body.subscriber_name + " added");
  if (r && r.status >= 200 && r.status < 300) {
    resetForm();
    loadSubscribers();
  } else if (r) {
    $("sub-form-error").textContent = (r.body && r.body.error) || "HTTP " + r.status;
  }
}

async function toggleSubscriber(s) {
  const action = s.is_active ? "disable" : "enable";
  if (await change("POST", "/api/subscribers/" + encodeURIComponent(s.subscriber_name) + "/" + action,
                   undefined, s.subscriber_name + " " + action + "d")) {
    loadSubscribers();
  }
}

async function deleteSubscriber(s) {
  if (!confirm("Delete subscriber " + s.subscriber_name + "?")) return;
  if (await change("DELETE", "/api/subscribers/" + encodeURIComponent(s.subscriber_name), undefined,
                   s.subscriber_name + " deleted")) {
    loadSubscribers();
  }
}

// Validates the filter as you type: the server's own message shows next to the field.
async function validateFilter() {
  const seq = ++state.filterSeq;
  const text = $("sub-filter").value;
  try {
    const r = await api("POST", "/api/filters/validate", { event_filter: text });
    if (seq !== state.filterSeq) return;  // a newer keystroke already asked
    const ok = r.status === 200 && r.body.valid;
    const out = $("filter-status");
    out.textContent = ok ? "filter is valid" : (r.body && r.body.error) || "HTTP " + r.status;
    out.className = "field-status " + (ok ? "ok" : "bad");
    $("sub-filter").classList.toggle("invalid", !ok);
  } catch (e) { /* the next keystroke retries */ }
}

function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

// ---- Event Log -------------------------------------------------------------------------------

function logQuery() {
  const q = new URLSearchParams({ status: $("log-status").value, limit: "50" });
  if ($("log-type").value.trim()) q.set("type", $("log-type").value.trim());
  if ($("log-source").value.trim()) q.set("source", $("log-source").value.trim());
  for (const [id, key] of [["log-since", "since"], ["log-until", "until"]]) {
    if ($(id).value) q.set(key, new Date($(id).value).toISOString());
  }
  return q;
}

async function loadLog(more) {
  const q = logQuery();
  if (more && state.logBefore) q.set("before", state.logBefore);
  const r = await api("GET", "/api/events?" + q);
  if (r.status !== 200) return showMessage((r.body && r.body.error) || "search failed", true);
  const rows = r.body.events.map(logRow);
  if (more) $("log-rows").append(...rows);
  else $("log-rows").replaceChildren(...rows);
  state.logBefore = r.body.next_before;
  $("log-more").hidden = !state.logBefore;
  $("log-empty").hidden = $("log-rows").children.length > 0;
}

function logRow(e) {
  const canRetry = e.status === "failed" || e.status === "cancelled";
  const row = el("tr", { class: "expandable", "data-id": e.event_id },
    el("td", {}, "▸"), el("td", { class: "num" }, e.event_id), el("td", {}, e.event_type),
    el("td", { class: "clip" }, e.event_source), el("td", {}, badge(e.status)),
    el("td", { class: "num" }, e.priority), el("td", {}, fmtTime(e.created_at)),
    el("td", {}, fmtTime(e.completed_at)),
    el("td", { class: "clip", title: e.error_message || "" }, e.error_message || ""),
    el("td", {}, canRetry ? el("button", {
      class: "small", onclick: (ev) => { ev.stopPropagation(); retryEvent(e.event_id); },
    }, "Retry") : ""));
  row.addEventListener("click", () => toggleDetail(row, e.event_id));
  return row;
}

async function toggleDetail(row, id) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("detail")) {
    next.remove();
    row.firstChild.textContent = "▸";
    return;
  }
  row.firstChild.textContent = "▾";
  const r = await api("GET", "/api/events/" + id);
  const cell = el("td", { colspan: 10 });
  const detail = el("tr", { class: "detail", "data-detail-for": id }, cell);
  row.after(detail);
  if (r.status !== 200) {
    cell.append(el("span", { class: "error" }, (r.body && r.body.error) || "HTTP " + r.status));
    return;
  }
  const ev = r.body.event;
  cell.append(el("div", {},
    el("h3", {}, "event_data"), el("pre", {}, JSON.stringify(ev.event_data, null, 2)),
    el("h3", {}, "transitions"),
    el("div", {}, r.body.transitions.map((t) => el("span", {}, badge(t.status), " ",
        fmtTime(t.at), "   "))),
    ev.error_message ? [el("h3", {}, "error"), el("pre", {}, ev.error_message)] : null,
    el("h3", {}, "deliveries"),
    r.body.deliveries.length === 0
      ? el("div", { class: "muted" }, "no delivery rows (every delivery succeeded on its first attempt, or none matched)")
      : el("table", { class: "grid" },
          el("thead", {}, el("tr", {}, ["subscriber", "status", "attempts", "started", "finished",
                                         "next attempt", "last error"].map((h) => el("th", {}, h)))),
          el("tbody", {}, r.body.deliveries.map((d) => el("tr", {},
            el("td", {}, d.subscriber_name), el("td", {}, badge(d.status)),
            el("td", { class: "num" }, d.attempts), el("td", {}, fmtTime(d.started_at)),
            el("td", {}, fmtTime(d.finished_at)), el("td", {}, fmtTime(d.next_attempt_at)),
            el("td", {}, d.last_error ? el("pre", {}, d.last_error) : "")))))));
}

// ---- Service Status --------------------------------------------------------------------------

function fact(label, value) {
  return el("div", { class: "fact" }, el("b", {}, label), value);
}

function nodeCard(n) {
  const info = n.info || {};
  const depths = info.queue_depth || {};
  const doors = info.doors || {};
  const wb = info.write_behind || {};
  const rates = info.events_per_s || {};
  const errors = info.errors || {};
  const totalErrors = Object.values(errors).reduce((a, b) => a + b, 0);
  const pools = Object.entries(info.pools || {}).map(([t, p]) => t + " " + p.busy + "/" + p.threads);
  return el("div", { class: "card node", "data-node": n.node_id },
    el("div", { class: "head" }, el("h2", {}, n.host + "  pid " + n.pid),
       el("span", { class: n.alive ? "alive" : "dead" }, n.alive ? "alive" : "no heartbeat"),
       el("span", { class: "muted" }, n.node_id)),
    el("div", { class: "facts" },
       fact("version", n.version), fact("started", fmtTime(n.started_at)),
       fact("last heartbeat", fmtAge(n.last_heartbeat) + " ago"),
       fact("doors open", Object.keys(doors).join(", ") || "none"),
       fact("received per door", Object.entries(doors).map(([d, c]) => d + " " + c.received).join(", ")),
       fact("events/s in / out", (rates.in ?? 0) + " / " + (rates.out ?? 0)),
       fact("write-behind lag", (wb.lag_s ?? 0) + " s, " + (wb.unpersisted ?? 0) + " unpersisted" +
            (wb.healthy === false ? " (FAILING)" : "")),
       fact("errors", totalErrors + (totalErrors ? " (" + Object.entries(errors)
            .filter(([, v]) => v).map(([k, v]) => k + " " + v).join(", ") + ")" : "")),
       fact("handler pools busy/size", pools.join(", ")),
       fact("routed / unmatched", (info.routed ?? 0) + " / " + (info.unmatched ?? 0)),
       ...(info.workers || []).map((w) => fact("worker " + w.subscriber + " #" + w.slot,
         (w.running ? "running, pid " + w.pid : "DOWN") + ", " + w.in_flight + " in flight, " +
         w.restarts + " restarts" + (w.last_error ? "; last error: " + w.last_error : "")))),
    el("div", {}, el("b", { class: "muted" }, "queue depth per priority (10 most urgent)")),
    el("div", { class: "depths" }, Object.keys(depths).sort((a, b) => b - a).map((p) =>
      el("div", { class: depths[p] > 0 ? "busy" : "" }, "p" + p, el("br"), depths[p]))),
    wb.last_error ? el("div", { class: "error" }, "write-behind: " + wb.last_error) : null);
}

async function loadStatus() {
  const r = await api("GET", "/api/status");
  if (r.status !== 200) {
    $("status-updated").textContent = (r.body && r.body.error) || "HTTP " + r.status;
    return;
  }
  $("nodes").replaceChildren(...(r.body.nodes.length ? r.body.nodes.map(nodeCard)
                                 : [el("p", { class: "muted" }, "No node has a heartbeat row.")]));
  const totals = r.body.events_by_status || {};
  const estimated = r.body.events_estimated || [];  // "~": from PostgreSQL's statistics
  $("event-totals").replaceChildren(...["pending", "processing", "completed", "failed", "cancelled"]
    .map((s) => el("div", { "data-status": s },
      el("b", {}, (estimated.includes(s) ? "~" : "") + (totals[s] || 0)), badge(s))));
  $("status-updated").textContent = "updated " + new Date().toLocaleTimeString();
}

// ---- start -------------------------------------------------------------------------------------

function start() {
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => showTab(b.dataset.tab));
  }
  $("token").value = sessionStorage.getItem("pubsub-token") || "";
  $("token").addEventListener("change", () => sessionStorage.setItem("pubsub-token", $("token").value));
  $("sub-form").addEventListener("submit", saveSubscriber);
  $("sub-reset").addEventListener("click", resetForm);
  $("sub-filter").addEventListener("input", debounce(validateFilter, 200));
  $("log-search").addEventListener("submit", (e) => { e.preventDefault(); loadLog(false); });
  $("log-more").addEventListener("click", () => loadLog(true));
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  validateFilter();
  showTab(location.hash.slice(1));
}

start();
