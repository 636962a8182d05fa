import { nextStartOrder } from "../engine";
import { type CompiledExpression, compileExpression, ExpressionBudget, ExpressionError, isTruthy } from "../expression";
import { MonitoringError } from "./errors";
import { type HitCondition, parseHitCondition } from "./hit-condition";
import { LogTemplate } from "./log-message";
import {
  type Breakpoint,
  type BreakpointInput,
  BreakpointInputSchema,
  type BreakpointPatch,
  BreakpointPatchSchema,
  type BreakpointType,
  formatZodError,
  snakeCaseKeys,
} from "./schemas";

/** Where a job is about to do something a breakpoint may stop on. */
export type BreakpointLocation =
  | { kind: "activation"; routine_id: string; slot_name: string; connection_id: string | null }
  | { kind: "emit"; routine_id: string; event_name: string }
  | { kind: "error"; routine_id: string; slot_name: string };

export interface JobRef {
  job_id: string;
  flow_id: string;
  /** From the engine's start order: flow breakpoints apply to jobs started after them. */
  start_order: number;
}

export interface CheckResult {
  /** The first matching breakpoint that stops (not a logpoint), or null. */
  stop: Breakpoint | null;
  /** Logpoint messages produced at this location, with their breakpoints. */
  logs: { breakpoint: Breakpoint; message: string }[];
  /**
   * Breakpoints whose condition or log message was not evaluated because the location's shared
   * budget (CHECK_BUDGET_STEPS) was used up by the ones before them: they did not stop or log.
   */
  skipped: Breakpoint[];
}

/**
 * Steps shared by every condition and logpoint expression checked at one location (one
 * activation, emit or error): two expressions' worth of the evaluator's own budget. Many
 * breakpoints with costly conditions cannot add up to a long stall of the event loop; those
 * past the budget are not evaluated, count a condition error and are reported as skipped.
 */
export const CHECK_BUDGET_STEPS = 200_000;

const BUDGET_MESSAGE = `Not evaluated: the conditions and logpoints checked before it at this location used up their shared budget of ${CHECK_BUDGET_STEPS} steps`;

/** What the manager may ask about flows and jobs, to fill in and check what it is given. */
export interface BreakpointResolver {
  /** The flow of a known job (null when the job is unknown). */
  flowOfJob(jobId: string): string | null;
  /** Checks that routine, slot, event or connection exist in the flow; throws MonitoringError(not_found) if not. Unknown flows pass. */
  checkTarget?(flowId: string, bp: Breakpoint): void;
}

class Entry {
  readonly data: Breakpoint;
  readonly createdOrder: number;
  condition: CompiledExpression | null;
  hitCondition: HitCondition | null;
  log: LogTemplate | null;
  /** Hits per job: hit conditions count passes within one job, also for flow breakpoints. */
  readonly jobHits = new Map<string, number>();
  /** Bumped whenever `data` changes (counters included), so a copy elsewhere knows it is stale. */
  revision = 0;

  constructor(data: Breakpoint, compiled: Compiled) {
    this.data = data;
    this.createdOrder = nextStartOrder();
    this.condition = compiled.condition;
    this.hitCondition = compiled.hitCondition;
    this.log = compiled.log;
  }

  snapshot(): Breakpoint {
    return { ...this.data };
  }
}

interface Compiled {
  condition: CompiledExpression | null;
  hitCondition: HitCondition | null;
  log: LogTemplate | null;
}

function compileParts(p: { condition?: string | null; hit_condition?: string | null; log_message?: string | null }): Compiled {
  let condition: CompiledExpression | null = null;
  const src = p.condition?.trim();
  if (src) {
    try {
      condition = compileExpression(src);
    } catch (err) {
      const position = err instanceof ExpressionError ? err.position : null;
      throw new MonitoringError("bad_request", "INVALID_CONDITION", `Invalid condition: ${(err as Error).message}`, { position });
    }
  }
  const hit = p.hit_condition?.trim();
  return {
    condition,
    hitCondition: hit ? parseHitCondition(hit) : null,
    log: p.log_message ? LogTemplate.parse(p.log_message) : null,
  };
}

