/**
 * POST /api/jobs/{id}/fork against the real server with a history file: a fork of a finished
 * data_processing job from `process` with an edited payload re-runs process → validate with it,
 * while the original's trace, snapshot and database rows stay byte for byte as they were; a fork
 * of a running job; a fork from a job restored from history after a restart, whose lineage is
 * still shown after another restart; and the error paths of both time-travel routes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { api, until } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-fork-"));
const FILE = join(dir, "history.db");
// Shared by the tests of "fork", in order: the origin job and what was served of it before any fork.
let origin = "";
let firstFork = "";
let processSeq = 0;
let traceBefore: Record<string, unknown> = {};
let snapBefore = "";
let rowsAfterFirstServer = "";
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

interface Ev {
  seq: number;
  event_type: string;
  routine_id: string | null;
  data: Record<string, unknown>;
}

const FINAL = ["completed", "failed", "cancelled"];

async function finished(s: TestServer, jobId: string): Promise<Record<string, unknown>> {
  return (await until(() => api(s, "GET", `/api/jobs/${jobId}`), (r) => FINAL.includes(r.json.status as string))).json;
}

async function traceOf(s: TestServer, jobId: string): Promise<Ev[]> {
  return (await api(s, "GET", `/api/jobs/${jobId}/trace`)).json.events as Ev[];
}

async function runDataProcessing(s: TestServer, data: number[]): Promise<string> {
  const r = await api(s, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data } });
  expect(r.status).toBe(201);
  const id = r.json.job_id as string;
  expect((await finished(s, id)).status).toBe("completed");
  return id;
}

/** Every row the database holds for a job, as text (read through a connection of its own). */
function dbRows(file: string, jobId: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const job = db.prepare("SELECT * FROM jobs WHERE job_id = ?").all(jobId);
    const events = db.prepare("SELECT * FROM events WHERE job_id = ? ORDER BY seq").all(jobId);
    const payloads = db.prepare("SELECT * FROM payloads WHERE job_id = ? ORDER BY seq").all(jobId);
    return JSON.stringify({ job, events, payloads });
  } finally {
    db.close();
  }
}

const validateInput = async (s: TestServer, jobId: string): Promise<unknown> => {
  const io = (await api(s, "GET", `/api/jobs/${jobId}/io?routine_id=validate&kind=input`)).json.rows as { payload: unknown }[];
  expect(io).toHaveLength(1);
  return io[0]?.payload;
};

