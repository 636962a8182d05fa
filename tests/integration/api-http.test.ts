import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { API, type RouteSpec } from "../../lib/wire";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > ms) throw new Error(`condition not met: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const startDataProcessing = (extra: Record<string, unknown> = {}) =>
  api("POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "trigger", entry_params: { data: [1, 2, 3, 4, 5] }, ...extra });

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

describe("the Complete Monitoring Setup example, over HTTP", () => {
  it("starts a job (201, running at once), then metrics and trace show the finished job", async () => {
    const response = await startDataProcessing();
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ flow_id: "data_processing", status: "running" });
    const jobId = response.json.job_id as string;
    expect(jobId).toMatch(/^job_/);
    const metrics = await until(() => api("GET", `/api/jobs/${jobId}/metrics`), (r) => r.json.status === "completed");
    expect(metrics.status).toBe(200);
    expect(metrics.json.duration_ms).toEqual(expect.any(Number));
    expect(metrics.json.total_events).toBeGreaterThan(0);
    expect(metrics.json).toMatchObject({ job_id: jobId, flow_id: "data_processing", total_routines: 3, completed_routines: 3, failed_routines: 0 });
    const trace = await api("GET", `/api/jobs/${jobId}/trace`);
    const events = trace.json.events as { seq: number; event_type: string; routine_id: string | null }[];
    expect(trace.json.total).toBe(metrics.json.total_events);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.event_type).toBe("job_started");
    expect(events.at(-1)?.event_type).toBe("job_completed");
    expect(events.filter((e) => e.event_type === "routine_start").map((e) => e.routine_id)).toEqual(["ingest", "process", "validate"]);
    // The snapshot says what it is as of: the last seq, and the payloads per connection.
    const snap = await api("GET", `/api/jobs/${jobId}`);
    expect(snap.json).toMatchObject({
      last_seq: trace.json.last_seq,
      connection_counts: { "ingest.data_ingested:process.data_ingested": 1, "process.data_processed:validate.data_processed": 1 },
    });
  });
});

describe("a full debugging round over HTTP", () => {
  it("breakpoint → paused → variables → edit → step_into → call stack → continue → the handler saw the edit", async () => {
    const bp = await api("POST", "/api/flows/data_processing/breakpoints", { routine_id: "process" });
    expect(bp.status).toBe(201);
    const job = await startDataProcessing();
    const jobId = job.json.job_id as string;
    const paused = await until(() => api("GET", `/api/jobs/${jobId}`), (r) => r.json.status === "paused");
    expect(paused.json.status).toBe("paused");
    const session = await api("GET", `/api/jobs/${jobId}/debug/session`);
    expect(session.json).toMatchObject({ status: "paused", paused_at: { routine_id: "process", reason: "breakpoint" } });
    const vars = await api("GET", `/api/jobs/${jobId}/debug/variables`);
    expect(vars.json).toMatchObject({ routine_id: "process", variables: { local: { data: [1, 2, 3, 4, 5], count: 5 }, shared: {} } });
    const put = await api("PUT", `/api/jobs/${jobId}/debug/variables/data`, { value: [10, 20] });
    expect(put.json).toEqual({ variable: "data", value: [10, 20], scope: "local" });
    const step = await api("POST", `/api/jobs/${jobId}/debug/step_into`);
    expect(step.status).toBe(200);
    const atChild = await until(() => api("GET", `/api/jobs/${jobId}/debug/session`), (r) => (r.json.paused_at as { routine_id?: string } | null)?.routine_id === "validate");
    expect(atChild.json.status).toBe("paused");
    const stack = await api("GET", `/api/jobs/${jobId}/debug/call_stack`);
    expect((stack.json.frames as { routine_id: string; depth: number }[]).map((f) => [f.routine_id, f.depth])).toEqual([["validate", 2], ["process", 1], ["ingest", 0]]);
    const hyphen = await api("GET", `/api/jobs/${jobId}/debug/call-stack`);
    expect(hyphen.json).toEqual(stack.json);
    const evaluated = await api("POST", `/api/jobs/${jobId}/debug/evaluate`, { expression: "len(result)" });
    expect(evaluated.json).toEqual({ result: 2 });
    const cont = await api("POST", `/api/jobs/${jobId}/debug/continue`);
    expect(cont.status).toBe(200);
    const done = await until(() => api("GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed");
    expect(done.json.shared_data).toEqual({ valid: true });
    const logs = await api("GET", `/api/jobs/${jobId}/logs`);
    expect((logs.json.logs as { data: unknown }[])[0]?.data).toEqual({ result: [20, 40] });
    expect((await api("DELETE", `/api/flows/data_processing/breakpoints/${bp.json.breakpoint_id}`)).status).toBe(204);
  });
});

describe("routes", () => {
  it("health, flows, routine types, DSL, validate, metrics", async () => {
    const health = await api("GET", "/api/health");
    expect(health).toMatchObject({ status: 200, json: { status: "healthy", reasons: [], event_loop: { window_ms: 1000 } } });
    const loop = health.json.event_loop as { p99_ms: number; max_ms: number };
    expect(loop.max_ms).toBeGreaterThanOrEqual(loop.p99_ms);
    const flows = await api("GET", "/api/flows");
    expect((flows.json.flows as { flow_id: string }[]).map((f) => f.flow_id)).toEqual(expect.arrayContaining(["data_processing", "fan_out", "flaky_retry", "slow_stream"]));
    const detail = await api("GET", "/api/flows/fan_out");
    expect(detail.json).toMatchObject({ flow_id: "fan_out", execution_strategy: "sequential", routines: { split: { type: "splitter", slots: ["input"] } } });
    expect((detail.json.connections as unknown[]).length).toBe(5);
    const types = await api("GET", "/api/routine-types");
    expect((types.json.routine_types as { name: string }[]).map((t) => t.name)).toEqual(expect.arrayContaining(["filter", "router"]));
    const yaml = await api("GET", "/api/flows/fan_out/dsl?format=yaml");
    expect(yaml.json).toMatchObject({ format: "yaml" });
    expect(yaml.json.dsl).toContain("flow_id: fan_out");
    expect((await api("POST", "/api/flows/fan_out/validate")).json).toMatchObject({ valid: true });
    expect((await api("GET", "/api/flows/data_processing/metrics")).json).toMatchObject({ flow_id: "data_processing", total_jobs: expect.any(Number), completed_jobs: expect.any(Number) });
  });

  it("creates a flow from DSL text, edits the graph, runs it, deletes it", async () => {
    const dsl = "routines:\n  a:\n    class: passthrough\n  b:\n    class: passthrough\nconnections:\n  - from: a.output\n    to: b.input\n";
    const created = await api("POST", "/api/flows", { flow_id: "http_flow", dsl });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json.routines as object)).toEqual(["a", "b"]);
    expect((await api("POST", "/api/flows", { flow_id: "http_flow" })).status).toBe(409);
    expect((await api("POST", "/api/flows/http_flow/routines", { routine_id: "c", type: "filter", config: { condition: "x > 1" } })).status).toBe(201);
    const conn = await api("POST", "/api/flows/http_flow/connections", { source_routine: "b", source_event: "output", target_routine: "c", target_slot: "input" });
    expect(conn.status).toBe(201);
    expect(conn.json.id).toBe("b.output:c.input");
    const job = await api("POST", "/api/jobs", { flow_id: "http_flow", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 5 } });
    const done = await until(() => api("GET", `/api/jobs/${job.json.job_id}`), (r) => r.json.status === "completed");
    expect((done.json.routine_states as Record<string, { activations: number }>).c?.activations).toBe(1);
    expect((await api("DELETE", `/api/flows/http_flow/connections/${encodeURIComponent("b.output:c.input")}`)).status).toBe(204);
    expect((await api("DELETE", "/api/flows/http_flow/routines/c")).status).toBe(204);
    expect((await api("DELETE", "/api/flows/http_flow")).status).toBe(204);
    expect((await api("GET", "/api/flows/http_flow")).status).toBe(404);
  });

  it("jobs: list newest first with filters, job breakpoints with the snake_case body, pause/resume/cancel", async () => {
    const job = await api("POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 500, interval_ms: 20 } });
    const jobId = job.json.job_id as string;
    const bp = await api("POST", `/api/jobs/${jobId}/breakpoints`, { routine_id: "scale", slot_name: "input", condition: "n >= 3" });
    expect(bp.status).toBe(201);
    expect(bp.json).toMatchObject({ type: "slot", job_id: jobId, condition: "n >= 3", enabled: true, hit_count: 0 });
    const list = await api("GET", `/api/jobs/${jobId}/breakpoints`);
    expect(list.json.total).toBe(1);
    await until(() => api("GET", `/api/jobs/${jobId}`), (r) => r.json.status === "paused");
    const vars = await api("GET", `/api/jobs/${jobId}/debug/variables`);
    expect((vars.json.variables as { local: { n: number } }).local.n).toBe(3);
    expect((await api("PATCH", `/api/jobs/${jobId}/breakpoints/${bp.json.breakpoint_id}`, { enabled: false })).json).toMatchObject({ enabled: false });
    expect((await api("POST", `/api/jobs/${jobId}/resume`)).json).toMatchObject({ job_id: jobId, status: "running" });
    expect((await api("POST", `/api/jobs/${jobId}/resume`)).status).toBe(409);
    const paused = await api("POST", `/api/jobs/${jobId}/pause`);
    expect(paused.json).toMatchObject({ job_id: jobId, status: "paused" });
    expect((await api("POST", `/api/jobs/${jobId}/cancel`)).json).toEqual({ job_id: jobId, status: "cancelled" });
    expect((await api("POST", `/api/jobs/${jobId}/cancel`)).status).toBe(409);
    const jobs = await api("GET", "/api/jobs?flow_id=slow_stream&status=cancelled&limit=5");
    expect(jobs.json).toMatchObject({ limit: 5, offset: 0 });
    expect((jobs.json.jobs as { job_id: string }[])[0]?.job_id).toBe(jobId);
    expect((await api("DELETE", `/api/jobs/${jobId}/breakpoints/${bp.json.breakpoint_id}`)).status).toBe(204);
    expect((await api("DELETE", `/api/jobs/${jobId}/breakpoints/${bp.json.breakpoint_id}`)).status).toBe(404);
  });

  it("serves an OpenAPI 3.1 document that validates against the official schema and lists every route", async () => {
    const doc = await api("GET", "/api/openapi.json");
    expect(doc.status).toBe(200);
    const result = await new Validator().validate(doc.json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = doc.json.paths as Record<string, Record<string, unknown>>;
    // Every route of the table (and every alias) is there with its method.
    for (const def of Object.values(API) as RouteSpec[]) {
      for (const p of [def.path, ...(def.aliases ?? [])]) {
        const oaPath = p.replace(/:([a-z_]+)/g, "{$1}");
        expect(paths[oaPath]?.[def.method.toLowerCase()], `${def.method} ${oaPath}`).toBeDefined();
      }
    }
    for (const p of ["/api/health", "/api/jobs/{job_id}/debug/step_over", "/api/jobs/{job_id}/debug/step-over", "/api/jobs/{job_id}/debug/call_stack", "/api/jobs/{job_id}/debug/call-stack"]) {
      expect(paths[p], p).toBeDefined();
    }
    expect(paths["/api/jobs"]?.post).toMatchObject({ requestBody: { content: { "application/json": { schema: { type: "object" } } } } });
  });
});

describe("bad input: the right status, a clear error body, and no change of state", () => {
  const cases: [string, string, string, unknown, number, RegExp][] = [
    ["malformed JSON", "POST", "/api/jobs", '{"flow_id": ', 400, /Malformed JSON/],
    ["wrong types", "POST", "/api/jobs", { flow_id: 5, entry_routine_id: "ingest" }, 400, /flow_id/],
    ["unknown field", "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", surprise: 1 }, 400, /unknown field/],
    ["unknown flow", "POST", "/api/jobs", { flow_id: "nope", entry_routine_id: "x" }, 404, /Flow 'nope' not found/],
    ["unknown entry routine", "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "nope" }, 400, /Entry routine 'nope' not found/],
    ["unknown entry slot", "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "nope" }, 400, /Entry slot 'nope'/],
    ["bad id", "GET", "/api/jobs/bad%20id", undefined, 400, /Invalid job_id/],
    ["unknown job", "GET", "/api/jobs/job_nope", undefined, 404, /Job 'job_nope' not found/],
    ["unknown route", "GET", "/api/nothing", undefined, 404, /No API route/],
    ["condition that does not parse", "POST", "/api/flows/data_processing/breakpoints", { routine_id: "process", condition: "data[" }, 400, /Invalid condition.*position/],
    ["unknown routine in a breakpoint", "POST", "/api/flows/data_processing/breakpoints", { routine_id: "ghost" }, 404, /Routine 'ghost' not found/],
    ["bad breakpoint combination", "POST", "/api/flows/data_processing/breakpoints", { type: "slot", routine_id: "process" }, 400, /slot_name is required/],
    ["unknown breakpoint", "DELETE", "/api/flows/data_processing/breakpoints/bp_nope", undefined, 404, /Breakpoint 'bp_nope' not found/],
    ["duplicate flow", "POST", "/api/flows", { flow_id: "data_processing" }, 409, /already exists/],
    ["bad DSL", "POST", "/api/flows", { flow_id: "bad_dsl", dsl: { routines: { a: { class: "os.system" } } } }, 400, /unknown routine type 'os.system'/],
    ["bad query", "GET", "/api/jobs?limit=-1", undefined, 400, /limit/],
  ];
  it.each(cases)("%s", async (_name, method, path, body, status, message) => {
    const before = await api("GET", "/api/jobs?limit=1000");
    const r = await api(method, path, body);
    expect(r.status).toBe(status);
    expect((r.json.error as { message: string }).message).toMatch(message);
    expect((r.json.error as { code: string }).code).toEqual(expect.any(String));
    expect(JSON.stringify(r.json)).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
    const after = await api("GET", "/api/jobs?limit=1000");
    expect(after.json.total).toBe(before.json.total);
    expect((await api("GET", "/api/flows/bad_dsl")).status).toBe(404);
  });

  it("debug commands on a job that is not paused answer 409", async () => {
    const job = await startDataProcessing();
    const jobId = job.json.job_id as string;
    await until(() => api("GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed");
    for (const path of ["debug/step_over", "debug/step-into", "debug/continue"]) {
      const r = await api("POST", `/api/jobs/${jobId}/${path}`);
      expect(r.status, path).toBe(409);
      expect((r.json.error as { code: string }).code).toBe("JOB_NOT_PAUSED");
    }
    expect((await api("GET", `/api/jobs/${jobId}/debug/variables`)).status).toBe(409);
  });

  it("an oversize body answers 413", async () => {
    const big = JSON.stringify({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { blob: "x".repeat(1_100_000) } });
    const r = await api("POST", "/api/jobs", big);
    expect(r.status).toBe(413);
  });
});
