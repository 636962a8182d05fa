/**
 * The live channels: socket.io (what the browser uses) and the raw WebSockets at
 * `/api/ws/jobs/{job_id}/monitor|debug` and `/api/ws/flows/{flow_id}/monitor`. Every message in
 * either direction is defined here; the server and the client are typed by these maps.
 */
import { z } from "zod";
import { IdSchema } from "./ids";
import { JobStatusSchema, SessionSnapshotSchema, TraceEventMessageSchema, TraceEventSchema, type SessionSnapshot, type TraceEvent } from "./model";

/** Loss report: `count` events this subscriber will never get; the next one it gets is `next_seq` (null: none queued yet). */
export const EventsDroppedSchema = z.strictObject({ job_id: z.string(), count: z.number().int().min(1), next_seq: z.number().int().nullable() });
export type EventsDropped = z.infer<typeof EventsDroppedSchema>;

export const JobCreatedSchema = z.strictObject({ job_id: z.string(), flow_id: z.string() });
export type JobCreated = z.infer<typeof JobCreatedSchema>;

/**
 * Sent to a flow monitor when it connects, once per job of the flow that is running (or paused)
 * then, oldest first: the flow monitor's live events of that job start after `last_seq`, and the
 * job's retained trace starts at `first_seq` (1 unless the trace window has let its start go), so
 * a job subscription with `after_seq = first_seq - 1` replays it from `job_started` on.
 */
export const JobRunningSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: JobStatusSchema,
  first_seq: z.number().int().min(1),
  last_seq: z.number().int().min(0),
});
export type JobRunning = z.infer<typeof JobRunningSchema>;

/** The server is about to disconnect this client: `code` says why (CLIENT_QUEUE_FULL: it left more than `limit_bytes` unread). */
export const ClientDroppedSchema = z.strictObject({ code: z.string(), message: z.string(), limit_bytes: z.number().int().min(1) });
export type ClientDropped = z.infer<typeof ClientDroppedSchema>;

/**
 * `routilux dev` reloaded the project's code: the flows it added, replaced or removed, and the
 * version now served. Jobs already running keep the code they started with.
 */
export const FlowsReloadedSchema = z.strictObject({ flow_ids: z.array(z.string()), version: z.number().int().min(1), at: z.string() });
export type FlowsReloaded = z.infer<typeof FlowsReloadedSchema>;
/** A reload failed (the code does not load or a flow does not validate); the previous version keeps serving. */
export const FlowsReloadFailedSchema = z.strictObject({ error: z.string(), at: z.string() });
export type FlowsReloadFailed = z.infer<typeof FlowsReloadFailedSchema>;

// ------------------------------------------------------------------ socket.io

/** A job's events, from after `after_seq` (retained ones replayed first). */
export const SubscribeJobSchema = z.strictObject({ job_id: IdSchema, after_seq: z.number().int().min(0).optional() });
/** Every event of every job of a flow, from now on. */
export const SubscribeFlowSchema = z.strictObject({ flow_id: IdSchema });
export const SubscribeRequestSchema = z.union([SubscribeJobSchema, SubscribeFlowSchema]);
export type SubscribeRequest = z.infer<typeof SubscribeRequestSchema>;
export const UnsubscribeRequestSchema = z.union([z.strictObject({ job_id: z.string() }), z.strictObject({ flow_id: z.string() })]);
export type UnsubscribeRequest = z.infer<typeof UnsubscribeRequestSchema>;

export const SubscribeAckSchema = z.union([
  z.strictObject({ ok: z.literal(true), job_id: z.string(), status: JobStatusSchema, last_seq: z.number().int(), session: SessionSnapshotSchema }),
  z.strictObject({ ok: z.literal(true), flow_id: z.string() }),
  z.strictObject({ ok: z.literal(false), error: z.string(), code: z.string() }),
]);
export type SubscribeAck = z.infer<typeof SubscribeAckSchema>;
export const UnsubscribeAckSchema = z.strictObject({ ok: z.boolean() });
export type UnsubscribeAck = z.infer<typeof UnsubscribeAckSchema>;

