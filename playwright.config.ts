import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 8799);

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/e2e",
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  reporter: [["list"], ["json", { outputFile: "test-results/playwright.json" }]],
  use: {
    baseURL: `http://localhost:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: "node --import tsx scripts/start.ts",
    url: `http://localhost:${port}/`,
    env: { PORT: String(port), HOST: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1", ROUTILUX_DB: ":memory:", ROUTILUX_CHECK_WIRE: "1" },
    reuseExistingServer: false,
    timeout: 300_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
