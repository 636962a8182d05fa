/**
 * Decides what each tick writes. It learns about jobs from the collector (start, end: once per
 * job), about removals from the job store and about breakpoint changes from the breakpoint
 * manager; the trace events themselves are read from the collector's ring when the tick runs,
 * so the engine's per-event path is untouched.
 *
 * A running job's rows follow its ring: new events are inserted, events the ring evicted are
 * deleted, so the database holds the same retained window the collector serves. When the job
 * ends its window, snapshot and metrics are written once more from the sealed record, which is
 * exactly what the REST API serves for it, with its kept payloads; once that commits, the
 * payloads leave memory (the collector reads them from the database from then on).
 */
import type { Breakpoint, BreakpointManager, CollectorObserver, JobRecord, MonitorCollector } from "../monitoring";
import type { HistoryArchive } from "./archive";
import type { JobBundle } from "../wire/job-bundle";
import { jobRow, recordRowParts, rowOfBundle, storedPayloadOf, writeFinishedJob } from "./job-rows";
import { toJson } from "./json";
import type { JobRow, Producer, WriteBatch } from "./writer";

/** A running job's snapshot and metrics are rewritten at most this often (the trace every tick). */
const SNAPSHOT_EVERY_MS = 1000;

interface LiveJob {
  rec: JobRecord;
  ord: number;
  /** Its row exists. */
  written: boolean;
  /** Highest seq written. */
  seq: number;
  /** Events below this seq were deleted (left the ring). */
  windowStart: number;
  status: string;
  snapshotAt: number;
  ended: boolean;
}

export interface RecorderDeps {
  collector: MonitorCollector;
  breakpoints: BreakpointManager;
  archive: HistoryArchive;
  /** Finished jobs kept (memory and database); the oldest go first. */
  retention: number;
  /** Removes a finished in-memory job through the job store (its listeners drop everything). */
  removeJob(jobId: string): boolean;
  /** Arms the writer's tick. */
  schedule(): void;
  ords: { jobs: number; flows: number; breakpoints: number };
}

export class HistoryRecorder implements CollectorObserver, Producer {
  private readonly live = new Map<string, LiveJob>();
  /** In-memory finished jobs, in the order they ended (retention removes from the front). */
  private readonly finished: string[] = [];
  private readonly deletes = new Set<string>();
  /** flow id → DSL JSON to store, or null to delete. */
  private readonly flows = new Map<string, string | null>();
  private readonly flowOrd = new Map<string, number>();
  private readonly bpOrd = new Map<string, number>();
  /** What the database holds for each flow breakpoint. */
  private bpWritten = new Map<string, string>();
  /** The breakpoint revision last compared with `bpWritten`: an unchanged one is not copied again. */
  private bpRevision = new Map<string, number>();
  private bpDirty = false;
  /** Flow structures the database holds (so one used by many jobs is sent to SQLite once). */
  private structuresWritten = new Set<string>();
  /** Jobs whose payloads the current tick writes: released from memory once it commits. */
  private payloadsWritten: string[] = [];
  /** What the running transaction took off the queues (put back if it rolls back). */
  private tick: { ended: LiveJob[]; flows: Map<string, string | null>; deletes: Set<string> } = { ended: [], flows: new Map(), deletes: new Set() };
  private nextJobOrd: number;
  private nextFlowOrd: number;
  private nextBpOrd: number;

  constructor(private readonly d: RecorderDeps) {
    this.nextJobOrd = d.ords.jobs + 1;
    this.nextFlowOrd = d.ords.flows + 1;
    this.nextBpOrd = d.ords.breakpoints + 1;
  }

  /** What the database holds after a restore (so an unchanged breakpoint is not rewritten). */
  knowBreakpoints(bps: Breakpoint[]): void {
    for (const bp of bps) {
      this.bpWritten.set(bp.breakpoint_id, toJson(bp));
      this.bpOrd.set(bp.breakpoint_id, this.nextBpOrd++);
    }
  }

