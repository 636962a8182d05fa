/**
 * GET /api/jobs/{id}/state?at_seq=N against the real server: on every demo flow, the state at
 * the seq of each job snapshot seen while the job ran (GET /api/jobs/{id} says its last_seq)
 * equals that snapshot — routine states, connection counts, status, shared data — asked while the
 * job still runs and again after it finished.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobSnapshot, JobStateAt } from "../../lib/wire";
import { api } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

const FINAL = new Set(["completed", "failed", "cancelled"]);

interface Seen {
  snap: JobSnapshot;
  /** The state at snap.last_seq asked right after the snapshot (the job still running). */
  live: JobStateAt | null;
}

/** Starts a job and snapshots it until it ends, resuming it whenever a breakpoint holds it. */
async function runAndWatch(body: Record<string, unknown>): Promise<{ jobId: string; seen: Seen[] }> {
  const start = await api(server, "POST", "/api/jobs", body);
  expect(start.status).toBe(201);
  const jobId = start.json.job_id as string;
  const seen: Seen[] = [];
  for (let i = 0; i < 2000; i++) {
    const snap = (await api(server, "GET", `/api/jobs/${jobId}`)).json as unknown as JobSnapshot;
    let live: JobStateAt | null = null;
    if (!FINAL.has(snap.status)) {
      const r = await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${snap.last_seq}`);
      expect(r.status).toBe(200);
      live = r.json as unknown as JobStateAt;
    }
    seen.push({ snap, live });
    if (FINAL.has(snap.status)) break;
    if (snap.status === "paused") await api(server, "POST", `/api/jobs/${jobId}/resume`);
    else await new Promise((r) => setTimeout(r, 5));
  }
  expect(FINAL.has(seen.at(-1)?.snap.status ?? "")).toBe(true);
  return { jobId, seen };
}

function expectSame(state: JobStateAt, snap: JobSnapshot): void {
  expect(state.at_seq).toBe(snap.last_seq);
  expect(state.routine_states).toEqual(snap.routine_states);
  expect(state.connection_counts).toEqual(snap.connection_counts);
  expect(state.status).toBe(snap.status);
  expect(state.shared_data).toEqual(snap.shared_data);
}

const DEMOS: [string, Record<string, unknown>][] = [
  // Breakpoints on every routine but the entry: the job stops at each, and each stop is snapshotted.
  ["data_processing", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3] }, breakpoints: [{ routine_id: "process" }, { routine_id: "validate" }] }],
  [
    "fan_out",
    {
      flow_id: "fan_out",
      entry_routine_id: "split",
      entry_slot: "input",
      entry_params: { items: [3, 12, 7, 25] },
      breakpoints: ["route", "small_worker", "large_worker", "collect"].map((routine_id) => ({ routine_id })),
    },
  ],
  // Retries with backoff (0.2 s, 0.4 s) and an error that continues: polled while it waits.
  ["flaky_retry", { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} }],
  // Concurrent and streaming for about a second: polled while downstream routines run.
  ["slow_stream", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 20, interval_ms: 50 } }],
];

describe("state at a seq equals the live snapshots", () => {
  for (const [name, body] of DEMOS) {
    it(name, async () => {
      const { jobId, seen } = await runAndWatch(body);
      const seqs = new Set(seen.map((s) => s.snap.last_seq));
      // Several distinct points of the run, not only its end.
      expect(seqs.size).toBeGreaterThanOrEqual(3);
      for (const { snap, live } of seen) {
        if (live !== null) expectSame(live, snap);
        // After the job ended (its fold is cached then extended; the answer must not change).
        const after = await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${snap.last_seq}`);
        expect(after.status).toBe(200);
        expectSame(after.json as unknown as JobStateAt, snap);
      }
      const end = (await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${seen.at(-1)?.snap.last_seq}`)).json as unknown as JobStateAt;
      expect(end.running).toEqual([]);
      expect(end.last_seq).toBe(seen.at(-1)?.snap.last_seq);
    });
  }

  it("says which activation an event belongs to, with its input and outputs in full", async () => {
    const { jobId } = await runAndWatch({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [5, 6] } });
    const trace = (await api(server, "GET", `/api/jobs/${jobId}/trace`)).json.events as { seq: number; event_type: string; routine_id: string | null }[];
    const start = trace.find((e) => e.event_type === "routine_start" && e.routine_id === "process");
    const emit = trace.find((e) => e.event_type === "event_emit" && e.routine_id === "process");
    const end = trace.find((e) => e.event_type === "routine_complete" && e.routine_id === "process");
    if (!start || !emit || !end) throw new Error("process did not run");
    const atStart = (await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${start.seq}`)).json as unknown as JobStateAt;
    expect(atStart.event?.event_type).toBe("routine_start");
    expect(atStart.activation).toMatchObject({ routine_id: "process", slot_name: "data_ingested", start_seq: start.seq, end_seq: null, input: { count: 2, data: [5, 6] }, input_truncated: false, outputs: [] });
    expect(atStart.activation?.activation_id).toEqual(expect.any(Number));
    expect(atStart.running.map((a) => a.routine_id)).toEqual(["process"]);
    expect(atStart.routine_states.process?.status).toBe("running");
    const atEmit = (await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${emit.seq}`)).json as unknown as JobStateAt;
    expect(atEmit.activation?.outputs).toEqual([{ seq: emit.seq, event_name: "data_processed", payload: { result: [10, 12] }, truncated: false }]);
    const atEnd = (await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=${end.seq}`)).json as unknown as JobStateAt;
    expect(atEnd.activation).toMatchObject({ routine_id: "process", start_seq: start.seq, end_seq: end.seq });
    expect(atEnd.running).toEqual([]);
    const atZero = (await api(server, "GET", `/api/jobs/${jobId}/state?at_seq=0`)).json as unknown as JobStateAt;
    expect(atZero).toMatchObject({ at_seq: 0, event: null, status: "pending", activation: null, running: [], shared_data: {}, connection_counts: {} });
    expect(Object.values(atZero.routine_states).every((r) => r.status === "pending" && r.activations === 0)).toBe(true);
  });
});
