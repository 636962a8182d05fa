/**
 * Finished jobs of earlier runs of the process: their list entries stay in memory (a few fields
 * each, bounded by retention); snapshots, metrics and traces are read from the database on demand.
 * The collector consults it (JobArchive) for every job it does not hold, so REST traces, metrics
 * and WebSocket / socket.io replays work for restored jobs without knowing where they come from.
 */
import type { JobError } from "../engine";
import { type ArchivedPayloads, type FlowStructure, type JobArchive, type JobMetrics, type JobSnapshot, type PayloadFilter, type StoredPayload, type TraceEvent, TraceRecord } from "../monitoring";
import type { ForkedFrom } from "../wire/lineage";
import { durationBetween, type JobStatus, type JobSummary, type PayloadStats } from "../wire/model";
import type { HistoryReader, StoredJobSummary } from "./reader";

export type { JobSummary } from "../wire/model";

export interface ArchivedJob {
  summary: JobSummary;
  lastSeq: number;
  retained: number;
  dropped: number;
}

function toRecord(e: TraceEvent): TraceRecord {
  return new TraceRecord(e.seq, e.job_id, e.flow_id, e.routine_id, e.event_type, Date.parse(e.timestamp), e.data, e.duration, e.status);
}

/** A job's kept payloads in the database. */
class StoredPayloads implements ArchivedPayloads {
  constructor(
    private readonly reader: HistoryReader,
    private readonly jobId: string,
  ) {}

  stats(): PayloadStats {
    const row = this.reader.payloadStats(this.jobId);
    if (row?.stats) return JSON.parse(row.stats) as PayloadStats;
    // Stored before payloads were kept, or ended by a restart: the trace's previews are all there is.
    const m = row ? (JSON.parse(row.metrics) as Partial<JobMetrics>) : {};
    const count = (m.total_activations ?? 0) + (m.total_event_emits ?? 0);
    return { budget_bytes: 0, used_bytes: 0, kept: 0, truncated: true, truncated_count: count, previews_after_seq: 0 };
  }

  rowsAfter(afterSeq: number, filter: PayloadFilter, limit: number): StoredPayload[] {
    return this.reader.payloadsAfter(this.jobId, afterSeq, filter, limit);
  }

  rowAt(seq: number): StoredPayload | null {
    return this.reader.payloadAt(this.jobId, seq);
  }
}

/** A stored job's list entry and trace counters, as the archive serves them. */
export function archivedJobOf(r: StoredJobSummary): ArchivedJob {
  return {
    summary: {
      job_id: r.job_id,
      flow_id: r.flow_id,
      status: r.status as JobStatus,
      entry_routine_id: r.entry_routine_id,
      created_at: r.created_at,
      started_at: r.started_at,
      finished_at: r.finished_at,
      duration_ms: durationBetween(r.started_at, r.finished_at),
      error: r.error === null ? null : (JSON.parse(r.error) as JobError),
      forked_from: r.forked_from === null || r.forked_from === undefined ? null : (JSON.parse(r.forked_from) as ForkedFrom),
    },
    lastSeq: r.last_seq,
    retained: r.retained,
    dropped: r.dropped,
  };
}

export class HistoryArchive implements JobArchive {
  /** Oldest first (insertion order = start order). */
  private readonly jobs = new Map<string, ArchivedJob>();

  constructor(private readonly reader: HistoryReader) {}

  /** Loads the list entries of every stored job (call once, after recovery). */
  load(rows: StoredJobSummary[]): void {
    for (const r of rows) this.jobs.set(r.job_id, archivedJobOf(r));
  }

  /**
   * A job just written to the database (an imported one): served from now on as if loaded at
   * start. One it already holds keeps its place in the list.
   */
  put(r: StoredJobSummary): void {
    this.jobs.set(r.job_id, archivedJobOf(r));
  }

  get size(): number {
    return this.jobs.size;
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  get(jobId: string): ArchivedJob | undefined {
    return this.jobs.get(jobId);
  }

  /** Newest first, filtered. */
  list(filter: { flowId?: string; status?: string } = {}): JobSummary[] {
    const out: JobSummary[] = [];
    for (const j of this.jobs.values()) {
      if (filter.flowId !== undefined && j.summary.flow_id !== filter.flowId) continue;
      if (filter.status !== undefined && j.summary.status !== filter.status) continue;
      out.push(j.summary);
    }
    return out.reverse();
  }

  /** Forgets the `n` oldest jobs; returns their ids (the caller deletes their rows). */
  takeOldest(n: number): string[] {
    const ids: string[] = [];
    for (const id of this.jobs.keys()) {
      if (ids.length >= n) break;
      ids.push(id);
    }
    for (const id of ids) this.jobs.delete(id);
    return ids;
  }

  /** Forgets jobs that finished at or before `cutoff` (epoch ms); returns their ids. */
  takeFinishedBefore(cutoff: number): string[] {
    const ids: string[] = [];
    for (const [id, j] of this.jobs) {
      const end = j.summary.finished_at === null ? Number.NaN : Date.parse(j.summary.finished_at);
      if (end <= cutoff) ids.push(id);
    }
    for (const id of ids) this.jobs.delete(id);
    return ids;
  }

  /** The flow a restored job started on, as recorded with it (null: it has none). */
  flowStructure(jobId: string): FlowStructure | null {
    return this.jobs.has(jobId) ? this.reader.flowStructure(jobId) : null;
  }

  snapshot(jobId: string): JobSnapshot | null {
    return this.jobs.has(jobId) ? this.reader.snapshot(jobId) : null;
  }

  // JobArchive (the collector's fallback)

  getMetrics(jobId: string): JobMetrics | null {
    return this.jobs.has(jobId) ? this.reader.metrics(jobId) : null;
  }

  getExecutionTrace(jobId: string, limit?: number): TraceEvent[] {
    const j = this.jobs.get(jobId);
    if (!j) return [];
    const n = limit === undefined ? j.retained : Math.max(0, Math.floor(limit));
    return n === 0 ? [] : this.reader.lastEvents(jobId, n);
  }

  eventsAfter(jobId: string, afterSeq: number): { events: TraceRecord[]; lastSeq: number } {
    const j = this.jobs.get(jobId);
    if (!j) return { events: [], lastSeq: 0 };
    // Subscribers first ask only for the newest seq: answered without reading the events.
    if (afterSeq >= j.lastSeq) return { events: [], lastSeq: j.lastSeq };
    return { events: this.reader.eventsAfter(jobId, afterSeq).map(toRecord), lastSeq: j.lastSeq };
  }

  traceInfo(jobId: string): { total: number; retained: number; dropped: number; last_seq: number } | null {
    const j = this.jobs.get(jobId);
    return j ? { total: j.lastSeq, retained: j.retained, dropped: j.dropped, last_seq: j.lastSeq } : null;
  }

  eventAt(jobId: string, seq: number): TraceEvent | null {
    return this.jobs.has(jobId) ? this.reader.event(jobId, seq) : null;
  }

  flowOf(jobId: string): string | null {
    return this.jobs.get(jobId)?.summary.flow_id ?? null;
  }

  /** Restored jobs, and jobs of this process whose payloads were written (and left memory). */
  payloads(jobId: string): ArchivedPayloads | null {
    return this.jobs.has(jobId) || this.reader.payloadStats(jobId) !== null ? new StoredPayloads(this.reader, jobId) : null;
  }
}
