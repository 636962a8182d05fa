/**
 * Jobs that run in another process (scale-out workers) and are kept in the control plane's
 * history: a finished job as one JSON document (`JobBundle`, lib/wire/job-bundle.ts), made by the
 * worker from its monitoring record (`exportJobBundle`), or from the committed trace events of a
 * job whose worker died (`bundleFromEvents`), and written by the control plane with
 * `Persistence.importJob`. Transport-agnostic: nothing here sends anything. docs/history.md,
 * "Jobs run elsewhere".
 */
import type { JobError } from "../engine";
import { connectionCountsOf, type FlowStructure, foldEvents, initialFold, MAX_ERRORS_PER_JOB, MonitoringError, routineStatesOf, type TraceEvent } from "../monitoring";
import { type RoutineTally, routineMetrics as metricsOfTally } from "../monitoring/collector";
import { bundleOfRecord, type JobSummary } from "../persistence";
import { JOB_BUNDLE_VERSION, type JobBundle, jobBundleProblems } from "../wire/job-bundle";
import { durationBetween, type ErrorRecord, type FlowDetail, type JobMetrics, type JobSnapshot, type LogEntry, type PayloadStats, type RoutineMetrics, TERMINAL_EVENT_TYPES } from "../wire/model";
import type { Runtime } from "./runtime";

export { type BundledFlow, type BundledPayload, JOB_BUNDLE_VERSION, type JobBundle, JobBundleSchema, jobBundleProblems, parseJobBundle } from "../wire/job-bundle";

/**
 * A finished job of this runtime, whole, as history would store it: its summary, the snapshot
 * and metrics as served, its retained trace window, its kept payloads in full with their stats,
 * and the flow it ran. Meant for a runtime without history (a worker): the job must be held in
 * memory (not_found otherwise; conflict for one restored from history), finished (conflict
 * JOB_NOT_FINISHED) and still hold its payloads (conflict PAYLOADS_RELEASED: a runtime with
 * history has written them to its own database already).
 */
export function exportJobBundle(runtime: Runtime, jobId: string): JobBundle {
  const collector = runtime.monitoring.monitorCollector;
  const rec = collector.jobRecord(jobId);
  if (rec === undefined) {
    if (runtime.hasJob(jobId)) throw new MonitoringError("conflict", "JOB_NOT_IN_MEMORY", `Job '${jobId}' was restored from history: only a job this runtime ran and still holds can be exported`);
    throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
  }
  if (!rec.job.isFinished || rec.endTime === null) throw new MonitoringError("conflict", "JOB_NOT_FINISHED", `Job '${jobId}' is ${rec.job.status}: only a finished job can be exported`);
  if (rec.payloads.released) {
    throw new MonitoringError("conflict", "PAYLOADS_RELEASED", `Job '${jobId}' has written its payloads to this runtime's history and no longer holds them: it is in that history already`);
  }
  return bundleOfRecord(collector, rec);
}

/** What is known of a job whose worker was lost (see bundleFromEvents). */
export interface TraceBundleInput {
  /**
   * The job's list entry as the control plane knows it: ids, entry routine, created (and started)
   * time, lineage. Its status, end and error are replaced by what the events say.
   */
  summary: JobSummary;
  /**
   * Its committed trace events in seq order, contiguous, ending with the job's final event
   * (job_completed / job_failed / job_cancelled): the caller appends the job_failed that says
   * the worker was lost. Ideally from seq 1; a later start is a window whose earlier events are
   * unknown (counted as dropped).
   */
  events: readonly TraceEvent[];
  /** The flow it started on (its routines are listed even if they never ran), or null when unknown. */
  flow: Pick<FlowStructure, "key" | "json"> | null;
  /** The job's error; default: the final event's `data.error`, else the summary's. */
  error?: JobError | null;
  /** The entry slot as requested; default: the job_started event's. */
  entrySlot?: string;
  /** The entry params as requested (the job_started event holds only a preview); default: that preview. */
  entryParams?: Record<string, unknown>;
}

/** Per routine, what its finished activations' events tell (the collector's RoutineStats). */
interface Stats extends RoutineTally {
  last: string | null;
}