describe("fork", () => {
  it("re-runs from process with an edited payload; the original job is not changed in any byte", async () => {
    const s = await start({ ROUTILUX_DB: FILE });
    origin = await runDataProcessing(s, [1, 2, 3]);
    // Served texts before any fork: trace, snapshot, inputs and outputs.
    traceBefore = (await api(s, "GET", `/api/jobs/${origin}/trace`)).json;
    snapBefore = JSON.stringify((await api(s, "GET", `/api/jobs/${origin}`)).json);
    const ioBefore = JSON.stringify((await api(s, "GET", `/api/jobs/${origin}/io`)).json);
    const processStart = (traceBefore.events as Ev[]).find((e) => e.event_type === "routine_start" && e.routine_id === "process") as Ev;
    processSeq = processStart.seq;

    const fork = await api(s, "POST", `/api/jobs/${origin}/fork`, { from_seq: processStart.seq, payload: { data: [10, 20] } });
    expect(fork.status).toBe(201);
    expect(fork.json).toMatchObject({ flow_id: "data_processing", forked_from: { job_id: origin, seq: processStart.seq }, entry_routine_id: "process", entry_slot: "data_ingested" });
    firstFork = fork.json.job_id as string;
    const forkSnap = await finished(s, firstFork);
    expect(forkSnap.status).toBe("completed");
    expect(await validateInput(s, firstFork)).toEqual({ result: [20, 40] });
    expect(forkSnap.forked_from).toEqual({ job_id: origin, seq: processStart.seq });
    expect(forkSnap.shared_data).toEqual({ valid: true });
    // It begins with process: ingest never ran in it.
    expect((forkSnap.routine_states as Record<string, { activations: number }>).ingest?.activations).toBe(0);
    const list = (await api(s, "GET", "/api/jobs?flow_id=data_processing")).json.jobs as { job_id: string; forked_from: unknown }[];
    expect(list.find((j) => j.job_id === firstFork)?.forked_from).toEqual({ job_id: origin, seq: processStart.seq });
    expect(list.find((j) => j.job_id === origin)?.forked_from).toBeNull();

    // The recorded input and the shared data as of that point, or an edited shared data.
    const validateStart = (traceBefore.events as Ev[]).find((e) => e.event_type === "routine_start" && e.routine_id === "validate") as Ev;
    const again = await api(s, "POST", `/api/jobs/${origin}/fork`, { activation_id: validateStart.data.activation_id, shared_data: { seed: 1 } });
    expect(again.status).toBe(201);
    expect(again.json.forked_from).toEqual({ job_id: origin, seq: validateStart.seq });
    const againId = again.json.job_id as string;
    const againSnap = await finished(s, againId);
    expect(await validateInput(s, againId)).toEqual({ result: [2, 4, 6] });
    expect(againSnap.shared_data).toEqual({ seed: 1, valid: true });
    expect((await traceOf(s, againId))[0]?.data.shared_data).toEqual({ seed: 1 });

    // A fork of a fork, paused at its start: its shared data as of validate's start is the edited one.
    const forkValidate = (await traceOf(s, againId)).find((e) => e.event_type === "routine_start" && e.routine_id === "validate") as Ev;
    const third = await api(s, "POST", `/api/jobs/${againId}/fork`, { from_seq: forkValidate.seq, pause_on_start: true });
    expect(third.status).toBe(201);
    const thirdId = third.json.job_id as string;
    await until(() => api(s, "GET", `/api/jobs/${thirdId}`), (r) => r.json.status === "paused");
    expect((await api(s, "GET", `/api/jobs/${thirdId}`)).json.shared_data).toEqual({ seed: 1 });
    await api(s, "POST", `/api/jobs/${thirdId}/resume`);
    expect((await finished(s, thirdId)).status).toBe("completed");

    // The origin as served: unchanged in every byte.
    expect((await api(s, "GET", `/api/jobs/${origin}/trace`)).json).toEqual(traceBefore);
    expect(JSON.stringify((await api(s, "GET", `/api/jobs/${origin}/trace`)).json)).toBe(JSON.stringify(traceBefore));
    expect(JSON.stringify((await api(s, "GET", `/api/jobs/${origin}`)).json)).toBe(snapBefore);
    expect(JSON.stringify((await api(s, "GET", `/api/jobs/${origin}/io`)).json)).toBe(ioBefore);
    // The server holds its history file exclusively: its rows are read once it stopped.
    await s.stop();
    rowsAfterFirstServer = dbRows(FILE, origin);
    const stored = JSON.parse(rowsAfterFirstServer) as { job: { forked_from: string | null; snapshot: string }[]; events: { seq: number; event: string }[] };
    // Its events as written are, text for text, those served before the forks.
    expect(stored.events.map((e) => e.event)).toEqual((traceBefore.events as Ev[]).map((e) => JSON.stringify(e)));
    expect(stored.job[0]?.forked_from).toBeNull();
    expect(JSON.parse(dbRows(FILE, firstFork)).job[0].forked_from).toBe(JSON.stringify({ job_id: origin, seq: processStart.seq }));
  });

  it("forks a running job; the running job goes on unchanged", async () => {
    const s = await start({});
    const r = await api(s, "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 30, interval_ms: 40 } });
    const origin = r.json.job_id as string;
    const trace = await until(() => traceOf(s, origin), (t) => t.some((e) => e.event_type === "routine_start" && e.routine_id === "scale"));
    const scaleStart = trace.find((e) => e.event_type === "routine_start" && e.routine_id === "scale") as Ev;
    expect((await api(s, "GET", `/api/jobs/${origin}`)).json.status).toBe("running");
    const fork = await api(s, "POST", `/api/jobs/${origin}/fork`, { from_seq: scaleStart.seq });
    expect(fork.status).toBe(201);
    const forkSnap = await finished(s, fork.json.job_id as string);
    expect(forkSnap.status).toBe("completed");
    const states = forkSnap.routine_states as Record<string, { activations: number }>;
    expect([states.source?.activations, states.scale?.activations, states.sink?.activations]).toEqual([0, 1, 1]);
    const sinkIn = (await api(s, "GET", `/api/jobs/${fork.json.job_id}/io?routine_id=sink&kind=input`)).json.rows as { payload: Record<string, unknown> }[];
    expect(sinkIn[0]?.payload).toEqual({ n: 1, reading: expect.any(Number) });
    const done = await finished(s, origin);
    expect((done.routine_states as Record<string, { activations: number }>).scale?.activations).toBe(30);
    expect(done.forked_from).toBeNull();
  });

  it("works from history after a restart (the origin's rows unchanged), and the lineage is shown after another", async () => {
    const env = { ROUTILUX_DB: FILE };
    const s2 = await start(env);
    // Restored: served from the database as it was served from memory.
    expect(JSON.stringify((await api(s2, "GET", `/api/jobs/${origin}`)).json)).toBe(snapBefore);
    const finalSnap = JSON.parse(snapBefore) as Record<string, unknown>;
    const state = await api(s2, "GET", `/api/jobs/${origin}/state?at_seq=${finalSnap.last_seq}`);
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ routine_states: finalSnap.routine_states, connection_counts: finalSnap.connection_counts, shared_data: finalSnap.shared_data, status: "completed" });
    const atProcess = (await api(s2, "GET", `/api/jobs/${origin}/state?at_seq=${processSeq}`)).json;
    expect(atProcess.activation).toMatchObject({ routine_id: "process", input: { count: 3, data: [1, 2, 3] }, input_truncated: false });
    expect((await api(s2, "GET", `/api/jobs/${firstFork}`)).json.forked_from).toEqual({ job_id: origin, seq: processSeq });

    const fork = await api(s2, "POST", `/api/jobs/${origin}/fork`, { from_seq: processSeq });
    expect(fork.status).toBe(201);
    const forkId = fork.json.job_id as string;
    expect((await finished(s2, forkId)).status).toBe("completed");
    expect(await validateInput(s2, forkId)).toEqual({ result: [2, 4, 6] });
    expect(JSON.stringify((await api(s2, "GET", `/api/jobs/${origin}/trace`)).json)).toBe(JSON.stringify(traceBefore));
    await s2.stop();
    expect(dbRows(FILE, origin)).toBe(rowsAfterFirstServer);

    const s3 = await start(env);
    expect((await api(s3, "GET", `/api/jobs/${forkId}`)).json.forked_from).toEqual({ job_id: origin, seq: processSeq });
    const list = (await api(s3, "GET", "/api/jobs?flow_id=data_processing")).json.jobs as { job_id: string; forked_from: unknown }[];
    expect(list.find((j) => j.job_id === forkId)?.forked_from).toEqual({ job_id: origin, seq: processSeq });
    expect(list.find((j) => j.job_id === origin)?.forked_from).toBeNull();
  });

  it("a state before the oldest kept event is refused with EVENTS_NOT_RETAINED", async () => {
    const s = await start({ ROUTILUX_MAX_EVENTS_PER_JOB: "40" });
    const long = await api(s, "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 20, interval_ms: 1 } });
    const id = long.json.job_id as string;
    const snap = await finished(s, id);
    const gone = await api(s, "GET", `/api/jobs/${id}/state?at_seq=1`);
    expect(gone.status).toBe(404);
    expect((gone.json.error as { code: string }).code).toBe("EVENTS_NOT_RETAINED");
    const fork = await api(s, "POST", `/api/jobs/${id}/fork`, { from_seq: 3 });
    expect(fork.status).toBe(404);
    expect((fork.json.error as { code: string }).code).toBe("EVENTS_NOT_RETAINED");
    expect((snap.last_seq as number) > 40).toBe(true);
  });
});

