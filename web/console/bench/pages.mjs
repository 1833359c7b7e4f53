// How long the console's main pages take to be ready in Chromium, for `whistle-bench pages`
// (which seeds the database and starts the server first; see docs/PERFORMANCE.md).
//
// Usage: node bench/pages.mjs BASE_URL RUNS CASE_ID
// Each page is loaded cold (a fresh browser context, empty cache) and warm (the assets cached by
// an earlier visit), the session already in the browser's storage as for someone who signed in
// yesterday, and timed from the start of the
// navigation to the moment the page shows its data: the queue's first case; the case's number,
// timeline and map pin; the dashboard's cards, trend chart and table. The moment is taken inside
// the page (a MutationObserver on the document, against the navigation's own clock), so the
// driver's polling adds nothing. Prints one JSON array.
import { chromium } from "@playwright/test";

const [base, runsArg = "5", caseId] = process.argv.slice(2);
if (!base || !caseId) {
  console.error("usage: node bench/pages.mjs BASE_URL RUNS CASE_ID");
  process.exit(2);
}
const runs = Number(runsArg);
const PASSWORD = process.env.WHISTLE_DEMO_PASSWORD ?? "whistle-demo-2026";

async function session(username) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  const s = await res.json();
  return { access_token: s.access_token, refresh_token: s.refresh_token, account: s.account };
}

const pages = [
  { name: "queue (tianye, 我的待办)", user: "tianye", path: "/console/queue", ready: ["[data-case]"] },
  {
    name: "case (tianye, one of his cases)",
    user: "tianye",
    path: `/console/cases/${caseId}`,
    ready: ["[data-testid=case-number]", "[data-testid=timeline] .el-timeline-item", "[data-testid=case-map] .case-pin"],
  },
  {
    name: "dashboard (leader.haizhou1, 数据看板)",
    user: "leader.haizhou1",
    path: "/console/dashboard",
    ready: ["[data-testid=card-value]", "[data-testid=trend] canvas", "[data-testid=groups] tbody tr"],
  },
];

/** Runs in the page before its scripts: notes when every selector first matches. */
function watchReady(selectors) {
  const check = () => {
    if (window.__ready === undefined && selectors.every((s) => document.querySelector(s))) {
      window.__ready = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });

/** One load of `page` in `context`: milliseconds from the navigation's start to ready. */
async function load(context, page) {
  const p = await context.newPage();
  await p.goto(`${base}${page.path}`, { waitUntil: "commit" });
  const ms = Math.round(await (await p.waitForFunction(() => window.__ready, undefined, { timeout: 30_000 })).jsonValue());
  await p.close();
  return ms;
}

async function contextFor(page, stored) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 }, locale: "zh-CN" });
  await context.addInitScript((s) => localStorage.setItem("whistle.console.session", s), stored);
  await context.addInitScript(watchReady, page.ready);
  return context;
}

const summary = (page, cache, times) => {
  times.sort((a, b) => a - b);
  return {
    page: page.name,
    cache,
    path: page.path,
    runs: times.length,
    median_ms: times[Math.floor(times.length / 2)],
    max_ms: times[times.length - 1],
    min_ms: times[0],
  };
};

const results = [];
try {
  for (const page of pages) {
    const stored = JSON.stringify(await session(page.user));
    // Cold: a fresh context each time, nothing cached (a first visit). One unmeasured run
    // first: the server's caches, not the browser's, are what it warms.
    const cold = [];
    for (let i = 0; i <= runs; i++) {
      const context = await contextFor(page, stored);
      const ms = await load(context, page);
      if (i > 0) cold.push(ms);
      await context.close();
    }
    results.push(summary(page, "cold", cold));
    // Warm: the assets cached by an earlier visit (they are cached for a year under hashed
    // names), as for staff who open the console every day; the data is fetched afresh.
    const context = await contextFor(page, stored);
    await load(context, page);
    const warm = [];
    for (let i = 0; i < runs; i++) warm.push(await load(context, page));
    await context.close();
    results.push(summary(page, "warm", warm));
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
