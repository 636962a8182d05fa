/**
 * Wire shapes of the HTTP API, defined once: the server validates with them, the OpenAPI
 * document is generated from them, and the browser client imports their types.
 */
import { z } from "zod";
import { BreakpointInputSchema, IdSchema, NameSchema } from "../monitoring/schemas";

const JsonObject = z.record(z.string(), z.unknown());

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
/** Deeper payloads are refused: nothing legitimate nests this far, and deep values cost every reader. */
export const MAX_PAYLOAD_DEPTH = 64;

/** Why a JSON value is refused as a job payload (forbidden key, too deep), or null. Iterative: no stack risk. */
function payloadProblem(value: unknown): string | null {
  const stack: { v: unknown; depth: number; path: string }[] = [{ v: value, depth: 0, path: "" }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: unknown; depth: number; path: string };
    if (typeof v !== "object" || v === null) continue;
    if (depth > MAX_PAYLOAD_DEPTH) return `nested deeper than ${MAX_PAYLOAD_DEPTH} levels at '${path.slice(0, 80)}…'`;
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) return `key '${key}' is not allowed${path ? ` (at ${path.slice(0, 200)})` : ""}`;
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1, path: path ? `${path}.${key}` : key });
    }
  }
  return null;
}

/** A job's entry payload: a JSON object without prototype keys, at most MAX_PAYLOAD_DEPTH deep. */
const PayloadObject = JsonObject.superRefine((value, ctx) => {
  const problem = payloadProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const CreateFlowRequest = z
  .object({
    flow_id: IdSchema,
    /** A DSL object, or YAML/JSON text. */
    dsl: z.union([JsonObject, z.string().max(1_000_000)]).optional(),
  })
  .strict();

export const StartJobRequest = z
  .object({
    flow_id: IdSchema,
    entry_routine_id: NameSchema,
    entry_slot: NameSchema.optional(),
    entry_params: PayloadObject.optional(),
    breakpoints: z.array(BreakpointInputSchema.omit({ job_id: true, flow_id: true })).max(100).optional(),
    pause_on_start: z.boolean().optional(),
  })
  .strict();

export const AddRoutineRequest = z
  .object({
    routine_id: NameSchema,
    type: z.string().min(1).max(128),
    config: JsonObject.optional(),
  })
  .strict();

export const AddConnectionRequest = z
  .object({
    source_routine: NameSchema,
    source_event: NameSchema,
    target_routine: NameSchema,
    target_slot: NameSchema,
    param_mapping: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export const SetVariableBody = z.object({ value: z.unknown(), scope: z.enum(["local", "shared"]).optional() }).strict();
export const SetVariableRequest = z
  .object({ variable: z.string().min(1).max(256), value: z.unknown(), scope: z.enum(["local", "shared"]).optional() })
  .strict();
export const EvaluateRequest = z.object({ expression: z.string().min(1).max(4096) }).strict();

export const JobListQuery = z
  .object({
    flow_id: IdSchema.optional(),
    status: z.enum(["pending", "running", "paused", "completed", "failed", "cancelled"]).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

/** DELETE /api/jobs: removes finished jobs older than this (0 = every finished job). */
export const RemoveOldJobsQuery = z.object({ max_age_seconds: z.coerce.number().finite().min(0).max(1e10) }).strict();

export const TraceQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    after_seq: z.coerce.number().int().min(0).optional(),
  })
  .strict();

export const DslQuery = z.object({ format: z.enum(["json", "yaml"]).default("json") }).strict();

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

export type CreateFlowRequestT = z.infer<typeof CreateFlowRequest>;
export type StartJobRequestT = z.infer<typeof StartJobRequest>;