describe("time-travel error paths", () => {
  it("answer a clear 4xx with a code", async () => {
    const s = servers.find((x) => x.process.exitCode === null) ?? (await start({}));
    const origin = await runDataProcessing(s, [1]);
    const last = (await api(s, "GET", `/api/jobs/${origin}`)).json.last_seq as number;
    const code = (r: { json: Record<string, unknown> }) => (r.json.error as { code: string }).code;

    const cases: [string, string, unknown, number, string | null][] = [
      ["GET", `/api/jobs/${origin}/state?at_seq=${last + 1}`, undefined, 400, "SEQ_OUT_OF_RANGE"],
      ["GET", `/api/jobs/${origin}/state?at_seq=-1`, undefined, 400, null],
      ["GET", `/api/jobs/${origin}/state?at_seq=abc`, undefined, 400, null],
      ["GET", `/api/jobs/${origin}/state`, undefined, 400, null],
      ["GET", "/api/jobs/job_nope/state?at_seq=1", undefined, 404, "JOB_NOT_FOUND"],
      ["POST", `/api/jobs/${origin}/fork`, { from_seq: 1 }, 400, "NOT_A_ROUTINE_START"],
      ["POST", `/api/jobs/${origin}/fork`, { from_seq: last + 5 }, 400, "SEQ_OUT_OF_RANGE"],
      ["POST", `/api/jobs/${origin}/fork`, { from_seq: 0 }, 400, null],
      ["POST", "/api/jobs/job_nope/fork", { from_seq: 2 }, 404, "JOB_NOT_FOUND"],
      ["POST", `/api/jobs/${origin}/fork`, { from_seq: 2, activation_id: 1 }, 400, null],
      ["POST", `/api/jobs/${origin}/fork`, {}, 400, null],
      ["POST", `/api/jobs/${origin}/fork`, { activation_id: 999 }, 404, "ACTIVATION_NOT_FOUND"],
      ["POST", `/api/jobs/${origin}/fork`, { activation_id: 1, payload: [1, 2] }, 400, null],
      ["POST", `/api/jobs/${origin}/fork`, { activation_id: 1, payload: "x" }, 400, null],
      ["POST", `/api/jobs/${origin}/fork`, { activation_id: 1, shared_data: 3 }, 400, null],
      ["POST", `/api/jobs/${origin}/fork`, { activation_id: 1, extra: true }, 400, null],
    ];
    for (const [method, path, body, status, expected] of cases) {
      const r = await api(s, method, path, body);
      expect({ path, body, status: r.status }).toEqual({ path, body, status });
      expect(code(r)).toEqual(expected ?? expect.any(String));
      expect((r.json.error as { message: string }).message.length).toBeGreaterThan(0);
    }
    // Nothing was started by the refused forks.
    const jobs = (await api(s, "GET", "/api/jobs?flow_id=data_processing")).json.jobs as { forked_from: { job_id: string } | null }[];
    expect(jobs.filter((j) => j.forked_from?.job_id === origin)).toEqual([]);
  });
});
