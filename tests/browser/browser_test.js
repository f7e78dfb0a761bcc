#!/usr/bin/env node
// Browser test of the pubsubd admin page in headless Chromium (Debian's /usr/bin/chromium),
// driven by playwright-core (installed with `npm ci` from this folder's package-lock.json into
// PUBSUB_BROWSER_DEPS; no browser is ever downloaded).
//
// Starts a real pubsubd on the `pg` fixture cluster (fresh schema, --http on a free loopback
// port), then: opens each tab; adds subscribers through the form (the filter is first typed
// invalid and the server's message must show next to the field); emits an event and sees it in
// the Event Queue, then gone from it and `completed` in the Event Log (expanded, with its data);
// retries a failed event from the queue tab; selects rows, retries all matching events and sees
// the audit and the charts (bulk_steps.js). Any request to another origin fails the test.
// Screenshots of each tab go to PUBSUB_SCREENSHOT_DIR (default <build>/test-artifacts/screenshots).
// Exit 0 on success, 1 with the reason otherwise. Missing chromium or npm is a failure.
"use strict";

const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");
const {bulkSteps} = require('./bulk_steps');

const BIN = process.env.PUBSUB_BIN_DIR || path.resolve(__dirname, "../../build/bin");
const DEPS = process.env.PUBSUB_BROWSER_DEPS || path.resolve(BIN, "../browser-deps");
const SHOTS = process.env.PUBSUB_SCREENSHOT_DIR ||
    path.resolve(BIN, "../test-artifacts/screenshots");
const CHROMIUM = process.env.PUBSUB_CHROMIUM || "/usr/bin/chromium";
const TOKEN = "browser-test-token";
const WAIT_MS = 30000;

function fail(message) {
  console.error("browser_test: FAILED: " + message);
  process.exitCode = 1;
  throw new Error(message);
}

function log(message) { console.log("[browser] " + message); }

// playwright-core from the lockfile, installed once per build folder.
function loadPlaywright() {
  const mod = path.join(DEPS, "node_modules", "playwright-core");
  const lock = path.join(__dirname, "package-lock.json");
  const stamp = path.join(DEPS, ".lock-copy");
  const fresh = fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === fs.readFileSync(lock, "utf8");
  if (!fs.existsSync(mod) || !fresh) {
    fs.mkdirSync(DEPS, { recursive: true });
    fs.copyFileSync(path.join(__dirname, "package.json"), path.join(DEPS, "package.json"));
    fs.copyFileSync(lock, path.join(DEPS, "package-lock.json"));
    log("installing playwright-core into " + DEPS + " (npm ci)");
    try {
      execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefix", DEPS], {
        stdio: "inherit", timeout: 240000,
        env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" },
      });
    } catch (e) {
      fail("cannot install playwright-core with npm (is npm installed and the registry reachable?): " +
           e.message);
    }
    fs.copyFileSync(lock, stamp);
  }
  return require(mod);
}

function fixtureDsn() {
  if (process.env.PUBSUB_TEST_DSN) return process.env.PUBSUB_TEST_DSN;
  const dir = process.env.PUBSUB_TEST_PG_DIR;
  if (!dir) fail("PUBSUB_TEST_PG_DIR is not set: run through ctest (the pg fixture)");
  return execFileSync(path.join(BIN, "pubsub-pg"), ["dsn", "--data-dir", dir]).toString().trim();
}

function psql(dsn, sql) {
  const candidates = ["/usr/bin/psql", ...fs.readdirSync("/usr/lib/postgresql", { withFileTypes: true })
    .map((d) => "/usr/lib/postgresql/" + d.name + "/bin/psql")];
  const exe = candidates.find((p) => fs.existsSync(p));
  if (!exe) fail("psql not found");
  return execFileSync(exe, ["-XAtq", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql]).toString();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, ms = WAIT_MS) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) fail("timed out waiting for " + what);
    await sleep(100);
  }
}

// One NDJSON line to the socket door; resolves to the reply object.
function emit(socketPath, event) {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(socketPath, () => c.write(JSON.stringify(event) + "\n"));
    let buf = "";
    c.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) {
        c.end();
        resolve(JSON.parse(buf.split("\n")[0]));
      }
    });
    c.on("error", reject);
  });
}

