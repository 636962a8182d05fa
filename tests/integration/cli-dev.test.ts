/**
 * `routilux dev` from its sources in a temp project (tests/helpers/cli.ts): it serves the
 * project's flows, reloads them in the same process when a file changes (a job held at a
 * breakpoint finishes on the code it started with, flow breakpoints survive), reports a file that
 * does not load in the terminal, GET /api/dev/status and socket.io while the previous version keeps
 * serving, and `routilux start` serves without watching. Needs the production build (npm test does it).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Breakpoint, DevStatus, FlowsReloaded, FlowsReloadFailed, JobSnapshot } from "../../lib/wire";
import { DevProcess, makeProject, removeProjects, waitFor, writeFiles } from "../helpers/cli";

const greet = (greeting: string) => `import { type ActivationContext, type Payload, Routine } from "routilux";

export class Greet extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.greet });
    this.defineEvent("greeted", ["message"]);
  }
  greet({ name }: Payload, ctx: ActivationContext): void {
    ctx.emit("greeted", { message: \`${greeting}, \${String(name)}!\` });
  }
}
`;

const REMEMBER = `import { type ActivationContext, type Payload, Routine } from "routilux";

export class Remember extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: this.remember });
  }
  remember({ message }: Payload, ctx: ActivationContext): void {
    ctx.shared.message = message;
  }
}
`;

const config = (flows: string) => `import { defineConfig, Flow } from "routilux";
import { Greet } from "./routines/greet";
import { Remember } from "./routines/remember";

function hello(id: string): Flow {
  const flow = new Flow(id, { example: { entryRoutineId: "greet", params: { name: "Ada" } } });
  flow.addRoutine(new Greet(), "greet");
  flow.addRoutine(new Remember(), "remember");
  flow.connect("greet", "greeted", "remember", "input");
  return flow;
}

export default defineConfig({ flows: [${flows}] });
`;

let project: string;
let dev: DevProcess;
let socket: Socket;
const reloaded: FlowsReloaded[] = [];
const failed: FlowsReloadFailed[] = [];

beforeAll(async () => {
  project = makeProject({ "routines/greet.ts": greet("Hello"), "routines/remember.ts": REMEMBER, "routilux.config.ts": config('hello("hello")') });
  dev = await DevProcess.start(project);
  socket = io(dev.url, { path: "/socket.io/", transports: ["websocket"] });
  socket.on("flows_reloaded", (info: FlowsReloaded) => reloaded.push(info));
  socket.on("flows_reload_failed", (info: FlowsReloadFailed) => failed.push(info));
  await waitFor("socket.io connected", () => socket.connected);
}, 120_000);

afterAll(async () => {
  socket?.close();
  await dev?.stop();
  removeProjects();
});

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${dev.url}${path}`, {
    method: init.method ?? "GET",
    headers: init.body === undefined ? {} : { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const status = async () => (await api<DevStatus>("/api/dev/status")).body;
const job = async (id: string) => (await api<JobSnapshot>(`/api/jobs/${id}`)).body;
const startJob = async (name: string) =>
  (await api<{ job_id: string }>("/api/jobs", { method: "POST", body: { flow_id: "hello", entry_routine_id: "greet", entry_params: { name } } })).body.job_id;
const waitJob = (id: string, wanted: string) => waitFor(`job ${id} ${wanted}`, async () => ((await job(id)).status === wanted ? job(id) : undefined));
const waitVersion = (version: number) => waitFor(`version ${version}`, async () => ((await status()).version === version ? status() : undefined));
const edit = (files: Record<string, string>) => writeFiles(project, files);

describe("routilux dev", { timeout: 90_000 }, () => {
  it("serves the project's flows, says where it listens, its config and its history", async () => {
    const flows = await api<{ flows: { flow_id: string }[] }>("/api/flows");
    expect(flows.body.flows.map((f) => f.flow_id)).toEqual(["hello"]);
    expect(await status()).toEqual({ watching: true, version: 1, reloaded_at: null, flow_ids: [], error: null });
    expect(dev.output()).toContain(`config:  ${join(project, "routilux.config.ts")}`);
    const db = join(project, ".routilux", "history.db");
    expect(dev.output()).toContain(`history: ${db}`);
    expect(existsSync(db)).toBe(true);
  });

  it("an edit reloads the flow in the same process: a held job finishes on its old code, new jobs run the new code, flow breakpoints stay", async () => {
    const bp = await api<Breakpoint>("/api/flows/hello/breakpoints", { method: "POST", body: { routine_id: "greet" } });
    expect(bp.status).toBe(201);
    // A flow created over HTTP is not the project's: reloads leave it alone.
    const http = await api("/api/flows", { method: "POST", body: { flow_id: "from_http", dsl: { routines: { a: { class: "passthrough" } } } } });
    expect(http.status).toBe(201);
    const before = await startJob("Old");
    await waitJob(before, "paused");

    edit({ "routines/greet.ts": greet("Howdy") });
    const v2 = await waitVersion(2);
    expect(v2).toMatchObject({ watching: true, error: null, flow_ids: ["hello"] });
    await waitFor("flows_reloaded", () => reloaded.find((r) => r.version === 2));
    expect(reloaded.find((r) => r.version === 2)?.flow_ids).toEqual(["hello"]);
    await dev.waitForOutput(/routines\/greet\.ts changed: version 2, reloaded hello/);
    expect(dev.child.exitCode).toBeNull();
    expect(dev.output().match(/listening on/g)).toHaveLength(1);

    const flows = await api<{ flows: { flow_id: string }[] }>("/api/flows");
    expect(flows.body.flows.map((f) => f.flow_id).sort()).toEqual(["from_http", "hello"]);
    const kept = await api<{ breakpoints: Breakpoint[] }>("/api/flows/hello/breakpoints");
    expect(kept.body.breakpoints.map((b) => [b.breakpoint_id, b.routine_id])).toEqual([[bp.body.breakpoint_id, "greet"]]);

    // The kept breakpoint stops the new code's job too.
    const after = await startJob("New");
    await waitJob(after, "paused");
    expect((await api(`/api/jobs/${after}/debug/continue`, { method: "POST" })).status).toBe(200);
    expect((await waitJob(after, "completed")).shared_data).toEqual({ message: "Howdy, New!" });
    expect((await api(`/api/jobs/${before}/debug/continue`, { method: "POST" })).status).toBe(200);
    expect((await waitJob(before, "completed")).shared_data).toEqual({ message: "Hello, Old!" });
    expect((await api(`/api/flows/hello/breakpoints/${bp.body.breakpoint_id}`, { method: "DELETE" })).status).toBe(204);
  });

  it("a syntax error is reported (terminal, dev status, socket.io) and the previous version keeps serving until a fix reloads", async () => {
    edit({ "routines/greet.ts": greet("Broken").replace("ctx.emit(", "ctx.emit((") });
    const broken = await waitFor("the reload error", async () => (await status()).error ?? undefined);
    expect(broken.message).toMatch(/routines\/greet\.ts:\d+:\d+/);
    expect((await status()).version).toBe(2);
    const pushed = await waitFor("flows_reload_failed", () => failed.at(-1));
    expect(pushed.error).toBe(broken.message);
    await dev.waitForOutput(/reload failed, version 2 keeps serving/);

    const during = await startJob("Meanwhile");
    expect((await waitJob(during, "completed")).shared_data).toEqual({ message: "Howdy, Meanwhile!" });

    edit({ "routines/greet.ts": greet("Hi") });
    const fixed = await waitVersion(3);
    expect(fixed.error).toBeNull();
    await waitFor("flows_reloaded 3", () => reloaded.find((r) => r.version === 3));
    const now = await startJob("Fixed");
    expect((await waitJob(now, "completed")).shared_data).toEqual({ message: "Hi, Fixed!" });
  });

  it("a module that throws at import and a flow that does not validate fail the reload too", async () => {
    edit({ "routines/remember.ts": `${REMEMBER}throw new Error("remember refuses to load");\n` });
    const thrown = await waitFor("the import error", async () => {
      const s = await status();
      return s.error?.message.includes("remember refuses to load") ? s.error : undefined;
    });
    expect(thrown.message).toMatch(/routines\/remember\.ts:\d+/);
    edit({ "routines/remember.ts": REMEMBER, "routilux.config.ts": config('hello("hello").setExample(null), hello("other")').replace('entryRoutineId: "greet"', 'entryRoutineId: "nobody"') });
    const invalid = await waitFor("the validation error", async () => {
      const s = await status();
      return s.error?.message.includes("does not validate") ? s.error : undefined;
    });
    expect(invalid.message).toContain("INVALID_EXAMPLE");
    expect((await status()).version).toBe(3);
  });

  it("flows the config no longer has are removed, new ones added, HTTP flows left alone", async () => {
    const bp = await api<Breakpoint>("/api/flows/hello/breakpoints", { method: "POST", body: { routine_id: "remember" } });
    expect(bp.status).toBe(201);
    edit({ "routilux.config.ts": config('hello("bonjour")') });
    const v4 = await waitVersion(4);
    expect(v4.flow_ids.sort()).toEqual(["bonjour", "hello"]);
    await dev.waitForOutput(/version 4, added bonjour; removed hello/);
    const flows = await api<{ flows: { flow_id: string }[] }>("/api/flows");
    expect(flows.body.flows.map((f) => f.flow_id).sort()).toEqual(["bonjour", "from_http"]);
    expect((await api("/api/flows/hello")).status).toBe(404);
    const { body } = await api<{ job_id: string }>("/api/jobs", { method: "POST", body: { flow_id: "bonjour", entry_routine_id: "greet", entry_params: { name: "Zoe" } } });
    expect((await waitJob(body.job_id, "completed")).shared_data).toEqual({ message: "Hi, Zoe!" });
  });
});

describe("routilux dev: routine types", { timeout: 90_000 }, () => {
  const shout = (description: string) => `import { registerRoutine, Routine } from "routilux";

export class Shout extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: () => undefined });
  }
}
// Registered when the module is imported: each reload registers the new class under the same name.
registerRoutine("shout", Shout, { description: "${description}" });
`;
  const typed = (description: string) =>
    config('hello("bonjour")')
      .replace('import { Remember } from "./routines/remember";', 'import { Remember } from "./routines/remember";\nimport "./routines/shout";')
      .replace("export default defineConfig({ flows: [", `export default defineConfig({ routineTypes: { keeper: { routine: Remember, description: "${description}" } }, flows: [`);
  const described = async () => {
    const r = await api<{ routine_types: { name: string; description: string }[] }>("/api/routine-types");
    return Object.fromEntries(r.body.routine_types.filter((t) => t.name === "keeper" || t.name === "shout").map((t) => [t.name, t.description]));
  };

  it("types from the config and from modules are registered again from the new code, and kept when a reload fails", async () => {
    const v = (await status()).version;
    edit({ "routines/shout.ts": shout("s1"), "routilux.config.ts": typed("k1") });
    await waitFor("the types of the first version", async () => JSON.stringify(await described()) === JSON.stringify({ shout: "s1", keeper: "k1" }));
    edit({ "routines/shout.ts": shout("s2"), "routilux.config.ts": typed("k2") });
    await waitFor("the types of the second version", async () => JSON.stringify(await described()) === JSON.stringify({ shout: "s2", keeper: "k2" }));
    expect((await status()).error).toBeNull();
    const good = (await status()).version;
    expect(good).toBeGreaterThan(v);
    // A load that fails after registering its types leaves the last good ones.
    edit({ "routines/shout.ts": shout("s3"), "routilux.config.ts": typed("k3").replace('hello("bonjour")', 'hello("bonjour"), hello("bonjour")') });
    const error = await waitFor("the duplicate flow error", async () => (await status()).error ?? undefined);
    expect(error.message).toContain("two flows have the id 'bonjour'");
    expect(await described()).toEqual({ shout: "s2", keeper: "k2" });
    expect((await status()).version).toBe(good);
    // DSL flows created over HTTP can use them.
    const created = await api("/api/flows", { method: "POST", body: { flow_id: "uses_types", dsl: { routines: { k: { class: "keeper" }, s: { class: "shout" } } } } });
    expect(created.status).toBe(201);
  });
});

describe("starting", () => {
  it("dev on a project that does not load yet serves nothing and the error, then the fix", async () => {
    const dir = makeProject({ "routines/greet.ts": greet("Hello").replace("ctx.emit(", "ctx.emit(("), "routines/remember.ts": REMEMBER, "routilux.config.ts": config('hello("hello")') });
    const broken = await DevProcess.start(dir, ["--no-history"]);
    try {
      const get = async <T>(path: string) => (await (await fetch(`${broken.url}${path}`)).json()) as T;
      // Printed on stderr, which may arrive after stdout's "listening" line.
      await waitFor("the load error in the terminal", () => broken.output().includes("the project does not load"));
      expect((await get<{ total: number }>("/api/flows")).total).toBe(0);
      expect((await get<DevStatus>("/api/dev/status")).error?.message).toMatch(/routines\/greet\.ts:\d+:\d+/);
      writeFiles(dir, { "routines/greet.ts": greet("Hello") });
      await waitFor("the fixed project", async () => (await get<DevStatus>("/api/dev/status")).version === 2);
      expect((await get<{ flows: { flow_id: string }[] }>("/api/flows")).flows.map((f) => f.flow_id)).toEqual(["hello"]);
    } finally {
      await broken.stop();
    }
  }, 120_000);


  it("start serves without watching; a project that does not load stops it with exit 1", async () => {
    const dir = makeProject({ "routines/greet.ts": greet("Hello"), "routines/remember.ts": REMEMBER, "routilux.config.ts": config('hello("hello")') });
    const start = await DevProcess.start(dir, ["--no-history"], { command: "start" });
    try {
      const s = (await (await fetch(`${start.url}/api/dev/status`)).json()) as DevStatus;
      expect(s).toMatchObject({ watching: false, version: 1 });
      expect(start.output()).toContain("history: off");
      expect(existsSync(join(dir, ".routilux"))).toBe(false);
    } finally {
      await start.stop();
    }
    // The port of the dev server above is taken.
    await expect(DevProcess.start(dir, ["--no-history"], { command: "start", port: dev.port })).rejects.toThrow(/exited \(1\)[\s\S]*Port \d+ is in use/);
    writeFileSync(join(dir, "routines", "greet.ts"), "export class Greet {");
    await expect(DevProcess.start(dir, ["--no-history"], { command: "start" })).rejects.toThrow(/exited \(1\)[\s\S]*the project does not load[\s\S]*routines\/greet\.ts/);
  }, 120_000);
});
