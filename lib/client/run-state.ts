/**
 * The live state of one job as the debugger draws it, computed from trace events. Pure: the
 * store applies batches of events with `applyEvents`; unchanged routines and edges keep their
 * object identity so each graph node re-renders only when its own slice changed.
 */
import type { JobError, JobSnapshot, JobStatus, PausedAt, RoutineStatus as EngineRoutineStatus, TraceEvent } from "../wire";

/** A routine's state as the engine reports it, plus the UI's own "paused" (the node the job stopped at). */
export type RoutineStatus = EngineRoutineStatus | "paused";

export interface RoutineLive {
  status: RoutineStatus;
  activations: number;
  errors: number;
  /** Handlers of this routine running right now (concurrent jobs may run several). */
  running: number;
  totalDurationMs: number;
  timedRuns: number;
  lastError: string | null;
}

export interface EdgeLive {
  /** Payloads that crossed this connection. */
  count: number;
  /** `Date.now()` of the last crossing: edges animate for a short while after it. */
  lastAt: number;
}

export interface RunState {
  status: JobStatus | null;
  pausedAt: PausedAt | null;
  routines: Record<string, RoutineLive>;
  edges: Record<string, EdgeLive>;
  /** Highest seq applied; events at or below it are ignored (replays overlap). */
  lastSeq: number;
  /** Seqs that never arrived (dropped by a slow connection and no longer retained). */
  missing: number;
  error: string | null;
}

export const emptyRunState = (): RunState => ({ status: null, pausedAt: null, routines: {}, edges: {}, lastSeq: 0, missing: 0, error: null });

export const emptyRoutine = (): RoutineLive => ({ status: "pending", activations: 0, errors: 0, running: 0, totalDurationMs: 0, timedRuns: 0, lastError: null });

/** `source.event:target.slot`, the server's connection id. */
export const connectionId = (source: string, event: string, target: string, slot: string): string => `${source}.${event}:${target}.${slot}`;

const FINAL_ROUTINE: ReadonlySet<string> = new Set(["completed", "failed", "error_continued", "skipped", "cancelled"]);

function asRoutineStatus(s: unknown, fallback: RoutineStatus): RoutineStatus {
  return typeof s === "string" && (FINAL_ROUTINE.has(s) || s === "pending" || s === "running") ? (s as RoutineStatus) : fallback;
}

