/**
 * What the run diff reads of a job (live, finished, or restored from history): its activations
 * with their inputs and outputs (the kept payloads, GET /api/jobs/{id}/io's rows), its handler
 * time per routine (metrics), its connection counts and lineage (snapshot), its flow's routines.
 */
import type { PayloadRow } from "../wire/model";
import type { ForkedFrom } from "../wire/timetravel";
import type { JobSnapshot, StoredPayload } from "../monitoring";
import type { RunActivation, RunRecord } from "./run-diff";
import type { Runtime } from "./runtime";

/** Rows read per call of the payload source (one job's rows come in pages of this many). */
const PAGE = 5000;

/** The job's lineage (the fork it is, if it is one), as its snapshot carries it. */
export function lineageOf(snapshot: JobSnapshot): ForkedFrom | null {
  return snapshot.forked_from;
}

/** An input/output row as the diff reads it: a kept payload, or a preview row of the io answer. */
export interface IoRow {
  seq: number;
  kind: "input" | "output";
  routineId: string;
  activationId: number | null;
  eventName: string | null;
  truncated: boolean;
  value(): unknown;
}

function keptRow(p: StoredPayload): IoRow {
  return { seq: p.seq, kind: p.kind as IoRow["kind"], routineId: p.routineId ?? "", activationId: p.activationId, eventName: p.eventName, truncated: p.truncated, value: () => p.value() };
}

/** A row of the io answer (GET /api/jobs/{id}/io) as the diff reads it. */
export function answerRow(r: PayloadRow): IoRow {
  return { seq: r.seq, kind: r.kind, routineId: r.routine_id, activationId: r.activation_id, eventName: r.event_name, truncated: r.truncated, value: () => r.payload };
}

/**
 * Groups a job's input/output rows (seq order) into activations. An input row starts one (a
 * retry's further attempts keep the first's input and seq); an output joins its emitting
 * activation, or, when only the trace's preview is left (no id), the routine's latest activation.
 */
export function activationsOf(rows: Iterable<IoRow>): { activations: RunActivation[]; orphans: number } {
  const activations: RunActivation[] = [];
  const byId = new Map<number, RunActivation>();
  const latest = new Map<string, RunActivation>();
  let orphans = 0;
  for (const r of rows) {
    if (r.kind === "input") {
      if (r.activationId !== null && byId.has(r.activationId)) continue;
      const act: RunActivation = { activationId: r.activationId, routineId: r.routineId, startSeq: r.seq, entry: r.eventName === null, input: r.value(), outputs: [], truncated: r.truncated };
      activations.push(act);
      if (r.activationId !== null) byId.set(r.activationId, act);
      latest.set(r.routineId, act);
    } else {
      const act = (r.activationId !== null ? byId.get(r.activationId) : undefined) ?? latest.get(r.routineId);
      // Its activation's input was lost with the trace window: the run is only approximately known.
      if (act === undefined) {
        orphans++;
        continue;
      }
      act.outputs.push({ eventName: r.eventName ?? "", payload: r.value() });
      if (r.truncated) act.truncated = true;
    }
  }
  return { activations, orphans };
}

/** One job as the diff compares it; unknown job → not_found. */
export function readRun(runtime: Runtime, jobId: string): RunRecord {
  const summary = runtime.jobSummary(jobId);
  const snapshot = runtime.jobSnapshot(jobId);
  const collector = runtime.monitoring.monitorCollector;
  const rows: IoRow[] = [];
  let truncated = false;
  let known = true;
  // The kept payloads as stored (no answer rows built), then the trace window's previews past them.
  let after = 0;
  let previewsAfter: number | null = null;
  for (;;) {
    const page = collector.keptIo(jobId, after, PAGE);
    if (page === null) {
      // Not monitored: nothing of its activations was recorded.
      known = false;
      break;
    }
    truncated ||= page.stats.truncated;
    previewsAfter = page.stats.previews_after_seq;
    for (const p of page.rows) rows.push(keptRow(p));
    const last = page.rows.at(-1);
    if (page.rows.length < PAGE || last === undefined) break;
    after = last.seq;
  }
  if (known && previewsAfter !== null) {
    for (;;) {
      const page = collector.jobIo(jobId, { afterSeq: after, limit: PAGE });
      if (page === null) break;
      const fresh = page.rows.filter((r) => r.truncated && r.activation_id === null);
      for (const r of fresh) rows.push(answerRow(r));
      const last = page.rows.at(-1);
      if (!page.has_more || last === undefined) break;
      after = last.seq;
    }
  }
  const { activations, orphans } = activationsOf(rows);
  const durations: Record<string, number> = {};
  const metrics = collector.getMetrics(jobId);
  for (const [id, m] of Object.entries(metrics?.routine_metrics ?? {})) durations[id] = m.duration_ms;
  const flow = runtime.jobFlow(jobId).flow;
  return {
    jobId: summary.job_id,
    flowId: summary.flow_id,
    status: snapshot.status,
    forkedFrom: lineageOf(snapshot),
    activations,
    durations,
    connectionCounts: snapshot.connection_counts,
    routineIds: flow ? Object.keys(flow.routines) : [],
    connectionIds: flow ? flow.connections.map((c) => c.id) : [],
    approximate: !known || truncated || orphans > 0,
  };
}
