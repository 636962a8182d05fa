/**
 * The package as a user gets it: packed and unpacked size, the time to install it into a fresh
 * project (npm's cache warm, as after the repo's own install) beside the time of the repo's own
 * `npm ci`, `routilux dev`'s cold start to a healthy /api/health (target < 3 s: nothing is built
 * on the user's machine), and the time from saving a routine file to the reloaded flow serving
 * (target < 1 s).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installPackage } from "../tests/helpers/package";
import { freePort } from "../tests/helpers/server";
import { median } from "./engine-chain";

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", FORCE_COLOR: "0" };
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}

/** The repo's own clean install, in a folder with only its package.json and lock. */
function repoInstallMs(): number {
  const dir = mkdtempSync(join(tmpdir(), "routilux-ci-"));
  try {
    for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(process.cwd(), f), join(dir, f));
    const t0 = Date.now();
    const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, encoding: "utf8", env });
    if (r.status !== 0) throw new Error(`npm ci failed: ${r.stderr.slice(0, 500)}`);
    return Date.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function packageBench(): Promise<void> {
  console.log("\n## The package: size, install, `routilux dev` start and reload (a fresh project outside the repo)");
  const pkg = installPackage();
  try {
    console.log(`tarball: ${mb(pkg.packedBytes)} packed, ${mb(pkg.unpackedBytes)} unpacked`);
    const repoMs = repoInstallMs();
    console.log(`install into a fresh project (npm cache warm): ${s(pkg.installMs)}; the repo's own npm ci: ${s(repoMs)}`);

    const bin = join(pkg.project, "node_modules", ".bin", "routilux");
    const init = spawnSync(bin, ["init"], { cwd: pkg.project, env, encoding: "utf8" });
    if (init.status !== 0) throw new Error(`routilux init failed: ${init.stdout}${init.stderr}`);

    const starts: number[] = [];
    const reloads: number[] = [];
    for (let round = 0; round < 3; round++) {
      const port = await freePort();
      const t0 = performance.now();
      const dev = spawn(bin, ["dev", "--port", String(port)], { cwd: pkg.project, env, stdio: "ignore" });
      const base = `http://127.0.0.1:${port}`;
      try {
        await until(async () => ((await fetch(`${base}/api/health`)).ok ? true : undefined), 60_000);
        starts.push(performance.now() - t0);
        if (round > 0) continue;
        // Save → the reloaded flow serving: the next job runs the new code.
        const file = join(pkg.project, "routines", "remember.ts");
        const original = readFileSync(file, "utf8");
        for (let i = 0; i < 5; i++) {
          const marker = `saved-${i}`;
          const t1 = performance.now();
          writeFileSync(file, original.replace("ctx.shared.message = message;", `ctx.shared.message = "${marker}";`));
          await until(async () => {
            const { job_id } = (await (await fetch(`${base}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flow_id: "hello", entry_routine_id: "greet", entry_params: { name: "x" } }) })).json()) as { job_id: string };
            const snap = await until(async () => {
              const j = (await (await fetch(`${base}/api/jobs/${job_id}`)).json()) as { status: string; shared_data: { message?: string } };
              return j.status === "completed" ? j : undefined;
            }, 10_000);
            return snap.shared_data.message === marker ? true : undefined;
          }, 30_000);
          reloads.push(performance.now() - t1);
        }
        writeFileSync(file, original);
      } finally {
        await stop(dev);
      }
    }
    const start = median(starts);
    const reload = median(reloads);
    const startOk = start < 3000;
    const reloadOk = reload < 1000;
    console.log(`routilux dev cold start to a healthy /api/health: ${s(start)} median (${starts.map((x) => s(x)).join(", ")}); target < 3 s ${startOk ? "OK" : "MISSED"}`);
    console.log(`save a routine → the next job runs the new code: ${Math.round(reload)} ms median (${reloads.map((x) => Math.round(x)).join(", ")} ms); target < 1 s ${reloadOk ? "OK" : "MISSED"}`);
  } finally {
    pkg.remove();
  }
}
