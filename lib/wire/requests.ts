/** Request bodies and queries of the HTTP API. */
import { z } from "zod";
import { IdSchema, NameSchema, RESERVED_KEYS, RESERVED_RULE } from "./ids";
import { BreakpointBodySchema, JOB_STATUSES, PAYLOAD_ROW_KINDS, VARIABLE_SCOPES } from "./model";

const JsonObject = z.record(z.string(), z.unknown());

/** Deeper payloads are refused: nothing legitimate nests this far, and deep values cost every reader. */
export const MAX_PAYLOAD_DEPTH = 64;

/** Why a JSON value is refused as a job payload (forbidden key, too deep), or null. Iterative: no stack risk. */
function payloadProblem(value: unknown): string | null {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: "" }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { v, depth, path } = top;
    if (typeof v !== "object" || v === null) continue;
    if (depth > MAX_PAYLOAD_DEPTH) return `nested deeper than ${MAX_PAYLOAD_DEPTH} levels at '${path.slice(0, 80)}…'`;
    for (const key of Object.keys(v)) {
      if (RESERVED_KEYS.has(key)) return `key '${key}' is not allowed${path ? ` (at ${path.slice(0, 200)})` : ""}`;
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1, path: path ? `${path}.${key}` : key });
    }
  }
  return null;
}

/** A job's entry payload: a JSON object without prototype keys, at most MAX_PAYLOAD_DEPTH deep. */
export const PayloadSchema = JsonObject.superRefine((value, ctx) => {
  const problem = payloadProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const CreateFlowRequestSchema = z.strictObject({
  flow_id: IdSchema,
  /** A DSL object, or YAML/JSON text. */
  dsl: z.union([JsonObject, z.string().max(1_000_000)]).optional(),
});
export type CreateFlowRequest = z.infer<typeof CreateFlowRequestSchema>;

export const StartJobRequestSchema = z.strictObject({
  flow_id: IdSchema,
  entry_routine_id: NameSchema,
  entry_slot: NameSchema.optional(),
  entry_params: PayloadSchema.optional(),
  /** Job breakpoints set before the first activation runs. */
  breakpoints: z.array(BreakpointBodySchema).max(100).optional(),
  pause_on_start: z.boolean().optional(),
});
export type StartJobRequest = z.infer<typeof StartJobRequestSchema>;

export const StartJobAnswerSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: z.enum(JOB_STATUSES),
  created_at: z.string(),
});
export type StartJobAnswer = z.infer<typeof StartJobAnswerSchema>;

export const AddRoutineRequestSchema = z.strictObject({
  routine_id: NameSchema,
  type: z.string().min(1).max(128),
  /** The DSL's rules: no reserved keys, bounded depth. */
  config: PayloadSchema.optional(),
});
export type AddRoutineRequest = z.infer<typeof AddRoutineRequestSchema>;

export const AddConnectionRequestSchema = z.strictObject({
  source_routine: NameSchema,
  source_event: NameSchema,
  target_routine: NameSchema,
  target_slot: NameSchema,
  param_mapping: z
    .record(z.string().min(1).max(256), z.string().min(1).max(256))
    .refine((m) => Object.entries(m).every(([from, to]) => !RESERVED_KEYS.has(from) && !RESERVED_KEYS.has(to)), { message: `a mapped key is reserved (${RESERVED_RULE})` })
    .optional(),
});
export type AddConnectionRequest = z.infer<typeof AddConnectionRequestSchema>;

const Scope = z.enum(VARIABLE_SCOPES);
/** PUT .../debug/variables/{name}: the name is in the path. */
export const SetVariableBodySchema = z.strictObject({ value: z.unknown(), scope: Scope.optional() });
/** POST .../debug/variables and the sockets' `set_variable`. */
export const SetVariableArgsSchema = z.strictObject({ variable: z.string().min(1).max(256), value: z.unknown(), scope: Scope.optional() });
export type SetVariableArgs = z.infer<typeof SetVariableArgsSchema>;
export const EvaluateArgsSchema = z.strictObject({ expression: z.string().min(1).max(4096) });
export type EvaluateArgs = z.infer<typeof EvaluateArgsSchema>;
export const BreakpointRefSchema = z.strictObject({ breakpoint_id: IdSchema });
/** Which call-stack frame's variables (0 = the paused activation). */
export const VariablesArgsSchema = z.strictObject({ frame: z.number().int().min(0).max(10_000).optional() });
export const VariablesQuerySchema = z.strictObject({ frame: z.coerce.number().int().min(0).max(10_000).optional() });
/** Where "run to here" runs to: a routine (any slot) or one slot of it. */
export const RunToArgsSchema = z.strictObject({ routine_id: NameSchema, slot_name: NameSchema.optional() });

export const JobListQuerySchema = z.strictObject({
  flow_id: IdSchema.optional(),
  status: z.enum(JOB_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
export type JobListQuery = z.input<typeof JobListQuerySchema>;

/** DELETE /api/jobs: removes finished jobs older than this (0 = every finished job). */
export const RemoveOldJobsQuerySchema = z.strictObject({ max_age_seconds: z.coerce.number().finite().min(0).max(1e10) });

export const TraceQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
  after_seq: z.coerce.number().int().min(0).optional(),
});
export type TraceQuery = z.input<typeof TraceQuerySchema>;

/** GET /api/jobs/{id}/io: inputs and outputs after `after_seq`, of one routine or all. */
export const JobIoQuerySchema = z.strictObject({
  routine_id: NameSchema.optional(),
  kind: z.enum(PAYLOAD_ROW_KINDS).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after_seq: z.coerce.number().int().min(0).default(0),
});
export type JobIoQuery = z.input<typeof JobIoQuerySchema>;

export const DslQuerySchema = z.strictObject({ format: z.enum(["json", "yaml"]).default("json") });
