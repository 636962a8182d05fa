/**
 * Scale-out as a user runs it, from the CLI's sources in a project of their own (tests/helpers/cli.ts):
 * `routilux start --redis URL --db :memory:` and two `routilux worker --redis URL -c 2` on a real
 * redis-server. The project's jobs, started over HTTP on the server, run on the workers; a flow
 * breakpoint set on the server stops them there and `continue` through the server finishes them;
 * the worker's usage errors; a Redis nobody listens on yet is waited for, saying so; SIGTERM stops
 * a worker with exit 0, finishing its running jobs for up to 5 s (a job held at a breakpoint longer
 * than that is failed by the server as 'worker lost', its events kept). Needs the production build.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliProcess, DevProcess, makeProject, removeProjects } from "../helpers/cli";
import { api, until } from "../helpers/http";
import { startRedis, type TestRedis } from "../helpers/redis";

const ORDERS = `import { type ActivationContext, type Payload, Routine } from "routilux";

/** Prices an order: quantity times unit price, line by line. */
export class Price extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.price });
    this.defineEvent("priced", ["order", "total"]);
  }
  price({ order, lines }: Payload, ctx: ActivationContext): void {
    const total = (lines as { qty: number; unit: number }[]).reduce((sum, l) => sum + l.qty * l.unit, 0);
    ctx.emit("priced", { order, total });
  }
}

/** Books the priced order in the job's shared data, with the process that ran it. */
export class Book extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: this.book });
  }
  book({ order, total }: Payload, ctx: ActivationContext): void {
    ctx.shared.order = order;
    ctx.shared.total = total;
    ctx.shared.pid = process.pid;
  }
}
`;

// A routine that runs until the test opens its gate (a file appears): a job that is surely running.
const GATE = `import { existsSync } from "node:fs";
import { type ActivationContext, type Payload, Routine } from "routilux";

export class Gate extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.wait });
  }
  async wait({ path }: Payload, ctx: ActivationContext): Promise<void> {
    while (!existsSync(String(path))) await new Promise((resolve) => setTimeout(resolve, 20));
    ctx.shared.opened = true;
  }
}
`;

const CONFIG = `import { defineConfig, Flow } from "routilux";
import { Gate } from "./routines/gate";
import { Book, Price } from "./routines/orders";

const orders = new Flow("orders", { example: { entryRoutineId: "price", params: { order: "A-1", lines: [{ qty: 2, unit: 5 }] } } });
orders.addRoutine(new Price(), "price");
orders.addRoutine(new Book(), "book");
orders.connect("price", "priced", "book", "input");

const gated = new Flow("gated");
gated.addRoutine(new Gate(), "gate");

