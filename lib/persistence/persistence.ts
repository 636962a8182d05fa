/**
 * Durable run history: one SQLite database per server process. `Persistence.open` repairs what a
 * crash left (interrupted jobs), loads the list of finished jobs; `attach` plugs the recorder into
 * monitoring's observers. The runtime owns the instance and rebuilds saved flows itself.
 */
import { resolve } from "node:path";
import { type FlowStructure, MonitoringError, type MonitoringRegistry } from "../monitoring";
import { type JobBundle, jobBundleProblems } from "../wire/job-bundle";
import { HistoryArchive, type JobSummary } from "./archive";
import { type Db, openDatabase } from "./database";
import { HistoryUnavailableError } from "./errors";
import { type HistoryOwner, removeOwner, writeOwner } from "./lock";
import { HistoryReader, type StoredFlow } from "./reader";
import { HistoryRecorder } from "./recorder";
import { recoverInterrupted } from "./recovery";
import { DEFAULT_FLUSH_INTERVAL_MS, HistoryWriter, type JobRow } from "./writer";

/** The history of the project the server runs in (relative to the current directory). */
export const DEFAULT_DB_PATH = ".routilux/history.db";
export const DEFAULT_RETENTION_JOBS = 1000;

export interface PersistenceOptions {
  /** SQLite file (its folder is created; relative to the current directory), or `:memory:`. */
  path: string;
  /** Finished jobs kept; the oldest are deleted beyond it. Default 1,000. */
  retentionJobs?: number;
  /** Time between write transactions while something changes. Default 50 ms. */
  flushIntervalMs?: number;
  /**
   * Serve the file's history without writing it (ROUTILUX_DB_READONLY=1): the file must exist and
   * be current; starting jobs and editing flows answer 503.
   */
  readOnly?: boolean;
}

export class Persistence {
  readonly archive: HistoryArchive;
  /** Jobs found unfinished at start-up and closed as failed. */
  readonly interrupted: string[];
  private readonly reader: HistoryReader;
  private readonly writer: HistoryWriter;
  private readonly recorder: HistoryRecorder;
  private detachers: (() => void)[] = [];
  private closed = false;
  /** This process's owner record beside the file (a file database only). */
  private owner: HistoryOwner | null = null;
  readonly readOnly: boolean;

  private constructor(
    readonly db: Db,
    /** The database file, absolute (or `:memory:`). */
    readonly path: string,
    private readonly monitoring: MonitoringRegistry,
    options: PersistenceOptions,
  ) {
    this.readOnly = options.readOnly === true;
    // Read-only: jobs a crash left open stay as stored (nothing may be written to close them).
    this.interrupted = this.readOnly ? [] : recoverInterrupted(db, monitoring.monitorCollector.getMaxEventsPerJob());
    this.reader = new HistoryReader(db);
    this.archive = new HistoryArchive(this.reader);
    this.archive.load(this.reader.summaries());
    this.recorder = new HistoryRecorder({
      collector: monitoring.monitorCollector,
      breakpoints: monitoring.breakpointManager,
      archive: this.archive,
      retention: options.retentionJobs ?? DEFAULT_RETENTION_JOBS,
      removeJob: (id) => monitoring.jobStore.remove(id),
      schedule: () => this.writer.schedule(),
      ords: this.reader.maxOrd(),
    });
    this.writer = new HistoryWriter(db, this.recorder, options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, `the history file ${path}`, this.readOnly);
  }

  /**
   * Opens (creating if needed) the database, holding it for this process alone, and repairs
   * interrupted jobs. Nothing is attached yet. Throws HistoryInUseError when another server (or
   * any other connection) holds the file.
   */
  static open(options: PersistenceOptions, monitoring: MonitoringRegistry): Persistence {
    const retention = options.retentionJobs ?? DEFAULT_RETENTION_JOBS;
    if (!Number.isInteger(retention) || retention < 0) throw new RangeError("retentionJobs must be a whole number ≥ 0");
    const path = options.path === ":memory:" ? options.path : resolve(options.path);
    const readOnly = options.readOnly === true && path !== ":memory:";
    const db = openDatabase(path, { readOnly });
    let owner: HistoryOwner | null = null;
    try {
      // Named at once: a second server may be told who holds the file while this one starts.
      if (path !== ":memory:" && !readOnly) owner = writeOwner(path);
      const p = new Persistence(db, path, monitoring, options);
      p.owner = owner;
      return p;
    } catch (err) {
      db.close();
      if (owner) removeOwner(path, owner);
      throw err;
    }
  }

  /** Flows created over HTTP in earlier runs, in creation order (the runtime rebuilds them). */
  savedFlows(): StoredFlow[] {
    return this.reader.flows();
  }

  /**
   * Restores flow breakpoints (those whose flow is known) and starts recording: the collector
   * reports job starts and ends, and falls back to the archive for jobs it does not hold.
   */
  attach(hasFlow: (flowId: string) => boolean): void {
    const { monitorCollector: collector, breakpointManager: bpm, jobStore } = this.monitoring;
    const restored = this.reader.breakpoints().filter((bp) => bp.flow_id !== null && hasFlow(bp.flow_id) && bpm.restoreBreakpoint(bp));
    this.recorder.knowBreakpoints(restored);
    collector.archive = this.archive;
    collector.observer = this.recorder;
    this.detachers.push(bpm.onChange(() => this.recorder.breakpointsChanged()));
    jobStore.onRemove((jobId) => {
      if (!this.closed) this.recorder.jobRemoved(jobId);
    });
    this.detachers.push(() => {
      if (collector.archive === this.archive) collector.archive = null;
      if (collector.observer === this.recorder) collector.observer = null;
    });
    // Dropped breakpoints (flow gone, no longer compiling) and retention apply at once.
    this.recorder.breakpointsChanged();
  }

