/**
 * The write side: prepared statements behind a small typed batch, and the tick that runs one
 * transaction for everything that changed since the last one. Nothing here runs per trace event:
 * the producer (the recorder) reads the monitoring records when the tick fires.
 */
import type { StoredPayload } from "../monitoring";
import type { Db } from "./database";

export interface JobRow {
  job_id: string;
  ord: number;
  flow_id: string;
  status: string;
  entry_routine_id: string;
  entry_slot: string;
  params: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  /** JSON of the job's error, or null. */
  error: string | null;
  shared_data: string;
  snapshot: string;
  metrics: string;
  last_seq: number;
  retained: number;
  dropped: number;
  /** JSON of the job's PayloadStats once it has ended (null while it runs). */
  payload_stats: string | null;
  /** The flow_structures row of the flow it started on (null when it has none). */
  flow_key: string | null;
  /** JSON of a fork's origin {job_id, seq}; null for any other job. */
  forked_from: string | null;
}

/** The writes one tick may do; only valid inside the writer's transaction. */
export class WriteBatch {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      upsertJob: db.prepare(`INSERT INTO jobs (job_id, ord, flow_id, status, entry_routine_id, entry_slot, params, created_at, started_at, finished_at, updated_at, error, shared_data, snapshot, metrics, last_seq, retained, dropped, payload_stats, flow_key, forked_from)
        VALUES (@job_id, @ord, @flow_id, @status, @entry_routine_id, @entry_slot, @params, @created_at, @started_at, @finished_at, @updated_at, @error, @shared_data, @snapshot, @metrics, @last_seq, @retained, @dropped, @payload_stats, @flow_key, @forked_from)
        ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at, updated_at = excluded.updated_at,
          error = excluded.error, shared_data = excluded.shared_data, snapshot = excluded.snapshot, metrics = excluded.metrics,
          last_seq = excluded.last_seq, retained = excluded.retained, dropped = excluded.dropped, payload_stats = excluded.payload_stats, flow_key = excluded.flow_key`),
      insertFlowStructure: db.prepare("INSERT OR IGNORE INTO flow_structures (key, flow_id, detail) VALUES (?, ?, ?)"),
      deleteUnusedFlowStructures: db.prepare("DELETE FROM flow_structures WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.flow_key = flow_structures.key)"),
      progress: db.prepare("UPDATE jobs SET status = ?, updated_at = ?, last_seq = ?, retained = ?, dropped = ? WHERE job_id = ?"),
      insertEvent: db.prepare("INSERT OR REPLACE INTO events (job_id, seq, event) VALUES (?, ?, ?)"),
      deleteEventsBefore: db.prepare("DELETE FROM events WHERE job_id = ? AND seq < ?"),
      deleteEvents: db.prepare("DELETE FROM events WHERE job_id = ?"),
      insertPayload: db.prepare(`INSERT OR REPLACE INTO payloads (job_id, seq, kind, routine_id, activation_id, slot_name, event_name, time, meta, payload, truncated)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      deletePayloads: db.prepare("DELETE FROM payloads WHERE job_id = ?"),
      deleteJob: db.prepare("DELETE FROM jobs WHERE job_id = ?"),
      upsertFlow: db.prepare(`INSERT INTO flows (flow_id, ord, dsl, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (flow_id) DO UPDATE SET dsl = excluded.dsl, updated_at = excluded.updated_at`),
      deleteFlow: db.prepare("DELETE FROM flows WHERE flow_id = ?"),
      upsertBreakpoint: db.prepare(`INSERT INTO breakpoints (breakpoint_id, flow_id, ord, data) VALUES (?, ?, ?, ?)
        ON CONFLICT (breakpoint_id) DO UPDATE SET data = excluded.data`),
      deleteBreakpoint: db.prepare("DELETE FROM breakpoints WHERE breakpoint_id = ?"),
    };
  }

  upsertJob(row: JobRow): void {
    this.s.upsertJob.run(row);
  }

  /** A flow structure jobs refer to (kept once per structure). */
  insertFlowStructure(key: string, flowId: string, json: string): void {
    this.s.insertFlowStructure.run(key, flowId, json);
  }

  /** Drops the structures no job refers to any more (after jobs were deleted). */
  deleteUnusedFlowStructures(): void {
    this.s.deleteUnusedFlowStructures.run();
  }

  /** A running job's cheap per-tick update (the snapshot and metrics are refreshed less often). */
  progress(jobId: string, status: string, updatedAt: string, lastSeq: number, retained: number, dropped: number): void {
    this.s.progress.run(status, updatedAt, lastSeq, retained, dropped, jobId);
  }

  insertEvent(jobId: string, seq: number, json: string): void {
    this.s.insertEvent.run(jobId, seq, json);
  }

  /** Drops events that fell out of the job's retained window. */
  deleteEventsBefore(jobId: string, seq: number): void {
    this.s.deleteEventsBefore.run(jobId, seq);
  }

  deleteEvents(jobId: string): void {
    this.s.deleteEvents.run(jobId);
  }

  insertPayload(jobId: string, p: StoredPayload): void {
    this.s.insertPayload.run(jobId, p.seq, p.kind, p.routineId, p.activationId, p.slotName, p.eventName, p.time, JSON.stringify(p.meta()), p.json, p.truncated ? 1 : 0);
  }

  deletePayloads(jobId: string): void {
    this.s.deletePayloads.run(jobId);
  }

  deleteJob(jobId: string): void {
    this.s.deleteEvents.run(jobId);
    this.s.deletePayloads.run(jobId);
    this.s.deleteJob.run(jobId);
  }

  upsertFlow(flowId: string, ord: number, dsl: string, now: string): void {
    this.s.upsertFlow.run(flowId, ord, dsl, now, now);
  }

  deleteFlow(flowId: string): void {
    this.s.deleteFlow.run(flowId);
  }

  upsertBreakpoint(id: string, flowId: string, ord: number, json: string): void {
    this.s.upsertBreakpoint.run(id, flowId, ord, json);
  }

  deleteBreakpoint(id: string): void {
    this.s.deleteBreakpoint.run(id);
  }
}

/** What the writer asks for on each tick. */
export interface Producer {
  /** Fills the batch; returns true while it wants another tick (jobs still running). */
  produce(batch: WriteBatch): boolean;
  /** The tick's transaction failed and was rolled back: everything must be written again. */
  rolledBack(): void;
  /** The tick's transaction committed. */
  committed(): void;
}

export const DEFAULT_FLUSH_INTERVAL_MS = 50;
/** Retries of a failing database back off up to this (ms). */
export const MAX_RETRY_INTERVAL_MS = 5_000;

/** Why writes fail, since when, and how often they were tried. */
export interface WriteFailure {
  reason: string;
  since: Date;
  attempts: number;
}

/**
 * Runs the producer in one transaction per tick. A tick is armed by `schedule()` (something
 * changed) and re-armed while the producer says jobs are still running; an idle writer has no timer.
 *
 * A failing transaction (disk full, file turned read-only, I/O error) never escapes: the writer
 * logs it once, remembers it (`failure`, which health reports and which makes requests that need
 * a write answer 503), and retries with a backoff until a write succeeds again, which it logs too.
 */
export class HistoryWriter {
  private readonly batch: WriteBatch;
  private readonly tx: () => boolean;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private failed: WriteFailure | null = null;

  constructor(
    private readonly db: Db,
    private readonly producer: Producer,
    private readonly intervalMs = DEFAULT_FLUSH_INTERVAL_MS,
    /** Names the file in log lines. */
    private readonly label = "history",
    /** A read-only history (ROUTILUX_DB_READONLY): nothing is ever written. */
    private readonly readOnly = false,
  ) {
    this.batch = new WriteBatch(db);
    this.tx = db.transaction(() => {
      // While failing, a tick with nothing to write would commit nothing and prove nothing:
      // rewriting the header's user_version is a write that reaches the file.
      if (this.failed !== null) this.probe();
      return producer.produce(this.batch);
    });
  }

  /** Why writes fail now, or null when the last one succeeded. */
  get failure(): WriteFailure | null {
    return this.failed;
  }

  schedule(): void {
    if (this.timer !== null || this.closed || this.readOnly) return;
    // Failing: back off (doubling from the interval, up to MAX_RETRY_INTERVAL_MS).
    const delay = this.failed === null ? this.intervalMs : Math.min(MAX_RETRY_INTERVAL_MS, this.intervalMs * 2 ** Math.min(this.failed.attempts, 16));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, delay);
    // A pending tick never keeps a process alive; close() flushes what is left.
    this.timer.unref();
  }

  /** Writes everything pending now (one transaction). */
  flush(): void {
    if (this.closed || this.readOnly) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let again: boolean;
    try {
      again = this.tx();
    } catch (err) {
      // The transaction was rolled back: the producer starts over from what memory holds.
      this.producer.rolledBack();
      this.fail(err);
      this.schedule();
      return;
    }
    this.succeeded();
    this.producer.committed();
    if (again) this.schedule();
  }

  /**
   * Runs `write` in a transaction of its own, now (an acknowledgement waits for its row). On
   * failure everything is rolled back, the producer starts over, and HistoryUnavailable-style
   * handling is the caller's: the error is returned, never thrown.
   */
  commitNow(write: (batch: WriteBatch) => void): Error | null {
    if (this.closed) return new Error("the history database is closed");
    if (this.readOnly) return new Error("the history is served read-only");
    try {
      this.db.transaction(() => {
        if (this.failed !== null) this.probe();
        write(this.batch);
      })();
    } catch (err) {
      this.producer.rolledBack();
      this.fail(err);
      this.schedule();
      return err instanceof Error ? err : new Error(String(err));
    }
    this.succeeded();
    return null;
  }

  private probe(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    this.db.pragma(`user_version = ${version}`);
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    const reason = typeof code === "string" ? `${message} (${code})` : message;
    if (this.failed === null) {
      // Once per outage (and once more when it ends), not once per tick.
      console.error(`[persistence] cannot write ${this.label}: ${reason}; requests that need it answer 503 until a retry succeeds`);
      this.failed = { reason, since: new Date(), attempts: 1 };
    } else {
      this.failed = { ...this.failed, reason, attempts: this.failed.attempts + 1 };
    }
  }

  private succeeded(): void {
    if (this.failed === null) return;
    console.error(`[persistence] ${this.label} is written again (after ${this.failed.attempts} failed attempts since ${this.failed.since.toISOString()})`);
    this.failed = null;
  }

  /** Flushes and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    // Said once more at the end: what memory still held is gone with the process.
    if (this.failed !== null) console.error(`[persistence] closing ${this.label} with history not written (${this.failed.reason})`);
    this.closed = true;
    this.db.close();
  }
}