/** Applies events in seq order; returns the same object when nothing changed. */
export function applyEvents(state: RunState, events: readonly TraceEvent[], now = Date.now()): RunState {
  let routines: Record<string, RoutineLive> | null = null;
  let edges: Record<string, EdgeLive> | null = null;
  let { status, pausedAt, lastSeq, missing, error } = state;
  let changed = false;
  const touched = new Set<string>();
  const routine = (id: string): RoutineLive => {
    routines ??= { ...state.routines };
    if (!touched.has(id)) {
      touched.add(id);
      routines[id] = { ...(routines[id] ?? emptyRoutine()) };
    }
    return routines[id] as RoutineLive;
  };
  for (const ev of events) {
    if (ev.seq <= lastSeq) continue;
    if (ev.seq > lastSeq + 1 && lastSeq > 0) missing += ev.seq - lastSeq - 1;
    lastSeq = ev.seq;
    changed = true;
    const d = ev.data;
    switch (ev.event_type) {
      case "job_started":
        status = "running";
        break;
      case "routine_start": {
        if (!ev.routine_id) break;
        const r = routine(ev.routine_id);
        r.activations += 1;
        r.running += 1;
        r.status = "running";
        break;
      }
      case "routine_complete": {
        if (!ev.routine_id) break;
        const r = routine(ev.routine_id);
        r.running = Math.max(0, r.running - 1);
        if (typeof ev.duration === "number") {
          r.totalDurationMs += ev.duration;
          r.timedRuns += 1;
        }
        if (r.running === 0) r.status = asRoutineStatus(ev.status, "completed");
        break;
      }
      case "routine_error": {
        if (!ev.routine_id) break;
        const r = routine(ev.routine_id);
        r.errors += 1;
        r.lastError = typeof d.message === "string" ? d.message : typeof d.error === "string" ? d.error : "error";
        r.running = Math.max(0, r.running - 1);
        if (r.running === 0) {
          // The strategy says what the routine becomes: a retry runs it again (routine_start follows).
          const strategy = d.strategy;
          r.status = strategy === "continue" ? "error_continued" : strategy === "skip" ? "skipped" : strategy === "retry" ? "running" : "failed";
        }
        break;
      }
      case "event_emit": {
        if (!ev.routine_id) break;
        const targets = Array.isArray(d.targets) ? (d.targets as { routine_id?: unknown; slot_name?: unknown }[]) : [];
        for (const t of targets) {
          if (typeof t.routine_id !== "string" || typeof t.slot_name !== "string") continue;
          const id = connectionId(ev.routine_id, String(d.event_name), t.routine_id, t.slot_name);
          edges ??= { ...state.edges };
          const prev = edges[id];
          edges[id] = { count: (prev?.count ?? 0) + 1, lastAt: now };
        }
        break;
      }
      case "job_paused":
        status = "paused";
        pausedAt = (d.paused_at as PausedAt | undefined) ?? null;
        break;
      case "job_resumed":
        status = "running";
        pausedAt = null;
        break;
      case "job_completed":
      case "job_failed":
      case "job_cancelled":
        status = ev.event_type === "job_completed" ? "completed" : ev.event_type === "job_failed" ? "failed" : "cancelled";
        pausedAt = null;
        error = d.error ? describeJobError(d.error) : null;
        break;
      default:
        break;
    }
  }
  if (!changed) return state;
  return { status, pausedAt, routines: routines ?? state.routines, edges: edges ?? state.edges, lastSeq, missing, error };
}

/**
 * The job snapshot is the authority on counts (the trace ring may have dropped old events):
 * overlay its routine states on what the events said, keeping identity where nothing differs.
 */
export function reconcileWithSnapshot(state: RunState, snap: Pick<JobSnapshot, "status" | "routine_states" | "error">): RunState {
  let routines: Record<string, RoutineLive> | null = null;
  for (const [id, rs] of Object.entries(snap.routine_states)) {
    const cur = state.routines[id] ?? emptyRoutine();
    const running = cur.running > 0 && rs.status === "running" ? cur.running : rs.status === "running" ? 1 : 0;
    const status = asRoutineStatus(rs.status, cur.status);
    if (cur.activations === rs.activations && cur.errors === rs.errors && cur.status === status && cur.running === running && state.routines[id]) continue;
    routines ??= { ...state.routines };
    routines[id] = { ...cur, activations: rs.activations, errors: rs.errors, status, running, lastError: rs.last_error ?? cur.lastError };
  }
  // Only a final status is taken from the snapshot: running/paused moves are owned by the ordered
  // event stream and session updates (a snapshot fetched a moment ago may already be stale).
  const statusChanged = snap.status !== state.status && isFinal(snap.status);
  if (!routines && !statusChanged) return state;
  return {
    ...state,
    routines: routines ?? state.routines,
    status: statusChanged ? snap.status : state.status,
    pausedAt: statusChanged ? null : state.pausedAt,
    error: snap.error ? describeJobError(snap.error) : state.error,
  };
}

/** A job error as one line for people: "Interrupted: interrupted by restart (in source)". */
export function describeJobError(e: unknown): string {
  if (typeof e === "string") return e;
  if (e && typeof e === "object") {
    const { message, error_type, routine_id } = e as Partial<JobError>;
    if (typeof message === "string") return `${error_type ? `${error_type}: ` : ""}${message}${routine_id ? ` (in ${routine_id})` : ""}`;
    return JSON.stringify(e);
  }
  return String(e);
}

export const isFinal = (s: JobStatus | null): boolean => s === "completed" || s === "failed" || s === "cancelled";

export const averageMs = (r: RoutineLive): number | null => (r.timedRuns > 0 ? r.totalDurationMs / r.timedRuns : null);
