/**
 * Time travel on the client: the job as it stood after any event, folded from its trace with the
 * same reducer the live view uses (run-state.ts), and its activations laid out per routine for the
 * lane view. Pure.
 *
 * Folding is cheap but not free on a long job, so the fold keeps a checkpoint every
 * CHECKPOINT_EVERY events: any seq is at most that many events away from one, which is what keeps
 * a step back (or a jump anywhere) small whatever the job's length.
 */
import { applyEvents, emptyRunState, type EdgeLive, reconcileWithSnapshot, type RoutineLive, type RunState } from "./run-state";
import type { ActivationAt, JobStateAt, TraceEvent } from "../wire";

export const CHECKPOINT_EVERY = 256;

/** One activation of a routine, from its `routine_start` to its end (or on, while it runs). */
export interface ActivationSpan {
  routineId: string;
  slotName: string | null;
  startSeq: number;
  /** `routine_complete` / `routine_error` seq; null while it has not ended (as far as the trace goes). */
  endSeq: number | null;
  startMs: number;
  endMs: number | null;
  /** How it ended: completed, or the error's strategy (retry, continue, skip, failed...). */
  outcome: "running" | "completed" | "error";
  attempt: number;
}

/** The view at one seq: the folded run state and the routine whose event it is. */
export interface TimelinePoint {
  seq: number;
  state: RunState;
  event: TraceEvent | null;
  /** The activation the event at `seq` belongs to (start, emit or end), if any. */
  activation: ActivationSpan | null;
}

export class Timeline {
  /** The trace in seq order (the first may be above 1 when the ring dropped a prefix). */
  readonly events: readonly TraceEvent[];
  readonly activations: ActivationSpan[] = [];
  /** seq → the activation its event belongs to. */
  private readonly owner = new Map<number, ActivationSpan>();
  /** Seqs of every `routine_start`, ascending (Shift+←/→). */
  readonly starts: number[] = [];
  private readonly checkpoints: RunState[] = [];
  private readonly firstSeq: number;