async function startDaemon(dsn, schema, tmp) {
  const logFile = path.join(tmp, "pubsubd.log");
  const out = fs.openSync(logFile, "a");
  const socketPath = path.join(tmp, "s.sock");
  const child = spawn(path.join(BIN, "pubsubd"), [
    "--dsn", dsn, "--schema", schema, "--socket", socketPath, "--http", "127.0.0.1:0",
    "--http-token", TOKEN, "--job-command", "import=/bin/sleep 3", "--drain-timeout", "5",
  ], { stdio: ["ignore", out, out] });
  const port = await waitFor("pubsubd's HTTP port", () => {
    if (child.exitCode !== null) fail("pubsubd exited:\n" + fs.readFileSync(logFile, "utf8"));
    const m = /http admin listening.* port=(\d+)/.exec(fs.readFileSync(logFile, "utf8"));
    return m && Number(m[1]);
  }, 60000);
  return { child, port, socketPath, logFile };
}

async function shot(page, name) {
  const file = path.join(SHOTS, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  log("screenshot " + file);
}

async function apiEvent(base, id) {
  const r = await fetch(base + "/api/events/" + id);
  return r.status === 200 ? (await r.json()).event : null;
}

async function fillSubscriber(page, s) {
  await page.fill("#sub-name", s.name);
  await page.fill("#sub-event-type", s.eventType);
  await page.selectOption("#sub-job-type", s.jobType);
  await page.fill("#sub-filter", s.filter);
  await page.fill("#sub-max-retries", String(s.maxRetries));
  await page.waitForFunction(() => document.querySelector("#filter-status").textContent === "filter is valid");
  await page.click("#sub-save");
  await page.waitForSelector(`#subs-rows tr[data-name="${s.name}"]`, { timeout: WAIT_MS });
}

async function run() {
  if (!fs.existsSync(CHROMIUM)) {
    fail(CHROMIUM + " not found: install Debian's chromium package (tools/deps.sh does)");
  }
  const { chromium } = loadPlaywright();
  fs.mkdirSync(SHOTS, { recursive: true });
  const dsn = fixtureDsn();
  const schema = "browser_" + process.pid;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pubsub-browser-"));
  let daemon = null;
  let context = null;
  try {
    daemon = await startDaemon(dsn, schema, tmp);
    const base = "http://127.0.0.1:" + daemon.port;
    log("pubsubd admin at " + base);
    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1440, height: 900 },
    });
    const foreign = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base + "/") || url.startsWith("data:")) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = context.pages()[0] || await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("dialog", (d) => d.accept());

    await page.goto(base + "/#queue");
    await page.waitForSelector("#tab-queue[aria-selected=true]");
    await page.fill("#token", TOKEN);
    await page.dispatchEvent("#token", "change");

    // Subscribers: the filter is validated as you type, with the server's message.
    await page.click("#tab-subscribers");
    await page.waitForSelector("#panel-subscribers:not([hidden])");
    await page.fill("#sub-filter", '{"event_data.n": {"$bogus": 1}}');
    await page.waitForFunction(() => {
      const s = document.querySelector("#filter-status");
      return s.classList.contains("bad") && s.textContent.includes("$bogus");
    }, null, { timeout: WAIT_MS });
    log("invalid filter message: " + await page.textContent("#filter-status"));
    await fillSubscriber(page, { name: "browser_slow", eventType: "browser_event",
      jobType: "import", filter: '{"event_data.n": {"$gte": 1}}', maxRetries: 0 });
    await fillSubscriber(page, { name: "browser_fail", eventType: "doomed", jobType: "report",
      filter: "{}", maxRetries: 0 });
    await shot(page, "subscribers");
    // The routers reload subscribers on NOTIFY; give them the second SPEC 5 allows.
    await sleep(1200);

    // Event Queue: an emitted event shows while its (3 s) handler runs, then leaves.
    await page.click("#tab-queue");
    const ack = await emit(daemon.socketPath, { event_type: "browser_event",
      event_source: "browser:1", event_data: { n: 7, note: "from the browser test" } });
    if (!ack.ok) fail("emit refused: " + JSON.stringify(ack));
    const id = ack.event_id;
    await page.waitForSelector(`#queue-rows tr[data-id="${id}"]`, { timeout: WAIT_MS });
    log("event " + id + " is in the queue tab");
    await shot(page, "queue");
    await page.waitForSelector(`#queue-rows tr[data-id="${id}"]`, { state: "detached", timeout: WAIT_MS });
    log("event " + id + " left the queue");

    // Event Log: found by type, completed, expandable to its data.
    await page.click("#tab-log");
    await page.fill("#log-type", "browser_*");
    await page.click("#log-go");
    const row = `#log-rows tr[data-id="${id}"]`;
    await page.waitForSelector(row, { timeout: WAIT_MS });
    const status = await page.textContent(row + " .badge");
    if (status !== "completed") fail("event " + id + " is " + status + " in the log, not completed");
    await page.click(row);
    await page.waitForSelector(`tr[data-detail-for="${id}"] pre`, { timeout: WAIT_MS });
    const detail = await page.textContent(`tr[data-detail-for="${id}"]`);
    if (!detail.includes("from the browser test")) fail("expanded row lacks event_data: " + detail);
    if (detail.includes("[object ")) fail("expanded row shows an unrendered object: " + detail);

    // A failed event, retried from the queue tab's "Recently failed" table.
    const doomed = await emit(daemon.socketPath, { event_type: "doomed", event_data: {} });
    if (!doomed.ok) fail("emit refused: " + JSON.stringify(doomed));
    await waitFor("event " + doomed.event_id + " to fail",
                  async () => (await apiEvent(base, doomed.event_id) || {}).status === "failed");
    await page.fill("#log-type", "");
    await page.click("#log-go");
    await page.waitForSelector(`#log-rows tr[data-id="${doomed.event_id}"]`, { timeout: WAIT_MS });
    await page.click(`#log-rows tr[data-id="${id}"]`);  // collapse, then show the failed one open
    await page.click(`#log-rows tr[data-id="${doomed.event_id}"]`);
    await page.waitForSelector(`tr[data-detail-for="${doomed.event_id}"] table`, { timeout: WAIT_MS });
    await shot(page, "log");
    await page.click("#tab-queue");
    const retry = `#failed-rows tr[data-id="${doomed.event_id}"] button`;
    await page.waitForSelector(retry, { timeout: WAIT_MS });
    await page.click(retry);
    await page.waitForFunction(() => document.querySelector("#message").textContent.includes("queued again"),
                               null, { timeout: WAIT_MS });
    await waitFor("the retried event to run again", async () => {
      const e = await apiEvent(base, doomed.event_id);
      return e && e.retry_count === 1 && e.status === "failed";
    });
    log("event " + doomed.event_id + " retried from the page");

    await bulkSteps({page, base, daemon, emit, waitFor, apiEvent, shot, fail, log, WAIT_MS});

    // Service Status: this node with its heartbeat.
    await page.click("#tab-status");
    await page.waitForSelector("#nodes .node", { timeout: WAIT_MS });
    const card = await page.textContent("#nodes .node");
    if (!card.includes("pid " + daemon.child.pid)) fail("status card lacks this pid: " + card);
    await page.waitForFunction(() => document.querySelector("#nodes .node").textContent.includes("socket"),
                               null, { timeout: 15000 });
    await shot(page, "status");

    // Pauses: a pool paused and resumed from Service Status, a subscriber from its row.
    const pauses = async () => (await fetch(base + "/api/pauses")).json();
    const pool = '#pauses button[data-pool="custom"]';
    await page.waitForSelector(pool, { timeout: WAIT_MS });
    await page.click(pool);
    await waitFor("pool custom to be paused", async () => (await pauses()).pools.includes("custom"));
    await page.waitForSelector(pool + ".danger", { timeout: WAIT_MS });
    await page.click(pool);
    await waitFor("pool custom to be resumed", async () => !(await pauses()).pools.includes("custom"));
    await page.click("#tab-subscribers");
    const pauseSub = 'button[data-pause-sub="browser_slow"]';
    await page.waitForSelector(pauseSub, { timeout: WAIT_MS });
    await page.click(pauseSub);
    await waitFor("browser_slow to be paused",
                  async () => (await pauses()).subscribers.includes("browser_slow"));
    await page.waitForFunction((sel) => document.querySelector(sel).textContent === "Resume",
                               pauseSub, { timeout: WAIT_MS });
    log("paused and resumed from the page");

    if (foreign.length) fail("the page requested other origins: " + foreign.join(", "));
    if (pageErrors.length) fail("JavaScript errors on the page: " + pageErrors.join("; "));
    log("PASSED");
  } finally {
    if (context) await context.close().catch(() => {});
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill("SIGTERM");
      await waitFor("pubsubd to exit", () => daemon.child.exitCode !== null, 20000).catch(() => {
        daemon.child.kill("SIGKILL");
      });
    }
    if (process.exitCode && daemon) {
      console.error("---- pubsubd log tail ----\n" + fs.readFileSync(daemon.logFile, "utf8").slice(-4000));
    }
    if (!process.env.PUBSUB_KEEP_SCHEMAS) {
      try { psql(dsn, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } catch (e) { /* reported below */ }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

run().catch((e) => {
  if (!process.exitCode) console.error("browser_test: FAILED: " + (e && e.stack || e));
  process.exitCode = 1;
});