/** `debug`: `{job_id, command, ...arguments}` (the arguments of the command table). */
export const DebugRequestSchema = z.looseObject({ job_id: IdSchema, command: z.string() });
export type DebugRequest = z.infer<typeof DebugRequestSchema>;
export const DebugAckSchema = z.union([
  z.strictObject({ ok: z.literal(true), command: z.string(), data: z.unknown() }),
  z.strictObject({ ok: z.literal(false), command: z.string().nullable(), error: z.string(), code: z.string() }),
]);
export type DebugAck = z.infer<typeof DebugAckSchema>;

export interface ServerToClientEvents {
  /** Trace records of one job, coalesced per tick, in seq order. */
  events: (events: TraceEvent[]) => void;
  events_dropped: (info: EventsDropped) => void;
  session: (session: SessionSnapshot) => void;
  job_created: (info: JobCreated) => void;
  /** After a flow subscription's ack: each job of the flow running at that moment. */
  job_running: (info: JobRunning) => void;
  /** Sent right before the server disconnects the client (socket.io's reason: "io server disconnect"). */
  client_dropped: (info: ClientDropped) => void;
  /** Sent to every connection, subscribed or not. */
  flows_reloaded: (info: FlowsReloaded) => void;
  flows_reload_failed: (info: FlowsReloadFailed) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (answer: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack?: (answer: UnsubscribeAck) => void) => void;
  debug: (request: DebugRequest, ack: (answer: DebugAck) => void) => void;
}

/** Each server → client socket.io message's payload schema, by event name (the schema test uses it). */
export const SOCKET_IO_SERVER_MESSAGES = {
  events: z.array(TraceEventSchema).min(1),
  events_dropped: EventsDroppedSchema,
  session: SessionSnapshotSchema,
  job_created: JobCreatedSchema,
  job_running: JobRunningSchema,
  client_dropped: ClientDroppedSchema,
  flows_reloaded: FlowsReloadedSchema,
  flows_reload_failed: FlowsReloadFailedSchema,
} as const satisfies { [K in keyof ServerToClientEvents]: z.ZodType };

// ------------------------------------------------------------------ raw WebSockets

const Id = z.union([z.string(), z.number()]).nullable();

/** Every message the server sends on a raw WebSocket, told apart by `type`. */
export const RawServerMessageSchemas = {
  connected_job: z.strictObject({
    type: z.literal("connected"),
    job_id: z.string(),
    status: JobStatusSchema,
    last_seq: z.number().int(),
    mode: z.enum(["monitor", "debug"]),
    session: SessionSnapshotSchema.optional(),
  }),
  connected_flow: z.strictObject({ type: z.literal("connected"), flow_id: z.string() }),
  event: TraceEventMessageSchema,
  events_dropped: EventsDroppedSchema.extend({ type: z.literal("events_dropped") }),
  job_created: JobCreatedSchema.extend({ type: z.literal("job_created") }),
  job_running: JobRunningSchema.extend({ type: z.literal("job_running") }),
  session: z.strictObject({ type: z.literal("session"), session: SessionSnapshotSchema }),
  command_result: z.strictObject({ type: z.literal("command_result"), command: z.string(), id: Id, ok: z.literal(true), data: z.unknown() }),
  error: z.strictObject({ type: z.literal("error"), command: z.string().nullable(), id: Id, message: z.string(), code: z.string() }),
  ping: z.strictObject({ type: z.literal("ping") }),
  pong: z.strictObject({ type: z.literal("pong") }),
} as const;
export type RawServerMessage = { [K in keyof typeof RawServerMessageSchemas]: z.infer<(typeof RawServerMessageSchemas)[K]> }[keyof typeof RawServerMessageSchemas];
const raw = RawServerMessageSchemas;
export const RawServerMessageSchema = z.union([
  raw.connected_job,
  raw.connected_flow,
  raw.event,
  raw.events_dropped,
  raw.job_created,
  raw.job_running,
  raw.session,
  raw.command_result,
  raw.error,
  raw.ping,
  raw.pong,
]);

/** What a client sends: a heartbeat, or a debug command `{command, id?, ...arguments}`. */
export const RawClientMessageSchema = z.union([
  z.strictObject({ type: z.enum(["ping", "pong"]) }),
  z.looseObject({ command: z.string(), id: Id.optional() }),
]);
export type RawClientMessage = z.infer<typeof RawClientMessageSchema>;
