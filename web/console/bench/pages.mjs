// How long the console's main pages take to be ready in Chromium, for `whistle-bench pages`
// (which seeds the database and starts the server first; see docs/PERFORMANCE.md).
//
// Usage: node bench/pages.mjs BASE_URL RUNS CASE_ID
// Each run opens the page in a fresh browser context (empty cache, the session already in the
// browser's storage, as for someone who signed in yesterday) and times from the start of the
// navigation to the moment the page shows its data: the queue's first case; the case's number,
// timeline and map pin; the dashboard's cards, trend chart and table. Prints one JSON object.
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
  {
    name: "queue (tianye, 我的待办)",
    user: "tianye",
    path: "/console/queue",
    ready: (p) => p.locator("[data-case]").first().waitFor(),
  },
  {
    name: "case (tianye, one of his cases)",
    user: "tianye",
    path: `/console/cases/${caseId}`,
    ready: async (p) => {
      await p.getByTestId("case-number").waitFor();
      await p.locator("[data-testid=timeline] .el-timeline-item").first().waitFor();
      await p.locator("[data-testid=case-map] .case-pin").waitFor();
    },
  },
  {
    name: "dashboard (leader.haizhou1, 数据看板)",
    user: "leader.haizhou1",
    path: "/console/dashboard",
    ready: async (p) => {
      await p.locator("[data-testid=card-value]").first().waitFor();
      await p.locator("[data-testid=trend] canvas").first().waitFor();
      await p.locator("[data-testid=groups] tbody tr").first().waitFor();
    },
  },
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
const results = [];
try {
  for (const page of pages) {
    const stored = JSON.stringify(await session(page.user));
    const times = [];
    // One unmeasured run first: the server's caches, not the browser's, are what it warms.
    for (let i = 0; i <= runs; i++) {
      const context = await browser.newContext({ viewport: { width: 1366, height: 800 }, locale: "zh-CN" });
      await context.addInitScript((s) => localStorage.setItem("whistle.console.session", s), stored);
      const p = await context.newPage();
      const start = Date.now();
      await p.goto(`${base}${page.path}`, { waitUntil: "commit" });
      await page.ready(p);
      const ms = Date.now() - start;
      if (i > 0) times.push(ms);
      await context.close();
    }
    times.sort((a, b) => a - b);
    results.push({
      page: page.name,
      path: page.path,
      runs: times.length,
      median_ms: times[Math.floor(times.length / 2)],
      max_ms: times[times.length - 1],
      min_ms: times[0],
    });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
