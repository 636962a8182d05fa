/**
 * GET /api/jobs/diff against the real server: two data_processing runs with different params
 * diverge at ingest's output, identical runs not at all, a run whose `process` input was edited in
 * the debugger at process's input; finished jobs restored from history compare the same; bad
 * requests answer a clear 4xx.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobDiff, JobDiffSchema } from "../../lib/wire";
import { api, until } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-run-diff-"));
const db = join(dir, "history.db");
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ ROUTILUX_DB: db });
}, 90_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dataJob = (data: number[]) => ({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data } });

async function status(s: TestServer, jobId: string): Promise<string> {
  return (await api(s, "GET", `/api/jobs/${jobId}`)).json.status as string;
}

async function run(s: TestServer, body: unknown): Promise<string> {
  const started = await api(s, "POST", "/api/jobs", body);
  expect(started.status).toBe(201);
  const jobId = started.json.job_id as string;
  await until(() => status(s, jobId), (st) => st === "completed" || st === "failed");
  return jobId;
}

async function diff(s: TestServer, base: string, other: string): Promise<JobDiff> {
  const res = await api(s, "GET", `/api/jobs/diff?base=${base}&other=${other}`);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return JobDiffSchema.parse(res.json);
}

const verdicts = (d: JobDiff) => Object.fromEntries(d.routines.map((r) => [r.routine_id, r.diff]));

describe("run diff", () => {
  let a: string;
  let b: string;
  let c: string;

  it("two runs with different params diverge first at ingest's output", async () => {
    a = await run(server, dataJob([1, 2, 3]));
    b = await run(server, dataJob([1, 2, 3]));
    c = await run(server, dataJob([4, 5]));
    const d = await diff(server, a, c);
    expect(d.flow_id).toBe("data_processing");
    expect(d.base).toEqual({ job_id: a, status: "completed", forked_from: null });
    expect(d.other).toEqual({ job_id: c, status: "completed", forked_from: null });
    expect(d.inherited).toBeNull();
    expect(d.approximate).toBe(false);
    // The params are the premise; what the runs did differently starts at what ingest emitted.
    expect(d.first_divergence).toMatchObject({ routine_id: "ingest", index: 0, what: "output" });
    expect(d.first_divergence?.base).toMatchObject({ input: { data: [1, 2, 3] }, outputs: [{ event_name: "data_ingested", payload: { count: 3, data: [1, 2, 3] } }], truncated: false });
    expect(d.first_divergence?.other).toMatchObject({ input: { data: [4, 5] }, outputs: [{ event_name: "data_ingested", payload: { count: 2, data: [4, 5] } }], truncated: false });
    expect(d.first_divergence?.base.seq).toBeGreaterThan(0);
    expect(verdicts(d)).toEqual({ ingest: "changed", process: "changed", validate: "changed" });
    for (const r of d.routines) expect(r).toMatchObject({ base_activations: 1, other_activations: 1, equal_activations: 0, outputs_equal: false });
    expect(d.connections.map((x) => [x.base_count, x.other_count])).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it("two identical runs: no divergence, every routine the same", async () => {
    const d = await diff(server, a, b);
    expect(d.first_divergence).toBeNull();
    expect(verdicts(d)).toEqual({ ingest: "same", process: "same", validate: "same" });
    for (const r of d.routines) {
      expect(r).toMatchObject({ base_activations: 1, other_activations: 1, equal_activations: 1, outputs_equal: true });
      // Handler times are measured: a ratio (or null for a handler too quick to time).
      expect(r.duration_ratio === null || r.duration_ratio > 0).toBe(true);
    }
    // A job with itself is allowed: all the same.
    const self = await diff(server, a, a);
    expect(self.first_divergence).toBeNull();
    expect(verdicts(self)).toEqual({ ingest: "same", process: "same", validate: "same" });
  });

  it("a run whose process input was edited in the debugger diverges at process's input", async () => {
    const started = await api(server, "POST", "/api/jobs", { ...dataJob([1, 2, 3]), breakpoints: [{ routine_id: "process" }] });
    const edited = started.json.job_id as string;
    await until(() => status(server, edited), (st) => st === "paused");
    // A live job compares too: as far as it got.
    const paused = await diff(server, a, edited);
    expect(paused.other.status).toBe("paused");
    expect(verdicts(paused)).toMatchObject({ ingest: "same", validate: "only-base" });
    const set = await api(server, "POST", `/api/jobs/${edited}/debug/variables`, { variable: "data", value: [10, 20] });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    expect((await api(server, "POST", `/api/jobs/${edited}/debug/continue`)).status).toBe(200);
    await until(() => status(server, edited), (st) => st === "completed");
    const d = await diff(server, a, edited);
    expect(d.first_divergence).toMatchObject({ routine_id: "process", index: 0, what: "input" });
    expect(d.first_divergence?.base.input).toMatchObject({ data: [1, 2, 3] });
    expect(d.first_divergence?.other.input).toMatchObject({ data: [10, 20] });
    expect(d.first_divergence?.other.outputs).toEqual([{ event_name: "data_processed", payload: { result: [20, 40] } }]);
    expect(verdicts(d)).toEqual({ ingest: "same", process: "changed", validate: "changed" });
  });

  it("a fork from process with an edited payload diverges from its origin at process; what it inherited is equal", async () => {
    const io = await api(server, "GET", `/api/jobs/${a}/io?routine_id=process&kind=input`);
    const processStart = (io.json.rows as { seq: number }[])[0]?.seq as number;
    const forked = await api(server, "POST", `/api/jobs/${a}/fork`, { from_seq: processStart, payload: { count: 2, data: [10, 20] } });
    expect(forked.status, JSON.stringify(forked.json)).toBe(201);
    const fork = forked.json.job_id as string;
    await until(() => status(server, fork), (st) => st === "completed");
    const lineage = { job_id: a, seq: processStart };
    for (const [base, other] of [
      [a, fork],
      [fork, a],
    ] as const) {
      const d = await diff(server, base, other);
      expect(d.inherited).toEqual(lineage);
      expect((base === fork ? d.base : d.other).forked_from).toEqual(lineage);
      // Upstream of the fork point: inherited, the same; from process on: the edit.
      expect(verdicts(d)).toEqual({ ingest: "same", process: "changed", validate: "changed" });
      expect(d.routines.find((r) => r.routine_id === "ingest")).toMatchObject({ base_activations: 1, other_activations: 1, equal_activations: 1 });
      expect(d.first_divergence).toMatchObject({ routine_id: "process", index: 0, what: "input" });
      const [origin, forkSide] = base === fork ? [d.first_divergence?.other, d.first_divergence?.base] : [d.first_divergence?.base, d.first_divergence?.other];
      expect(origin).toMatchObject({ seq: processStart, input: { count: 3, data: [1, 2, 3] }, outputs: [{ event_name: "data_processed", payload: { result: [2, 4, 6] } }] });
      expect(forkSide).toMatchObject({ input: { count: 2, data: [10, 20] }, outputs: [{ event_name: "data_processed", payload: { result: [20, 40] } }] });
    }
    // Not each other's fork: the fork lacks ingest, which is where a plain comparison diverges.
    const unrelated = await diff(server, b, fork);
    expect(unrelated.inherited).toBeNull();
    expect(unrelated.first_divergence).toMatchObject({ routine_id: "ingest", what: "missing" });
  });

  it("error paths: different flows, unknown jobs, missing or extra query params", async () => {
    const other = await run(server, { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [1, 2] } });
    const flows = await api(server, "GET", `/api/jobs/diff?base=${a}&other=${other}`);
    expect(flows.status).toBe(400);
    expect(flows.json).toMatchObject({ error: { code: "DIFFERENT_FLOWS", details: { base_flow_id: "data_processing", other_flow_id: "fan_out" } } });
    for (const q of [`base=job_nope&other=${a}`, `base=${a}&other=job_nope`]) {
      const res = await api(server, "GET", `/api/jobs/diff?${q}`);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ error: { code: "JOB_NOT_FOUND" } });
    }
    for (const q of ["", `?base=${a}`, `?other=${a}`, `?base=&other=${a}`, `?base=${a}&other=${a}&x=1`]) {
      const res = await api(server, "GET", `/api/jobs/diff${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json).toMatchObject({ error: { code: expect.any(String) } });
    }
    expect((await api(server, "POST", `/api/jobs/diff?base=${a}&other=${a}`)).status).toBe(405);
  });

  it("past the payload budget the comparison uses previews and says it is approximate", async () => {
    const small = await startServer({ ROUTILUX_PAYLOAD_BUDGET_BYTES: "400" });
    try {
      // Each payload is far larger than the budget: only the trace's previews are left.
      const big = (last: number) => Array.from({ length: 300 }, (_, i) => (i === 299 ? last : i + 1));
      const x = await run(small, dataJob(big(1)));
      const y = await run(small, dataJob(big(1)));
      const z = await run(small, dataJob([7, 8]));
      const same = await diff(small, x, y);
      expect(same.approximate).toBe(true);
      expect(same.first_divergence).toBeNull();
      const other = await diff(small, x, z);
      expect(other.approximate).toBe(true);
      expect(other.first_divergence).toMatchObject({ routine_id: "ingest", what: "output", base: { truncated: true }, other: { truncated: false } });
      expect(other.routines.map((r) => [r.routine_id, r.base_activations, r.other_activations])).toEqual([
        ["ingest", 1, 1],
        ["process", 1, 1],
        ["validate", 1, 1],
      ]);
    } finally {
      await small.stop();
    }
  }, 90_000);

  it("jobs restored from history compare as they did live", async () => {
    const live = [await diff(server, a, c), await diff(server, a, b)];
    await server.stop();
    server = await startServer({ ROUTILUX_DB: db });
    const restored = [await diff(server, a, c), await diff(server, a, b)];
    // Handler times are the same figures, read back from the stored metrics.
    expect(restored).toEqual(live);
  }, 90_000);
});
