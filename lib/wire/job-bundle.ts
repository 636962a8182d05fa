/**
 * A finished job as one JSON document: everything durable history stores for it (docs/history.md,
 * "Jobs run elsewhere"). A worker process makes one when a job ends (`exportJobBundle`, or
 * `bundleFromEvents` for a job whose worker died) and the control plane writes it to its history
 * (`Persistence.importJob`), after which the job is served exactly as one restored from history.
 *
 * Here, beside the other shapes that cross a process boundary, because the receiving side must
 * validate what arrives and both the runtime (which builds bundles) and persistence (which
 * writes them) use the type.
 */
import { z } from "zod";
import { FlowDetailSchema, JobMetricsSchema, JobSnapshotSchema, JobSummarySchema, PayloadStatsSchema, TraceEventSchema } from "./model";

/** Bumped when the shape changes incompatibly: a receiver refuses versions it does not know. */
export const JOB_BUNDLE_VERSION = 1;

const Count = z.number().int().min(0);

/** What a kept payload's trace event carried besides the payload (rebuilds the event once the trace lost it). */
export const BundledPayloadMetaSchema = z.union([
  z.strictObject({ depth: z.number().int(), attempt: z.number().int() }),
  z.strictObject({ targets: z.array(z.strictObject({ routine_id: z.string(), slot_name: z.string() })) }),
  z.strictObject({ message: z.string() }),
  z.strictObject({}),
]);

/** One kept payload, as history's `payloads` table holds it. */
export const BundledPayloadSchema = z.strictObject({
  /** The trace event it belongs to. */
  seq: z.number().int().min(1),
  /** input/output: a node's; params: the job's entry params (job_started); log: a `ctx.log` call's data. */
  kind: z.enum(["input", "output", "params", "log"]),
  routine_id: z.string().nullable(),
  activation_id: z.number().int().nullable(),
  slot_name: z.string().nullable(),
  event_name: z.string().nullable(),
  /** Epoch ms of its event. */
  time: z.number(),
  meta: BundledPayloadMetaSchema,
  /**
   * The payload's JSON text, as stored (a preview's when `truncated`). Text rather than a value:
   * it is written as it came, and the flow and payload texts are what history compares and serves.
   */
  json: z.string(),
  truncated: z.boolean(),
});
export type BundledPayload = z.infer<typeof BundledPayloadSchema>;

/** The flow the job started on, as recorded with it: `json` is a FlowDetail's text, `key` its digest. */
export const BundledFlowSchema = z.strictObject({ key: z.string().min(1), json: z.string() });
export type BundledFlow = z.infer<typeof BundledFlowSchema>;

const JobBundleObjectSchema = z.strictObject({
  bundle_version: z.literal(JOB_BUNDLE_VERSION),
  /**
   * `record`: exported from the job's monitoring record (exact). `trace`: rebuilt from its
   * committed trace events because its worker was lost (`bundleFromEvents`: approximate, see there).
   */
  made_from: z.enum(["record", "trace"]),
  /** The job's list entry. */
  summary: JobSummarySchema,
  /** GET /api/jobs/{id} as served at the job's end (entry params and shared data included). */
  snapshot: JobSnapshotSchema,
  metrics: JobMetricsSchema,
  /** The retained trace window: `events` are seqs `last_seq - retained + 1 … last_seq`. */
  trace: z.strictObject({ last_seq: Count, retained: Count, dropped: Count, events: z.array(TraceEventSchema) }),
  /** What the job kept of its payloads, and the kept rows (values in full within its budget). */
  payloads: z.strictObject({ stats: PayloadStatsSchema, rows: z.array(BundledPayloadSchema) }),
  /** Null when nobody described the job's flow (a bare library runtime). */
  flow: BundledFlowSchema.nullable(),
});

/** A finished job, whole: the unit a worker hands to the control plane's history. */
export type JobBundle = z.infer<typeof JobBundleObjectSchema>;

const FINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * What is inconsistent in a bundle (empty when nothing): the parts must describe one finished job,
 * since history serves each part on its own (the list from the summary, the trace from the events).
 */
export function jobBundleProblems(b: JobBundle): string[] {
  const out: string[] = [];
  const id = b.summary.job_id;
  const flowId = b.summary.flow_id;
  const { last_seq: last, retained, dropped, events } = b.trace;
  if (!FINAL.has(b.summary.status)) out.push(`status '${b.summary.status}' is not final: only finished jobs are bundled`);
  if (b.snapshot.job_id !== id || b.metrics.job_id !== id) out.push("summary, snapshot and metrics name different jobs");
  if (b.snapshot.flow_id !== flowId || b.metrics.flow_id !== flowId) out.push("summary, snapshot and metrics name different flows");
  if (b.snapshot.status !== b.summary.status) out.push(`the snapshot's status '${b.snapshot.status}' is not the summary's '${b.summary.status}'`);
  if (b.snapshot.entry_routine_id !== b.summary.entry_routine_id) out.push("the snapshot's entry routine is not the summary's");
  if (b.snapshot.last_seq !== last) out.push(`the snapshot is as of seq ${b.snapshot.last_seq}, the trace ends at ${last}`);
  if (retained !== events.length) out.push(`retained is ${retained} but ${events.length} events are given`);
  if (retained + dropped !== last) out.push(`retained (${retained}) + dropped (${dropped}) is not last_seq (${last})`);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as JobBundle["trace"]["events"][number];
    // The window is contiguous, as the collector's ring is: readers rely on it (replay after a seq).
    if (e.seq !== dropped + 1 + i) {
      out.push(`event ${i} has seq ${e.seq}, expected ${dropped + 1 + i} (the events must be the contiguous window ending at last_seq)`);
      break;
    }
    if (e.job_id !== id || e.flow_id !== flowId) {
      out.push(`event ${e.seq} belongs to job '${e.job_id}' of flow '${e.flow_id}'`);
      break;
    }
  }
  let prev = 0;
  for (const p of b.payloads.rows) {
    if (p.seq <= prev || p.seq > last) {
      out.push(`payload rows must have increasing seqs within 1…${last} (got ${p.seq} after ${prev})`);
      break;
    }
    prev = p.seq;
  }
  return out;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Validates a bundle that arrived over the network: its shape (strict, as every wire shape), its
 * consistency (jobBundleProblems), and that its JSON texts parse (a bad one would only fail later,
 * on every read of the job).
 */
export const JobBundleSchema = JobBundleObjectSchema.superRefine((b, ctx) => {
  for (const message of jobBundleProblems(b)) ctx.addIssue({ code: "custom", message });
  for (const p of b.payloads.rows) {
    if (!isJson(p.json)) {
      ctx.addIssue({ code: "custom", path: ["payloads", "rows"], message: `the payload of seq ${p.seq} is not JSON text` });
      break;
    }
  }
  if (b.flow !== null) {
    let detail: unknown = null;
    try {
      detail = JSON.parse(b.flow.json);
    } catch {
      // reported below
    }
    const parsed = FlowDetailSchema.safeParse(detail);
    if (!parsed.success) ctx.addIssue({ code: "custom", path: ["flow", "json"], message: "the flow is not a FlowDetail's JSON text" });
    else if (parsed.data.flow_id !== b.summary.flow_id) ctx.addIssue({ code: "custom", path: ["flow", "json"], message: `the flow recorded is '${parsed.data.flow_id}', the job's is '${b.summary.flow_id}'` });
  }
});

/**
 * A bundle received as JSON (already `JSON.parse`d), validated by JobBundleSchema; throws a
 * ZodError naming what is wrong. Returns the value given, not zod's copy: the copy would list
 * each object's fields in the schema's order, and history serves the snapshot, metrics and
 * events with the field order they were made with.
 */
export function parseJobBundle(value: unknown): JobBundle {
  JobBundleSchema.parse(value);
  return value as JobBundle;
}
