/**
 * The `routilux` command run from its sources (`node --import tsx cli/index.ts ...`) as a child
 * process, in a project of its own in a temp folder.
 *
 * The project imports `routilux` as a user's does. Until the package is built, its
 * node_modules/routilux is a stand-in whose entry re-exports this repo's lib/index.ts by absolute
 * path: the very module the CLI run from source imports, so the project and the CLI share one
 * library, as they do once the package is installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { freePort } from "./server";

export { freePort };

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(REPO, "cli", "index.ts");
/** By URL: `--import tsx` would be resolved from the project's folder, which has no tsx. */
export const TSX = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;

const made: string[] = [];

/** Writes `files` (path → text) under `dir`, creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** A temp project: node_modules/routilux (the stand-in), package.json unless `packageJson` is false or given, and `files`. */
export function makeProject(files: Record<string, string> = {}, options: { packageJson?: Record<string, unknown> | false } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "routilux-project-"));
  made.push(dir);
  writeFiles(dir, {
    "node_modules/routilux/package.json": JSON.stringify({ name: "routilux", type: "module", exports: "./index.ts" }),
    "node_modules/routilux/index.ts": `export * from ${JSON.stringify(join(REPO, "lib", "index.ts"))};\n`,
  });
  if (options.packageJson !== false) writeFiles(dir, { "package.json": JSON.stringify(options.packageJson ?? { name: "test-project", private: true, type: "module" }) });
  writeFiles(dir, files);
  return dir;
}

/** Removes the projects made so far. */
export function removeProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const childEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, NEXT_TELEMETRY_DISABLED: "1", ROUTILUX_CHECK_WIRE: "1", FORCE_COLOR: "0", ...env });

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `routilux <args>` in `cwd` to its end (killed after `timeoutMs`). */
export async function runCli(args: string[], cwd: string, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ["--import", TSX, CLI, ...args], { cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Polls `check` until it returns something other than undefined/false (bounded: throws after `timeoutMs`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `routilux dev` (or `start`) in a project, on a free port. */
export class DevProcess {
  private out = "";

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on("data", (d) => {
      this.out += String(d);
    });
    child.stderr?.on("data", (d) => {
      this.out += String(d);
    });
  }

  static async start(cwd: string, args: string[] = [], options: { command?: "dev" | "start"; env?: Record<string, string>; port?: number } = {}): Promise<DevProcess> {
    const port = options.port ?? (await freePort());
    const child = spawn(process.execPath, ["--import", TSX, CLI, options.command ?? "dev", "--port", String(port), ...args], {
      cwd,
      env: childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const dev = new DevProcess(child, port);
    try {
      await dev.waitForOutput(/listening on/, 90_000);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    return dev;
  }

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  /** Everything it printed (stdout and stderr). */
  output(): string {
    return this.out;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const started = Date.now();
    while (!pattern.test(this.out)) {
      if (this.child.exitCode !== null) throw new Error(`routilux exited (${this.child.exitCode}) before printing ${pattern}:\n${this.out}`);
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern} in the output:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every CliProcess not seen to exit: killed if the test process ends first. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** A `routilux <args>` that keeps running (a worker): its output, a line waited for, a signal and how it exited. */
export class CliProcess {
  private out = "";
  readonly exited: Promise<Exit>;

  private constructor(readonly child: ChildProcess) {
    running.add(child);
    child.stdout?.on("data", (d) => {
      this.out += String(d);
    });
    child.stderr?.on("data", (d) => {
      this.out += String(d);
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        running.delete(child);
        resolve({ code, signal });
      });
    });
  }

  static spawn(cwd: string, args: string[], env: Record<string, string> = {}): CliProcess {
    return new CliProcess(spawn(process.execPath, ["--import", TSX, CLI, ...args], { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] }));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Everything it printed (stdout and stderr). */
  output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first match of `pattern` in its output, once printed (throws if it exits first). */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const started = Date.now();
    for (;;) {
      const m = pattern.exec(this.out);
      if (m) return m;
      if (!this.running) throw new Error(`routilux exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.out}`);
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${pattern} in the output:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `killAfterMs`, which the exit then shows). */
  async stop(signal: NodeJS.Signals = "SIGTERM", killAfterMs = 30_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), killAfterMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}
