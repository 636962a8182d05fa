/**
 * The difference between two runs of one flow (GET /api/jobs/diff): a pure function over each
 * run's activations, in the order they started. docs/time-travel.md says how it is computed.
 */
import type { FirstDivergence, ForkedFrom, JobDiff, RoutineDiff } from "../wire/timetravel";
import type { JobStatus } from "../wire/model";

/** One activation of a run: what it received and what it emitted. */
export interface RunActivation {
  /** The engine's activation id; null when only the trace's preview of its input is left. */
  activationId: number | null;
  routineId: string;
  /** The seq of its (first attempt's) routine_start. */
  startSeq: number;
  /** Started with the job's params (its entry), not carried by an event. */
  entry: boolean;
  input: unknown;
  outputs: { eventName: string; payload: unknown }[];
  /** Its input or some output is a preview (past the job's payload budget). */
  truncated: boolean;
}

/** What the diff reads of one run. */
export interface RunRecord {
  jobId: string;
  flowId: string;
  status: JobStatus;
  forkedFrom: ForkedFrom | null;
  /** Ordered by startSeq. */
  activations: RunActivation[];
  /** Total handler time per routine (ms). */
  durations: Readonly<Record<string, number>>;
  connectionCounts: Readonly<Record<string, number>>;
  /** The flow's routines and connections as the job ran them (listed even when nothing ran there). */
  routineIds: readonly string[];
  connectionIds: readonly string[];
  /** Some activation was lost or only its preview is left. */
  approximate: boolean;
}

/** JSON equality: object key order does not matter, a key holding `undefined` counts as absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    // NaN and ±Infinity are all `null` in JSON.
    if (typeof a === "number" && typeof b === "number") return !Number.isFinite(a) && !Number.isFinite(b);
    return false;
  }
  const arrA = Array.isArray(a);
  if (arrA !== Array.isArray(b)) return false;
  if (arrA) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!jsonEqual(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    n++;
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) n--;
  return n === 0;
}

function outputsEqual(a: RunActivation["outputs"], b: RunActivation["outputs"]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as RunActivation["outputs"][number];
    const y = b[i] as RunActivation["outputs"][number];
    if (x.eventName !== y.eventName || !jsonEqual(x.payload, y.payload)) return false;
  }
  return true;
}

/** An activation as one run has it: its own, or (a fork's) inherited from its origin. */
interface Slot {
  act: RunActivation;
  inherited: boolean;
}

/**
 * Each routine's activations in order. A fork counts the origin's activations that started before
 * the fork point as its own, ahead of those it ran.
 */
function byRoutine(run: RunRecord, inheritedFrom: RunRecord | null, forkSeq: number): Map<string, Slot[]> {
  const out = new Map<string, Slot[]>();
  const add = (act: RunActivation, inherited: boolean) => {
    let list = out.get(act.routineId);
    if (list === undefined) {
      list = [];
      out.set(act.routineId, list);
    }
    list.push({ act, inherited });
  };
  if (inheritedFrom !== null) for (const a of inheritedFrom.activations) if (a.startSeq < forkSeq) add(a, true);
  for (const a of run.activations) add(a, false);
  return out;
}

function side(slot: Slot | undefined): FirstDivergence["base"] {
  if (slot === undefined) return { seq: null, activation_id: null, input: null, outputs: [], truncated: false };
  const a = slot.act;
  return {
    // An inherited activation is not one of this job's events.
    seq: slot.inherited ? null : a.startSeq,
    activation_id: slot.inherited ? null : a.activationId,
    input: a.input,
    outputs: a.outputs.map((o) => ({ event_name: o.eventName, payload: o.payload })),
    truncated: a.truncated,
  };
}

/**
 * Compares two runs of one flow. Activations of a routine are compared in order (the k-th with
 * the k-th) by input and outputs (two entry activations whose params and outputs both differ
 * diverge at the output: the params are what the caller chose). The first divergence is the differing pair (or unmatched
 * activation) with the smallest routine_start seq, taken in the base run when it has the
 * activation, else in the other: an effect is always recorded after its cause, so that is a root
 * cause. When one run is a fork of the other, what the fork inherited counts as equal, and its own
 * activations are placed after the fork point on the origin's timeline.
 */