  /**
   * Why requests that write history are refused now (writes failing, or a read-only history),
   * or null when they are accepted. `/api/health` reports it.
   */
  unavailableReason(): string | null {
    if (this.readOnly) return `history ${this.path} is served read-only (ROUTILUX_DB_READONLY=1): jobs cannot be started nor flows edited`;
    const f = this.writer.failure;
    if (f === null) return null;
    return `history ${this.path} cannot be written since ${f.since.toISOString()}: ${f.reason} (retried ${f.attempts} times, with backoff)`;
  }

  /** Throws HistoryUnavailableError (503) while history cannot be written. */
  assertWritable(): void {
    if (this.readOnly) throw new HistoryUnavailableError(`${this.path} is opened read-only (ROUTILUX_DB_READONLY=1)`, { readOnly: true });
    const f = this.writer.failure;
    if (f !== null) throw new HistoryUnavailableError(`${f.reason} (since ${f.since.toISOString()})`);
  }

  /**
   * Writes the new job's row now, in its own transaction: call it before acknowledging the job.
   * Throws HistoryUnavailableError when the write fails (the caller cancels the job).
   */
  commitJob(jobId: string): void {
    this.assertWritable();
    const err = this.writer.commitNow((batch) => this.recorder.commitJob(batch, jobId));
    if (err) throw new HistoryUnavailableError(this.writer.failure?.reason ?? err.message);
  }

  /**
   * Writes a job that ran in another process (a worker) to history, now, in one transaction — its
   * row, its flow structure if new, its events and payloads — and serves it at once as a job
   * restored from history (snapshot, list, trace, metrics, io, flow, state at a seq, diff,
   * replay). Importing a job already imported replaces its rows in place (a retried delivery
   * leaves one job). It counts against retention like any finished job.
   *
   * The bundle must be consistent (`jobBundleProblems`; a bundle from the network is validated
   * with `parseJobBundle` first). Throws HistoryUnavailableError (503) while history cannot be
   * written, and a conflict when this process holds a job of that id itself.
   */
  importJob(bundle: JobBundle): void {
    this.assertWritable();
    const jobId = bundle.summary.job_id;
    const problems = jobBundleProblems(bundle);
    if (problems.length > 0) throw new MonitoringError("bad_request", "INVALID_JOB_BUNDLE", `Job bundle of '${jobId}' is inconsistent: ${problems.join("; ")}`, { problems });
    // Its own rows and records would be written over by the recorder (and it would be served from memory, not from these).
    if (this.monitoring.jobStore.has(jobId)) throw new MonitoringError("conflict", "JOB_EXISTS", `Job '${jobId}' is a job of this process; only jobs that ran elsewhere are imported`);
    const written: JobRow[] = [];
    const err = this.writer.commitNow((batch) => {
      written.push(this.recorder.writeImported(batch, bundle));
    });
    const row = written[0];
    if (err || row === undefined) throw new HistoryUnavailableError(this.writer.failure?.reason ?? err?.message ?? "the job was not written");
    this.archive.put(row);
    this.recorder.imported(jobId);
  }

  /**
   * A flow created (or edited) over HTTP: its DSL is written now, before the request is answered.
   * Throws HistoryUnavailableError when it cannot be; the save stays queued for the retries (a
   * caller that undoes the change deletes it again).
   */
  saveFlow(flowId: string, dsl: unknown): void {
    this.assertWritable();
    const json = JSON.stringify(dsl);
    this.recorder.knowFlowIfNew(flowId);
    this.recorder.flowSaved(flowId, json);
    const err = this.writer.commitNow((batch) => this.recorder.commitFlow(batch, flowId));
    if (err) {
      this.recorder.requeueFlow(flowId, json);
      throw new HistoryUnavailableError(this.writer.failure?.reason ?? err.message);
    }
  }

  /** Forgets a flow's queued save (a creation that was refused): its row stays as it is. */
  dropPendingFlow(flowId: string): void {
    this.recorder.dropFlow(flowId);
  }

  deleteFlow(flowId: string): void {
    this.recorder.flowDeleted(flowId);
  }

  /** The flow a restored job started on, as recorded with it (null: none recorded, or not a restored job). */
  recordedFlow(jobId: string): FlowStructure | null {
    return this.archive.flowStructure(jobId);
  }

  /** Restored jobs, newest first, filtered. */
  listArchived(filter: { flowId?: string; status?: string } = {}): JobSummary[] {
    return this.archive.list(filter);
  }

  /** Deletes restored jobs that finished more than `maxAgeSeconds` ago; returns how many. */
  removeOldArchived(maxAgeSeconds: number): number {
    const ids = this.archive.takeFinishedBefore(Date.now() - maxAgeSeconds * 1000);
    this.recorder.archivedRemoved(ids);
    return ids.length;
  }

  /** Writes everything pending now. */
  flush(): void {
    if (!this.closed) this.writer.flush();
  }

  /** Flushes, detaches from monitoring and closes the database. */
  close(): void {
    if (this.closed) return;
    this.writer.close();
    this.closed = true;
    if (this.owner) removeOwner(this.path, this.owner);
    for (const d of this.detachers.splice(0)) d();
  }
}
