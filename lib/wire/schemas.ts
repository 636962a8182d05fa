/**
 * Wire shapes of the HTTP API, defined once: the server validates with them, the OpenAPI
 * document is generated from them, and the browser client imports their types.
 */
import { z } from "zod";
import { BreakpointInputSchema, IdSchema, NameSchema } from "../monitoring/schemas";

const JsonObject = z.record(z.string(), z.unknown());

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
    entry_params: JsonObject.optional(),
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
