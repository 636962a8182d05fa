/**
 * Jobs run elsewhere (scale-out): a worker runtime without history exports a finished job as a
 * JobBundle, the control plane imports it into its history, and every read of the job there
 * answers as the worker answered (as for a job restored from history). Also: a job whose worker
 * died, rebuilt from its committed events (bundleFromEvents).
 *
 * Both "processes" live in this one: monitoring is process-wide, so the worker's answers are
 * captured first, its jobs forgotten (as a process that ended), and only then is the control
 * plane's runtime opened and the bundles imported.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  bundleFromEvents,
  exportJobBundle,
  type Job,
  type JobBundle,
  JobBundleSchema,
  type JobSummary,
  parseJobBundle,
  Runtime,
  type RuntimeOptions,
  type TraceEvent,
} from "../../lib";
import { HistoryUnavailableError } from "../../lib/persistence";
import { demoFlows } from "../../server/demos";
import { waitFor } from "../helpers/flows";

const dir = mkdtempSync(join(tmpdir(), "routilux-bundle-"));
let fileCounter = 0;
const dbFile = (): string => join(dir, `b${++fileCounter}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runtimes: Runtime[] = [];
afterEach(() => {
  for (const r of runtimes) r.close();
  runtimes = [];
  forgetJobs(new Runtime());
});

function runtime(options: RuntimeOptions = {}): Runtime {
  const r = new Runtime({ flows: demoFlows(), ...options });
  runtimes.push(r);
  return r;
}

/** Drops every job of the process's monitoring, as a process that ended would lose them. */
function forgetJobs(r: Runtime): void {
  const m = r.monitoring;
  for (const job of m.jobStore.list().jobs) job.cancel("test cleanup");
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  for (const bp of m.breakpointManager.getAllFlowBreakpoints()) m.breakpointManager.removeBreakpoint(bp.breakpoint_id);
}

