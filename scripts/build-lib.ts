/**
 * `npm run build:lib`: the package's compiled JavaScript and type declarations in dist/ (the
 * library, the server and the CLI), with full relative import paths (`./engine/index.js`) as
 * Node's ES modules require.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = process.cwd();
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status})`);
}

export function buildLib(): void {
  rmSync(join(root, "dist"), { recursive: true, force: true });
  run(bin("tsc"), ["-p", "tsconfig.build.json"]);
  run(bin("tsc-alias"), ["-p", "tsconfig.build.json", "--resolve-full-paths"]);
  const cli = join(root, "dist", "cli", "index.js");
  if (existsSync(cli)) chmodSync(cli, 0o755);
}

if (import.meta.url === `file://${process.argv[1]}`) buildLib();