function inferType(input: BreakpointInput): BreakpointType {
  if (input.type) return input.type;
  if (input.connection) return "connection";
  if (input.event_name) return "event";
  if (input.slot_name) return "slot";
  return "routine";
}

/** The fields each type takes; anything else given is a mistake worth reporting. */
const FIELDS: Record<BreakpointType, { requires: (keyof BreakpointInput)[]; allows: (keyof BreakpointInput)[] }> = {
  routine: { requires: ["routine_id"], allows: ["routine_id"] },
  slot: { requires: ["routine_id", "slot_name"], allows: ["routine_id", "slot_name"] },
  event: { requires: ["routine_id", "event_name"], allows: ["routine_id", "event_name"] },
  connection: { requires: ["connection"], allows: ["connection"] },
  // Without a routine: any error of the job (or of every job of the flow).
  error: { requires: [], allows: ["routine_id", "slot_name"] },
};

let idCounter = 0;

/**
 * The index keys a breakpoint is found under: where it can match. A location looks up only its
 * own keys, so checking costs the breakpoints on that routine, not every breakpoint of the job.
 */
function indexKey(bp: Breakpoint): string {
  switch (bp.type) {
    case "routine":
    case "slot":
      return `a:${bp.routine_id}`;
    case "connection":
      return `c:${bp.connection}`;
    case "event":
      return `e:${bp.routine_id}\u0000${bp.event_name}`;
    case "error":
      return `x:${bp.routine_id === null ? "" : `r:${bp.routine_id}`}`;
  }
}

function locationKeys(loc: BreakpointLocation): string[] {
  switch (loc.kind) {
    case "activation":
      return loc.connection_id === null ? [`a:${loc.routine_id}`] : [`a:${loc.routine_id}`, `c:${loc.connection_id}`];
    case "emit":
      return [`e:${loc.routine_id}\u0000${loc.event_name}`];
    case "error":
      return [`x:r:${loc.routine_id}`, "x:"];
  }
}

/** The breakpoints of one job or one flow: all of them (creation order) and by index key. */
class Bucket {
  readonly all = new Set<Entry>();
  readonly byKey = new Map<string, Set<Entry>>();
  add(e: Entry): void {
    this.all.add(e);
    addTo(this.byKey, indexKey(e.data), e);
  }
  delete(e: Entry): void {
    this.all.delete(e);
    removeFrom(this.byKey, indexKey(e.data), e);
  }
  get size(): number {
    return this.all.size;
  }
  /** The entries that may match `loc`, in creation order. */
  candidates(loc: BreakpointLocation, out: Entry[], accept: (e: Entry) => boolean): void {
    const start = out.length;
    let sets = 0;
    for (const key of locationKeys(loc)) {
      const set = this.byKey.get(key);
      if (!set) continue;
      sets++;
      for (const e of set) if (accept(e)) out.push(e);
    }
    // Two index keys gave entries: put them back in creation order ("the first that stops").
    if (sets > 1) {
      const mine = out.splice(start).sort((a, b) => a.createdOrder - b.createdOrder);
      for (const e of mine) out.push(e);
    }
  }
}

/**
 * Breakpoints: routine, slot, event, connection and error; job-scoped (job_id set) or flow-scoped
 * (job_id null, for every job of the flow started afterwards); with conditions, DAP-style hit
 * conditions and logpoints. Conditions are compiled at creation (a bad one is refused there)
 * and a condition failing at run time is counted, never fatal.
 */
export class BreakpointManager {
  private readonly byId = new Map<string, Entry>();
  private readonly byJob = new Map<string, Bucket>();
  private readonly byFlow = new Map<string, Bucket>();
  /** Bumped on every change, so hot paths can cache "does this job have breakpoints?". */
  version = 0;
  private readonly changeListeners = new Set<() => void>();

  constructor(private readonly resolver: BreakpointResolver = { flowOfJob: () => null }) {}