export default defineConfig({
  routineTypes: { price: Price, book: Book },
  flows: [
    orders,
    // Built from the DSL with the config's own types: the worker registers them too.
    { flow_id: "orders_dsl", routines: { price: { class: "price" }, book: { class: "book" } }, connections: [{ from: "price.priced", to: "book.input" }] },
    gated,
  ],
});
`;

const FLOWS = "orders, orders_dsl, gated";
const READY = /Routilux worker (\S+) ready \(flows: ([^)]*)\)/;

interface Ev {
  seq: number;
  event_type: string;
  routine_id: string | null;
}

let redis: TestRedis;
let peek: Redis;
let project: string;
let server: DevProcess;
const workers: CliProcess[] = [];
const others: CliProcess[] = [];

const worker = (args: string[], env: Record<string, string> = {}) => CliProcess.spawn(project, ["worker", ...args], env);

beforeAll(async () => {
  redis = await startRedis();
  peek = new Redis(redis.url, { maxRetriesPerRequest: null });
  peek.on("error", () => {});
  project = makeProject({ "routines/orders.ts": ORDERS, "routines/gate.ts": GATE, "routilux.config.ts": CONFIG });
  // The server and both workers start at once: workers need only Redis.
  const starting = DevProcess.start(project, ["--redis", redis.url, "--db", ":memory:"], { command: "start" });
  for (let i = 0; i < 2; i++) workers.push(worker(["--redis", redis.url, "-c", "2"]));
  server = await starting;
  for (const w of workers) await w.waitForOutput(READY, 90_000);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([...workers, ...others].map((w) => w.stop("SIGKILL")));
  await server?.stop();
  peek?.disconnect();
  await redis?.stop();
  removeProjects();
}, 60_000);

const get = (path: string) => api(server, "GET", path);
const post = (path: string, body?: unknown) => api(server, "POST", path, body);
const jobUntil = (jobId: string, status: string, ms = 30_000) => until(() => get(`/api/jobs/${jobId}`), (r) => r.json.status === status, ms);

async function trace(jobId: string): Promise<Ev[]> {
  const r = await get(`/api/jobs/${jobId}/trace?after_seq=0&limit=1000`);
  expect(r.status).toBe(200);
  return r.json.events as Ev[];
}

async function startOrder(flowId: string, order: string): Promise<string> {
  const r = await post("/api/jobs", { flow_id: flowId, entry_routine_id: "price", entry_params: { order, lines: [{ qty: 3, unit: 7 }, { qty: 1, unit: 4 }] } });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json.job_id as string;
}

/** Sets a flow breakpoint on the server; resolves once it is in Redis, where every worker reads it. */
async function flowBreakpoint(flowId: string, routineId: string): Promise<string> {
  const bp = await post(`/api/flows/${flowId}/breakpoints`, { routine_id: routineId });
  expect(bp.status).toBe(201);
  const id = bp.json.breakpoint_id as string;
  await until(() => peek.hexists("routilux:bp", id), (n) => n === 1);
  return id;
}

describe("routilux start --redis and two routilux workers, in a user's project", { timeout: 120_000 }, () => {
  it("each worker says it is ready with the project's flows; the server lists them too", async () => {
    for (const w of workers) expect(READY.exec(w.output())?.[2]).toBe(FLOWS);
    expect(new Set(workers.map((w) => READY.exec(w.output())?.[1])).size).toBe(2);
    expect(server.output()).toContain("history: in memory");
    const flows = await get("/api/flows");
    expect((flows.json.flows as { flow_id: string }[]).map((f) => f.flow_id)).toEqual(["orders", "orders_dsl", "gated"]);
  });

  it("a job of the project's flow started over HTTP on the server completes on a worker, its trace complete", async () => {
    const jobId = await startOrder("orders", "B-7");
    const done = await jobUntil(jobId, "completed");
    // It ran in one of the worker processes, not in the server's.
    expect(done.json.shared_data).toEqual({ order: "B-7", total: 25, pid: expect.any(Number) });
    expect(workers.map((w) => w.pid)).toContain((done.json.shared_data as { pid: number }).pid);
    expect(done.json.error).toBeNull();

    const events = await trace(jobId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.event_type).toBe("job_started");
    expect(events.at(-1)?.event_type).toBe("job_completed");
    expect(events.filter((e) => e.event_type === "routine_complete").map((e) => e.routine_id)).toEqual(["price", "book"]);

    // The DSL flow built from the config's routine types runs on a worker as well.
    const dsl = await startOrder("orders_dsl", "C-1");
    expect((await jobUntil(dsl, "completed")).json.shared_data).toMatchObject({ order: "C-1", total: 25 });
  });

  it("a flow breakpoint set on the server stops the job on a worker; continue through the server finishes it", async () => {
    const bp = await flowBreakpoint("orders", "book");
    const jobId = await startOrder("orders", "D-2");
    await jobUntil(jobId, "paused");
    const session = await get(`/api/jobs/${jobId}/debug/session`);
    expect(session.json).toMatchObject({ status: "paused", paused_at: { routine_id: "book", reason: "breakpoint" } });
    const vars = await get(`/api/jobs/${jobId}/debug/variables`);
    expect(vars.json).toMatchObject({ routine_id: "book", variables: { local: { order: "D-2", total: 25 } } });

    expect((await post(`/api/jobs/${jobId}/debug/continue`)).status).toBe(200);
    const done = await jobUntil(jobId, "completed");
    expect(done.json.shared_data).toMatchObject({ order: "D-2", total: 25 });
    expect(workers.map((w) => w.pid)).toContain((done.json.shared_data as { pid: number }).pid);
    expect((await trace(jobId)).some((e) => e.event_type === "job_paused")).toBe(true);

    expect((await api(server, "DELETE", `/api/flows/orders/breakpoints/${bp}`)).status).toBe(204);
    await until(() => peek.hexists("routilux:bp", bp), (n) => n === 0);
  });
});

describe("routilux worker: usage and a Redis that does not answer", { timeout: 120_000 }, () => {
  it("no --redis (and no ROUTILUX_REDIS_URL), -c 0, or a URL of another scheme: exit 2 with what to do", async () => {
    const cases: [string[], RegExp][] = [
      [[], /a worker needs the cluster's Redis: --redis redis:\/\/host:6379 \(or ROUTILUX_REDIS_URL\)/],
      [["--redis", redis.url, "-c", "0"], /--concurrency must be a whole number from 1 to 10000, got '0'/],
      [["--redis", "http://user:secret@127.0.0.1:6379"], /--redis must be a redis:\/\/ or rediss:\/\/ URL, got 'http:\/\/user:\*\*\*@127\.0\.0\.1:6379'/],
    ];
    const runs = cases.map(([args]) => worker(args, { ROUTILUX_REDIS_URL: "" }));
    others.push(...runs);
    for (const [i, [args, message]] of cases.entries()) {
      const w = runs[i] as CliProcess;
      const exit = await w.exited;
      expect(exit.code, `worker ${args.join(" ")}: ${w.output()}`).toBe(2);
      expect(w.output()).toMatch(message);
      expect(w.output()).not.toContain("    at ");
    }
  });

  it("a Redis nobody listens on: the worker says so and keeps trying; it joins when Redis comes up, and SIGTERM while waiting exits 0", async () => {
    // A second redis-server, killed: its port is known and nobody listens on it.
    const later = await startRedis();
    later.kill();
    try {
      const waiting = worker(["--redis", later.url]);
      others.push(waiting);
      await waiting.waitForOutput(/routilux worker: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED [^)]*\); retrying until it answers/);
      expect(waiting.running).toBe(true);
      await later.restart();
      await waiting.waitForOutput(/routilux worker: Redis at redis:\/\/127\.0\.0\.1:\d+ answers/);
      expect((await waiting.waitForOutput(READY))[2]).toBe(FLOWS);
      expect(await waiting.stop()).toEqual({ code: 0, signal: null });

      later.kill();
      const stopped = worker(["--redis", later.url]);
      others.push(stopped);
      await stopped.waitForOutput(/cannot reach Redis/);
      expect(await stopped.stop()).toEqual({ code: 0, signal: null });
      expect(stopped.output()).not.toContain("ready");
    } finally {
      await later.stop();
    }
  });
});

describe("SIGTERM stops a worker", { timeout: 120_000 }, () => {
  it("an idle worker exits 0 at once; a busy one lets its running job finish, and cancels a job still held at a breakpoint after the grace, its events kept", async () => {
    const [busy, idle] = workers as [CliProcess, CliProcess];
    expect(await idle.stop()).toEqual({ code: 0, signal: null });
    expect(idle.output()).toMatch(/Routilux worker \S+ stopping: takes no more jobs\n/);
    expect(idle.output()).toMatch(/Routilux worker \S+ stopped\n/);

    // The one worker left takes both jobs (-c 2): one held at a breakpoint, one behind its gate.
    await flowBreakpoint("orders", "book");
    const held = await startOrder("orders", "E-5");
    await jobUntil(held, "paused");
    const gate = join(project, "gate-open");
    const gatedStart = await post("/api/jobs", { flow_id: "gated", entry_routine_id: "gate", entry_params: { path: gate } });
    expect(gatedStart.status).toBe(201);
    const gated = gatedStart.json.job_id as string;
    await jobUntil(gated, "running");

    busy.child.kill("SIGTERM");
    await busy.waitForOutput(/stopping: takes no more jobs; waiting up to 10 s for 2 running jobs to finish, then cancelling what is left/);
    // Opened only once the worker is stopping: the job finishes during the stop.
    writeFileSync(gate, "");
    expect(await busy.exited).toEqual({ code: 0, signal: null });
    expect(busy.output()).toMatch(new RegExp(`stopped; cancelled 1 job still running after 10 s \\(${held}\\)`));
    expect((await jobUntil(gated, "completed")).json.shared_data).toEqual({ opened: true });

    // The held job was cancelled by its worker, which handed it to history with all its events.
    const cancelled = await jobUntil(held, "cancelled", 60_000);
    expect(String(cancelled.json.cancel_reason ?? JSON.stringify(cancelled.json))).toMatch(/was stopped before the job finished/);
    const events = await trace(held);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.event_type)).toContain("job_paused");
    expect(events.filter((e) => e.event_type === "routine_complete").map((e) => e.routine_id)).toEqual(["price"]);
    expect(events.at(-1)?.event_type).toBe("job_cancelled");
  });
});
