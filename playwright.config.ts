import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 8799);
const clusterPort = Number(process.env.E2E_CLUSTER_PORT ?? 8798);
const serverEnv = { HOST: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1", ROUTILUX_DB: ":memory:", ROUTILUX_CHECK_WIRE: "1" };

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/e2e",
  timeout: 60_000,
  fullyParallel: false,
  workers: 1,
  reporter: [["list"], ["json", { outputFile: "test-results/playwright.json" }]],
  use: {
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
  webServer: [
    {
      command: "node --import tsx scripts/start.ts",
      url: `http://localhost:${port}/`,
      env: { PORT: String(port), ...serverEnv },
      reuseExistingServer: false,
      timeout: 300_000,
      stdout: "pipe",
      stderr: "pipe",
    },
    {
      // The API server as a cluster's control plane: redis-server and two workers run the jobs.
      command: "node --import tsx scripts/start-cluster.ts",
      url: `http://localhost:${clusterPort}/`,
      env: { PORT: String(clusterPort), ...serverEnv },
      reuseExistingServer: false,
      timeout: 300_000,
      stdout: "pipe",
      stderr: "pipe",
      // SIGTERM to its process group: the workers leave the cluster, Redis' temp dir is removed.
      gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
    },
  ],
  projects: [
    { name: "embedded", use: { baseURL: `http://localhost:${port}` } },
    {
      // The debugger against remote workers: the same specs, unchanged. Left out: the test that
      // restarts a server of its own (one process, whose jobs die with it).
      name: "cluster",
      use: { baseURL: `http://localhost:${clusterPort}` },
      testMatch: ["debugger.spec.ts", "stepping.spec.ts", "live-updates.spec.ts"],
      grepInvert: /a server restart mid-view/,
    },
  ],
});
