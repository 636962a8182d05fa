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
}

/** The writes one tick may do; only valid inside the writer's transaction. */
export class WriteBatch {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      upsertJob: db.prepare(`INSERT INTO jobs (job_id, ord, flow_id, status, entry_routine_id, entry_slot, params, created_at, started_at, finished_at, updated_at, error, shared_data, snapshot, metrics, last_seq, retained, dropped, payload_stats, flow_key)
        VALUES (@job_id, @ord, @flow_id, @status, @entry_routine_id, @entry_slot, @params, @created_at, @started_at, @finished_at, @updated_at, @error, @shared_data, @snapshot, @metrics, @last_seq, @retained, @dropped, @payload_stats, @flow_key)
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

/**
 * Runs the producer in one transaction per tick. A tick is armed by `schedule()` (something
 * changed) and re-armed while the producer says jobs are still running; an idle writer has no timer.
 */
export class HistoryWriter {
  private readonly batch: WriteBatch;
  private readonly tx: () => boolean;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly producer: Producer,
    private readonly intervalMs = DEFAULT_FLUSH_INTERVAL_MS,
  ) {
    this.batch = new WriteBatch(db);
    this.tx = db.transaction(() => producer.produce(this.batch));
  }

  schedule(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.intervalMs);
    // A pending tick never keeps a process alive; close() flushes what is left.
    this.timer.unref();
  }

  /** Writes everything pending now (one transaction). */
  flush(): void {
    if (this.closed) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let again: boolean;
    let committed = false;
    try {
      again = this.tx();
      committed = true;
    } catch (err) {
      // The transaction was rolled back: the producer starts over from what memory holds.
      console.error("[persistence] write failed:", (err as Error).message);
      this.producer.rolledBack();
      again = true;
    }
    if (committed) this.producer.committed();
    if (again) this.schedule();
  }

  /** Flushes and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
