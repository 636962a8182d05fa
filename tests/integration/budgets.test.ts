/**
 * Budgets on a real server. The drill: the multiplying cycle a → b, a → c, b → a, c → a (created
 * over HTTP) runs next to normal jobs; it fails on its budget, they complete, and the server's
 * memory stays bounded and it keeps answering. Also: timeouts beyond the timer's range are 400s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MULTIPLYING_CYCLE_DSL } from "../helpers/flows";
import { connectInspector, type Inspector } from "../helpers/inspector";
import { startServer, type TestServer } from "../helpers/server";

let s: TestServer;
let inspector: Inspector;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  json: Record<string, unknown> & { error?: { code: string; message: string } };
}

async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Answer["json"]) : {} };
}

interface JobView {
  status: string;
  error: { message: string; error_type: string; routine_id: string | null; code?: string } | null;
}

/** Polls a job until it is finished (bounded: 3,000 polls). */
async function finished(jobId: string): Promise<JobView> {
  for (let i = 0; i < 3000; i++) {
    const r = await api("GET", `/api/jobs/${jobId}`);
    const job = r.json as unknown as JobView;
    if (job.status === "completed" || job.status === "failed" || job.status === "cancelled") return job;
    await sleep(50);
  }
  throw new Error(`job ${jobId} did not finish`);
}

beforeAll(async () => {
  s = await startServer({}, { inspect: true });
  inspector = await connectInspector(s);
}, 90_000);

afterAll(async () => {
  inspector?.close();
  await s?.stop();
});

