import { z } from "zod";

/** Ids that travel in URLs and JSON (flows, jobs, breakpoints, connections). */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const IdSchema = z.string().regex(ID_PATTERN, "must be 1-128 of letters, digits, '_', '.', ':' or '-'");
/** Routine ids, slot and event names. */
export const NameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be 1-128 of letters, digits, '_' or '-'");

export const BREAKPOINT_TYPES = ["routine", "slot", "event", "connection", "error"] as const;
export const BreakpointTypeSchema = z.enum(BREAKPOINT_TYPES);
export type BreakpointType = z.infer<typeof BreakpointTypeSchema>;

/** A breakpoint as the API and `setBreakpoint` accept it (snake_case; `type` is inferred when omitted). */
export const BreakpointInputSchema = z
  .object({
    type: BreakpointTypeSchema.optional(),
    job_id: IdSchema.nullable().optional(),
    flow_id: IdSchema.nullable().optional(),
    routine_id: NameSchema.nullable().optional(),
    slot_name: NameSchema.nullable().optional(),
    event_name: NameSchema.nullable().optional(),
    connection: IdSchema.nullable().optional(),
    condition: z.string().max(4096).nullable().optional(),
    hit_condition: z.string().max(64).nullable().optional(),
    log_message: z.string().max(4096).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type BreakpointInput = z.infer<typeof BreakpointInputSchema>;

/** What may change on an existing breakpoint. */
export const BreakpointPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    condition: z.string().max(4096).nullable().optional(),
    hit_condition: z.string().max(64).nullable().optional(),
    log_message: z.string().max(4096).nullable().optional(),
  })
  .strict();
export type BreakpointPatch = z.infer<typeof BreakpointPatchSchema>;

/** A breakpoint on the wire. */
export const BreakpointSchema = z.object({
  breakpoint_id: z.string(),
  job_id: z.string().nullable(),
  flow_id: z.string().nullable(),
  type: BreakpointTypeSchema,
  routine_id: z.string().nullable(),
  slot_name: z.string().nullable(),
  event_name: z.string().nullable(),
  connection: z.string().nullable(),
  condition: z.string().nullable(),
  hit_condition: z.string().nullable(),
  log_message: z.string().nullable(),
  enabled: z.boolean(),
  hit_count: z.number().int(),
  error_count: z.number().int(),
  last_error: z.string().nullable(),
  created_at: z.string(),
});
export type Breakpoint = z.infer<typeof BreakpointSchema>;

const CAMEL_TO_SNAKE: Record<string, string> = {
  jobId: "job_id",
  flowId: "flow_id",
  routineId: "routine_id",
  slotName: "slot_name",
  eventName: "event_name",
  hitCondition: "hit_condition",
  logMessage: "log_message",
};

/** Accepts the TypeScript spelling (`routineId`) as well as the document's (`routine_id`). */
export function snakeCaseKeys(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) out[CAMEL_TO_SNAKE[key] ?? key] = value;
  return out;
}

export function formatZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  if (issue.code === "unrecognized_keys") return `${where}unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  return `${where}${issue.message}`;
}
