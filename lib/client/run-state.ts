/**
 * The live state of one job as the debugger draws it, computed from trace events and job
 * snapshots. Pure: the store applies batches of events with `applyEvents` and snapshots with
 * `reconcileWithSnapshot`; unchanged routines and edges keep their object identity so each graph
 * node re-renders only when its own slice changed.
 *
 * Every event is received once (`lastSeq`: replays and overlaps are dropped) but counted at most
 * once *with* the snapshots: a snapshot says the seq it is as of (`last_seq`), its counts already
 * include every event up to it, so events at or below it only go to the log. That is what keeps
 * the counts equal to the server's whichever arrives first — the snapshot or the events it covers.
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
  /** Durations of the completions received (the snapshot has none): for the average. */
  totalDurationMs: number;
  timedRuns: number;
  lastError: string | null;
}

export interface EdgeLive {
  /** Payloads that crossed this connection. */
  count: number;
  /** `Date.now()` of the last crossing seen live (0: known from a snapshot only). */
  lastAt: number;
}

export interface RunState {
  status: JobStatus | null;
  pausedAt: PausedAt | null;
  routines: Record<string, RoutineLive>;
  edges: Record<string, EdgeLive>;
  /** Highest seq received (the log ends there); events at or below it are ignored (replays overlap). */
  lastSeq: number;
  /**
   * The seq the counts (routines, edges) are as of: every event up to it is in them — applied
   * here, or included in the snapshot that covered it — and none after it.
   */
  countedSeq: number;
  /** `last_seq` of the snapshot the counts were last based on (0: none yet); older snapshots are stale. */
  baseSeq: number;
  /** Seqs that never arrived (dropped by a slow connection, or no longer retained by the server). */
  missing: number;
  error: string | null;
}

/** What a job snapshot contributes: counts and states as of `last_seq`, and the job's status. */
export type SnapshotCounts = Pick<JobSnapshot, "status" | "routine_states" | "error" | "last_seq" | "connection_counts">;

export const emptyRunState = (): RunState => ({ status: null, pausedAt: null, routines: {}, edges: {}, lastSeq: 0, countedSeq: 0, baseSeq: 0, missing: 0, error: null });

export const emptyRoutine = (): RoutineLive => ({ status: "pending", activations: 0, errors: 0, running: 0, totalDurationMs: 0, timedRuns: 0, lastError: null });

/** `source.event:target.slot`, the server's connection id. */
export const connectionId = (source: string, event: string, target: string, slot: string): string => `${source}.${event}:${target}.${slot}`;

const FINAL_ROUTINE: ReadonlySet<string> = new Set(["completed", "failed", "error_continued", "skipped", "cancelled"]);

function asRoutineStatus(s: unknown, fallback: RoutineStatus): RoutineStatus {
  return typeof s === "string" && (FINAL_ROUTINE.has(s) || s === "pending" || s === "running") ? (s as RoutineStatus) : fallback;
}

/** Copy-on-write access to the routines and edges of one step (each touched entry copied once). */
class Draft {
  routines: Record<string, RoutineLive> | null = null;
  edges: Record<string, EdgeLive> | null = null;
  private readonly touched = new Set<string>();

  constructor(
    private readonly baseRoutines: Record<string, RoutineLive>,
    private readonly baseEdges: Record<string, EdgeLive>,
  ) {}

  routine(id: string): RoutineLive {
    this.routines ??= { ...this.baseRoutines };
    if (!this.touched.has(id)) {
      this.touched.add(id);
      this.routines[id] = { ...(this.routines[id] ?? emptyRoutine()) };
    }
    return this.routines[id] as RoutineLive;
  }

  crossed(id: string, now: number): void {
    this.edges ??= { ...this.baseEdges };
    this.edges[id] = { count: (this.edges[id]?.count ?? 0) + 1, lastAt: now };
  }
}

/** What one event adds to the counts: activations, errors, states, edge crossings. */
function count(draft: Draft, ev: TraceEvent, now: number): void {
  if (!ev.routine_id) return;
  const d = ev.data;
  switch (ev.event_type) {
    case "routine_start": {
      const r = draft.routine(ev.routine_id);
      r.activations += 1;
      r.running += 1;
      r.status = "running";
      break;
    }
    case "routine_complete": {
      const r = draft.routine(ev.routine_id);
      r.running = Math.max(0, r.running - 1);
      if (r.running === 0) r.status = asRoutineStatus(ev.status, "completed");
      break;
    }
    case "routine_error": {
      const r = draft.routine(ev.routine_id);
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
      const targets = Array.isArray(d.targets) ? (d.targets as { routine_id?: unknown; slot_name?: unknown }[]) : [];
      for (const t of targets) {
        if (typeof t.routine_id !== "string" || typeof t.slot_name !== "string") continue;
        draft.crossed(connectionId(ev.routine_id, String(d.event_name), t.routine_id, t.slot_name), now);
      }
      break;
    }
    default:
      break;
  }
}