  /** A flow the database holds already (restored), or a new one: its order number. */
  knowFlowIfNew(flowId: string): void {
    if (!this.flowOrd.has(flowId)) this.flowOrd.set(flowId, this.nextFlowOrd++);
  }

  // ---------------------------------------------------------------- observers

  jobStarted(rec: JobRecord): void {
    this.live.set(rec.jobId, { rec, ord: this.nextJobOrd++, written: false, seq: 0, windowStart: 1, status: "", snapshotAt: 0, ended: false });
    this.d.schedule();
  }

  jobEnded(rec: JobRecord): void {
    const lj = this.live.get(rec.jobId);
    if (lj) lj.ended = true;
    this.d.schedule();
  }

  /** The job store dropped a job (removeOldJobs, remove, retention). */
  jobRemoved(jobId: string): void {
    this.live.delete(jobId);
    const i = this.finished.indexOf(jobId);
    if (i >= 0) this.finished.splice(i, 1);
    this.deletes.add(jobId);
    this.d.schedule();
  }

  /** Jobs restored from the database that are to be deleted. */
  archivedRemoved(ids: string[]): void {
    for (const id of ids) this.deletes.add(id);
    if (ids.length > 0) this.d.schedule();
  }

  breakpointsChanged(): void {
    this.bpDirty = true;
    this.d.schedule();
  }

  flowSaved(flowId: string, dslJson: string): void {
    this.knowFlowIfNew(flowId);
    this.flows.set(flowId, dslJson);
    this.d.schedule();
  }

  flowDeleted(flowId: string): void {
    this.flowOrd.delete(flowId);
    this.flows.set(flowId, null);
    this.d.schedule();
  }

  // ---------------------------------------------------------------- acknowledgements

  /**
   * Writes a job's row now (its own transaction, run by the writer): the answer to the request
   * that started it waits for this, so an acknowledged job survives a crash. Later ticks carry on
   * from it (events, progress, its end) as for any job.
   */
  commitJob(batch: WriteBatch, jobId: string): void {
    const lj = this.live.get(jobId);
    if (!lj) return;
    const now = Date.now();
    lj.written = false;
    this.writeRunning(batch, lj, now, new Date(now).toISOString());
  }

  /** Writes a flow's pending save or delete now (see commitJob). */
  commitFlow(batch: WriteBatch, flowId: string): void {
    if (!this.flows.has(flowId)) return;
    const dsl = this.flows.get(flowId) as string | null;
    if (dsl === null) batch.deleteFlow(flowId);
    else batch.upsertFlow(flowId, this.flowOrd.get(flowId) ?? this.nextFlowOrd++, dsl, new Date().toISOString());
    this.flows.delete(flowId);
  }

  /** Forgets the flow's queued save or delete. */
  dropFlow(flowId: string): void {
    this.flows.delete(flowId);
  }

  /** The acknowledgement's transaction failed: the flow's save is queued again for the retries. */
  requeueFlow(flowId: string, dsl: string | null): void {
    this.flows.set(flowId, dsl);
  }

  // ---------------------------------------------------------------- the tick

  produce(batch: WriteBatch): boolean {
    const now = Date.now();
    const nowIso = new Date(now).toISOString();
    const hadLive = this.live.size > 0;
    for (const [id, lj] of this.live) {
      if (lj.ended) {
        this.writeFinal(batch, lj);
        this.live.delete(id);
        this.finished.push(id);
        this.tick.ended.push(lj);
      } else {
        this.writeRunning(batch, lj, now, nowIso);
      }
    }
    // Hit counts change while jobs run, without a change notice.
    if (this.bpDirty || hadLive) this.syncBreakpoints(batch);
    for (const [flowId, dsl] of this.flows) {
      if (dsl === null) batch.deleteFlow(flowId);
      else batch.upsertFlow(flowId, this.flowOrd.get(flowId) ?? this.nextFlowOrd++, dsl, nowIso);
      this.tick.flows.set(flowId, dsl);
    }
    this.flows.clear();
    this.applyRetention();
    if (this.deletes.size > 0) {
      for (const id of this.deletes) {
        batch.deleteJob(id);
        this.tick.deletes.add(id);
      }
      this.deletes.clear();
      batch.deleteUnusedFlowStructures();
      // Some of those may be gone now: the next job of each writes its own again.
      this.structuresWritten.clear();
    }
    return this.live.size > 0;
  }

