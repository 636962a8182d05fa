/**
 * Routilux as a user installs it: the packed tarball installed into a project outside the repo,
 * used from plain Node (no tsx), from TypeScript (the declarations), and as a server started
 * from the project's own folder.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPackage, type InstalledPackage } from "../helpers/package";
import { startRedis, type TestRedis } from "../helpers/redis";
import { freePort } from "../helpers/server";

let pkg: InstalledPackage;

beforeAll(() => {
  pkg = installPackage();
}, 900_000);

// Removing an installed node_modules can take long on a busy machine.
afterAll(() => pkg?.remove(), 300_000);

const TSC = join(process.cwd(), "node_modules", ".bin", "tsc");
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", FORCE_COLOR: "0" };

/** `npx routilux <args>` in the user's project, to its end. */
async function routilux(args: string[], timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
  const child = spawn(NPX, ["--no", "routilux", ...args], { cwd: pkg.project, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  child.stderr.on("data", (d) => {
    out += String(d);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

/** Polls `check` (bounded) until it returns a value. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

describe("the packed package", () => {
  it("ships compiled JavaScript, declarations and the built UI, and nothing of the repo's own", () => {
    const files = execFileSync("tar", ["tzf", pkg.tarball], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    const needed = ["package.json", "README.md", "dist/lib/index.js", "dist/lib/index.d.ts", "dist/server/main.js", "dist/server/main.d.ts", "dist/lib/wire/index.js", ".next/BUILD_ID", "next.config.mjs"];
    // What `routilux worker` and `start --redis` load.
    needed.push("dist/cli/worker.js", "dist/server/cluster/worker-main.js", "dist/server/cluster/worker.js", "dist/server/cluster/control-plane.js", "dist/server/cluster/redis.js");
    for (const f of needed) {
      expect(files, f).toContain(f);
    }
    expect(files.some((f) => f.startsWith(".next/static/"))).toBe(true);
    expect(files.some((f) => f.startsWith(".next/server/app/"))).toBe(true);
    const unwanted = files.filter((f) => /^(tests|e2e|bench|scripts|app|lib|server|examples|data|docs|\.routilux|\.ci)\//.test(f) || f.endsWith(".map") || f.startsWith(".next/cache") || f.startsWith(".next/dev"));
    expect(unwanted).toEqual([]);
    console.log(`package: ${pkg.packedBytes} bytes packed, ${pkg.unpackedBytes} unpacked, ${files.length} files; installed in ${pkg.installMs} ms`);
  });

  it("runs a flow from plain Node, with no TypeScript tooling", () => {
    writeFileSync(
      join(pkg.project, "run.mjs"),
      `import { Flow, Routine, MonitoringRegistry, compileExpression, isRoutiluxError } from "routilux";
class Double extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", (p, ctx) => ctx.emit("doubled", { result: p.data.map((x) => x * 2) }));
    this.defineEvent("doubled");
  }
}
MonitoringRegistry.enable();
const flow = new Flow("plain");
flow.addRoutine(new Double(), "double");
const job = await flow.execute("double", { data: [1, 2, 3] });
const m = MonitoringRegistry.getInstance().monitorCollector.getMetrics(job.jobId);
let refused = null;
try { flow.addRoutine(new Double(), "double"); } catch (e) { refused = isRoutiluxError(e) ? e.code : "other"; }
console.log(JSON.stringify({ status: job.status, runs: m.routine_metrics.double.execution_count, expr: compileExpression("len(data) > 2").evaluate({ data: [1, 2, 3] }), refused }));
`,
    );
    const out = execFileSync(process.execPath, ["run.mjs"], { cwd: pkg.project, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1) as string)).toEqual({ status: "completed", runs: 1, expr: true, refused: "DUPLICATE_ROUTINE" });
  });

  it("gives TypeScript users its declarations: good code checks (no skipLibCheck), bad code is refused", { timeout: 120_000 }, () => {
    // A TypeScript project on Node has Node's types; the package brings the rest of its own.
    const types = spawnSync(NPM, ["install", "-D", "@types/node@20", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: pkg.project, encoding: "utf8" });
    expect(types.status, types.stderr).toBe(0);
    writeFileSync(join(pkg.project, "tsconfig.check.json"), JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, skipLibCheck: false, types: ["node"] }, files: ["check-types.ts"] }));
    writeFileSync(
      join(pkg.project, "check-types.ts"),
      `import { type ActivationContext, Flow, type JobSnapshot, type Payload, Routine } from "routilux";
import { createServer, type ServerOptions } from "routilux/server";
import type { FlowDetail } from "routilux/wire";
export class Greet extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.run);
    this.defineEvent("greeted", ["text"]);
  }
  run(p: Payload, ctx: ActivationContext): void {
    ctx.emit("greeted", { text: \`hello \${String(p.name)}\` });
  }
}
export const flow = new Flow("greet");
flow.addRoutine(new Greet(), "greet");
export const options: ServerOptions = { flows: [flow], demos: false };
export type Seen = [JobSnapshot["status"], FlowDetail["flow_id"], typeof createServer];
`,
    );
    const good = spawnSync(TSC, ["-p", join(pkg.project, "tsconfig.check.json")], { encoding: "utf8" });
    expect(good.stdout + good.stderr).toBe("");
    expect(good.status).toBe(0);
    writeFileSync(join(pkg.project, "check-types.ts"), `import { Flow } from "routilux";\nnew Flow("x").addRoutine(42, "a");\n`);
    const bad = spawnSync(TSC, ["-p", join(pkg.project, "tsconfig.check.json")], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/check-types\.ts\(2,.*Argument of type 'number'/);
  });

  it("runs the README's own routine and flow examples as written, and they type-check strictly", { timeout: 120_000 }, () => {
    // Every \`\`\`ts block of "Write your own routine" names its file on its first line.
    const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Write your own routine"));
    expect(section).toBeDefined();
    const blocks = [...(section as string).matchAll(/```ts\n\/\/ file: (\S+)\n([\s\S]*?)```/g)].map((m) => ({ file: m[1] as string, code: m[2] as string }));
    expect(blocks.map((b) => b.file)).toEqual(["routines.ts", "flows.ts", "run.ts"]);
    const dir = join(pkg.project, "readme");
    mkdirSync(dir, { recursive: true });
    for (const b of blocks) writeFileSync(join(dir, b.file), b.code);
    // The "Serve from your own program" example, beside them (type-checked, not started).
    const serve = /```ts\n(\/\/ server\.ts[\s\S]*?)```/.exec(readme)?.[1];
    expect(serve).toBeDefined();
    writeFileSync(join(dir, "server.ts"), serve as string);

    const run = spawnSync(process.execPath, ["--import", "tsx", "run.ts"], { cwd: dir, encoding: "utf8", env, timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split("\n").at(-1) as string)).toEqual({
      status: "completed",
      shared: { last: "HI ADA" },
      log: ["shouted"],
      runs: 1,
      shoutRuns: 1,
      dsl: { last: "HEY BOB" },
      error: null,
    });

    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "esnext", moduleResolution: "bundler", target: "es2022", noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(pkg.project, "node_modules", "@types")] }, files: ["routines.ts", "flows.ts", "run.ts", "server.ts"] }),
    );
    const types = spawnSync(NPM, ["install", "-D", "@types/node@20", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: pkg.project, encoding: "utf8" });
    expect(types.status, types.stderr).toBe(0);
    const check = spawnSync(TSC, ["-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("serves the debugger and the API from the user's project, whatever the working directory", async () => {
    const port = await freePort();
    writeFileSync(
      join(pkg.project, "serve.mjs"),
      `import { Flow, Routine } from "routilux";
import { createServer } from "routilux/server";
class Hello extends Routine {
  constructor() { super(); this.defineSlot("trigger", (p, ctx) => ctx.emit("greeted", { text: "hello " + p.name })); this.defineEvent("greeted"); }
}
const flow = new Flow("hello");
flow.addRoutine(new Hello(), "start");
const server = await createServer({ flows: [flow], port: ${port}, database: ".routilux/history.db" });
console.log("listening " + server.url);
process.on("SIGTERM", () => server.close().finally(() => process.exit(0)));
`,
    );
    const child = spawn(process.execPath, ["serve.mjs"], { cwd: pkg.project, env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    child.stderr.on("data", (d) => {
      out += String(d);
    });
    try {
      for (let i = 0; i < 600 && !out.includes("listening"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain("listening");
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/flows/hello`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="(\/_next\/static\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect((await fetch(`${base}${script}`)).status).toBe(200);
      expect(await (await fetch(`${base}/api/flows`)).json()).toMatchObject({ flows: [{ flow_id: "hello" }], total: 1 });
      const started = (await (await fetch(`${base}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flow_id: "hello", entry_routine_id: "start", entry_params: { name: "you" } }) })).json()) as { job_id: string };
      let status = "";
      for (let i = 0; i < 100 && status !== "completed"; i++) {
        status = ((await (await fetch(`${base}/api/jobs/${started.job_id}`)).json()) as { status: string }).status;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe("completed");
    } finally {
      child.kill("SIGTERM");
    }
  }, 120_000);
});

describe("the routilux command, installed", () => {
  let dev: ChildProcess | null = null;
  const cluster: ChildProcess[] = [];
  let redis: TestRedis | null = null;
  afterAll(async () => {
    for (const child of [dev, ...cluster]) {
      if (child?.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
    }
    await redis?.stop();
  });

  it("init scaffolds a starter; run runs its example and exits 0, a failing flow exits 1", async () => {
    const init = await routilux(["init"]);
    expect(init.code, init.out).toBe(0);
    const run = await routilux(["run", "hello"]);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/completed/);
    const json = await routilux(["run", "hello", "--json", "--params", JSON.stringify({ name: "Grace" })]);
    expect(json.code, json.out).toBe(0);
    expect((JSON.parse(json.out) as { shared_data: unknown }).shared_data).toEqual({ message: "Hello, Grace!" });

    mkdirSync(join(pkg.project, "failing"), { recursive: true });
    writeFileSync(
      join(pkg.project, "failing", "routilux.config.ts"),
      `import { defineConfig, Flow, Routine } from "routilux";
class Boom extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", () => {
      throw new Error("the disk is full");
    });
  }
}
const boom = new Flow("boom", { example: { entryRoutineId: "boom", params: {} } });
boom.addRoutine(new Boom(), "boom");
export default defineConfig({ flows: [boom] });
`,
    );
    const failed = await routilux(["run", "boom", "failing/routilux.config.ts"]);
    expect(failed.code, failed.out).toBe(1);
    expect(failed.out).toContain("the disk is full");
  }, 300_000);

  it("dev serves the project's flows to the debugger, reloads an edited routine in the same process, and keeps the last good version on a syntax error", async () => {
    const port = await freePort();
    // Its own process group: npx starts the command as a child, and ending npx alone leaves it running.
    dev = spawn(NPX, ["--no", "routilux", "dev", "--port", String(port)], { cwd: pkg.project, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    dev.stdout?.on("data", (d) => {
      out += String(d);
    });
    dev.stderr?.on("data", (d) => {
      out += String(d);
    });
    const base = `http://127.0.0.1:${port}`;
    await until("routilux dev to listen", () => (out.includes("listening") ? true : undefined), 120_000);
    expect(out).toContain(join(pkg.project, ".routilux", "history.db"));
    const flows = (await (await fetch(`${base}/api/flows`)).json()) as { flows: { flow_id: string }[] };
    expect(flows.flows.map((f) => f.flow_id)).toEqual(["hello"]);

    // The debugger, in a browser: a breakpoint on remember, Run with the example, it stops there.
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/flows/hello`);
      await page.getByTestId("breakpoint-toggle-remember").click();
      await page.waitForSelector('[data-testid="breakpoint-toggle-remember"][data-active="true"]');
      await page.getByTestId("run-flow").click();
      await page.getByTestId("run-submit").click();
      await page.waitForURL(/\/jobs\/job_/);
      await page.waitForSelector('[data-testid="paused-at"][data-routine-id="remember"]', { timeout: 30_000 });
      await page.getByTestId("debug-continue").click();
      await page.waitForSelector('[data-testid="job-status"][data-status="completed"]', { timeout: 30_000 });
    } finally {
      await browser.close();
    }
    // The breakpoint applies to every later job of the flow: removed before running more.
    const bps = (await (await fetch(`${base}/api/flows/hello/breakpoints`)).json()) as { breakpoints: { breakpoint_id: string }[] };
    for (const bp of bps.breakpoints) expect((await fetch(`${base}/api/flows/hello/breakpoints/${bp.breakpoint_id}`, { method: "DELETE" })).status).toBe(204);

    const runOnce = async (): Promise<Record<string, unknown>> => {
      const { job_id } = (await (await fetch(`${base}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flow_id: "hello", entry_routine_id: "greet", entry_params: { name: "Ada" } }) })).json()) as { job_id: string };
      return until("the job to end", async () => {
        const snap = (await (await fetch(`${base}/api/jobs/${job_id}`)).json()) as { status: string; shared_data: Record<string, unknown> };
        return snap.status === "completed" ? snap.shared_data : undefined;
      });
    };
    const status = async (): Promise<{ version: number; error: { message: string } | null }> => (await (await fetch(`${base}/api/dev/status`)).json()) as { version: number; error: { message: string } | null };
    expect(await runOnce()).toEqual({ message: "Hello, Ada!" });
    const v1 = (await status()).version;

    // An edit: the next job runs the new code; the process never restarted.
    const file = join(pkg.project, "routines", "remember.ts");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, original.replace("ctx.shared.message = message;", "ctx.shared.message = String(message).toUpperCase();"));
    await until("the reload", async () => ((await status()).version > v1 ? true : undefined));
    expect(await runOnce()).toEqual({ message: "HELLO, ADA!" });
    expect(dev.exitCode).toBeNull();

    // A syntax error: reported, and the last good version keeps serving.
    writeFileSync(file, original.replace("ctx.shared.message = message;", "ctx.shared.message = ;"));
    const broken = await until("the failed reload", async () => (await status()).error ?? undefined);
    expect(broken.message).toMatch(/remember\.ts/);
    expect(out).toMatch(/remember\.ts/);
    expect(await runOnce()).toEqual({ message: "HELLO, ADA!" });
    writeFileSync(file, original);
    await until("the fixed reload", async () => ((await status()).error === null ? true : undefined));
    expect(await runOnce()).toEqual({ message: "Hello, Ada!" });
  }, 300_000);

  it("scale-out: worker --help; start --redis and a worker on a real Redis run the project's job to completion, and the worker stops on SIGTERM", async () => {
    const help = await routilux(["worker", "--help"]);
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain("--redis <url>");
    expect(help.out).toContain("--concurrency <n>");

    redis = await startRedis();
    const port = await freePort();
    // Each in its own process group (npx starts the command as a child; see dev above).
    const launch = (args: string[]): { child: ChildProcess; out: () => string } => {
      const child = spawn(NPX, ["--no", "routilux", ...args], { cwd: pkg.project, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      cluster.push(child);
      let out = "";
      child.stdout?.on("data", (d) => {
        out += String(d);
      });
      child.stderr?.on("data", (d) => {
        out += String(d);
      });
      return { child, out: () => out };
    };
    const server = launch(["start", "--redis", redis.url, "--port", String(port), "--db", ":memory:"]);
    const worker = launch(["worker", "--redis", redis.url, "-c", "1"]);
    await until("the server to listen", () => (server.out().includes("listening") ? true : undefined), 120_000);
    await until("the worker to be ready", () => (/Routilux worker \S+ ready \(flows: hello\)/.test(worker.out()) ? true : undefined), 120_000);

    const base = `http://127.0.0.1:${port}`;
    const started = (await (await fetch(`${base}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flow_id: "hello", entry_routine_id: "greet", entry_params: { name: "Lin" } }) })).json()) as { job_id: string };
    const done = await until("the job to complete on the worker", async () => {
      const snap = (await (await fetch(`${base}/api/jobs/${started.job_id}`)).json()) as { status: string; shared_data: unknown };
      return snap.status === "completed" ? snap : undefined;
    });
    expect(done.shared_data).toEqual({ message: "Hello, Lin!" });

    // "close": the worker (npx's child) holds the output pipe until it has printed its last line.
    const exited = once(worker.child, "close");
    process.kill(-(worker.child.pid as number), "SIGTERM");
    await exited;
    expect(worker.out()).toMatch(/Routilux worker \S+ stopped\n/);
  }, 300_000);
});