/**
 * A finished job rebuilt from its committed trace events alone, for a job whose worker died
 * before it could export it. Nothing is appended: the events must end the job.
 *
 * Exact (as the live snapshot at that seq would have been): status, routine states, connection
 * counts and shared data, folded by the time-travel fold (state-at.ts) — provided the events
 * start at seq 1 (shared data and counts before a later first event are unknown); the trace
 * itself, which history serves as is (replay, state at a seq, io previews).
 *
 * Approximate:
 * - metrics come from the events: activations per routine are its routine_complete (not
 *   interrupted) and routine_error events, durations those events' own (a routine_error's is
 *   taken a moment before the collector's), error records from routine_error events;
 * - no payload is kept in full: payload stats say previews only (`kept` 0, `previews_after_seq`
 *   0), so io and events are served with the trace's previews, and a fork needs its payload given;
 * - entry params are the job_started preview unless `entryParams` is given;
 * - `shared_log` is rebuilt from ctx.log events (their data previews), `pause_points` from
 *   job_paused events, `execution_history` is empty (the engine's record is not in the trace),
 *   `pending_activations` is 0;
 * - `finished_at` is the start plus the final event's `duration_ms`, or (none) its timestamp.
 *
 * Throws when the events are empty, not contiguous, of another job, or do not end the job.
 */