/**
 * Applies events in seq order; returns the same object when nothing changed. An event is taken
 * once (a replay overlapping what arrived is ignored); it moves the job's status and the
 * durations, and the counts only when it is newer than what they are as of (`countedSeq`).
 */
export function applyEvents(state: RunState, events: readonly TraceEvent[], now = Date.now()): RunState {
  const draft = new Draft(state.routines, state.edges);
  let { status, pausedAt, lastSeq, countedSeq, missing, error } = state;
  let changed = false;
  for (const ev of events) {
    if (ev.seq <= lastSeq) continue;
    // Subscriptions replay from the first seq on, so a first event above 1 means a lost prefix too.
    if (ev.seq > lastSeq + 1) missing += ev.seq - lastSeq - 1;
    lastSeq = ev.seq;
    changed = true;
    if (ev.seq > countedSeq) {
      countedSeq = ev.seq;
      count(draft, ev, now);
    }
    const d = ev.data;
    switch (ev.event_type) {
      case "routine_complete":
        // Received once, so timed once, whether or not a snapshot had already counted the run.
        if (ev.routine_id && typeof ev.duration === "number") {
          const r = draft.routine(ev.routine_id);
          r.totalDurationMs += ev.duration;
          r.timedRuns += 1;
        }
        break;
      case "job_started":
        status = "running";
        break;
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
  return { ...state, status, pausedAt, routines: draft.routines ?? state.routines, edges: draft.edges ?? state.edges, lastSeq, countedSeq, missing, error };
}

const sameRoutine = (a: RoutineLive, b: RoutineLive): boolean =>
  a.status === b.status && a.activations === b.activations && a.errors === b.errors && a.running === b.running && a.lastError === b.lastError && a.totalDurationMs === b.totalDurationMs && a.timedRuns === b.timedRuns;

/**
 * The job snapshot is the authority on counts and routine states: they become the snapshot's,
 * plus what the events received after its `last_seq` add (`later`: the received events with seq
 * above it, in order). So it may arrive before or after the events it covers, and it repairs
 * counts that lost events (a trace ring that dropped them). A snapshot older than the last one
 * applied is stale and changes nothing. Identity is kept wherever nothing differs.
 */
export function reconcileWithSnapshot(state: RunState, snap: SnapshotCounts, later: readonly TraceEvent[] = [], now = Date.now()): RunState {
  if (snap.last_seq < state.baseSeq) return state;
  const routines: Record<string, RoutineLive> = {};
  for (const [id, rs] of Object.entries(snap.routine_states)) {
    const cur = state.routines[id];
    const status = asRoutineStatus(rs.status, cur?.status ?? "pending");
    routines[id] = {
      status,
      activations: rs.activations,
      errors: rs.errors,
      // In flight as of the snapshot (it does not say how many): one while it says running.
      running: status === "running" ? 1 : 0,
      totalDurationMs: cur?.totalDurationMs ?? 0,
      timedRuns: cur?.timedRuns ?? 0,
      lastError: rs.last_error ?? null,
    };
  }
  const edges: Record<string, EdgeLive> = {};
  for (const [id, n] of Object.entries(snap.connection_counts)) edges[id] = { count: n, lastAt: state.edges[id]?.lastAt ?? 0 };
  const draft = new Draft(routines, edges);
  let countedSeq = snap.last_seq;
  for (const ev of later) {
    if (ev.seq <= countedSeq) continue;
    countedSeq = ev.seq;
    count(draft, ev, now);
  }
  const nextRoutines = keepIdentity(state.routines, draft.routines ?? routines, sameRoutine);
  const nextEdges = keepIdentity(state.edges, draft.edges ?? edges, (a, b) => a.count === b.count);
  // Only a final status is taken from the snapshot: running/paused moves are owned by the ordered
  // event stream and session updates (a snapshot fetched a moment ago may already be stale).
  const statusChanged = snap.status !== state.status && isFinal(snap.status);
  return {
    ...state,
    routines: nextRoutines,
    edges: nextEdges,
    countedSeq: Math.max(countedSeq, state.countedSeq),
    baseSeq: snap.last_seq,
    status: statusChanged ? snap.status : state.status,
    pausedAt: statusChanged ? null : state.pausedAt,
    error: snap.error ? describeJobError(snap.error) : state.error,
  };
}

/** `next`, with the old object wherever an entry (and then the whole record) is unchanged. */
function keepIdentity<T>(prev: Record<string, T>, next: Record<string, T>, same: (a: T, b: T) => boolean): Record<string, T> {
  let changed = Object.keys(prev).length !== Object.keys(next).length;
  for (const [id, value] of Object.entries(next)) {
    const old = prev[id];
    if (old !== undefined && same(old, value)) next[id] = old;
    else changed = true;
  }
  return changed ? next : prev;
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
