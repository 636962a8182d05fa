/**
 * Builds the Next app, and the package's compiled library (dist/), when there is no build or the
 * sources are newer than it (the server and the integration tests run the production build; the
 * package test installs the packed package).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildLib } from "./build-lib";

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than the library, server or CLI sources. */
export function buildLibIfNeeded(root = process.cwd()): void {
  const marker = join(root, "dist", "lib", "index.js");
  const sources = Math.max(...["lib", "server", "cli"].map((d) => newestMtime(join(root, d))), statSync(join(root, "tsconfig.build.json")).mtimeMs);
  if (existsSync(marker) && statSync(marker).mtimeMs >= sources) return;
  console.log("Building the package's library (dist/)...");
  buildLib();
}

export function buildIfNeeded(root = process.cwd()): void {
  const buildId = join(root, ".next", "BUILD_ID");
  const sourcesMtime = Math.max(
    ...["app", "lib", "server"].map((d) => newestMtime(join(root, d))),
    ...["next.config.mjs", "package.json"].map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0)),
  );
  if (existsSync(buildId) && statSync(buildId).mtimeMs >= sourcesMtime) return;
  console.log("Building the app (next build)...");
  // A dev server's cache confuses a production build.
  rmSync(join(root, ".next", "dev"), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (r.status !== 0) throw new Error(`next build failed (exit ${r.status})`);
}

if (import.meta.url === `file://${process.argv[1]}`) buildIfNeeded();
