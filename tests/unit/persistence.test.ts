import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DEFAULT_PAYLOAD_BUDGET_BYTES, type Job, Runtime } from "../../lib";
import { type Db, HistoryArchive, HistoryReader, INTERRUPTED_MESSAGE, migrate, openDatabase, SCHEMA_VERSION } from "../../lib/persistence";
import { waitFor } from "../helpers/flows";

const dir = mkdtempSync(join(tmpdir(), "routilux-persist-"));
let fileCounter = 0;
const dbFile = (): string => join(dir, `t${++fileCounter}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINE = {
  routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } },
  connections: [{ from: "a.output", to: "b.input" }],
};

let runtimes: Runtime[] = [];
afterEach(() => {
  // Each test leaves the process-wide monitoring services as it found them.
  for (const r of runtimes) r.close();
  runtimes = [];
  const m = new Runtime().monitoring;
  for (const job of m.jobStore.list().jobs) {
    job.cancel("test cleanup");
  }
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  for (const bp of m.breakpointManager.getAllFlowBreakpoints()) m.breakpointManager.removeBreakpoint(bp.breakpoint_id);
});

function open(path: string, retentionJobs?: number): Runtime {
  const r = new Runtime({ persistence: { path, ...(retentionJobs === undefined ? {} : { retentionJobs }) } });
  runtimes.push(r);
  return r;
}

/** Forgets this process's jobs, as a new process would (the database is closed first). */
function simulateRestart(r: Runtime): void {
  r.close();
  runtimes = runtimes.filter((x) => x !== r);
  const m = r.monitoring;
  for (const job of m.jobStore.list().jobs) job.cancel("restart");
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  for (const bp of m.breakpointManager.getAllFlowBreakpoints()) m.breakpointManager.removeBreakpoint(bp.breakpoint_id);
}

function dbOf(r: Runtime): Db {
  if (!r.persistence) throw new Error("no persistence");
  return r.persistence.db;
}

async function run(r: Runtime, x: number): Promise<Job> {
  const job = r.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x } });
  await job.done;
  return job;
}

describe("schema", () => {
  it("migrates a new database once and is idempotent", () => {
    const db = openDatabase(":memory:");
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    migrate(db);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(["breakpoints", "events", "flow_structures", "flows", "jobs", "payloads"]);
    db.close();
  });

  it("uses WAL for a file database", () => {
    const db = openDatabase(dbFile());
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });
});

describe("durable history", () => {
  it("serves the same jobs, snapshots, metrics, traces, flows and flow breakpoints after a restart", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    const bp = r1.monitoring.breakpointManager.setBreakpoint({ flow_id: "pipeline", routine_id: "b", hit_condition: ">= 100" });
    const jobs = [await run(r1, 2), await run(r1, 0), await run(r1, 5)];
    const before = {
      list: r1.listJobs(),
      snapshots: jobs.map((j) => JSON.stringify(r1.jobSnapshot(j.jobId))),
      metrics: jobs.map((j) => JSON.stringify(r1.jobMetrics(j.jobId))),
      traces: jobs.map((j) => JSON.stringify(r1.monitoring.monitorCollector.getExecutionTrace(j.jobId))),
      info: jobs.map((j) => r1.monitoring.monitorCollector.traceInfo(j.jobId)),
      bps: JSON.stringify(r1.monitoring.breakpointManager.getFlowBreakpoints("pipeline")),
    };
    expect(before.bps).toContain('"hit_count":3');
    simulateRestart(r1);
    r1.deleteFlow("pipeline"); // the flow object of the "old process"; the database keeps it

    const r2 = open(path);
    expect(r2.getFlow("pipeline").routines.size).toBe(2);
    expect(r2.listJobs()).toEqual(before.list);
    expect(jobs.map((j) => JSON.stringify(r2.jobSnapshot(j.jobId)))).toEqual(before.snapshots);
    expect(jobs.map((j) => JSON.stringify(r2.jobMetrics(j.jobId)))).toEqual(before.metrics);
    expect(jobs.map((j) => JSON.stringify(r2.monitoring.monitorCollector.getExecutionTrace(j.jobId)))).toEqual(before.traces);
    expect(jobs.map((j) => r2.monitoring.monitorCollector.traceInfo(j.jobId))).toEqual(before.info);
    expect(JSON.stringify(r2.monitoring.breakpointManager.getFlowBreakpoints("pipeline"))).toBe(before.bps);
    // Replay source for the sockets: events after a seq.
    const first = jobs[0] as Job;
    const replay = r2.monitoring.monitorCollector.eventsAfter(first.jobId, 2);
    expect(replay.events.map((e) => e.seq)[0]).toBe(3);
    expect(replay.events.at(-1)?.event_type).toBe("job_completed");
    // A restored job is read-only.
    expect(() => r2.getJob(first.jobId)).toThrow(/restored from history/);
    // New jobs carry on beside the restored ones, newest first; the flow breakpoint still counts.
    await run(r2, 7);
    expect(r2.listJobs().total).toBe(4);
    expect(r2.monitoring.breakpointManager.getBreakpoint(bp.breakpoint_id)?.hit_count).toBe(4);
  });

  it("a restored snapshot says the seq it is as of and its payloads per connection, also when it was stored without them", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    const jobs = [await run(r1, 2), await run(r1, 5)];
    const served = jobs.map((j) => r1.jobSnapshot(j.jobId));
    expect(served[0]).toMatchObject({ last_seq: r1.monitoring.monitorCollector.traceInfo(jobs[0]?.jobId ?? "")?.last_seq, connection_counts: { "a.output:b.input": 1 } });
    r1.persistence?.flush();
    // A row as an older version wrote it: the snapshot without the two fields.
    const db = dbOf(r1);
    const second = jobs[1] as Job;
    const row = db.prepare("SELECT snapshot FROM jobs WHERE job_id = ?").get(second.jobId) as { snapshot: string };
    const { last_seq: _seq, connection_counts: _counts, ...older } = JSON.parse(row.snapshot) as Record<string, unknown>;
    db.prepare("UPDATE jobs SET snapshot = ? WHERE job_id = ?").run(JSON.stringify(older), second.jobId);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");

    const r2 = open(path);
    expect(jobs.map((j) => r2.jobSnapshot(j.jobId))).toEqual(served);
  });

  it("closes a job that was running when the process died as failed, with a final event after the last seq", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    const job = r1.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 3 }, pause_on_start: true });
    await waitFor(() => job.status === "paused");
    r1.persistence?.flush();
    const lastSeq = r1.monitoring.monitorCollector.traceInfo(job.jobId)?.last_seq ?? 0;
    expect(lastSeq).toBeGreaterThan(0);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");

    const r2 = open(path);
    expect(r2.persistence?.interrupted).toEqual([job.jobId]);
    const summary = r2.jobSummary(job.jobId);
    expect(summary.status).toBe("failed");
    expect(summary.error?.message).toBe(INTERRUPTED_MESSAGE);
    const snap = r2.jobSnapshot(job.jobId);
    expect(snap.status).toBe("failed");
    expect(snap.error?.message).toBe(INTERRUPTED_MESSAGE);
    expect(r2.jobMetrics(job.jobId).status).toBe("failed");
    const trace = r2.monitoring.monitorCollector.getExecutionTrace(job.jobId);
    expect(trace.at(-1)).toMatchObject({ seq: lastSeq + 1, event_type: "job_failed", status: "failed" });
    expect(trace.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq + 1 }, (_, i) => i + 1));
    expect(r2.monitoring.monitorCollector.eventsAfter(job.jobId, lastSeq).events.map((e) => e.event_type)).toEqual(["job_failed"]);
  });

  it("keeps at most ROUTILUX_RETENTION_JOBS finished jobs, in memory and in the database", async () => {
    const path = dbFile();
    const r = open(path, 3);
    r.createFlow("pipeline", PIPELINE);
    const jobs: Job[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await run(r, i));
    r.persistence?.flush();
    r.persistence?.flush(); // removals made by retention are deleted by the tick they were made in
    expect(r.listJobs().jobs.map((j) => j.job_id)).toEqual(jobs.slice(2).reverse().map((j) => j.jobId));
    const db = dbOf(r);
    expect((db.prepare("SELECT COUNT(*) AS n FROM jobs").get() as { n: number }).n).toBe(3);
    const orphans = db.prepare("SELECT COUNT(*) AS n FROM events WHERE job_id NOT IN (SELECT job_id FROM jobs)").get() as { n: number };
    expect(orphans.n).toBe(0);
  });

  it("removeOldJobs deletes finished jobs from the database too, restored ones included", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    await run(r1, 1);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");
    const r2 = open(path);
    await run(r2, 2);
    expect(r2.listJobs().total).toBe(2);
    expect(r2.removeOldJobs(0)).toBe(2);
    r2.persistence?.flush();
    expect(r2.listJobs().total).toBe(0);
    const db = dbOf(r2);
    expect((db.prepare("SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM events) AS n").get() as { n: number }).n).toBe(0);
  });

  it("saves graph edits and deletions of flows created over the API, never code flows", () => {
    const path = dbFile();
    const r = open(path);
    r.createFlow("edited", PIPELINE);
    const flow = r.getFlow("edited");
    flow.addRoutine(r.registry.create("passthrough", {}), "c");
    flow.connect("b", "output", "c", "input");
    r.flowChanged("edited");
    r.createFlow("gone", PIPELINE);
    r.deleteFlow("gone");
    r.persistence?.flush();
    const reader = new HistoryReader(dbOf(r));
    const flows = reader.flows();
    expect(flows.map((f) => f.flow_id)).toEqual(["edited"]);
    expect(JSON.parse((flows[0] as { dsl: string }).dsl).connections).toHaveLength(2);
  });

  it("writes a running job's trace window as it goes, bounded by the ring", async () => {
    const path = dbFile();
    const r = open(path);
    r.monitoring.monitorCollector.setMaxEventsPerJob(50);
    try {
      r.createFlow("pipeline", PIPELINE);
      const job = r.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 3 }, pause_on_start: true });
      await waitFor(() => job.status === "paused");
      r.persistence?.flush();
      const reader = new HistoryReader(dbOf(r));
      const archive = new HistoryArchive(reader);
      archive.load(reader.summaries());
      expect(archive.get(job.jobId)?.summary.status).toBe("paused");
      expect(reader.eventsAfter(job.jobId, 0).length).toBe(r.monitoring.monitorCollector.traceInfo(job.jobId)?.retained);
      job.cancel("done");
      await job.done;
      r.persistence?.flush();
      const stored = reader.eventsAfter(job.jobId, 0);
      expect(stored.map((e) => e.event_type)).toContain("job_cancelled");
      expect(JSON.stringify(stored)).toBe(JSON.stringify(r.monitoring.monitorCollector.getExecutionTrace(job.jobId)));
    } finally {
      r.monitoring.monitorCollector.setMaxEventsPerJob(1000);
    }
  });
});

describe("full payloads in the database", () => {
  afterEach(() => new Runtime().monitoring.monitorCollector.setPayloadBudget(DEFAULT_PAYLOAD_BUDGET_BYTES));

  const bigParams = (x: number) => ({ x, data: Array.from({ length: 1500 }, (_, i) => i * 3) });
  const count = (db: Db, sql: string): number => (db.prepare(sql).get() as { n: number }).n;

  it("serves a finished job's inputs and outputs in full after a restart, read from the database once written", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    const params = bigParams(3);
    const job = r1.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: params });
    await job.done;
    const collector = r1.monitoring.monitorCollector;
    const before = JSON.stringify(r1.jobIo(job.jobId));
    const io = r1.jobIo(job.jobId);
    expect(io.rows.map((r) => [r.routine_id, r.kind, r.truncated])).toEqual([
      ["a", "input", false],
      ["a", "output", false],
      ["b", "input", false],
      ["b", "output", false],
    ]);
    expect(io.rows.every((r) => JSON.stringify(r.payload) === JSON.stringify(params))).toBe(true);
    const events = io.rows.map((r) => JSON.stringify(r1.jobEvent(job.jobId, r.seq)));
    const params1 = JSON.stringify(r1.jobEvent(job.jobId, 1));
    // Written at the job's end; memory then keeps only the counters.
    r1.persistence?.flush();
    expect(collector.jobRecord(job.jobId)?.payloads.released).toBe(true);
    expect(collector.jobRecord(job.jobId)?.payloads.size).toBe(0);
    expect(count(dbOf(r1), "SELECT COUNT(*) AS n FROM payloads")).toBe(5);
    expect(JSON.stringify(r1.jobIo(job.jobId))).toBe(before);
    expect(io.rows.map((r) => JSON.stringify(r1.jobEvent(job.jobId, r.seq)))).toEqual(events);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");

    const r2 = open(path);
    expect(JSON.stringify(r2.jobIo(job.jobId))).toBe(before);
    expect(JSON.stringify(r2.jobIo(job.jobId, { routineId: "b", kind: "output" }).rows)).toBe(JSON.stringify(io.rows.slice(3)));
    expect(r2.jobIo(job.jobId, { afterSeq: io.rows[1]?.seq, limit: 1 })).toMatchObject({ has_more: true, rows: [{ seq: io.rows[2]?.seq }] });
    expect(io.rows.map((r) => JSON.stringify(r2.jobEvent(job.jobId, r.seq)))).toEqual(events);
    expect(JSON.stringify(r2.jobEvent(job.jobId, 1))).toBe(params1);
    expect(() => r2.jobEvent(job.jobId, 10_000)).toThrow(/no event 10000/);
  });

  it("keeps the budget's verdict across a restart: previews past it, flags and counts", async () => {
    const path = dbFile();
    const r1 = new Runtime({ persistence: { path }, payloadBudgetBytes: 20_000 });
    runtimes.push(r1);
    r1.createFlow("pipeline", PIPELINE);
    const job = r1.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: bigParams(2) });
    await job.done;
    r1.persistence?.flush();
    const before = r1.jobIo(job.jobId);
    expect(before.payloads).toMatchObject({ budget_bytes: 20_000, truncated: true });
    expect(before.rows.some((r) => r.truncated)).toBe(true);
    expect(before.rows.some((r) => !r.truncated)).toBe(true);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");
    const r2 = open(path);
    expect(JSON.stringify(r2.jobIo(job.jobId))).toBe(JSON.stringify(before));
  });

  it("removes payloads with their job: removeOldJobs, retention", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    await run(r1, 1);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");
    const r2 = open(path, 2);
    const kept: Job[] = [];
    for (let i = 0; i < 3; i++) kept.push(await run(r2, i + 2));
    r2.persistence?.flush();
    r2.persistence?.flush();
    const db = dbOf(r2);
    // Retention: the restored job and the oldest of this run went, with their payloads.
    expect(r2.listJobs().total).toBe(2);
    expect(count(db, "SELECT COUNT(*) AS n FROM payloads WHERE job_id NOT IN (SELECT job_id FROM jobs)")).toBe(0);
    expect(count(db, "SELECT COUNT(DISTINCT job_id) AS n FROM payloads")).toBe(2);
    expect(r2.removeOldJobs(0)).toBe(2);
    r2.persistence?.flush();
    expect(count(db, "SELECT COUNT(*) AS n FROM payloads")).toBe(0);
    expect(() => r2.jobIo((kept[2] as Job).jobId)).toThrow(/not found/);
  });

  it("answers with the trace's previews for jobs stored before payloads were kept (schema v1) and for interrupted jobs", async () => {
    const path = dbFile();
    const r1 = open(path);
    r1.createFlow("pipeline", PIPELINE);
    const old = await run(r1, 4);
    const paused = r1.startJob({ flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 3 }, pause_on_start: true });
    await waitFor(() => paused.status === "paused");
    r1.persistence?.flush();
    const trace = r1.monitoring.monitorCollector.getExecutionTrace(old.jobId);
    simulateRestart(r1);
    r1.deleteFlow("pipeline");
    // Back to the v1 layout, as a database written by the previous version would be.
    const raw = openDatabase(path);
    raw.exec("DROP TABLE payloads; ALTER TABLE jobs DROP COLUMN payload_stats; DROP TABLE flow_structures; DROP INDEX jobs_flow_key; ALTER TABLE jobs DROP COLUMN flow_key; ALTER TABLE jobs DROP COLUMN forked_from;");
    raw.pragma("user_version = 1");
    raw.close();

    const r2 = open(path);
    expect(dbOf(r2).pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    const io = r2.jobIo(old.jobId);
    expect(io.payloads).toMatchObject({ kept: 0, truncated: true, previews_after_seq: 0 });
    expect(io.payloads.truncated_count).toBeGreaterThan(0);
    expect(io.rows.map((r) => r.seq)).toEqual(trace.filter((e) => e.event_type === "routine_start" || e.event_type === "event_emit").map((e) => e.seq));
    expect(io.rows.every((r) => r.truncated)).toBe(true);
    const start = trace.find((e) => e.event_type === "routine_start");
    expect(r2.jobEvent(old.jobId, start?.seq ?? 0)).toMatchObject({ event: start, truncated: true });
    const interrupted = r2.jobIo(paused.jobId);
    expect(interrupted.payloads.truncated).toBe(true);
    expect(interrupted.rows.every((r) => r.truncated)).toBe(true);
    // New jobs keep payloads again.
    r2.createFlow("pipeline2", PIPELINE);
    const fresh = r2.startJob({ flow_id: "pipeline2", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 5 } });
    await fresh.done;
    expect(r2.jobIo(fresh.jobId).payloads.truncated).toBe(false);
  });
});
