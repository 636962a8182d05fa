/** The read side: what a restarted runtime loads, and the lazy reads of finished jobs' details. */
import type { Breakpoint, FlowStructure, JobMetrics, JobSnapshot, PayloadFilter, PayloadKind, PayloadMeta, StoredPayload, TraceEvent } from "../monitoring";
import type { FlowDetail } from "../wire/model";
import type { Db } from "./database";

/** One job's list entry as stored (the summary fields plus its trace counters). */
export interface StoredJobSummary {
  job_id: string;
  ord: number;
  flow_id: string;
  status: string;
  entry_routine_id: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  last_seq: number;
  retained: number;
  dropped: number;
  /** JSON of a fork's origin, or null. */
  forked_from: string | null;
}

export interface StoredFlow {
  flow_id: string;
  dsl: string;
}

interface PayloadDbRow {
  seq: number;
  kind: string;
  routine_id: string | null;
  activation_id: number | null;
  slot_name: string | null;
  event_name: string | null;
  time: number;
  meta: string;
  payload: string;
  truncated: number;
}

/** A kept payload read back from the database. */
class DbPayload implements StoredPayload {
  readonly seq: number;
  readonly kind: PayloadKind;
  readonly routineId: string | null;
  readonly activationId: number | null;
  readonly slotName: string | null;
  readonly eventName: string | null;
  readonly time: number;
  readonly json: string;
  readonly truncated: boolean;
  private readonly metaJson: string;

  constructor(r: PayloadDbRow) {
    this.seq = r.seq;
    this.kind = r.kind as PayloadKind;
    this.routineId = r.routine_id;
    this.activationId = r.activation_id;
    this.slotName = r.slot_name;
    this.eventName = r.event_name;
    this.time = r.time;
    this.json = r.payload;
    this.truncated = r.truncated !== 0;
    this.metaJson = r.meta;
  }

  value(): unknown {
    return JSON.parse(this.json) as unknown;
  }

  meta(): PayloadMeta {
    return JSON.parse(this.metaJson) as PayloadMeta;
  }
}

const PAYLOAD_COLUMNS = "seq, kind, routine_id, activation_id, slot_name, event_name, time, meta, payload, truncated";

