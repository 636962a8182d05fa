/**
 * `npm test`: every test — vitest (unit + integration), then Playwright against the real server —
 * and one closing line `N passed, N failed` with both totals added up.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildIfNeeded } from "./build-if-needed";

const root = process.cwd();
const out = join(root, "test-results");
mkdirSync(out, { recursive: true });
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };

let passed = 0;
let failed = 0;

// --- the integration tests and e2e run the real server on the production build
try {
  buildIfNeeded(root);
} catch (err) {
  console.error((err as Error).message);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// --- vitest
const vitestJson = join(out, "vitest.json");
rmSync(vitestJson, { force: true });
const v = spawnSync(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`], { stdio: "inherit", env });
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    testResults?: { status: string; assertionResults: unknown[] }[];
  };
  passed += r.numPassedTests;
  // A file that failed without any test failing (it did not load) counts once; a file whose tests
  // failed is already counted by those tests.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  failed += r.numFailedTests + brokenFiles;
} else {
  failed += 1;
}
if (v.status !== 0 && failed === 0) failed += 1; // a crash that reported no failing test still fails

// --- Playwright (Debian chromium, installed here when missing)
const chromium = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts", "ensure-chromium.ts")], { stdio: "inherit", env });
if (chromium.status !== 0) {
  failed += 1;
} else {
  const pwJson = join(out, "playwright.json");
  rmSync(pwJson, { force: true });
  const p = spawnSync(bin("playwright"), ["test"], { stdio: "inherit", env });
  if (existsSync(pwJson)) {
    const r = JSON.parse(readFileSync(pwJson, "utf8")) as { stats: { expected: number; unexpected: number; flaky: number } };
    passed += r.stats.expected + r.stats.flaky;
    failed += r.stats.unexpected;
    if (p.status !== 0 && r.stats.unexpected === 0) failed += 1;
  } else {
    failed += 1;
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