/** The answer as JSON text, or the error's code and message: a read that fails must fail alike. */
function answer(read: () => unknown): string {
  try {
    return JSON.stringify(read());
  } catch (err) {
    return `error ${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

/** Every read the API serves for a finished job, as text. */
function observe(r: Runtime, jobId: string): Record<string, string> {
  const c = r.monitoring.monitorCollector;
  const info = c.traceInfo(jobId);
  const last = info?.last_seq ?? 0;
  const out: Record<string, string> = {
    summary: answer(() => r.jobSummary(jobId)),
    listed: answer(() => r.listJobs().jobs.find((j) => j.job_id === jobId)),
    snapshot: answer(() => r.jobSnapshot(jobId)),
    metrics: answer(() => r.jobMetrics(jobId)),
    trace: answer(() => c.getExecutionTrace(jobId)),
    traceTail: answer(() => c.getExecutionTrace(jobId, 3)),
    info: answer(() => info),
    replay: answer(() => c.eventsAfter(jobId, 0).events.map((e) => e.toJSON())),
    replayMid: answer(() => c.eventsAfter(jobId, Math.floor(last / 2)).events.map((e) => e.toJSON())),
    replayLast: answer(() => c.eventsAfter(jobId, last)),
    payloadStats: answer(() => c.payloadStats(jobId)),
    io: answer(() => r.jobIo(jobId)),
    flow: answer(() => r.jobFlow(jobId)),
    session: answer(() => r.jobSession(jobId).status),
  };
  // io in pages of two, and filtered by routine and kind.
  let after = 0;
  for (let page = 0; page < 200; page++) {
    const p = r.jobIo(jobId, { afterSeq: after, limit: 2 });
    out[`io page ${page}`] = JSON.stringify(p);
    const lastRow = p.rows.at(-1);
    if (!p.has_more || lastRow === undefined) break;
    after = lastRow.seq;
  }
  const snap = r.jobSnapshot(jobId);
  for (const routineId of Object.keys(snap.routine_states)) {
    out[`io ${routineId}`] = answer(() => r.jobIo(jobId, { routineId }));
    out[`io ${routineId} outputs`] = answer(() => r.jobIo(jobId, { routineId, kind: "output" }));
  }
  for (let seq = 0; seq <= last + 1; seq++) {
    out[`event ${seq}`] = answer(() => c.eventAt(jobId, seq));
    out[`event+payload ${seq}`] = answer(() => r.jobEvent(jobId, seq));
    out[`state at ${seq}`] = answer(() => r.jobStateAt(jobId, seq));
  }
  return out;
}

async function start(r: Runtime, body: Parameters<Runtime["startJob"]>[0]): Promise<Job> {
  const job = r.startJob(body);
  await job.done;
  return job;
}

/** The trace's first routine_start of a routine. */
function startSeq(r: Runtime, jobId: string, routineId: string): number {
  const e = r.monitoring.monitorCollector.getExecutionTrace(jobId).find((x) => x.event_type === "routine_start" && x.routine_id === routineId);
  if (!e) throw new Error(`no routine_start of ${routineId}`);
  return e.seq;
}

type DemoJob = "dp" | "dp2" | "failed" | "fanOut" | "flaky" | "stream" | "cancelled" | "edited" | "fork";

/** Runs one job of every demo flow, and the odd ones: failed, cancelled, edited at a breakpoint, forked. */
async function runDemoJobs(r: Runtime): Promise<Record<DemoJob, Job>> {
  const dp = await start(r, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3] } });
  const dp2 = await start(r, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 5] } });
  const failed = await start(r, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: "not a list" } });
  const fanOut = await start(r, { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [3, 12, 7, 25] } });
  const flaky = await start(r, { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} });
  const stream = await start(r, { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 8, interval_ms: 1 } });

  const cancelled = r.startJob({ flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 10_000, interval_ms: 2 } });
  await waitFor(() => (r.monitoring.monitorCollector.traceInfo(cancelled.jobId)?.last_seq ?? 0) >= 20);
  cancelled.cancel("enough");
  await cancelled.done;

  // Held at a breakpoint, its input and the shared data edited in the debugger, then continued.
  const edited = r.startJob({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] }, breakpoints: [{ routine_id: "process" }] });
  const sessions = r.monitoring.debugSessionManager;
  await waitFor(() => edited.isFinished || sessions.get(edited.jobId)?.status === "paused");
  const session = sessions.getSession(edited.jobId);
  session.setVariable("data", [10, 20, 30]);
  session.setVariable("edited", true, "shared");
  session.continue();
  await edited.done;

  const fork = r.forkJob(dp.jobId, { from_seq: startSeq(r, dp.jobId, "process") });
  await fork.job.done;
  return { dp, dp2, failed, fanOut, flaky, stream, cancelled, edited, fork: fork.job };
}

/** A bundle as it arrives on the other side: JSON text, parsed and validated. */
function overTheWire(b: JobBundle): JobBundle {
  return parseJobBundle(JSON.parse(JSON.stringify(b)));
}

const count = (r: Runtime, sql: string, ...args: unknown[]): number => ((r.persistence?.db.prepare(sql).get(...args) as { n: number } | undefined)?.n ?? -1);

describe("exportJobBundle → importJob", () => {
  it("the imported jobs answer every read exactly as the worker did: snapshot, list, trace, replay, metrics, io, events, flow, state at each seq, diff", async () => {
    const worker = runtime();
    const jobs = await runDemoJobs(worker);
    expect(Object.fromEntries(Object.entries(jobs).map(([k, j]) => [k, j.status]))).toEqual({
      dp: "completed",
      dp2: "completed",
      failed: "failed",
      fanOut: "completed",
      flaky: "completed",
      stream: "completed",
      cancelled: "cancelled",
      edited: "completed",
      fork: "completed",
    });
    const ids = Object.values(jobs).map((j) => j.jobId);
    const before = new Map(ids.map((id) => [id, observe(worker, id)]));
    const pairs: [string, string][] = [
      [jobs.dp.jobId, jobs.dp2.jobId],
      [jobs.dp.jobId, jobs.edited.jobId],
      [jobs.dp.jobId, jobs.fork.jobId],
      [jobs.dp.jobId, jobs.failed.jobId],
      [jobs.stream.jobId, jobs.cancelled.jobId],
    ];
    // The reads compared below are answers, not errors that happen to match.
    for (const o of before.values()) for (const key of ["summary", "listed", "snapshot", "metrics", "trace", "io", "flow", "event+payload 1", "state at 1"]) expect(o[key]).not.toMatch(/^error/);
    const diffs = pairs.map(([a, b]) => answer(() => worker.jobDiff(a, b)));
    for (const d of diffs) expect(d).not.toMatch(/^error/);
    const bundles = ids.map((id) => exportJobBundle(worker, id));
    // What the edit and the fork leave behind travels too.
    expect(before.get(jobs.edited.jobId)?.snapshot).toContain('"edited":true');
    expect(bundles.find((b) => b.summary.job_id === jobs.fork.jobId)?.summary.forked_from).toEqual({ job_id: jobs.dp.jobId, seq: startSeq(worker, jobs.dp.jobId, "process") });
    expect(bundles.every((b) => b.made_from === "record" && b.flow !== null)).toBe(true);
    expect(bundles.find((b) => b.summary.job_id === jobs.dp.jobId)?.payloads.rows.length).toBeGreaterThan(0);
    const arrived = bundles.map(overTheWire);
    for (const b of arrived) expect(JobBundleSchema.safeParse(b).success).toBe(true);
    // The text is the same after the round trip: nothing is lost or reordered on the way.
    expect(arrived.map((b) => JSON.stringify(b))).toEqual(bundles.map((b) => JSON.stringify(b)));
    forgetJobs(worker);
    expect(worker.hasJob(jobs.dp.jobId)).toBe(false);

    const server = runtime({ persistence: { path: ":memory:" } });
    for (const b of arrived) server.persistence?.importJob(b);
    for (const id of ids) expect(observe(server, id)).toEqual(before.get(id));
    expect(pairs.map(([a, b]) => answer(() => server.jobDiff(a, b)))).toEqual(diffs);
    // Newest first, as restored jobs are listed.
    expect(server.listJobs().jobs.map((j) => j.job_id)).toEqual([...ids].reverse());
    // Read-only, as any job restored from history.
    expect(() => server.getJob(jobs.dp.jobId)).toThrow(/restored from history/);
  });

  it("importing the same job twice leaves one job; it survives a restart of the control plane", async () => {
    const worker = runtime();
    const job = await start(worker, { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [3, 12, 7, 25] } });
    const before = observe(worker, job.jobId);
    const bundle = exportJobBundle(worker, job.jobId);
    forgetJobs(worker);

    const path = dbFile();
    const server = runtime({ persistence: { path } });
    server.persistence?.importJob(overTheWire(bundle));
    server.persistence?.importJob(overTheWire(bundle));
    server.persistence?.flush();
    expect(server.listJobs().jobs.map((j) => j.job_id)).toEqual([job.jobId]);
    expect(count(server, "SELECT COUNT(*) AS n FROM jobs")).toBe(1);
    expect(count(server, "SELECT COUNT(*) AS n FROM events WHERE job_id = ?", job.jobId)).toBe(bundle.trace.retained);
    expect(count(server, "SELECT COUNT(*) AS n FROM payloads WHERE job_id = ?", job.jobId)).toBe(bundle.payloads.rows.length);
    expect(count(server, "SELECT COUNT(*) AS n FROM flow_structures")).toBe(1);
    expect(observe(server, job.jobId)).toEqual(before);
    server.close();
    runtimes = runtimes.filter((r) => r !== server);

    const restarted = runtime({ persistence: { path } });
    expect(restarted.listJobs().total).toBe(1);
    expect(observe(restarted, job.jobId)).toEqual(before);
    // And once more after the restart: still one job.
    restarted.persistence?.importJob(overTheWire(bundle));
    expect(restarted.listJobs().total).toBe(1);
    expect(observe(restarted, job.jobId)).toEqual(before);
  });

  it("a job whose trace ring dropped events travels as its retained window", async () => {
    const worker = runtime({ maxEventsPerJob: 25 });
    try {
      const job = await start(worker, { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 12, interval_ms: 1 } });
      const before = observe(worker, job.jobId);
      const bundle = exportJobBundle(worker, job.jobId);
      expect(bundle.trace.dropped).toBeGreaterThan(0);
      expect(bundle.trace.events[0]?.seq).toBe(bundle.trace.dropped + 1);
      // Early states cannot be rebuilt, on either side.
      expect(before["state at 1"]).toMatch(/^error EVENTS_NOT_RETAINED/);
      forgetJobs(worker);
      const server = runtime({ persistence: { path: ":memory:" } });
      server.persistence?.importJob(overTheWire(bundle));
      expect(observe(server, job.jobId)).toEqual(before);
    } finally {
      worker.monitoring.monitorCollector.setMaxEventsPerJob(1000);
    }
  });

  it("applies retention to imported jobs like to any finished job", async () => {
    const worker = runtime();
    const bundles: JobBundle[] = [];
    for (let i = 0; i < 3; i++) {
      const job = await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [i + 1] } });
      bundles.push(exportJobBundle(worker, job.jobId));
    }
    forgetJobs(worker);
    const server = runtime({ persistence: { path: ":memory:", retentionJobs: 2 } });
    for (const b of bundles) server.persistence?.importJob(b);
    const newest = bundles.slice(1).map((b) => b.summary.job_id).reverse();
    expect(server.listJobs().jobs.map((j) => j.job_id)).toEqual(newest);
    server.persistence?.flush();
    expect(count(server, "SELECT COUNT(*) AS n FROM jobs")).toBe(2);
    expect(count(server, "SELECT COUNT(*) AS n FROM events WHERE job_id NOT IN (SELECT job_id FROM jobs)")).toBe(0);
    expect(count(server, "SELECT COUNT(*) AS n FROM payloads WHERE job_id NOT IN (SELECT job_id FROM jobs)")).toBe(0);
  });

  it("is refused with 503 when history cannot be written, like any write", async () => {
    const worker = runtime();
    const job = await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] } });
    const bundle = exportJobBundle(worker, job.jobId);
    forgetJobs(worker);
    const path = dbFile();
    const writable = runtime({ persistence: { path } });
    writable.close();
    runtimes = runtimes.filter((r) => r !== writable);
    const readOnly = runtime({ persistence: { path, readOnly: true } });
    let refused: unknown = null;
    try {
      readOnly.persistence?.importJob(bundle);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(HistoryUnavailableError);
    expect(refused).toMatchObject({ code: "HISTORY_UNAVAILABLE", kind: "unavailable" });
    expect(readOnly.listJobs().total).toBe(0);
  });

  it("exports only a finished job this runtime holds", async () => {
    const worker = runtime();
    expect(() => exportJobBundle(worker, "job_unknown")).toThrow(expect.objectContaining({ code: "JOB_NOT_FOUND" }));
    const paused = worker.startJob({ flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] }, pause_on_start: true });
    await waitFor(() => paused.status === "paused");
    expect(() => exportJobBundle(worker, paused.jobId)).toThrow(expect.objectContaining({ code: "JOB_NOT_FINISHED" }));
    paused.cancel("done");
    await paused.done;
    expect(exportJobBundle(worker, paused.jobId).summary.status).toBe("cancelled");
  });

  it("refuses bundles that are malformed or inconsistent, and jobs this process holds", async () => {
    const worker = runtime();
    const job = await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] } });
    const bundle = exportJobBundle(worker, job.jobId);
    const copy = (): JobBundle => JSON.parse(JSON.stringify(bundle)) as JobBundle;
    const bad: [string, (b: JobBundle) => void][] = [
      ["unknown version", (b) => Object.assign(b, { bundle_version: 2 })],
      ["extra field", (b) => Object.assign(b, { extra: 1 })],
      ["unfinished", (b) => Object.assign(b.summary, { status: "running" })],
      ["status mismatch", (b) => Object.assign(b.snapshot, { status: "failed" })],
      ["gap in events", (b) => b.trace.events.splice(2, 1)],
      ["counts", (b) => Object.assign(b.trace, { dropped: 3 })],
      ["payload not JSON", (b) => Object.assign(b.payloads.rows[0] ?? {}, { json: "{oops" })],
      ["payload order", (b) => b.payloads.rows.reverse()],
      ["flow not a FlowDetail", (b) => Object.assign(b.flow ?? {}, { json: '{"flow_id":"x"}' })],
      ["event of another job", (b) => Object.assign(b.trace.events[1] ?? {}, { job_id: "job_other" })],
    ];
    for (const [what, spoil] of bad) {
      const b = copy();
      spoil(b);
      expect(JobBundleSchema.safeParse(b).success, what).toBe(false);
      expect(() => parseJobBundle(b), what).toThrow();
    }
    const server = runtime({ persistence: { path: ":memory:" } });
    // Still held by this process's monitoring (the worker and the server share it here).
    expect(() => server.persistence?.importJob(bundle)).toThrow(expect.objectContaining({ code: "JOB_EXISTS" }));
    forgetJobs(worker);
    const inconsistent = copy();
    inconsistent.trace.retained = 1;
    expect(() => server.persistence?.importJob(inconsistent)).toThrow(expect.objectContaining({ code: "INVALID_JOB_BUNDLE" }));
    expect(server.listJobs().total).toBe(0);
  });
});

describe("bundleFromEvents (a job whose worker was lost)", () => {
  const LOST = { message: "worker lost", error_type: "WorkerLost", routine_id: null };

  /** The job_failed event the control plane appends after the last committed one. */
  function workerLost(summary: JobSummary, after: TraceEvent): TraceEvent {
    return {
      event_id: `evt_${after.seq + 1}`,
      seq: after.seq + 1,
      job_id: summary.job_id,
      flow_id: summary.flow_id,
      routine_id: null,
      event_type: "job_failed",
      timestamp: after.timestamp,
      data: { status: "failed", error: LOST, cancel_reason: null, duration_ms: null },
      duration: null,
      status: "failed",
    };
  }

  it("on a whole trace, equals the record: routine states, connection counts, status, shared data, counts and handler times", async () => {
    const worker = runtime();
    const jobs = [
      await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3] } }),
      await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: "not a list" } }),
      await start(worker, { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [3, 12, 7, 25] } }),
      await start(worker, { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} }),
      await start(worker, { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 6, interval_ms: 1 } }),
    ];
    const long = worker.startJob({ flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 10_000, interval_ms: 2 } });
    await waitFor(() => (worker.monitoring.monitorCollector.traceInfo(long.jobId)?.last_seq ?? 0) >= 20);
    long.cancel("enough");
    await long.done;
    jobs.push(long);
    expect(jobs.map((j) => j.status)).toEqual(["completed", "failed", "completed", "completed", "completed", "cancelled"]);
    for (const job of jobs) {
      const exact = exportJobBundle(worker, job.jobId);
      const events = worker.monitoring.monitorCollector.getExecutionTrace(job.jobId);
      const rebuilt = bundleFromEvents({ summary: worker.jobSummary(job.jobId), events, flow: worker.monitoring.monitorCollector.jobRecord(job.jobId)?.flow ?? null });
      expect(rebuilt.made_from).toBe("trace");
      expect(JobBundleSchema.safeParse(JSON.parse(JSON.stringify(rebuilt))).success).toBe(true);
      const pick = (b: JobBundle) => ({
        status: b.snapshot.status,
        routine_states: b.snapshot.routine_states,
        connection_counts: b.snapshot.connection_counts,
        shared_data: b.snapshot.shared_data,
        shared_log: b.snapshot.shared_log.map((l) => ({ ...l, timestamp: null })),
        error: b.snapshot.error,
        cancel_reason: b.snapshot.cancel_reason,
        last_seq: b.snapshot.last_seq,
        entry: [b.snapshot.entry_routine_id, b.snapshot.entry_slot, b.snapshot.entry_params],
        summary: b.summary,
      });
      expect(pick(rebuilt), job.flowId).toEqual(pick(exact));
      const m = exact.metrics;
      const counts = (x: typeof m) => Object.values(x.routine_metrics).map((r) => [r.routine_id, r.execution_count, r.error_count]);
      expect(counts(rebuilt.metrics), job.flowId).toEqual(counts(m));
      expect(rebuilt.metrics.errors.map((e) => ({ ...e, timestamp: null })), job.flowId).toEqual(m.errors.map((e) => ({ ...e, timestamp: null })));
      expect(rebuilt.metrics, job.flowId).toMatchObject({
        status: m.status,
        start_time: m.start_time,
        end_time: m.end_time,
        duration_ms: m.duration_ms,
        total_routines: m.total_routines,
        completed_routines: m.completed_routines,
        failed_routines: m.failed_routines,
        total_events: m.total_events,
        total_activations: m.total_activations,
        total_event_emits: m.total_event_emits,
        total_errors: m.total_errors,
      });
      // Without errors, each activation's time is its routine_complete's, exactly (a routine_error's is read a moment later).
      if (m.total_errors === 0) expect(rebuilt.metrics.routine_metrics, job.flowId).toEqual(m.routine_metrics);
    }
  });

  it("a half-run job: its routine states and counts as of its last committed event, failed with the given error, served like any restored job", async () => {
    const worker = runtime();
    const job = await start(worker, { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 10, interval_ms: 1 } });
    const collector = worker.monitoring.monitorCollector;
    const all = collector.getExecutionTrace(job.jobId);
    // Cut in the middle of the stream: the source is still running, a few ticks went through.
    const cut = all.findIndex((e, i) => i > all.length / 2 && e.event_type === "event_emit" && e.routine_id === "source");
    const committed = all.slice(0, cut + 1);
    const k = committed.at(-1)?.seq ?? 0;
    const stateAtCut = worker.jobStateAt(job.jobId, k);
    expect(stateAtCut.routine_states.source?.status).toBe("running");
    const known = worker.jobSummary(job.jobId);
    // What the control plane knows of a job that was running: no end, no error.
    const summary: JobSummary = { ...known, status: "running", finished_at: null, duration_ms: null, error: null };
    const events = [...committed, workerLost(summary, committed.at(-1) as TraceEvent)];
    const flow = collector.jobRecord(job.jobId)?.flow ?? null;
    const bundle = bundleFromEvents({ summary, events, flow, error: LOST, entryParams: { count: 10, interval_ms: 1 } });

    expect(bundle.summary).toMatchObject({ status: "failed", error: LOST, finished_at: events.at(-1)?.timestamp });
    expect(bundle.snapshot).toMatchObject({ status: "failed", error: LOST, last_seq: k + 1, entry_params: { count: 10, interval_ms: 1 }, pending_activations: 0 });
    // The fold's end: what ran when the worker was lost is cancelled, the rest as it stood.
    const expected = Object.fromEntries(Object.entries(stateAtCut.routine_states).map(([id, s]) => [id, s.status === "running" ? { ...s, status: "cancelled" } : s]));
    expect(bundle.snapshot.routine_states).toEqual(expected);
    expect(bundle.snapshot.connection_counts).toEqual(stateAtCut.connection_counts);
    expect(bundle.snapshot.shared_data).toEqual(stateAtCut.shared_data);
    // Activations finished per routine: its routine_complete events up to the cut.
    const completes = (id: string) => committed.filter((e) => e.event_type === "routine_complete" && e.routine_id === id).length;
    for (const id of ["source", "scale", "sink"]) expect(bundle.metrics.routine_metrics[id]?.execution_count, id).toBe(completes(id));
    expect(bundle.metrics.total_event_emits).toBe(committed.filter((e) => e.event_type === "event_emit").length);
    expect(bundle.metrics).toMatchObject({ status: "failed", total_events: k + 1, retained_events: k + 1, dropped_events: 0 });
    expect(bundle.payloads).toMatchObject({ rows: [], stats: { kept: 0, truncated: true, previews_after_seq: 0 } });
    forgetJobs(worker);

    const server = runtime({ persistence: { path: ":memory:" } });
    server.persistence?.importJob(parseJobBundle(JSON.parse(JSON.stringify(bundle))));
    expect(server.jobSnapshot(job.jobId)).toEqual(bundle.snapshot);
    expect(server.jobSummary(job.jobId)).toEqual(bundle.summary);
    expect(server.jobMetrics(job.jobId)).toEqual(bundle.metrics);
    expect(server.monitoring.monitorCollector.getExecutionTrace(job.jobId)).toEqual(events);
    const io = server.jobIo(job.jobId);
    expect(io.rows.length).toBeGreaterThan(0);
    expect(io.rows.every((r) => r.truncated)).toBe(true);
    const restored = server.jobStateAt(job.jobId, k);
    // The same state; only the job's last seq differs (the worker's job went on), and payloads are previews now.
    const state = (s: typeof restored) => ({ ...s, last_seq: null, activation: null, running: [], event: null });
    expect(state(restored)).toEqual(state(stateAtCut));
    expect(server.jobStateAt(job.jobId, k + 1)).toMatchObject({ status: "failed", routine_states: expected });
    expect(server.jobFlow(job.jobId)).toMatchObject({ recorded: true, same_structure: true });
  });

  it("appends nothing: events that do not end the job, or are not contiguous, are refused", async () => {
    const worker = runtime();
    const job = await start(worker, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] } });
    const events = worker.monitoring.monitorCollector.getExecutionTrace(job.jobId);
    const summary = worker.jobSummary(job.jobId);
    expect(() => bundleFromEvents({ summary, events: events.slice(0, -1), flow: null })).toThrow(/not the job's end/);
    expect(() => bundleFromEvents({ summary, events: [events[0] as TraceEvent, ...events.slice(2)], flow: null })).toThrow(/not contiguous/);
    expect(() => bundleFromEvents({ summary, events: [], flow: null })).toThrow(/no events/);
    // Without a flow: the routines are those the events name.
    expect(Object.keys(bundleFromEvents({ summary, events, flow: null }).snapshot.routine_states).sort()).toEqual(["ingest", "process", "validate"]);
  });
});