  /**
   * `base`: the job as it stood right before the first event here, when the trace no longer
   * starts at seq 1 (the server's ring dropped a prefix): folds then start from it. Without it
   * such a timeline folds nothing (`stateAt` answers null).
   */
  constructor(
    events: readonly TraceEvent[],
    private readonly base: RunState | null = null,
  ) {
    this.events = events;
    this.firstSeq = events[0]?.seq ?? 1;
    // An emit or an end belongs to the activation its `activation_id` names; events recorded
    // without one (older history) go to the newest open activation of their routine (exact for
    // sequential runs only: in a concurrent run two activations of one routine can overlap).
    const open = new Map<string, ActivationSpan[]>();
    const byId = new Map<number, ActivationSpan>();
    for (const ev of events) {
      const r = ev.routine_id;
      if (!r) continue;
      if (ev.event_type === "routine_start") {
        const span: ActivationSpan = {
          routineId: r,
          slotName: typeof ev.data.slot_name === "string" ? ev.data.slot_name : null,
          startSeq: ev.seq,
          endSeq: null,
          startMs: Date.parse(ev.timestamp),
          endMs: null,
          outcome: "running",
          attempt: typeof ev.data.attempt === "number" ? ev.data.attempt : 0,
        };
        this.activations.push(span);
        this.starts.push(ev.seq);
        this.owner.set(ev.seq, span);
        if (typeof ev.data.activation_id === "number") byId.set(ev.data.activation_id, span);
        const list = open.get(r);
        if (list) list.push(span);
        else open.set(r, [span]);
      } else if (ev.event_type === "event_emit" || ev.event_type === "routine_complete" || ev.event_type === "routine_error" || ev.event_type === "breakpoint_hit" || ev.event_type === "log") {
        const id = ev.data.activation_id;
        const list = open.get(r);
        const span = typeof id === "number" ? byId.get(id) : list?.at(-1);
        if (!span) continue;
        this.owner.set(ev.seq, span);
        if (ev.event_type === "routine_complete" || ev.event_type === "routine_error") {
          span.endSeq = ev.seq;
          span.endMs = Date.parse(ev.timestamp);
          span.outcome = ev.event_type === "routine_complete" ? "completed" : "error";
          if (typeof id === "number") byId.delete(id);
          const at = list ? list.lastIndexOf(span) : -1;
          if (at >= 0) list?.splice(at, 1);
        }
      }
    }
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  /** The trace starts at seq 1 (nothing dropped). */
  get complete(): boolean {
    return this.firstSeq === 1;
  }

  /** The first seq `stateAt` can fold to (0, or right before the first retained event when a base is given). */
  get foldsFrom(): number {
    return this.complete ? 0 : this.base ? this.firstSeq - 1 : Number.POSITIVE_INFINITY;
  }

  /** Index of the first event with seq > `seq`. */
  private indexAfter(seq: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as TraceEvent).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The run state right after event `seq` (0: before any), from the nearest checkpoint below it;
   * null before `foldsFrom` (the trace no longer holds those events: ask the server).
   */
  stateAt(seq: number): RunState | null {
    if (seq < this.foldsFrom) return null;
    const end = this.indexAfter(seq);
    const k = Math.floor(end / CHECKPOINT_EVERY);
    // Checkpoint i is the state after the first i*CHECKPOINT_EVERY events; fill those missing.
    if (this.checkpoints.length === 0) this.checkpoints.push(this.complete ? emptyRunState() : (this.base as RunState));
    while (this.checkpoints.length <= k) {
      const i = this.checkpoints.length;
      const prev = this.checkpoints[i - 1] as RunState;
      this.checkpoints.push(applyEvents(prev, this.events.slice((i - 1) * CHECKPOINT_EVERY, i * CHECKPOINT_EVERY), 0));
    }
    const base = this.checkpoints[k] as RunState;
    return applyEvents(base, this.events.slice(k * CHECKPOINT_EVERY, end), 0);
  }

  eventAt(seq: number): TraceEvent | null {
    const i = this.indexAfter(seq) - 1;
    const ev = this.events[i];
    return ev && ev.seq === seq ? ev : null;
  }

  activationAt(seq: number): ActivationSpan | null {
    return this.owner.get(seq) ?? null;
  }

  /** The view at `seq`, or null where only the server knows it (see stateAt). */
  point(seq: number): TimelinePoint | null {
    const state = this.stateAt(seq);
    return state ? { seq, state, event: this.eventAt(seq), activation: this.activationAt(seq) } : null;
  }

  /** The `routine_start` before (dir -1) or after (+1) `seq`; `seq` itself when there is none. */
  stepActivation(seq: number, dir: -1 | 1): number {
    const s = this.starts;
    // The first start above `seq` (forward) or at or above it (backward: the one before that).
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dir > 0 ? (s[mid] as number) <= seq : (s[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    if (dir > 0) return lo < s.length ? (s[lo] as number) : seq;
    return lo > 0 ? (s[lo - 1] as number) : seq;
  }

  /** Activations grouped by routine, in order of first start (the lane view's rows). */
  lanes(): { routineId: string; spans: ActivationSpan[] }[] {
    const by = new Map<string, ActivationSpan[]>();
    for (const a of this.activations) {
      const l = by.get(a.routineId);
      if (l) l.push(a);
      else by.set(a.routineId, [a]);
    }
    return [...by.entries()].map(([routineId, spans]) => ({ routineId, spans }));
  }
}

/** The server's state at a seq (GET /api/jobs/{id}/state) as the graph draws it. */
export function runStateFromStateAt(s: JobStateAt): RunState {
  const counted = reconcileWithSnapshot(emptyRunState(), { status: s.status, error: null, routine_states: s.routine_states, connection_counts: s.connection_counts, last_seq: s.at_seq }, [], 0);
  return { ...counted, status: s.status, lastSeq: s.at_seq, countedSeq: s.at_seq };
}

/** The server's view of one activation, as the timeline keeps it. */
export function spanFromActivationAt(a: ActivationAt, event: TraceEvent | null): ActivationSpan {
  return {
    routineId: a.routine_id,
    slotName: a.slot_name,
    startSeq: a.start_seq,
    endSeq: a.end_seq,
    startMs: event ? Date.parse(event.timestamp) : Number.NaN,
    endMs: null,
    outcome: a.end_seq === null ? "running" : "completed",
    attempt: 0,
  };
}

/** The server's answer for a seq as a timeline point (positions the client cannot fold). */
export function pointFromStateAt(s: JobStateAt): TimelinePoint {
  return { seq: s.at_seq, state: runStateFromStateAt(s), event: s.event, activation: s.activation ? spanFromActivationAt(s.activation, s.event) : null };
}

const sameRoutine = (a: RoutineLive, b: RoutineLive): boolean =>
  a.status === b.status && a.activations === b.activations && a.errors === b.errors && a.running === b.running && a.lastError === b.lastError && a.totalDurationMs === b.totalDurationMs && a.timedRuns === b.timedRuns;

/**
 * `next` with `prev`'s objects wherever a routine or edge is unchanged: a scrub step then
 * re-renders only the nodes and edges whose counts or states moved.
 */
export function keepViewIdentity(prev: RunState, next: RunState): RunState {
  const routines = keep(prev.routines, next.routines, sameRoutine);
  const edges = keep(prev.edges, next.edges, (a: EdgeLive, b: EdgeLive) => a.count === b.count);
  return routines === next.routines && edges === next.edges ? next : { ...next, routines, edges };
}

function keep<T>(prev: Record<string, T>, next: Record<string, T>, same: (a: T, b: T) => boolean): Record<string, T> {
  let changed = Object.keys(prev).length !== Object.keys(next).length;
  const out: Record<string, T> = {};
  for (const [id, value] of Object.entries(next)) {
    const old = prev[id];
    if (old !== undefined && same(old, value)) out[id] = old;
    else {
      out[id] = value;
      changed = true;
    }
  }
  return changed ? out : prev;
}