export class HistoryReader {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      summaries: db.prepare("SELECT job_id, ord, flow_id, status, entry_routine_id, created_at, started_at, finished_at, error, last_seq, retained, dropped, forked_from FROM jobs ORDER BY ord"),
      snapshot: db.prepare("SELECT snapshot, shared_data, params, last_seq FROM jobs WHERE job_id = ?"),
      metrics: db.prepare("SELECT metrics FROM jobs WHERE job_id = ?"),
      eventsAfter: db.prepare("SELECT event FROM events WHERE job_id = ? AND seq > ? ORDER BY seq"),
      lastEvents: db.prepare("SELECT event FROM (SELECT seq, event FROM events WHERE job_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"),
      event: db.prepare("SELECT event FROM events WHERE job_id = ? AND seq = ?"),
      payloadStats: db.prepare("SELECT payload_stats, metrics FROM jobs WHERE job_id = ?"),
      payloadsAfter: db.prepare(`SELECT ${PAYLOAD_COLUMNS} FROM payloads
        WHERE job_id = @job_id AND seq > @after AND kind IN ('input', 'output') AND (@routine_id IS NULL OR routine_id = @routine_id) AND (@kind IS NULL OR kind = @kind)
        ORDER BY seq LIMIT @limit`),
      payloadAt: db.prepare(`SELECT ${PAYLOAD_COLUMNS} FROM payloads WHERE job_id = ? AND seq = ?`),
      flowStructure: db.prepare("SELECT s.key, s.detail FROM jobs j JOIN flow_structures s ON s.key = j.flow_key WHERE j.job_id = ?"),
      flows: db.prepare("SELECT flow_id, dsl FROM flows ORDER BY ord"),
      breakpoints: db.prepare("SELECT data FROM breakpoints ORDER BY ord"),
      maxOrd: db.prepare("SELECT (SELECT COALESCE(MAX(ord), 0) FROM jobs) AS jobs, (SELECT COALESCE(MAX(ord), 0) FROM flows) AS flows, (SELECT COALESCE(MAX(ord), 0) FROM breakpoints) AS breakpoints"),
    };
  }

  /** Every stored job, oldest first. */
  summaries(): StoredJobSummary[] {
    return this.s.summaries.all() as StoredJobSummary[];
  }

  /** The job snapshot as GET /api/jobs/{id} served it (shared data is kept in its own column). */
  snapshot(jobId: string): JobSnapshot | null {
    const row = this.s.snapshot.get(jobId) as { snapshot: string; shared_data: string; params: string; last_seq: number } | undefined;
    if (!row) return null;
    const out = snapshotFromColumns(row.snapshot, row.shared_data, row.params);
    // Written before snapshots said what they are as of: a finished job's snapshot and its
    // last_seq were written together, and its payloads per connection are those of its stored
    // trace (all of them unless its ring dropped some).
    if (typeof out.last_seq !== "number") out.last_seq = row.last_seq;
    // Written before jobs could be forked: none of them is a fork.
    if (!("forked_from" in out)) out.forked_from = null;
    if (typeof out.connection_counts !== "object" || out.connection_counts === null) out.connection_counts = connectionCounts(this.eventsAfter(jobId, 0));
    return out as unknown as JobSnapshot;
  }

  metrics(jobId: string): JobMetrics | null {
    const row = this.s.metrics.get(jobId) as { metrics: string } | undefined;
    return row ? (JSON.parse(row.metrics) as JobMetrics) : null;
  }

  /** Stored events with seq > afterSeq, oldest first. */
  eventsAfter(jobId: string, afterSeq: number): TraceEvent[] {
    return (this.s.eventsAfter.all(jobId, afterSeq) as { event: string }[]).map((r) => JSON.parse(r.event) as TraceEvent);
  }

  /** The newest `limit` stored events, oldest first. */
  lastEvents(jobId: string, limit: number): TraceEvent[] {
    return (this.s.lastEvents.all(jobId, limit) as { event: string }[]).map((r) => JSON.parse(r.event) as TraceEvent);
  }

  event(jobId: string, seq: number): TraceEvent | null {
    const row = this.s.event.get(jobId, seq) as { event: string } | undefined;
    return row ? (JSON.parse(row.event) as TraceEvent) : null;
  }

  /**
   * What the job kept of its payloads, as written at its end; null when its row has none (a job
   * stored before payloads were kept, or one that never ended), with its metrics for counting.
   */
  payloadStats(jobId: string): { stats: string | null; metrics: string } | null {
    const row = this.s.payloadStats.get(jobId) as { payload_stats: string | null; metrics: string } | undefined;
    return row ? { stats: row.payload_stats, metrics: row.metrics } : null;
  }

  /** Stored inputs and outputs with seq > afterSeq, oldest first. */
  payloadsAfter(jobId: string, afterSeq: number, filter: PayloadFilter, limit: number): StoredPayload[] {
    const rows = this.s.payloadsAfter.all({ job_id: jobId, after: afterSeq, routine_id: filter.routineId ?? null, kind: filter.kind ?? null, limit }) as PayloadDbRow[];
    return rows.map((r) => new DbPayload(r));
  }

  payloadAt(jobId: string, seq: number): StoredPayload | null {
    const row = this.s.payloadAt.get(jobId, seq) as PayloadDbRow | undefined;
    return row ? new DbPayload(row) : null;
  }

  /** The flow a job started on, as recorded with it; null when its row has none (stored before flows were recorded). */
  flowStructure(jobId: string): FlowStructure | null {
    const row = this.s.flowStructure.get(jobId) as { key: string; detail: string } | undefined;
    return row ? { key: row.key, json: row.detail, detail: JSON.parse(row.detail) as FlowDetail } : null;
  }

  flows(): StoredFlow[] {
    return this.s.flows.all() as StoredFlow[];
  }

  breakpoints(): Breakpoint[] {
    return (this.s.breakpoints.all() as { data: string }[]).map((r) => JSON.parse(r.data) as Breakpoint);
  }

  /** The highest order numbers used, so new rows sort after the stored ones. */
  maxOrd(): { jobs: number; flows: number; breakpoints: number } {
    return this.s.maxOrd.get() as { jobs: number; flows: number; breakpoints: number };
  }
}

/**
 * A stored snapshot with its shared data and entry params put back from their own columns (the
 * snapshot column holds placeholders in their places).
 */
export function snapshotFromColumns(snapshot: string, sharedData: string, params: string): Record<string, unknown> {
  const stored = JSON.parse(snapshot) as Record<string, unknown>;
  // Rebuilt key by key so the JSON text keeps the original field order.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(stored)) {
    out[key] = key === "shared_data" ? JSON.parse(sharedData) : key === "entry_params" ? JSON.parse(params) : stored[key];
    // Snapshots written before they carried the params: the params column has always held them.
    if (key === "entry_slot" && !("entry_params" in stored)) out.entry_params = JSON.parse(params);
  }
  return out;
}

/** Payloads per connection id, counted from `event_emit` events (their targets). */
function connectionCounts(events: TraceEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    if (e.event_type !== "event_emit" || e.routine_id === null) continue;
    const targets = Array.isArray(e.data.targets) ? (e.data.targets as { routine_id?: unknown; slot_name?: unknown }[]) : [];
    for (const t of targets) {
      if (typeof t.routine_id !== "string" || typeof t.slot_name !== "string") continue;
      const id = `${e.routine_id}.${String(e.data.event_name)}:${t.routine_id}.${t.slot_name}`;
      counts[id] = (counts[id] ?? 0) + 1;
    }
  }
  return counts;
}
