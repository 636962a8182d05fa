/**
 * What the run diff reads of a job (live, finished, or restored from history): its activations
 * with their inputs and outputs (the kept payloads, GET /api/jobs/{id}/io's rows), its handler
 * time per routine (metrics), its connection counts and lineage (snapshot), its flow's routines.
 */
import type { PayloadRow } from "../wire/model";
import { ForkedFromSchema, type ForkedFrom } from "../wire/timetravel";
import type { JobSnapshot } from "../monitoring";
import type { RunActivation, RunRecord } from "./run-diff";
import type { Runtime } from "./runtime";

/** Rows read per call of the payload source (one job's rows come in pages of this many). */
const PAGE = 5000;

/**
 * The job's lineage as its snapshot carries it. The one place that reads it, so the diff follows
 * whatever the fork records: `forked_from` on the job state, absent on jobs that are no fork.
 */
export function lineageOf(snapshot: JobSnapshot): ForkedFrom | null {
  const raw = (snapshot as { forked_from?: unknown }).forked_from;
  if (raw === undefined || raw === null) return null;
  const parsed = ForkedFromSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * Groups a job's input/output rows (seq order) into activations. An input row starts one (a
 * retry's further attempts keep the first's input and seq); an output joins its emitting
 * activation, or, when only the trace's preview is left (no id), the routine's latest activation.
 */
export function activationsOf(rows: readonly PayloadRow[]): { activations: RunActivation[]; orphans: number } {
  const activations: RunActivation[] = [];
  const byId = new Map<number, RunActivation>();
  const latest = new Map<string, RunActivation>();
  let orphans = 0;
  for (const r of rows) {
    if (r.kind === "input") {
      if (r.activation_id !== null && byId.has(r.activation_id)) continue;
      const act: RunActivation = { activationId: r.activation_id, routineId: r.routine_id, startSeq: r.seq, entry: r.event_name === null, input: r.payload, outputs: [], truncated: r.truncated };
      activations.push(act);
      if (r.activation_id !== null) byId.set(r.activation_id, act);
      latest.set(r.routine_id, act);
    } else {
      const act = (r.activation_id !== null ? byId.get(r.activation_id) : undefined) ?? latest.get(r.routine_id);
      // Its activation's input was lost with the trace window: the run is only approximately known.
      if (act === undefined) {
        orphans++;
        continue;
      }
      act.outputs.push({ eventName: r.event_name ?? "", payload: r.payload });
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
  const rows: PayloadRow[] = [];
  let truncated = false;
  let known = true;
  for (let after = 0; ; ) {
    const page = collector.jobIo(jobId, { afterSeq: after, limit: PAGE });
    if (page === null) {
      // Not monitored: nothing of its activations was recorded.
      known = false;
      break;
    }
    truncated ||= page.payloads.truncated;
    for (const r of page.rows) rows.push(r);
    const last = page.rows.at(-1);
    if (!page.has_more || last === undefined) break;
    after = last.seq;
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
