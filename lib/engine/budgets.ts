/**
 * Per-job budgets: how much one job may queue, run and hold, so a flow that grows without bound
 * (a cycle whose emits fan out) fails on its own instead of taking the process down.
 */
import { FlowDefinitionError } from "./errors";

/** The three budgets of a job; null = no limit. */
export interface JobBudgets {
  /** Activations waiting in the job's queue at once. */
  maxQueuedActivations: number | null;
  /** Activations the job runs in all (a retry counts again). */
  maxActivations: number | null;
  /** Estimated bytes of the payloads waiting in its queue (see `estimatePayloadBytes`). */
  maxQueueBytes: number | null;
}

/** What a flow or a server sets: each budget a whole number ≥ 1, null for none, omitted to inherit. */
export type JobBudgetSettings = Partial<JobBudgets>;

/** The budget names as errors, the DSL and the docs spell them. */
export const BUDGET_NAMES = {
  maxQueuedActivations: "max_queued_activations",
  maxActivations: "max_activations",
  maxQueueBytes: "max_queue_bytes",
} as const satisfies Record<keyof JobBudgets, string>;

export type BudgetName = (typeof BUDGET_NAMES)[keyof JobBudgets];

/**
 * The defaults when neither the flow nor the server sets a budget: far above what a sane job needs
 * (the engine bench queues 333,333 payloads, runs 1,000,000 activations), far below what takes a
 * server down.
 */
export const DEFAULT_JOB_BUDGETS: Readonly<JobBudgets> = Object.freeze({
  maxQueuedActivations: 1_000_000,
  maxActivations: 10_000_000,
  maxQueueBytes: 64 * 2 ** 20,
});

const KEYS = Object.keys(BUDGET_NAMES) as (keyof JobBudgets)[];

/** Throws INVALID_BUDGET naming the budget unless every given value is a whole number ≥ 1 or null. */
export function checkBudgets(settings: JobBudgetSettings, where = "budgets"): JobBudgetSettings {
  if (typeof settings !== "object" || settings === null) throw new FlowDefinitionError("INVALID_BUDGET", `${where} must be an object`);
  const out: JobBudgetSettings = {};
  for (const key of Object.keys(settings)) {
    if (!KEYS.includes(key as keyof JobBudgets)) {
      throw new FlowDefinitionError("INVALID_BUDGET", `${where}: unknown budget '${key}' (budgets: ${KEYS.join(", ")})`);
    }
    const k = key as keyof JobBudgets;
    const v = settings[k];
    if (v === undefined) continue;
    if (v !== null && !(Number.isSafeInteger(v) && v >= 1)) {
      throw new FlowDefinitionError("INVALID_BUDGET", `${where}.${k} (${BUDGET_NAMES[k]}) must be a whole number ≥ 1 or null (no limit), got ${String(v)}`);
    }
    out[k] = v;
  }
  return out;
}

/** The budgets a job runs with: the flow's own, else the server's defaults, else the engine's. */
export function resolveBudgets(flow: JobBudgetSettings, defaults: JobBudgetSettings | undefined): JobBudgets {
  const out = { ...DEFAULT_JOB_BUDGETS };
  for (const k of KEYS) {
    const own = flow[k];
    const dflt = defaults?.[k];
    if (own !== undefined) out[k] = own;
    else if (dflt !== undefined) out[k] = dflt;
  }
  return out;
}

/** What a queued item costs beyond its payload: its ring slots, the payload object's header. */
export const QUEUED_ITEM_BYTES = 64;
/** How many values the estimate looks at before it extrapolates (keeps the hot path cheap). */
const SAMPLE_NODES = 64;
let nodesLeft = 0;

/**
 * A cheap estimate of the bytes a payload holds: strings by length, numbers and booleans 8, and
 * 16 + 8 per entry for containers. It looks at no more than 64 values: past them, the rest of an
 * array or object is extrapolated from what was seen, so a payload of any size costs about the
 * same to estimate (no serialization). Values shared by several payloads are counted in each.
 */
export function estimatePayloadBytes(payload: object): number {
  nodesLeft = SAMPLE_NODES;
  try {
    return QUEUED_ITEM_BYTES + sizeOf(payload, 0);
  } catch {
    // A getter that throws, a proxy that will not list its keys: the job must not fail for the
    // estimate's sake, so such a payload counts as a small one.
    return QUEUED_ITEM_BYTES + 64;
  }
}

function sizeOf(v: unknown, depth: number): number {
  switch (typeof v) {
    case "string":
      return 16 + v.length;
    case "object": {
      if (v === null) return 8;
      if (nodesLeft <= 0 || depth > 16) return 64;
      if (Array.isArray(v)) return 16 + sizeOfArray(v, depth);
      if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
      return sizeOfObject(v as Record<string, unknown>, depth);
    }
    default:
      return 8;
  }
}

function sizeOfArray(a: unknown[], depth: number): number {
  const n = a.length;
  let size = 0;
  let i = 0;
  for (; i < n && nodesLeft > 0; i++) {
    nodesLeft--;
    size += 8 + sizeOf(a[i], depth + 1);
  }
  // Not all seen: the rest is taken to be like what was.
  return i < n ? size + Math.ceil((size / Math.max(i, 1)) * (n - i)) : size;
}

function sizeOfObject(o: Record<string, unknown>, depth: number): number {
  let size = 16;
  let seen = 0;
  let rest = 0;
  for (const key in o) {
    if (nodesLeft > 0) {
      nodesLeft--;
      seen++;
      const v = o[key];
      // Primitives inline: most payloads are a few flat keys, and this runs once per emit.
      size += 8 + key.length + (typeof v === "string" ? 16 + v.length : typeof v === "object" && v !== null ? sizeOf(v, depth + 1) : 8);
    } else rest++;
  }
  return rest > 0 ? size + Math.ceil(((size - 16) / Math.max(seen, 1)) * rest) : size;
}
