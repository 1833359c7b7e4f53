import { defineConfig, devices } from "@playwright/test";

// Browser tests of the phone page against a real `whistle-api --demo` on SQLite (started by
// tests/e2e/server.ts), driven through Debian's Chromium: no browser is downloaded.
export default defineConfig({
  // tests/perf (the slow-4G benchmark) runs only when named: npm run perf.
  testDir: "tests",
  testMatch: process.argv.some((a) => a.includes("tests/perf")) ? "perf/**/*.spec.ts" : "e2e/**/*.spec.ts",
  outputDir: "test-results",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  globalSetup: "./tests/e2e/server.ts",
  use: {
    ...devices["Pixel 5"],
    viewport: { width: 360, height: 640 },
    deviceScaleFactor: 2,
    hasTouch: true,
    isMobile: true,
    locale: "zh-CN",
    // 文昌社区, first grid.
    geolocation: { latitude: 34.5865, longitude: 119.1420 },
    permissions: ["geolocation"],
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    screenshot: "only-on-failure",
  },
});
