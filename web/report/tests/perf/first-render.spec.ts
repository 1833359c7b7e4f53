// A benchmark, not a test of CI: time to the first useful screen (the community's name) on a
// throttled "slow 4G" phone, as in Chrome DevTools' preset (562.5 ms latency, 1.44 Mbit/s down,
// 675 kbit/s up) with the CPU slowed 4×. Run: npm run perf (in web/report).
import { expect, test } from "@playwright/test";
import { base } from "../e2e/helpers";

test("first render on slow 4G", async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 562.5,
    downloadThroughput: (1.44 * 1024 * 1024) / 8,
    uploadThroughput: (675 * 1024) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const start = Date.now();
  await page.goto(`${base()}/report?community=320706001001`);
  await expect(page.getByTestId("community")).toContainText("文昌社区", { timeout: 60_000 });
  const community = Date.now() - start;
  await expect(page.locator(".pin-head")).toBeVisible({ timeout: 60_000 });
  const map = Date.now() - start;
  const fcp = await page.evaluate(
    () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
  );
  console.log(`slow 4G + 4x CPU: first contentful paint ${Math.round(fcp)} ms; community card ${community} ms; map with pin ${map} ms`);
});