  committed(): void {
    for (const id of this.payloadsWritten) this.d.collector.releasePayloads(id);
    this.payloadsWritten = [];
    this.tick = { ended: [], flows: new Map(), deletes: new Set() };
  }

  rolledBack(): void {
    // Their payloads stay in memory.
    this.payloadsWritten = [];
    // What the failed tick took off its queues goes back on them: a job that ended, a flow saved
    // or deleted, a job deleted during an outage is written by the retry that succeeds.
    for (const lj of this.tick.ended) {
      this.live.set(lj.rec.jobId, lj);
      const i = this.finished.indexOf(lj.rec.jobId);
      if (i >= 0) this.finished.splice(i, 1);
    }
    for (const [flowId, dsl] of this.tick.flows) if (!this.flows.has(flowId)) this.flows.set(flowId, dsl);
    for (const id of this.tick.deletes) this.deletes.add(id);
    this.tick = { ended: [], flows: new Map(), deletes: new Set() };
    // Start over from memory: rows are upserts and events are replaced, so rewriting is safe.
    for (const lj of this.live.values()) {
      lj.written = false;
      lj.seq = 0;
      lj.windowStart = 1;
      lj.status = "";
    }
    this.bpWritten = new Map();
    this.bpRevision = new Map();
    this.bpDirty = true;
    this.structuresWritten = new Set();
  }

  private writeRunning(batch: WriteBatch, lj: LiveJob, now: number, nowIso: string): void {
    const rec = lj.rec;
    const status = rec.job.status;
    const statusChanged = status !== lj.status;
    const seqChanged = rec.seq !== lj.seq;
    if (!lj.written || statusChanged || (seqChanged && now - lj.snapshotAt >= SNAPSHOT_EVERY_MS)) {
      this.writeEvents(batch, lj);
      batch.upsertJob(this.row(batch, lj, nowIso));
      lj.written = true;
      lj.snapshotAt = now;
    } else if (seqChanged) {
      this.writeEvents(batch, lj);
      batch.progress(rec.jobId, status, nowIso, rec.seq, rec.ring.count, rec.dropped);
    }
    lj.status = status;
  }

  /** New events of the ring, and deletes of those it evicted. */
  private writeEvents(batch: WriteBatch, lj: LiveJob): void {
    const rec = lj.rec;
    if (rec.seq === lj.seq) return;
    const first = rec.seq - rec.ring.count + 1;
    const { events } = this.d.collector.eventsAfter(rec.jobId, Math.max(lj.seq, first - 1));
    for (const e of events) batch.insertEvent(rec.jobId, e.seq, toJson(e));
    if (first > lj.windowStart) {
      batch.deleteEventsBefore(rec.jobId, first);
      lj.windowStart = first;
    }
    lj.seq = rec.seq;
  }

  private writeFinal(batch: WriteBatch, lj: LiveJob): void {
    const rec = lj.rec;
    // The sealed ring (previews as served from now on) replaces what was written while running.
    const events = this.d.collector.eventsAfter(rec.jobId, 0).events.map((e) => ({ seq: e.seq, json: toJson(e) }));
    const released = rec.payloads.released;
    if (!released) this.payloadsWritten.push(rec.jobId);
    writeFinishedJob(batch, this.row(batch, lj, new Date().toISOString()), events, released ? null : rec.payloads.all());
  }

