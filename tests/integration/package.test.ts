/**
 * Routilux as a user installs it: the packed tarball installed into a project outside the repo,
 * used from plain Node (no tsx), from TypeScript (the declarations), and as a server started
 * from the project's own folder.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installPackage, type InstalledPackage } from "../helpers/package";
import { freePort } from "../helpers/server";

let pkg: InstalledPackage;

beforeAll(() => {
  pkg = installPackage();
}, 900_000);

afterAll(() => pkg?.remove());

const TSC = join(process.cwd(), "node_modules", ".bin", "tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

describe("the packed package", () => {
  it("ships compiled JavaScript, declarations and the built UI, and nothing of the repo's own", () => {
    const files = execFileSync("tar", ["tzf", pkg.tarball], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    for (const f of ["package.json", "README.md", "dist/lib/index.js", "dist/lib/index.d.ts", "dist/server/main.js", "dist/server/main.d.ts", "dist/lib/wire/index.js", ".next/BUILD_ID", "next.config.mjs"]) {
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
    writeFileSync(join(pkg.project, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, skipLibCheck: false, types: ["node"] }, files: ["flows.ts"] }));
    writeFileSync(
      join(pkg.project, "flows.ts"),
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
    const good = spawnSync(TSC, ["-p", pkg.project], { encoding: "utf8" });
    expect(good.stdout + good.stderr).toBe("");
    expect(good.status).toBe(0);
    writeFileSync(join(pkg.project, "flows.ts"), `import { Flow } from "routilux";\nnew Flow("x").addRoutine(42, "a");\n`);
    const bad = spawnSync(TSC, ["-p", pkg.project], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/flows\.ts\(2,.*Argument of type 'number'/);
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
const server = await createServer({ flows: [flow], demos: false, port: ${port}, database: ".routilux/history.db" });
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
