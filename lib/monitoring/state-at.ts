/**
 * A job's state as of any trace event: a pure fold over its events 1..N (`foldEvents`), and the
 * per-job checkpoints that make scrubbing cheap (`StateAtCache`). The fold follows the engine's
 * own rules (Job.invoke, settle, applyStrategy, finalize), so routine states and connection
 * counts equal what the job snapshot showed at seq N: docs/time-travel.md.
 */
import type { JobStatus, RoutineStateSnapshot, RoutineStatus, TraceEvent } from "../wire/model";
import { applySharedChanges } from "./shared-changes";

/**
 * What the fold reads of an event: a TraceRecord (the collector's, no timestamp formatted) or a
 * TraceEvent (JSON) both fit.
 */
export type FoldEvent = Pick<TraceEvent, "seq" | "event_type" | "routine_id" | "data">;

/** An activation started and (as of the fold's seq) perhaps finished. */
export interface FoldActivation {
  /** The engine's activation id (null: the event did not carry one, an older history). */
  readonly activationId: number | null;
  readonly routineId: string;
  readonly slotName: string | null;
  readonly startSeq: number;
  endSeq: number | null;
  /** The seqs and event names of its emits so far. */
  readonly outputs: { seq: number; event_name: string }[];
}

interface RoutineFold {
  status: RoutineStatus;
  activations: number;
  errors: number;
  last_error: string | null;
  inFlight: number;
}

/** The fold's state after `seq` events. Treated as immutable once a checkpoint holds it (see clone). */
export interface FoldState {
  seq: number;
  status: JobStatus;
  routines: Map<string, RoutineFold>;
  connections: Map<string, number>;
  /** Values are the recorded JSON copies, never mutated: a shallow copy is a snapshot. */
  shared: Record<string, unknown>;
  /** Started and not finished, oldest first. */
  open: FoldActivation[];
}

/** The fold before any event: every routine the job has, pending. */
export function initialFold(routineIds: Iterable<string>): FoldState {
  const routines = new Map<string, RoutineFold>();
  for (const id of routineIds) routines.set(id, { status: "pending", activations: 0, errors: 0, last_error: null, inFlight: 0 });
  return { seq: 0, status: "pending", routines, connections: new Map(), shared: {}, open: [] };
}

export function cloneFold(s: FoldState): FoldState {
  const routines = new Map<string, RoutineFold>();
  for (const [id, r] of s.routines) routines.set(id, { ...r });
  return {
    seq: s.seq,
    status: s.status,
    routines,
    connections: new Map(s.connections),
    shared: { ...s.shared },
    open: s.open.map((a) => ({ ...a, outputs: [...a.outputs] })),
  };
}

function routineOf(s: FoldState, id: string): RoutineFold {
  let r = s.routines.get(id);
  if (r === undefined) {
    // A routine added to the flow while the job ran (the engine creates its run on first use).
    r = { status: "pending", activations: 0, errors: 0, last_error: null, inFlight: 0 };
    s.routines.set(id, r);
  }
  return r;
}

const idOf = (d: Record<string, unknown>): number | null => (typeof d.activation_id === "number" ? d.activation_id : null);

/** The open activation an event of `routineId` belongs to: by id, else (older events) the oldest of that routine. */
export function openActivationOf(s: FoldState, routineId: string, activationId: number | null): FoldActivation | undefined {
  if (activationId !== null) {
    for (const a of s.open) if (a.activationId === activationId) return a;
    return undefined;
  }
  return s.open.find((a) => a.routineId === routineId);
}

function close(s: FoldState, a: FoldActivation | undefined, seq: number): void {
  if (a === undefined) return;
  a.endSeq = seq;
  s.open.splice(s.open.indexOf(a), 1);
}

