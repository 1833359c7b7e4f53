import { defineConfig } from "@playwright/test";

// Browser tests of the staff console against a real `whistle-api --demo` on SQLite (started by
// tests/e2e/server.ts), driven through Debian's Chromium: no browser is downloaded.
export default defineConfig({
  testDir: "tests/e2e",
  outputDir: "test-results",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  globalSetup: "./tests/e2e/server.ts",
  use: {
    viewport: { width: 1366, height: 800 },
    locale: "zh-CN",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    screenshot: "only-on-failure",
  },
});