  /** Accepts snake_case (document) or camelCase (TypeScript) field names. Returns the breakpoint. */
  setBreakpoint(input: Record<string, unknown>): Breakpoint {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", "A breakpoint must be an object");
    }
    const parsed = BreakpointInputSchema.safeParse(snakeCaseKeys(input));
    if (!parsed.success) throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", formatZodError(parsed.error));
    const b = parsed.data;
    const type = inferType(b);
    const rule = FIELDS[type];
    for (const f of rule.requires) {
      if (!b[f]) throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", `${f} is required for ${type} breakpoints`);
    }
    for (const f of ["routine_id", "slot_name", "event_name", "connection"] as const) {
      if (b[f] && !rule.allows.includes(f)) {
        throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", `${type} breakpoints do not take ${f}`);
      }
    }
    const jobId = b.job_id ?? null;
    let flowId = b.flow_id ?? null;
    if (jobId) {
      const jobFlow = this.resolver.flowOfJob(jobId);
      if (jobFlow && flowId && jobFlow !== flowId) {
        throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", `Job '${jobId}' belongs to flow '${jobFlow}', not '${flowId}'`);
      }
      flowId = jobFlow ?? flowId;
    } else if (!flowId) {
      throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", "A breakpoint needs a job_id (this job) or a flow_id (every job of the flow started later)");
    }
    const compiled = compileParts(b);
    const data: Breakpoint = {
      breakpoint_id: `bp_${(++idCounter).toString(36)}_${Math.random().toString(36).slice(2, 8)}`,
      job_id: jobId,
      flow_id: flowId,
      type,
      routine_id: b.routine_id ?? null,
      slot_name: b.slot_name ?? null,
      event_name: b.event_name ?? null,
      connection: b.connection ?? null,
      condition: b.condition?.trim() || null,
      hit_condition: b.hit_condition?.trim() || null,
      log_message: b.log_message || null,
      enabled: b.enabled ?? true,
      once: b.once ?? false,
      hit_count: 0,
      error_count: 0,
      last_error: null,
      created_at: new Date().toISOString(),
    };
    if (flowId) this.resolver.checkTarget?.(flowId, data);
    const entry = new Entry(data, compiled);
    this.byId.set(data.breakpoint_id, entry);
    if (jobId) addToBucket(this.byJob, jobId, entry);
    else addToBucket(this.byFlow, flowId as string, entry);
    this.changed();
    return entry.snapshot();
  }

  getBreakpoint(id: string): Breakpoint | undefined {
    return this.byId.get(id)?.snapshot();
  }

  /** Breakpoints of one job (its own, not the flow's). */
  getBreakpoints(jobId: string): Breakpoint[] {
    return [...(this.byJob.get(jobId)?.all ?? [])].map((e) => e.snapshot());
  }

  /** Flow-scoped breakpoints of a flow. */
  getFlowBreakpoints(flowId: string): Breakpoint[] {
    return [...(this.byFlow.get(flowId)?.all ?? [])].map((e) => e.snapshot());
  }

  /** Everything that applies to a job: its own breakpoints and its flow's (set before it started). */
  getEffectiveBreakpoints(job: JobRef): Breakpoint[] {
    return this.applicable(job).map((e) => e.snapshot());
  }

  /** Changes enabled / condition / hit condition / log message; a bad new condition changes nothing. */
  updateBreakpoint(id: string, patch: Record<string, unknown>): Breakpoint {
    const entry = this.byId.get(id);
    if (!entry) throw new MonitoringError("not_found", "BREAKPOINT_NOT_FOUND", `Breakpoint '${id}' not found`);
    const parsed = BreakpointPatchSchema.safeParse(snakeCaseKeys(patch));
    if (!parsed.success) throw new MonitoringError("bad_request", "INVALID_BREAKPOINT", formatZodError(parsed.error));
    const p: BreakpointPatch = parsed.data;
    const next = {
      condition: p.condition !== undefined ? p.condition?.trim() || null : entry.data.condition,
      hit_condition: p.hit_condition !== undefined ? p.hit_condition?.trim() || null : entry.data.hit_condition,
      log_message: p.log_message !== undefined ? p.log_message || null : entry.data.log_message,
    };
    const compiled = compileParts(next);
    entry.condition = compiled.condition;
    entry.hitCondition = compiled.hitCondition;
    entry.log = compiled.log;
    Object.assign(entry.data, next);
    if (p.enabled !== undefined) entry.data.enabled = p.enabled;
    entry.revision++;
    this.changed();
    return entry.snapshot();
  }

  removeBreakpoint(id: string, jobId?: string): boolean {
    const entry = this.byId.get(id);
    if (!entry || (jobId !== undefined && entry.data.job_id !== jobId)) return false;
    this.byId.delete(id);
    if (entry.data.job_id) removeFromBucket(this.byJob, entry.data.job_id, entry);
    else if (entry.data.flow_id) removeFromBucket(this.byFlow, entry.data.flow_id, entry);
    this.changed();
    return true;
  }

  /** Removes the job's own breakpoints and its hit counters on flow breakpoints. */
  clearBreakpoints(jobId: string): void {
    for (const e of this.byJob.get(jobId)?.all ?? []) this.byId.delete(e.data.breakpoint_id);
    this.byJob.delete(jobId);
    for (const bucket of this.byFlow.values()) for (const e of bucket.all) e.jobHits.delete(jobId);
    this.changed();
  }

  /** Removes every flow-scoped breakpoint of a flow (when the flow is deleted). */
  clearFlowBreakpoints(flowId: string): void {
    for (const e of this.byFlow.get(flowId)?.all ?? []) this.byId.delete(e.data.breakpoint_id);
    this.byFlow.delete(flowId);
    this.changed();
  }

  /** Every flow-scoped breakpoint, in creation order. */
  getAllFlowBreakpoints(): Breakpoint[] {
    const out: Breakpoint[] = [];
    for (const e of this.byId.values()) if (e.data.job_id === null) out.push(e.snapshot());
    return out;
  }

  /**
   * Every flow-scoped breakpoint's id and revision (bumped on each change, hit and error counts
   * included), with a way to copy it: a writer compares revisions and copies only what changed,
   * instead of copying and serialising every breakpoint on every flush.
   */
  forEachFlowBreakpoint(fn: (id: string, revision: number, snapshot: () => Breakpoint) => void): void {
    for (const e of this.byId.values()) if (e.data.job_id === null) fn(e.data.breakpoint_id, e.revision, () => e.snapshot());
  }

  /**
   * Puts back a flow breakpoint saved earlier (id, counters and creation time kept); it applies
   * to jobs started from now on. Returns false when it no longer compiles.
   */
  restoreBreakpoint(bp: Breakpoint): boolean {
    if (bp.job_id !== null || bp.flow_id === null || this.byId.has(bp.breakpoint_id)) return false;
    let compiled: Compiled;
    try {
      compiled = compileParts(bp);
    } catch {
      return false;
    }
    // Saved before `once` existed: such a breakpoint is a lasting one.
    const entry = new Entry({ ...bp, once: bp.once ?? false }, compiled);
    this.byId.set(bp.breakpoint_id, entry);
    addToBucket(this.byFlow, bp.flow_id, entry);
    this.changed();
    return true;
  }

  /** Called after every change (set, update, remove, clear); hit counts change without it. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    for (const listener of this.changeListeners) listener();
  }

  /** Cheap: could any breakpoint apply to this job? */
  hasBreakpointsFor(job: JobRef): boolean {
    if ((this.byJob.get(job.job_id)?.size ?? 0) > 0) return true;
    for (const e of this.byFlow.get(job.flow_id)?.all ?? []) if (e.createdOrder < job.start_order) return true;
    return false;
  }

  /**
   * Evaluates the breakpoints that apply at `location`. `scope` builds the condition scope once
   * (only when some breakpoint matches the location). Counts hits and condition errors.
   */
  check(job: JobRef, location: BreakpointLocation, scope: () => Record<string, unknown>): CheckResult {
    const result: CheckResult = { stop: null, logs: [], skipped: [] };
    let vars: Record<string, unknown> | null = null;
    const budget = new ExpressionBudget(CHECK_BUDGET_STEPS);
    for (const e of this.candidates(job, location)) {
      const bp = e.data;
      if (!bp.enabled || !matches(bp, location)) continue;
      // Past the shared budget: not evaluated, so neither a stop nor a log line (documented).
      if (budget.exhausted && (e.condition !== null || e.log?.hasExpressions === true)) {
        bp.error_count++;
        bp.last_error = BUDGET_MESSAGE;
        e.revision++;
        result.skipped.push(e.snapshot());
        continue;
      }
      const hitsInJob = e.jobHits.get(job.job_id) ?? 0;
      vars ??= scope();
      vars.hit_count = hitsInJob;
      if (e.condition !== null) {
        let held: boolean;
        try {
          held = isTruthy(e.condition.evaluate(vars, { budget }));
        } catch (err) {
          bp.error_count++;
          bp.last_error = (err as Error).message;
          e.revision++;
          continue;
        }
        if (!held) continue;
      }
      bp.hit_count++;
      e.revision++;
      e.jobHits.set(job.job_id, hitsInJob + 1);
      if (e.hitCondition !== null && !e.hitCondition(hitsInJob + 1)) continue;
      if (e.log !== null) {
        vars.hit_count = hitsInJob + 1;
        result.logs.push({ breakpoint: e.snapshot(), message: e.log.render(vars, budget) });
      } else if (result.stop === null) {
        result.stop = e.snapshot();
      }
    }
    // A one-shot breakpoint ("run to here") is gone once it stopped the job.
    if (result.stop?.once) this.removeBreakpoint(result.stop.breakpoint_id);
    return result;
  }

  private applicable(job: JobRef): Entry[] {
    const out: Entry[] = [];
    for (const e of this.byJob.get(job.job_id)?.all ?? []) out.push(e);
    for (const e of this.byFlow.get(job.flow_id)?.all ?? []) if (e.createdOrder < job.start_order) out.push(e);
    return out;
  }

  /** What `applicable` gives, narrowed to the index keys of `location` (same order). */
  private candidates(job: JobRef, location: BreakpointLocation): Entry[] {
    const out: Entry[] = [];
    this.byJob.get(job.job_id)?.candidates(location, out, () => true);
    this.byFlow.get(job.flow_id)?.candidates(location, out, (e) => e.createdOrder < job.start_order);
    return out;
  }

  /** How many breakpoints may match `location` for `job` (what a check looks at). */
  candidateCount(job: JobRef, location: BreakpointLocation): number {
    return this.candidates(job, location).length;
  }
}

