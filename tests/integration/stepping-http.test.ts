/**
 * Stepping that follows the data, over HTTP (the raw debug socket and socket.io run the same
 * commands; the wire-contract test checks they answer alike).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Breakpoint, DebugState, JobBreakpoints, SessionSnapshot, StartJobAnswer } from "../../lib/wire";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

async function post<T>(path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as T };
}

async function session(jobId: string): Promise<SessionSnapshot> {
  return (await (await fetch(`${server.url}/api/jobs/${jobId}/debug/session`)).json()) as SessionSnapshot;
}

/** Waits (bounded, on the API) until the job is stopped again or finished; where it is. */
async function settled(jobId: string): Promise<SessionSnapshot & { job_status: string }> {
  for (let i = 0; i < 1000; i++) {
    const snap = (await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { status: string };
    const s = await session(jobId);
    if (s.status === "paused" || ["completed", "failed", "cancelled"].includes(snap.status)) return { ...s, job_status: snap.status };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} neither stopped nor ended`);
}

async function startPaused(body: Record<string, unknown>): Promise<string> {
  const { status, json } = await post<StartJobAnswer>("/api/jobs", { ...body, pause_on_start: true });
  expect(status).toBe(201);
  expect((await settled(json.job_id)).paused_at?.routine_id).toBe(body.entry_routine_id);
  return json.job_id;
}

async function step(jobId: string, how: "step_over" | "step_into" | "step_out"): Promise<SessionSnapshot & { job_status: string }> {
  const r = await post<DebugState>(`/api/jobs/${jobId}/debug/${how}`);
  expect(r.status).toBe(200);
  return settled(jobId);
}

describe("stepping over HTTP", () => {
  it("data_processing paused at ingest: step over stops at process, again at validate; the stops are numbered", async () => {
    const jobId = await startPaused({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] } });
    const first = await step(jobId, "step_over");
    expect(first.paused_at).toMatchObject({ routine_id: "process", reason: "step", stop_number: 2, description: "Step over: next hop of the item that ingest emitted, at process.data_ingested" });
    const second = await step(jobId, "step_over");
    expect(second.paused_at).toMatchObject({ routine_id: "validate", stop_number: 3 });
    expect(second.paused_at?.activation_id).not.toBe(first.paused_at?.activation_id);
    const end = await step(jobId, "step_over");
    expect(end).toMatchObject({ job_status: "completed", paused_at: null });
    expect(end.step_outcome).toMatch(/^Step over from validate\.data_processed: the item ended at validate/);
  });

  it("fan_out paused at the splitter: step over stops at the first item's next hop, step out runs the whole fan-out", async () => {
    const params = { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [1, 20, 3, 40] } };
    const over = await startPaused(params);
    const hop = await step(over, "step_over");
    expect(hop.paused_at).toMatchObject({ routine_id: "route", depth: 1 });
    const vars = (await (await fetch(`${server.url}/api/jobs/${over}/debug/variables`)).json()) as { variables: { local: Record<string, unknown> } };
    expect(vars.variables.local).toMatchObject({ item: 1, index: 0 });
    await post(`/api/jobs/${over}/debug/continue`);

    const out = await startPaused(params);
    const end = await step(out, "step_out");
    expect(end).toMatchObject({ job_status: "completed", paused_at: null });
    const snap = (await (await fetch(`${server.url}/api/jobs/${out}`)).json()) as { routine_states: Record<string, { activations: number }> };
    expect(snap.routine_states.collect?.activations).toBe(4);
  });

  it("run to here: a one-shot breakpoint that stops once and is gone; other breakpoints still stop first", async () => {
    const jobId = await startPaused({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [5] } });
    const bp = await post<Breakpoint>(`/api/jobs/${jobId}/breakpoints`, { routine_id: "process" });
    expect(bp.json.once).toBe(false);
    expect((await post(`/api/jobs/${jobId}/debug/run_to`, { routine_id: "validate" })).status).toBe(200);
    expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "process", description: "Breakpoint on process (before the handler)" });
    await post(`/api/jobs/${jobId}/debug/continue`);
    expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "validate", reason: "breakpoint", description: "Ran to validate (before the handler)" });
    const left = (await (await fetch(`${server.url}/api/jobs/${jobId}/breakpoints`)).json()) as JobBreakpoints;
    expect(left.breakpoints.map((b) => b.routine_id)).toEqual(["process"]);
    await post(`/api/jobs/${jobId}/debug/continue`);
    expect((await settled(jobId)).job_status).toBe("completed");
  });

  it("run to here refuses what the flow does not have, and a finished job", async () => {
    const jobId = await startPaused({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [5] } });
    const ghost = await post<{ error: { code: string } }>(`/api/jobs/${jobId}/debug/run_to`, { routine_id: "ghost" });
    expect(ghost).toMatchObject({ status: 404, json: { error: { code: "ROUTINE_NOT_FOUND" } } });
    const bad = await post<{ error: { code: string } }>(`/api/jobs/${jobId}/debug/run_to`, { routine: "process" });
    expect(bad.status).toBe(400);
    expect((await session(jobId)).paused_at?.routine_id).toBe("ingest");
    await post(`/api/jobs/${jobId}/debug/continue`);
    expect((await settled(jobId)).job_status).toBe("completed");
    expect((await post<{ error: { code: string } }>(`/api/jobs/${jobId}/debug/run_to`, { routine_id: "validate" })).json.error.code).toBe("JOB_FINISHED");
  });
});