describe("budgets drill", () => {
  it("the multiplying cycle fails on its budget while normal jobs complete; memory stays bounded, the server answers", async () => {
    const created = await api("POST", "/api/flows", { flow_id: "drill_cycle", dsl: MULTIPLYING_CYCLE_DSL });
    expect(created.status).toBe(201);
    const validation = await api("POST", "/api/flows/drill_cycle/validate");
    const issues = validation.json.issues as { level: string; code: string; message: string }[];
    expect(issues).toContainEqual(expect.objectContaining({ level: "warning", code: "MULTIPLYING_CYCLE" }));
    expect(issues.find((i) => i.code === "MULTIPLYING_CYCLE")?.message).toMatch(/a, b, c.*grows without bound/);

    const stream = await api("POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 30, interval_ms: 50 } });
    const bad = await api("POST", "/api/jobs", { flow_id: "drill_cycle", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 1 } });
    const normal = await api("POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3, 4, 5] } });
    expect([stream.status, bad.status, normal.status]).toEqual([201, 201, 201]);

    const [badJob, normalJob, streamJob] = (await Promise.all([bad, normal, stream].map((r) => finished(r.json.job_id as string)))) as [JobView, JobView, JobView];
    expect(normalJob.status).toBe("completed");
    expect(streamJob.status).toBe("completed");
    expect(badJob.status).toBe("failed");
    expect(badJob.error).toMatchObject({ code: "BUDGET_EXCEEDED", error_type: "BudgetExceededError" });
    expect(badJob.error?.message).toMatch(/^Job exceeded its budget (max_queued_activations|max_queue_bytes) = [\d,]+ \(.*\) at routine '[abc]'$/);
    expect(badJob.error?.routine_id).toMatch(/^[abc]$/);

    // Recorded like any failure: the job_failed event carries the error, the list shows it failed.
    const trace = await api("GET", `/api/jobs/${bad.json.job_id as string}/trace?limit=5`);
    const events = trace.json.events as { event_type: string; data?: { error?: { code?: string } } }[];
    expect(events.at(-1)?.event_type).toBe("job_failed");
    expect(events.at(-1)?.data?.error?.code).toBe("BUDGET_EXCEEDED");
    const all = await api("GET", "/api/jobs?flow_id=drill_cycle");
    expect((all.json.jobs as { job_id: string; status: string }[]).find((j) => j.job_id === bad.json.job_id)?.status).toBe("failed");

    const health = await api("GET", "/api/health");
    expect(health.status).toBe(200);
    const memory = await inspector.memoryAfterGc();
    expect(memory.rss).toBeLessThan(600);

    // And it can run again: the server did not keep anything of the failed job's queue.
    const again = await api("POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [7] } });
    expect((await finished(again.json.job_id as string)).status).toBe("completed");
  }, 180_000);
});

describe("timeouts beyond the timer's range over HTTP", () => {
  const TOO_LONG = 2_147_484;

  it("a DSL with execution.timeout above 2,147,483 s is refused with 400 naming the field and the maximum", async () => {
    const r = await api("POST", "/api/flows", { flow_id: "too_long", dsl: { routines: { a: { class: "passthrough" } }, execution: { timeout: TOO_LONG } } });
    expect(r.status).toBe(400);
    expect(r.json.error?.message).toMatch(/execution\.timeout: at most 2147483 seconds/);
    expect((await api("GET", "/api/flows/too_long")).status).toBe(404);
  });

  it("a routine config timeout above it is refused with 400, in the DSL and when a routine is added", async () => {
    const dsl = await api("POST", "/api/flows", { flow_id: "too_long_r", dsl: { routines: { a: { class: "passthrough", config: { timeout: TOO_LONG } } } } });
    expect(dsl.status).toBe(400);
    expect(dsl.json.error?.message).toMatch(/routines\.a: Config 'timeout' must be a positive number of seconds up to 2147483/);
    expect((await api("POST", "/api/flows", { flow_id: "ok_flow", dsl: { routines: { a: { class: "passthrough" } } } })).status).toBe(201);
    const add = await api("POST", "/api/flows/ok_flow/routines", { routine_id: "slow", type: "passthrough", config: { timeout: TOO_LONG } });
    expect(add.status).toBe(400);
    expect(add.json.error?.message).toMatch(/up to 2147483/);
    // The largest accepted value is accepted.
    expect((await api("POST", "/api/flows/ok_flow/routines", { routine_id: "slowest", type: "passthrough", config: { timeout: 2_147_483 } })).status).toBe(201);
  });

  it("budgets in a flow's DSL are taken, exported and refused when invalid (400 with the path)", async () => {
    const bad = await api("POST", "/api/flows", { flow_id: "bad_budget", dsl: { ...MULTIPLYING_CYCLE_DSL, execution: { budgets: { max_queued_activations: 0 } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error?.message).toMatch(/^execution\.budgets\.max_queued_activations: /);
    const ok = await api("POST", "/api/flows", { flow_id: "small_budget", dsl: { ...MULTIPLYING_CYCLE_DSL, execution: { budgets: { max_queued_activations: 100 } } } });
    expect(ok.status).toBe(201);
    const exported = await api("GET", "/api/flows/small_budget/dsl?format=json");
    expect(JSON.parse(exported.json.dsl as string).execution.budgets).toEqual({ max_queued_activations: 100 });
    const job = await api("POST", "/api/jobs", { flow_id: "small_budget", entry_routine_id: "a", entry_slot: "input", entry_params: {} });
    const view = await finished(job.json.job_id as string);
    expect(view.error?.message).toMatch(/^Job exceeded its budget max_queued_activations = 100 \(/);
  });
});

describe("server-wide budgets from the environment", () => {
  let env: TestServer;
  const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${env.url}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Answer["json"]) : {} };
  };
  const LOOP = { routines: { a: { class: "passthrough" } }, connections: [{ from: "a.output", to: "a.input" }] };

  beforeAll(async () => {
    env = await startServer({ ROUTILUX_MAX_ACTIVATIONS: "1000", ROUTILUX_MAX_QUEUED_ACTIVATIONS: "0", ROUTILUX_DEMO: "0" });
  }, 90_000);
  afterAll(async () => {
    await env?.stop();
  });

  async function ended(jobId: string): Promise<JobView> {
    for (let i = 0; i < 3000; i++) {
      const job = (await call("GET", `/api/jobs/${jobId}`)).json as unknown as JobView;
      if (job.status !== "running" && job.status !== "pending") return job;
      await sleep(20);
    }
    throw new Error(`job ${jobId} did not finish`);
  }

  it("ROUTILUX_MAX_ACTIVATIONS is every job's default; a flow's own budget wins over it", async () => {
    expect((await call("POST", "/api/flows", { flow_id: "loop", dsl: LOOP })).status).toBe(201);
    const job = await call("POST", "/api/jobs", { flow_id: "loop", entry_routine_id: "a", entry_slot: "input", entry_params: {} });
    const view = await ended(job.json.job_id as string);
    expect(view.error).toMatchObject({ code: "BUDGET_EXCEEDED", routine_id: "a" });
    expect(view.error?.message).toMatch(/^Job exceeded its budget max_activations = 1,000 \(activation 1,001 of the job\) at routine 'a'$/);

    expect((await call("POST", "/api/flows", { flow_id: "loop_own", dsl: { ...LOOP, execution: { budgets: { max_activations: 2500 } } } })).status).toBe(201);
    const own = await call("POST", "/api/jobs", { flow_id: "loop_own", entry_routine_id: "a", entry_slot: "input", entry_params: {} });
    expect((await ended(own.json.job_id as string)).error?.message).toMatch(/^Job exceeded its budget max_activations = 2,500 /);
    expect((await call("GET", "/api/health")).status).toBe(200);
  });
});
