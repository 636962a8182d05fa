/**
 * `npm start`: builds the Next app when there is no build or the sources are newer than it,
 * then starts the server (http://localhost:8765 by default).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = process.cwd();
const buildId = join(root, ".next", "BUILD_ID");

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

const sourcesMtime = Math.max(
  ...["app", "lib"].map((d) => newestMtime(join(root, d))),
  ...["next.config.mjs", "package.json"].map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)),
);
if (!existsSync(buildId) || statSync(buildId).mtimeMs < sourcesMtime) {
  console.log("Building the app (next build)...");
  // A dev server's cache confuses a production build.
  rmSync(join(root, ".next", "dev"), { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

process.env.NEXT_TELEMETRY_DISABLED = "1";
await import("../server/main");
