/**
 * What cluster processes send each other through Redis (not the public API: that is lib/wire).
 * Checked with zod on arrival, as any input from the network.
 */
import { z } from "zod";
import { ForkedFromSchema } from "../../lib/wire/lineage";
import { StartJobRequestSchema } from "../../lib/wire/requests";

/** A queued job (BullMQ job data). */
export const QueuedJobSchema = z.strictObject({
  job_id: z.string(),
  request: StartJobRequestSchema,
  /** The flow breakpoints' version when it was queued: the worker applies at least that one first. */
  bp_version: z.number().int().min(0),
  /** The same for the flows created over HTTP (the job's flow may be one). */
  flows_version: z.number().int().min(0),
  /** A fork: the shared data it starts with and where it was forked from. */
  fork: z.strictObject({ shared: z.record(z.string(), z.unknown()), forked_from: ForkedFromSchema }).optional(),
});
export type QueuedJob = z.infer<typeof QueuedJobSchema>;

/** A request for a worker about one of its jobs. */
export const WorkerRequestSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("http"), id: z.number(), reply_to: z.string(), job_id: z.string(), method: z.string(), url: z.string(), body: z.string().nullable() }),
  z.strictObject({ kind: z.literal("command"), id: z.number(), reply_to: z.string(), job_id: z.string(), command: z.string(), args: z.record(z.string(), z.unknown()) }),
]);
export type WorkerRequest = z.infer<typeof WorkerRequestSchema>;
/** A request as its sender writes it (the id and the answer channel are added on sending). */
export type WorkerRequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, "id" | "reply_to"> : never) : never;

export const RelayedErrorSchema = z.strictObject({ kind: z.string(), code: z.string(), message: z.string(), details: z.unknown().optional() });

/** A worker's answer. `http`: the API's answer as is; `command`: its result or error. */
export const WorkerAnswerSchema = z.union([
  z.strictObject({ kind: z.literal("http"), id: z.number(), status: z.number(), headers: z.record(z.string(), z.string()).optional(), body: z.unknown().optional() }),
  z.strictObject({ kind: z.literal("command"), id: z.number(), ok: z.literal(true), data: z.unknown() }),
  z.strictObject({ kind: z.literal("command"), id: z.number(), ok: z.literal(false), error: RelayedErrorSchema }),
]);
export type WorkerAnswer = z.infer<typeof WorkerAnswerSchema>;

/** Feed entry types: a trace event, a job's new list entry, a debug session change. */
export const FEED_EVENT = "e";
/** Feed entry type: the trace events one turn of a worker produced (a JSON array, in seq order per job). */
export const FEED_EVENTS = "b";
export const FEED_JOB = "j";
export const FEED_SESSION = "s";