function matches(bp: Breakpoint, loc: BreakpointLocation): boolean {
  switch (bp.type) {
    case "routine":
      return loc.kind === "activation" && loc.routine_id === bp.routine_id;
    case "slot":
      return loc.kind === "activation" && loc.routine_id === bp.routine_id && loc.slot_name === bp.slot_name;
    case "connection":
      return loc.kind === "activation" && loc.connection_id === bp.connection;
    case "event":
      return loc.kind === "emit" && loc.routine_id === bp.routine_id && loc.event_name === bp.event_name;
    case "error":
      return loc.kind === "error" && (bp.routine_id === null || loc.routine_id === bp.routine_id) && (bp.slot_name === null || loc.slot_name === bp.slot_name);
  }
}

function addToBucket(map: Map<string, Bucket>, key: string, e: Entry): void {
  let bucket = map.get(key);
  if (!bucket) {
    bucket = new Bucket();
    map.set(key, bucket);
  }
  bucket.add(e);
}

function removeFromBucket(map: Map<string, Bucket>, key: string, e: Entry): void {
  const bucket = map.get(key);
  if (!bucket) return;
  bucket.delete(e);
  if (bucket.size === 0) map.delete(key);
}

function addTo(map: Map<string, Set<Entry>>, key: string, e: Entry): void {
  const set = map.get(key) ?? new Set<Entry>();
  set.add(e);
  map.set(key, set);
}

function removeFrom(map: Map<string, Set<Entry>>, key: string, e: Entry): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(e);
  if (set.size === 0) map.delete(key);
}