export function diffRuns(base: RunRecord, other: RunRecord): JobDiff {
  let inherited: ForkedFrom | null = null;
  let baseSlots: Map<string, Slot[]>;
  let otherSlots: Map<string, Slot[]>;
  // Where a fork's own activations sort on its origin's timeline (0: no fork involved).
  let baseShift = 0;
  let otherShift = 0;
  if (other.forkedFrom !== null && other.forkedFrom.job_id === base.jobId && other.jobId !== base.jobId) {
    inherited = other.forkedFrom;
    baseSlots = byRoutine(base, null, 0);
    otherSlots = byRoutine(other, base, inherited.seq);
    otherShift = inherited.seq;
  } else if (base.forkedFrom !== null && base.forkedFrom.job_id === other.jobId && other.jobId !== base.jobId) {
    inherited = base.forkedFrom;
    baseSlots = byRoutine(base, other, inherited.seq);
    otherSlots = byRoutine(other, null, 0);
    baseShift = inherited.seq;
  } else {
    baseSlots = byRoutine(base, null, 0);
    otherSlots = byRoutine(other, null, 0);
  }
  const orderOf = (slot: Slot, shift: number): number => (slot.inherited ? slot.act.startSeq : slot.act.startSeq + shift);

  const routineIds = new Set<string>([...base.routineIds, ...other.routineIds, ...baseSlots.keys(), ...otherSlots.keys()]);
  const routines: RoutineDiff[] = [];
  let first: (FirstDivergence & { order: number }) | null = null;
  let approximate = base.approximate || other.approximate;
  for (const routineId of [...routineIds].sort()) {
    const b = baseSlots.get(routineId) ?? [];
    const o = otherSlots.get(routineId) ?? [];
    const both = Math.min(b.length, o.length);
    let equal = 0;
    for (let k = 0; k < Math.max(b.length, o.length); k++) {
      const x = b[k];
      const y = o[k];
      let what: FirstDivergence["what"] | null = null;
      if (x !== undefined && y !== undefined) {
        if (x.act.truncated || y.act.truncated) approximate = true;
        if (x.act === y.act) equal++;
        else {
          const inputs = jsonEqual(x.act.input, y.act.input);
          const outputs = outputsEqual(x.act.outputs, y.act.outputs);
          // Two entries' inputs are the params each run was started with: that they differ is the
          // premise of the comparison, so what the runs did differently starts at the output.
          if (!inputs) what = x.act.entry && y.act.entry && !outputs ? "output" : "input";
          else if (!outputs) what = "output";
          else equal++;
        }
      } else what = "missing";
      if (what === null) continue;
      const order = x !== undefined ? orderOf(x, baseShift) : orderOf(y as Slot, otherShift);
      if (first === null || order < first.order || (order === first.order && routineId < first.routine_id)) {
        first = { routine_id: routineId, index: k, what, base: side(x), other: side(y), order };
      }
    }
    const baseTime = base.durations[routineId] ?? 0;
    const otherTime = other.durations[routineId] ?? 0;
    routines.push({
      routine_id: routineId,
      diff: b.length === 0 && o.length > 0 ? "only-other" : o.length === 0 && b.length > 0 ? "only-base" : b.length === o.length && equal === b.length ? "same" : "changed",
      base_activations: b.length,
      other_activations: o.length,
      equal_activations: equal,
      outputs_equal: equal === both,
      duration_ratio: baseTime > 0 && otherTime > 0 ? otherTime / baseTime : null,
    });
  }

  const connectionIds = new Set<string>([...base.connectionIds, ...other.connectionIds, ...Object.keys(base.connectionCounts), ...Object.keys(other.connectionCounts)]);
  const connections = [...connectionIds].sort().map((id) => ({ connection_id: id, base_count: base.connectionCounts[id] ?? 0, other_count: other.connectionCounts[id] ?? 0 }));

  let firstDivergence: FirstDivergence | null = null;
  if (first !== null) {
    const { order: _order, ...rest } = first;
    firstDivergence = rest;
  }
  return {
    flow_id: base.flowId,
    base: { job_id: base.jobId, status: base.status, forked_from: base.forkedFrom },
    other: { job_id: other.jobId, status: other.status, forked_from: other.forkedFrom },
    inherited,
    routines,
    connections,
    first_divergence: firstDivergence,
    approximate,
  };
}