export function bundleFromEvents(input: TraceBundleInput): JobBundle {
  const { summary, events } = input;
  const jobId = summary.job_id;
  const first = events[0];
  const last = events.at(-1);
  if (first === undefined || last === undefined) throw new Error(`bundleFromEvents: job '${jobId}' has no events`);
  for (let i = 1; i < events.length; i++) {
    if ((events[i] as TraceEvent).seq !== first.seq + i) throw new Error(`bundleFromEvents: job '${jobId}' events are not contiguous at seq ${(events[i] as TraceEvent).seq} (expected ${first.seq + i})`);
  }
  if (!TERMINAL_EVENT_TYPES.has(last.event_type)) {
    throw new Error(`bundleFromEvents: job '${jobId}' events end with ${last.event_type} (seq ${last.seq}), not the job's end: append its final event (e.g. job_failed for a lost worker)`);
  }
  const detail = input.flow === null ? null : (JSON.parse(input.flow.json) as FlowDetail);
  const fold = foldEvents(initialFold(detail === null ? [] : Object.keys(detail.routines)), events);

  const started = events.find((e) => e.event_type === "job_started");
  const d = last.data;
  const startedAt = summary.started_at ?? started?.timestamp ?? null;
  // The engine's own end is its start plus the duration the final event carries (the event is
  // recorded a moment later); an appended event without one ends the job at its timestamp.
  const finishedAt = typeof d.duration_ms === "number" && startedAt !== null ? new Date(Date.parse(startedAt) + d.duration_ms).toISOString() : last.timestamp;
  const error = input.error !== undefined ? input.error : "error" in d ? ((d.error ?? null) as JobError | null) : summary.error;
  const params = started?.data.params;
  const entryParams = input.entryParams ?? (typeof params === "object" && params !== null && !Array.isArray(params) ? (params as Record<string, unknown>) : {});
  const entrySlot = input.entrySlot ?? (typeof started?.data.entry_slot === "string" ? started.data.entry_slot : "trigger");

  const sharedLog: LogEntry[] = [];
  const pausePoints: { timestamp: string; reason: string }[] = [];
  const stats = new Map<string, Stats>();
  const errors: ErrorRecord[] = [];
  let errorCount = 0;
  let emits = 0;
  // Events that carry a payload (a preview only, here): job_started's params, inputs, outputs, ctx.log data.
  let payloadEvents = 0;
  const statsOf = (id: string): Stats => {
    let s = stats.get(id);
    if (s === undefined) {
      s = { count: 0, errors: 0, timed: 0, total: 0, min: Number.POSITIVE_INFINITY, max: 0, last: null };
      stats.set(id, s);
    }
    return s;
  };
  for (const e of events) {
    const data = e.data;
    switch (e.event_type) {
      case "job_started":
        payloadEvents++;
        break;
      case "routine_start":
        payloadEvents++;
        break;
      case "event_emit":
        payloadEvents++;
        emits++;
        break;
      case "routine_complete":
      case "routine_error": {
        const failed = e.event_type === "routine_error";
        // An interrupted handler never finished: the collector does not count it.
        if (e.routine_id === null || (!failed && data.interrupted === true)) break;
        const s = statsOf(e.routine_id);
        s.count++;
        s.last = e.timestamp;
        if (typeof e.duration === "number") {
          s.timed++;
          s.total += e.duration;
          s.min = Math.min(s.min, e.duration);
          s.max = Math.max(s.max, e.duration);
        }
        if (failed) {
          s.errors++;
          errorCount++;
          errors.push({
            error_id: `error_${errorCount}`,
            job_id: jobId,
            routine_id: e.routine_id,
            timestamp: e.timestamp,
            error_type: String(data.error_type ?? "Error"),
            error_message: String(data.message ?? ""),
            strategy: typeof data.strategy === "string" ? data.strategy : null,
          });
          if (errors.length > MAX_ERRORS_PER_JOB) errors.shift();
        }
        break;
      }
      case "log":
        if (data.source === "ctx.log") {
          const entry: LogEntry = { timestamp: e.timestamp, routine_id: e.routine_id, message: String(data.message ?? "") };
          // A log without data records null: the engine's entry had none.
          if (data.data !== undefined && data.data !== null) {
            entry.data = data.data;
            payloadEvents++;
          }
          sharedLog.push(entry);
        }
        break;
      case "job_paused":
        pausePoints.push({ timestamp: e.timestamp, reason: typeof data.reason === "string" ? data.reason : "paused" });
        break;
      default:
        break;
    }
  }

  const routineStates = routineStatesOf(fold);
  const stateList = Object.values(routineStates);
  const snapshot: JobSnapshot = {
    job_id: jobId,
    flow_id: summary.flow_id,
    status: fold.status,
    entry_routine_id: summary.entry_routine_id,
    entry_slot: entrySlot,
    entry_params: entryParams,
    created_at: summary.created_at,
    started_at: startedAt,
    finished_at: finishedAt,
    updated_at: finishedAt,
    duration_ms: durationBetween(startedAt, finishedAt),
    routine_states: routineStates,
    shared_data: { ...fold.shared },
    shared_log: sharedLog,
    error,
    cancel_reason: typeof d.cancel_reason === "string" ? d.cancel_reason : null,
    pause_points: pausePoints,
    execution_history: [],
    pending_activations: 0,
    forked_from: summary.forked_from,
    last_seq: last.seq,
    connection_counts: connectionCountsOf(fold),
  };

  // Every routine of the flow, run or not, then any that ran and is not in it (as the collector lists them).
  const routineMetrics: Record<string, RoutineMetrics> = {};
  const metricsOf = (id: string): RoutineMetrics => {
    const s = stats.get(id);
    return metricsOfTally(id, s, s?.last ?? null);
  };
  for (const id of detail === null ? Object.keys(routineStates) : Object.keys(detail.routines)) routineMetrics[id] = metricsOf(id);
  for (const id of stats.keys()) routineMetrics[id] ??= metricsOf(id);
  const startTime = startedAt ?? summary.created_at;
  let activations = 0;
  for (const s of stats.values()) activations += s.count;
  const dropped = first.seq - 1;
  const metrics: JobMetrics = {
    job_id: jobId,
    flow_id: summary.flow_id,
    status: fold.status,
    start_time: startTime,
    end_time: finishedAt,
    duration_ms: Date.parse(finishedAt) - Date.parse(startTime),
    total_routines: stateList.length,
    completed_routines: stateList.filter((s) => s.status === "completed").length,
    failed_routines: stateList.filter((s) => s.status === "failed").length,
    total_events: last.seq,
    retained_events: events.length,
    dropped_events: dropped,
    total_activations: activations,
    total_event_emits: emits,
    total_errors: errorCount,
    routine_metrics: routineMetrics,
    errors,
  };

  // Nothing kept in full: every payload is served as the trace's preview (as for a job a restart interrupted).
  const payloadStats: PayloadStats = { budget_bytes: 0, used_bytes: 0, kept: 0, truncated: payloadEvents > 0, truncated_count: payloadEvents, previews_after_seq: 0 };
  const bundle: JobBundle = {
    bundle_version: JOB_BUNDLE_VERSION,
    made_from: "trace",
    summary: {
      job_id: jobId,
      flow_id: summary.flow_id,
      status: fold.status,
      entry_routine_id: summary.entry_routine_id,
      created_at: summary.created_at,
      started_at: startedAt,
      finished_at: finishedAt,
      duration_ms: snapshot.duration_ms,
      error,
      forked_from: summary.forked_from,
    },
    snapshot,
    metrics,
    trace: { last_seq: last.seq, retained: events.length, dropped, events: [...events] },
    payloads: { stats: payloadStats, rows: [] },
    flow: input.flow === null ? null : { key: input.flow.key, json: input.flow.json },
  };
  const problems = jobBundleProblems(bundle);
  if (problems.length > 0) throw new Error(`bundleFromEvents: job '${jobId}': ${problems.join("; ")}`);
  return bundle;
}
