/**
 * Time travel: a job's state as of any trace event, a new job forked from one of its activations,
 * and the difference between two runs of one flow. Shapes only; docs/time-travel.md says how they
 * are computed.
 */
import { z } from "zod";
import { NameSchema } from "./ids";
import { ForkedFromSchema } from "./lineage";
import { BreakpointBodySchema, JobStatusSchema, RoutineStateSchema, TraceEventSchema } from "./model";

const Json = z.unknown();
const JsonObject = z.record(z.string(), z.unknown());
const Timestamp = z.string();
const Seq = z.number().int().min(1);

// Defined in lineage.ts (model.ts needs it too; see there).
export { type ForkedFrom, ForkedFromSchema } from "./lineage";

// ------------------------------------------------------------------ state at a seq

/** One activation as the timeline shows it: what it received and what it emitted. */
export const ActivationAtSchema = z.strictObject({
  /** The engine's activation id (unique within a job); null when only the trace's preview is left. */
  activation_id: z.number().int().nullable(),
  routine_id: z.string(),
  slot_name: z.string().nullable(),
  /** The seq of its `routine_start`. */
  start_seq: Seq,
  /** The seq of its `routine_complete` / `routine_error`; null while it had not finished as of the asked seq. */
  end_seq: Seq.nullable(),
  /** The payload its handler received (after any debugger edit), in full unless `input_truncated`. */
  input: Json,
  input_truncated: z.boolean(),
  /** What it emitted up to the asked seq, in order. */
  outputs: z.array(
    z.strictObject({
      seq: Seq,
      event_name: z.string(),
      payload: Json,
      truncated: z.boolean(),
    }),
  ),
});
export type ActivationAt = z.infer<typeof ActivationAtSchema>;

/** GET /api/jobs/{id}/state?at_seq=N: the job as it stood right after event N (N = 0: before any). */
export const JobStateAtSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  at_seq: z.number().int().min(0),
  /** The job's last seq now (the timeline's end). */
  last_seq: z.number().int().min(0),
  /** The event at `at_seq` (null for 0), with its payload in full when it was kept. */
  event: TraceEventSchema.nullable(),
  status: JobStatusSchema,
  /** Same shape and meaning as the job snapshot's, as of `at_seq`. */
  routine_states: z.record(z.string(), RoutineStateSchema),
  connection_counts: z.record(z.string(), z.number().int().min(0)),
  /** The job's shared data right after event `at_seq`. */
  shared_data: JsonObject,
  /** The activation event `at_seq` belongs to (its start, an emit or its end); null for job-level events. */
  activation: ActivationAtSchema.nullable(),
  /** Activations started and not finished as of `at_seq` (several in a concurrent flow), oldest first. */
  running: z.array(ActivationAtSchema),
});
export type JobStateAt = z.infer<typeof JobStateAtSchema>;

export const JobStateAtQuerySchema = z.strictObject({
  at_seq: z.coerce.number().int().min(0),
});

// ------------------------------------------------------------------ fork

/** POST /api/jobs/{id}/fork: exactly one of `from_seq` (a `routine_start` seq) and `activation_id`. */
export const ForkRequestSchema = z
  .strictObject({
    from_seq: Seq.optional(),
    activation_id: z.number().int().min(0).optional(),
    /** Replaces the recorded input of that activation. */
    payload: JsonObject.optional(),
    /** Replaces the shared data as it was at that point (whole, not merged). */
    shared_data: JsonObject.optional(),
    breakpoints: z.array(BreakpointBodySchema).max(100).optional(),
    pause_on_start: z.boolean().optional(),
  })
  .refine((r) => (r.from_seq === undefined) !== (r.activation_id === undefined), {
    message: "give exactly one of from_seq and activation_id",
  });
export type ForkRequest = z.infer<typeof ForkRequestSchema>;

/** 201 answer of a fork: the new job, like a start's answer, plus where it came from. */
export const ForkAnswerSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: JobStatusSchema,
  created_at: Timestamp,
  forked_from: ForkedFromSchema,
  /** The activation the new job begins with. */
  entry_routine_id: NameSchema,
  entry_slot: NameSchema,
});
export type ForkAnswer = z.infer<typeof ForkAnswerSchema>;

// ------------------------------------------------------------------ diff

export const DIFF_KINDS = ["same", "changed", "only-base", "only-other"] as const;
export const DiffKindSchema = z.enum(DIFF_KINDS);
export type DiffKind = z.infer<typeof DiffKindSchema>;

export const RoutineDiffSchema = z.strictObject({
  routine_id: z.string(),
  diff: DiffKindSchema,
  base_activations: z.number().int().min(0),
  other_activations: z.number().int().min(0),
  /** Activations compared in order (the k-th of one with the k-th of the other) whose input and outputs are equal. */
  equal_activations: z.number().int().min(0),
  /** Over the activations both ran: true when every input and output compared equal. */
  outputs_equal: z.boolean(),
  /** other's total handler time / base's; null when either is 0. */
  duration_ratio: z.number().nullable(),
});
export type RoutineDiff = z.infer<typeof RoutineDiffSchema>;

export const DivergenceSideSchema = z.strictObject({
  /** The seq of the activation's routine_start in this job (null: this job has no such activation). */
  seq: Seq.nullable(),
  activation_id: z.number().int().nullable(),
  input: Json,
  outputs: z.array(z.strictObject({ event_name: z.string(), payload: Json })),
  truncated: z.boolean(),
});

/** The earliest activation, in causal order, whose input or outputs differ between the two runs. */
export const FirstDivergenceSchema = z.strictObject({
  routine_id: z.string(),
  /** The k-th activation of the routine (0-based) in each run. */
  index: z.number().int().min(0),
  /** What differs first: the input, or (inputs equal) the outputs; `missing`: one run has no such activation. */
  what: z.enum(["input", "output", "missing"]),
  base: DivergenceSideSchema,
  other: DivergenceSideSchema,
});
export type FirstDivergence = z.infer<typeof FirstDivergenceSchema>;

/** GET /api/jobs/diff?base=A&other=B (two jobs of one flow). */
export const JobDiffSchema = z.strictObject({
  flow_id: z.string(),
  base: z.strictObject({ job_id: z.string(), status: JobStatusSchema, forked_from: ForkedFromSchema.nullable() }),
  other: z.strictObject({ job_id: z.string(), status: JobStatusSchema, forked_from: ForkedFromSchema.nullable() }),
  /** One run is a fork of the other: the part it inherited counts as equal. */
  inherited: ForkedFromSchema.nullable(),
  routines: z.array(RoutineDiffSchema),
  connections: z.array(
    z.strictObject({ connection_id: z.string(), base_count: z.number().int().min(0), other_count: z.number().int().min(0) }),
  ),
  first_divergence: FirstDivergenceSchema.nullable(),
  /** Some payload of either run was compared by its preview only (past the job's payload budget). */
  approximate: z.boolean(),
});
export type JobDiff = z.infer<typeof JobDiffSchema>;

export const JobDiffQuerySchema = z.strictObject({
  base: z.string().min(1).max(256),
  other: z.string().min(1).max(256),
});