/** Applies one event (the next seq) to the state, in place. */
export function foldEvent(s: FoldState, ev: FoldEvent): void {
  s.seq = ev.seq;
  const d = ev.data;
  const rid = ev.routine_id;
  switch (ev.event_type) {
    case "job_started":
      s.status = "running";
      s.shared = {};
      applySharedChanges(s.shared, { set: d.shared_data });
      break;
    case "job_paused":
      s.status = "paused";
      break;
    case "job_resumed":
      s.status = "running";
      break;
    case "routine_start": {
      if (rid === null) break;
      applySharedChanges(s.shared, d.shared_changes);
      const r = routineOf(s, rid);
      r.inFlight++;
      r.activations++;
      if (r.status === "pending" || r.status === "completed") r.status = "running";
      s.open.push({ activationId: idOf(d), routineId: rid, slotName: typeof d.slot_name === "string" ? d.slot_name : null, startSeq: ev.seq, endSeq: null, outputs: [] });
      break;
    }
    case "routine_complete": {
      if (rid === null) break;
      applySharedChanges(s.shared, d.shared_changes);
      const r = routineOf(s, rid);
      r.inFlight = Math.max(0, r.inFlight - 1);
      if (d.interrupted === true) {
        // Job.finalize: an interrupted handler's routine is cancelled unless it is the one that failed.
        if (r.status !== "failed") r.status = "cancelled";
      } else if (r.status === "running" && r.inFlight === 0) r.status = "completed";
      close(s, openActivationOf(s, rid, idOf(d)), ev.seq);
      break;
    }
    case "routine_error": {
      if (rid === null) break;
      applySharedChanges(s.shared, d.shared_changes);
      const r = routineOf(s, rid);
      r.inFlight = Math.max(0, r.inFlight - 1);
      r.errors++;
      r.last_error = typeof d.message === "string" ? d.message : null;
      // Job.applyStrategy; `outcome` says what a retry out of attempts became (older events: the strategy).
      const outcome = typeof d.outcome === "string" ? d.outcome : d.strategy;
      if (outcome === "continue") r.status = "error_continued";
      else if (outcome === "skip") r.status = "skipped";
      else if (outcome !== "retry") r.status = "failed";
      close(s, openActivationOf(s, rid, idOf(d)), ev.seq);
      break;
    }
    case "event_emit": {
      if (rid === null) break;
      const targets = Array.isArray(d.targets) ? (d.targets as { routine_id?: unknown; slot_name?: unknown }[]) : [];
      const name = String(d.event_name);
      for (const t of targets) {
        if (typeof t.routine_id !== "string" || typeof t.slot_name !== "string") continue;
        const id = `${rid}.${name}:${t.routine_id}.${t.slot_name}`;
        s.connections.set(id, (s.connections.get(id) ?? 0) + 1);
      }
      openActivationOf(s, rid, idOf(d))?.outputs.push({ seq: ev.seq, event_name: name });
      break;
    }
    case "job_completed":
    case "job_failed":
    case "job_cancelled": {
      const final: JobStatus = ev.event_type === "job_completed" ? "completed" : ev.event_type === "job_failed" ? "failed" : "cancelled";
      s.status = final;
      const err = d.error as { code?: unknown; routine_id?: unknown; message?: unknown } | null | undefined;
      if (final === "failed" && err?.code === "BUDGET_EXCEEDED" && typeof err.routine_id === "string") {
        // Job.exceedBudget marks the routine that crossed a budget without a routine_error.
        const r = routineOf(s, err.routine_id);
        r.status = "failed";
        r.errors++;
        r.last_error = typeof err.message === "string" ? err.message : null;
        // max_activations is crossed after the routine_start is recorded, before the run is counted.
        if (typeof err.message === "string" && err.message.includes("max_activations")) r.activations = Math.max(0, r.activations - 1);
      }
      for (const r of s.routines.values()) if (r.status === "running") r.status = final === "completed" ? "completed" : "cancelled";
      s.open = [];
      break;
    }
    default:
      break;
  }
}