  private row(batch: WriteBatch, lj: LiveJob, nowIso: string): JobRow {
    const rec = lj.rec;
    if (rec.flow !== null) this.writeStructure(batch, rec.flow.key, rec.flowId, rec.flow.json);
    // Payload stats are written with the job's end (with its payloads); a job that never ended has none stored.
    return jobRow(lj.ord, nowIso, recordRowParts(this.d.collector, rec, lj.ended));
  }

  /** A flow structure jobs refer to, sent to SQLite once per process (until deletions may have removed it). */
  private writeStructure(batch: WriteBatch, key: string, flowId: string, json: string): void {
    if (this.structuresWritten.has(key)) return;
    batch.insertFlowStructure(key, flowId, json);
    this.structuresWritten.add(key);
  }

  // ---------------------------------------------------------------- imported jobs

  /**
   * Writes a job that ran elsewhere (Persistence.importJob), inside the caller's transaction: its
   * flow structure, events, payloads and row, as writeFinal writes a job of this process. A job
   * already stored keeps its order number (a retried delivery replaces its rows in place).
   */
  writeImported(batch: WriteBatch, bundle: JobBundle): JobRow {
    const row = rowOfBundle(bundle, this.nextJobOrd++, new Date().toISOString());
    if (bundle.flow !== null) this.writeStructure(batch, bundle.flow.key, row.flow_id, bundle.flow.json);
    const events = bundle.trace.events.map((e) => ({ seq: e.seq, json: toJson(e) }));
    writeFinishedJob(batch, row, events, bundle.payloads.rows.map(storedPayloadOf));
    return row;
  }

  /**
   * An imported job is in the archive now: a delete still queued for an earlier copy of it must
   * not remove it, and it counts against retention like any finished job.
   */
  imported(jobId: string): void {
    this.deletes.delete(jobId);
    this.applyRetention();
    this.d.schedule();
  }

  /**
   * Writes the flow breakpoints that changed. Runs on every flush while jobs run (hit counts
   * change without a notice), so it compares revision numbers and copies and serialises only the
   * breakpoints whose revision moved: with thousands of breakpoints a flush stays cheap. Removed
   * ones are looked for only after a change notice.
   */
  private syncBreakpoints(batch: WriteBatch): void {
    const structural = this.bpDirty;
    this.bpDirty = false;
    const seen = structural ? new Set<string>() : null;
    this.d.breakpoints.forEachFlowBreakpoint((id, revision, snapshot) => {
      seen?.add(id);
      if (this.bpRevision.get(id) === revision) return;
      this.bpRevision.set(id, revision);
      const bp = snapshot();
      const json = toJson(bp);
      if (this.bpWritten.get(id) === json) return;
      let ord = this.bpOrd.get(id);
      if (ord === undefined) {
        ord = this.nextBpOrd++;
        this.bpOrd.set(id, ord);
      }
      batch.upsertBreakpoint(id, bp.flow_id ?? "", ord, json);
      this.bpWritten.set(id, json);
    });
    if (seen === null) return;
    for (const id of [...this.bpWritten.keys()]) {
      if (seen.has(id)) continue;
      batch.deleteBreakpoint(id);
      this.bpWritten.delete(id);
      this.bpOrd.delete(id);
      this.bpRevision.delete(id);
    }
  }

  /** Keeps at most `retention` finished jobs: restored ones (the oldest) go first. */
  private applyRetention(): void {
    let excess = this.d.archive.size + this.finished.length - this.d.retention;
    if (excess <= 0) return;
    for (const id of this.d.archive.takeOldest(excess)) {
      this.deletes.add(id);
      excess--;
    }
    while (excess > 0 && this.finished.length > 0) {
      const id = this.finished.shift() as string;
      // The store's removal listener lands in jobRemoved, which queues the row's delete.
      if (!this.d.removeJob(id)) this.deletes.add(id);
      excess--;
    }
  }
}
