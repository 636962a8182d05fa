/**
 * The packed package installed into a project of its own, outside the repo: what a user gets from
 * `npm install routilux`. One pack and install per test process (the install builds the history's
 * native addon, which takes a minute).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildIfNeeded, buildLibIfNeeded } from "../../scripts/build-if-needed";

export interface InstalledPackage {
  /** The user's project folder (its own package.json, outside the repo). */
  project: string;
  tarball: string;
  packedBytes: number;
  unpackedBytes: number;
  installMs: number;
  remove(): void;
}

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** Packs the repo (after building what is stale) and installs the tarball into a new project. */
export function installPackage(repo = process.cwd()): InstalledPackage {
  buildIfNeeded(repo);
  buildLibIfNeeded(repo);
  const base = mkdtempSync(join(tmpdir(), "routilux-pkg-"));
  const packDir = join(base, "pack");
  mkdirSync(packDir);
  // The build is done above: packing must not build again (prepack would).
  const out = execFileSync(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], { cwd: repo, encoding: "utf8" });
  const info = (JSON.parse(out) as { filename: string; size: number; unpackedSize: number }[])[0];
  if (!info) throw new Error(`npm pack printed nothing usable: ${out.slice(0, 200)}`);
  const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".tgz")) ?? info.filename);
  const project = join(base, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "my-flows", version: "1.0.0", private: true, type: "module" }, null, 2));
  const t0 = Date.now();
  const r = spawnSync(NPM, ["install", tarball, "--no-audit", "--no-fund", "--prefer-offline"], { cwd: project, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`npm install of the packed package failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return {
    project,
    tarball,
    packedBytes: info.size,
    unpackedBytes: info.unpackedSize,
    installMs: Date.now() - t0,
    remove: () => rmSync(base, { recursive: true, force: true }),
  };
}