/** Folds events (seq order, starting right after `from.seq`) into a copy of `from`, up to seq `upTo`. */
export function foldEvents(from: FoldState, events: readonly FoldEvent[], upTo = Number.POSITIVE_INFINITY): FoldState {
  const s = cloneFold(from);
  for (const ev of events) {
    if (ev.seq <= s.seq) continue;
    if (ev.seq > upTo) break;
    foldEvent(s, ev);
  }
  return s;
}

export function routineStatesOf(s: FoldState): Record<string, RoutineStateSnapshot> {
  const out: Record<string, RoutineStateSnapshot> = {};
  for (const [id, r] of s.routines) out[id] = { status: r.status, activations: r.activations, errors: r.errors, last_error: r.last_error };
  return out;
}

export function connectionCountsOf(s: FoldState): Record<string, number> {
  return Object.fromEntries(s.connections);
}

// ------------------------------------------------------------------ checkpoints

/** Events between two checkpoints: a step folds at most this many. */
export const CHECKPOINT_EVERY = 128;

/** One job's events (1..folded, contiguous) and a checkpoint every CHECKPOINT_EVERY seqs. */
export class JobFold {
  readonly events: FoldEvent[] = [];
  /** checkpoints[k] = state after seq k·CHECKPOINT_EVERY. */
  readonly checkpoints: FoldState[];
  private tip: FoldState;

  constructor(routineIds: Iterable<string>) {
    this.tip = initialFold(routineIds);
    this.checkpoints = [cloneFold(this.tip)];
  }

  get folded(): number {
    return this.tip.seq;
  }

  /** Appends the next events (seq folded+1 onward); false when they do not follow on (a gap). */
  extend(events: readonly FoldEvent[]): boolean {
    for (const ev of events) {
      if (ev.seq <= this.tip.seq) continue;
      if (ev.seq !== this.tip.seq + 1) return false;
      foldEvent(this.tip, ev);
      this.events.push(ev);
      if (ev.seq % CHECKPOINT_EVERY === 0) this.checkpoints.push(cloneFold(this.tip));
    }
    return true;
  }

  /** The state after seq `n` (≤ folded), and the state right before it (for the activation event n ends). */
  at(n: number): { before: FoldState; after: FoldState } {
    const k = Math.floor(Math.max(0, n - 1) / CHECKPOINT_EVERY);
    const base = this.checkpoints[k] as FoldState;
    const before = foldEvents(base, this.events.slice(base.seq, Math.max(base.seq, n - 1)));
    const after = cloneFold(before);
    const ev = this.events[n - 1];
    if (n > 0 && ev !== undefined) foldEvent(after, ev);
    return { before, after };
  }
}

/**
 * Folds of recently asked jobs, bounded by the events they hold in all (least recently used
 * first out), so scrubbing a job re-reads and re-folds nothing but the few events since the last
 * checkpoint.
 */
export class StateAtCache {
  private readonly folds = new Map<string, JobFold>();
  private held = 0;

  constructor(readonly maxEvents = 100_000) {}

  get(jobId: string): JobFold | undefined {
    const f = this.folds.get(jobId);
    if (f !== undefined) {
      // Most recently used last.
      this.folds.delete(jobId);
      this.folds.set(jobId, f);
    }
    return f;
  }

  set(jobId: string, fold: JobFold): void {
    this.drop(jobId);
    this.folds.set(jobId, fold);
  }

  /** Counts what a fold holds after it grew; evicts the oldest folds beyond the bound. */
  account(): void {
    let held = 0;
    for (const f of this.folds.values()) held += f.events.length;
    this.held = held;
    for (const [id, f] of this.folds) {
      if (this.held <= this.maxEvents || this.folds.size <= 1) break;
      this.held -= f.events.length;
      this.folds.delete(id);
    }
  }

  drop(jobId: string): void {
    this.folds.delete(jobId);
  }

  get size(): number {
    return this.folds.size;
  }
}
