/**
 * The shapes that travel: flows, jobs, trace events, metrics, breakpoints, debug sessions. Each is
 * defined once, as a zod schema; the library's objects are typed by them, the server's answers are
 * checked against them, and the browser's types are inferred from them. Objects are strict: a
 * field the contract does not name is a drift the schema test reports.
 */
import { z } from "zod";
import { IdSchema, NameSchema } from "./ids";
import { ForkedFromSchema } from "./lineage";

const Json = z.unknown();
const JsonObject = z.record(z.string(), z.unknown());
const Timestamp = z.string();

// ------------------------------------------------------------------ statuses

export const JOB_STATUSES = ["pending", "running", "paused", "completed", "failed", "cancelled"] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const FINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(["completed", "failed", "cancelled"]);
export function isFinalStatus(status: JobStatus | null | undefined): boolean {
  return status !== null && status !== undefined && FINAL_JOB_STATUSES.has(status);
}

/** `cancelled`: its handler was still running when the job ended (cancelled, or failed elsewhere). */
export const ROUTINE_STATUSES = ["pending", "running", "completed", "failed", "error_continued", "skipped", "cancelled"] as const;
export const RoutineStatusSchema = z.enum(ROUTINE_STATUSES);
export type RoutineStatus = z.infer<typeof RoutineStatusSchema>;

export const EXECUTION_STRATEGIES = ["sequential", "concurrent"] as const;
export type ExecutionStrategy = (typeof EXECUTION_STRATEGIES)[number];

// ------------------------------------------------------------------ flows

export const FlowSummarySchema = z.strictObject({
  flow_id: z.string(),
  routine_count: z.number().int(),
  connection_count: z.number().int(),
  execution_strategy: z.enum(EXECUTION_STRATEGIES),
  job_count: z.number().int(),
  last_job_id: z.string().nullable(),
  last_job_status: JobStatusSchema.nullable(),
  /** Whether the flow carries an example run (its detail has it). */
  has_example: z.boolean(),
});
export type FlowSummary = z.infer<typeof FlowSummarySchema>;

export const RoutineInfoSchema = z.strictObject({
  routine_id: z.string(),
  type: z.string(),
  slots: z.array(z.string()),
  events: z.array(z.string()),
  config: JsonObject,
});
export type RoutineInfo = z.infer<typeof RoutineInfoSchema>;

export const ConnectionInfoSchema = z.strictObject({
  id: z.string(),
  source_routine: z.string(),
  source_event: z.string(),
  target_routine: z.string(),
  target_slot: z.string(),
  param_mapping: z.record(z.string(), z.string()).nullable(),
});
export type ConnectionInfo = z.infer<typeof ConnectionInfoSchema>;

/** An example run of a flow: the Run panel starts from it, so a first run works as is. */
export const FlowExampleSchema = z.strictObject({
  entry_routine_id: z.string(),
  entry_slot: z.string(),
  params: JsonObject,
});
export type FlowExample = z.infer<typeof FlowExampleSchema>;

export const FlowDetailSchema = z.strictObject({
  flow_id: z.string(),
  execution_strategy: z.enum(EXECUTION_STRATEGIES),
  max_workers: z.number().int(),
  timeout: z.number().nullable(),
  routines: z.record(z.string(), RoutineInfoSchema),
  connections: z.array(ConnectionInfoSchema),
  /** Null when the flow has none (or it no longer fits the flow). */
  example: FlowExampleSchema.nullable(),
});
export type FlowDetail = z.infer<typeof FlowDetailSchema>;

export const ValidationIssueSchema = z.strictObject({
  level: z.enum(["error", "warning", "info"]),
  code: z.string(),
  message: z.string(),
  routine_id: z.string().optional(),
});
export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

export const RoutineTypeInfoSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  slots: z.array(z.strictObject({ name: z.string(), description: z.string(), merge_strategy: z.string() })),
  events: z.array(z.strictObject({ name: z.string(), description: z.string(), output_params: z.array(z.string()) })),
  /** JSON Schema of the config, or null when the type declares none. */
  config_schema: JsonObject.nullable(),
});
export type RoutineTypeInfo = z.infer<typeof RoutineTypeInfoSchema>;

// ------------------------------------------------------------------ jobs

/** Why a job failed. */
export const JobErrorSchema = z.strictObject({
  message: z.string(),
  error_type: z.string(),
  routine_id: z.string().nullable(),
  /** The error's code when it is one of Routilux's own (e.g. BUDGET_EXCEEDED, TIMEOUT). */
  code: z.string().optional(),
});
export type JobError = z.infer<typeof JobErrorSchema>;

/** A job's entry in lists. */
export const JobSummarySchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: JobStatusSchema,
  entry_routine_id: z.string(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  /** Start to end; null until the job has both. */
  duration_ms: z.number().nullable(),
  error: JobErrorSchema.nullable(),
  /** The job it was forked from (POST /api/jobs/{id}/fork), or null. */
  forked_from: ForkedFromSchema.nullable(),
});
export type JobSummary = z.infer<typeof JobSummarySchema>;

/** Start to end in ms, from two ISO timestamps; null unless both are there. */
export function durationBetween(startedAt: string | null, finishedAt: string | null): number | null {
  return startedAt !== null && finishedAt !== null ? Date.parse(finishedAt) - Date.parse(startedAt) : null;
}

export const LogEntrySchema = z.strictObject({
  timestamp: Timestamp,
  routine_id: z.string().nullable(),
  message: z.string(),
  data: Json.optional(),
});
export type LogEntry = z.infer<typeof LogEntrySchema>;

export const HistoryRecordSchema = z.strictObject({
  timestamp: Timestamp,
  routine_id: z.string().nullable(),
  event: z.string(),
  data: Json.optional(),
});
export type HistoryRecord = z.infer<typeof HistoryRecordSchema>;

export const RoutineStateSchema = z.strictObject({
  status: RoutineStatusSchema,
  activations: z.number().int(),
  errors: z.number().int(),
  last_error: z.string().nullable(),
});
export type RoutineStateSnapshot = z.infer<typeof RoutineStateSchema>;

/** A job's own state, as the engine keeps it (`job.toJSON()`). */
export const JobStateSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: JobStatusSchema,
  entry_routine_id: z.string(),
  entry_slot: z.string(),
  /** The params the job was started with (as sent: a handler changing its input does not change them). */
  entry_params: JsonObject,
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  updated_at: Timestamp,
  duration_ms: z.number().nullable(),
  routine_states: z.record(z.string(), RoutineStateSchema),
  shared_data: JsonObject,
  shared_log: z.array(LogEntrySchema),
  error: JobErrorSchema.nullable(),
  cancel_reason: z.string().nullable(),
  pause_points: z.array(z.strictObject({ timestamp: Timestamp, reason: z.string() })),
  execution_history: z.array(HistoryRecordSchema),
  pending_activations: z.number().int(),
  /** The job it was forked from (POST /api/jobs/{id}/fork), or null. */
  forked_from: ForkedFromSchema.nullable(),
});
export type JobState = z.infer<typeof JobStateSchema>;

/**
 * GET /api/jobs/{id}: the job's whole state, with the trace position it is as of. Every event with
 * seq <= `last_seq` is reflected in its counts and none after it (both are read in one synchronous
 * step), so a client that also applies events adds only those above `last_seq`.
 */
export const JobSnapshotSchema = JobStateSchema.extend({
  last_seq: z.number().int().min(0),
  /** Payloads that crossed each connection (by connection id); connections never crossed are left out. */
  connection_counts: z.record(z.string(), z.number().int().min(0)),
});
export type JobSnapshot = z.infer<typeof JobSnapshotSchema>;

/**
 * GET /api/jobs/{id}/flow: the flow as the job ran it — recorded when the job started, so a later
 * edit, reload or deletion of the flow does not change an old job's picture — and how it stands
 * against what this server serves now.
 */
export const JobFlowSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  /**
   * The recorded flow; for a job whose history has none (stored before flows were recorded with
   * jobs), the served flow as it is now; null when there is neither.
   */
  flow: FlowDetailSchema.nullable(),
  /** `flow` was recorded when the job started. */
  recorded: z.boolean(),
  /** This server serves a flow with this id now. */
  served: z.boolean(),
  /**
   * The served flow has the structure the job ran with (routines with their types, slots, events
   * and config; connections; strategy, workers, timeout — the example run aside). False when it
   * is not served; null when the job has no recorded flow to compare with.
   */
  same_structure: z.boolean().nullable(),
});
export type JobFlow = z.infer<typeof JobFlowSchema>;

// ------------------------------------------------------------------ trace events

export const TRACE_EVENT_TYPES = [
  "job_started",
  "routine_start",
  "event_emit",
  "routine_complete",
  "routine_error",
  "breakpoint_hit",
  "log",
  "job_paused",
  "job_resumed",
  "job_completed",
  "job_failed",
  "job_cancelled",
] as const;
export const TraceEventTypeSchema = z.enum(TRACE_EVENT_TYPES);
export type TraceEventType = z.infer<typeof TraceEventTypeSchema>;
export const TERMINAL_EVENT_TYPES: ReadonlySet<TraceEventType> = new Set(["job_completed", "job_failed", "job_cancelled"]);

const traceEventFields = {
  event_id: z.string(),
  /** Per job, +1 per event with no gaps: a jump means loss. */
  seq: z.number().int().min(1),
  job_id: z.string(),
  flow_id: z.string(),
  routine_id: z.string().nullable(),
  event_type: TraceEventTypeSchema,
  /** ISO-8601 UTC with `Z`. */
  timestamp: Timestamp,
  data: JsonObject,
  /** Milliseconds, or null. */
  duration: z.number().nullable(),
  status: z.string().nullable(),
};
/** One record shape everywhere: REST trace, both sockets, the UI. */
export const TraceEventSchema = z.strictObject(traceEventFields);
export type TraceEvent = z.infer<typeof TraceEventSchema>;
/** A trace event on the raw WebSocket: the record plus `type` = its event type. */
export const TraceEventMessageSchema = z.strictObject({ ...traceEventFields, type: TraceEventTypeSchema });

export const TracePageSchema = z.strictObject({
  job_id: z.string(),
  /** Every event recorded. */
  total: z.number().int(),
  /** Events the ring still holds. */
  retained: z.number().int(),
  /** Events the ring no longer holds. */
  dropped: z.number().int(),
  last_seq: z.number().int(),
  events: z.array(TraceEventSchema),
});
export type TracePage = z.infer<typeof TracePageSchema>;

// ------------------------------------------------------------------ full payloads

export const PAYLOAD_ROW_KINDS = ["input", "output"] as const;
export type PayloadRowKind = (typeof PAYLOAD_ROW_KINDS)[number];

/**
 * One payload a node received (`input`: what its handler got, after any debugger edit) or emitted
 * (`output`), in full unless `truncated` (then it is the trace's bounded preview). `seq` is the
 * trace event it belongs to (`routine_start` or `event_emit`).
 */
export const PayloadRowSchema = z.strictObject({
  seq: z.number().int().min(1),
  kind: z.enum(PAYLOAD_ROW_KINDS),
  routine_id: z.string(),
  /** The activation that received (input) or emitted (output) it; null when only the trace's preview is left. */
  activation_id: z.number().int().nullable(),
  /** input: the slot; output: null. */
  slot_name: z.string().nullable(),
  /** output: the event emitted; input: the event that carried it here (null for the entry activation). */
  event_name: z.string().nullable(),
  timestamp: Timestamp,
  payload: Json,
  truncated: z.boolean(),
});
export type PayloadRow = z.infer<typeof PayloadRowSchema>;

/** What a job kept of its payloads: in full within its byte budget, previews beyond it. */
export const PayloadStatsSchema = z.strictObject({
  budget_bytes: z.number().int(),
  /** Counted as each kept payload's JSON length plus a fixed cost per row. */
  used_bytes: z.number().int(),
  /** Payloads kept in full. */
  kept: z.number().int(),
  /** Some payload of the job is not kept in full. */
  truncated: z.boolean(),
  /** Payloads not kept in full (past the budget, or not representable as JSON). */
  truncated_count: z.number().int(),
  /** Payloads of events after this seq are previews from the trace window only; null while every payload went through the budget. */
  previews_after_seq: z.number().int().nullable(),
});
export type PayloadStats = z.infer<typeof PayloadStatsSchema>;

/** GET /api/jobs/{id}/io: a node's (or the whole job's) inputs and outputs, oldest first. */
export const JobIoPageSchema = z.strictObject({
  job_id: z.string(),
  routine_id: z.string().nullable(),
  rows: z.array(PayloadRowSchema),
  /** The page is full: ask again with `after_seq` = the last row's seq. */
  has_more: z.boolean(),
  payloads: PayloadStatsSchema,
});
export type JobIoPage = z.infer<typeof JobIoPageSchema>;

/** GET /api/jobs/{id}/events/{seq}: one trace event with its payload in full. */
export const EventPayloadSchema = z.strictObject({
  event: TraceEventSchema,
  /** The event's payload (`payload`, `params` or a log's `data`) is a preview, not the whole value. */
  truncated: z.boolean(),
  payloads: PayloadStatsSchema,
});
export type EventPayload = z.infer<typeof EventPayloadSchema>;

// ------------------------------------------------------------------ metrics

export const RoutineMetricsSchema = z.strictObject({
  routine_id: z.string(),
  execution_count: z.number().int(),
  error_count: z.number().int(),
  /** Total time in the routine's handlers (ms). */
  duration_ms: z.number(),
  /** Null until the routine has finished an activation. */
  avg_duration_ms: z.number().nullable(),
  min_duration_ms: z.number().nullable(),
  max_duration_ms: z.number().nullable(),
  last_execution: Timestamp.nullable(),
});
export type RoutineMetrics = z.infer<typeof RoutineMetricsSchema>;

export const ErrorRecordSchema = z.strictObject({
  error_id: z.string(),
  job_id: z.string(),
  routine_id: z.string().nullable(),
  timestamp: Timestamp,
  error_type: z.string(),
  error_message: z.string(),
  strategy: z.string().nullable(),
});
export type ErrorRecord = z.infer<typeof ErrorRecordSchema>;

export const JobMetricsSchema = z.strictObject({
  job_id: z.string(),
  flow_id: z.string(),
  status: JobStatusSchema,
  start_time: Timestamp,
  end_time: Timestamp.nullable(),
  /** Whole job, start to end (or to now while it runs). */
  duration_ms: z.number(),
  total_routines: z.number().int(),
  completed_routines: z.number().int(),
  failed_routines: z.number().int(),
  /** Every event recorded, including those the ring buffer no longer holds. */
  total_events: z.number().int(),
  retained_events: z.number().int(),
  dropped_events: z.number().int(),
  total_activations: z.number().int(),
  total_event_emits: z.number().int(),
  total_errors: z.number().int(),
  routine_metrics: z.record(z.string(), RoutineMetricsSchema),
  errors: z.array(ErrorRecordSchema),
});
export type JobMetrics = z.infer<typeof JobMetricsSchema>;

export const FlowMetricsSchema = z.strictObject({
  flow_id: z.string(),
  total_jobs: z.number().int(),
  completed_jobs: z.number().int(),
  failed_jobs: z.number().int(),
  cancelled_jobs: z.number().int(),
  running_jobs: z.number().int(),
  paused_jobs: z.number().int(),
  /** Over the jobs that have a duration; null when none has. */
  avg_duration_ms: z.number().nullable(),
  job_metrics: z.array(JobSummarySchema),
});
export type FlowMetrics = z.infer<typeof FlowMetricsSchema>;

// ------------------------------------------------------------------ breakpoints

export const BREAKPOINT_TYPES = ["routine", "slot", "event", "connection", "error"] as const;
export const BreakpointTypeSchema = z.enum(BREAKPOINT_TYPES);
export type BreakpointType = z.infer<typeof BreakpointTypeSchema>;

/** A breakpoint as `setBreakpoint` and the API accept it (snake_case; `type` is inferred when omitted). */
export const BreakpointInputSchema = z.strictObject({
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
  /** Removed when it first stops the job ("run to here"). */
  once: z.boolean().optional(),
});
export type BreakpointInput = z.infer<typeof BreakpointInputSchema>;
/** A breakpoint in a request that already names its job or flow (the URL does). */
export const BreakpointBodySchema = BreakpointInputSchema.omit({ job_id: true, flow_id: true });
export type BreakpointBody = z.infer<typeof BreakpointBodySchema>;

/** What may change on an existing breakpoint. */
export const BreakpointPatchSchema = z.strictObject({
  enabled: z.boolean().optional(),
  condition: z.string().max(4096).nullable().optional(),
  hit_condition: z.string().max(64).nullable().optional(),
  log_message: z.string().max(4096).nullable().optional(),
});
export type BreakpointPatch = z.infer<typeof BreakpointPatchSchema>;

export const BreakpointSchema = z.strictObject({
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
  once: z.boolean(),
  hit_count: z.number().int(),
  error_count: z.number().int(),
  last_error: z.string().nullable(),
  created_at: Timestamp,
});
export type Breakpoint = z.infer<typeof BreakpointSchema>;

export const BreakpointListSchema = z.strictObject({ breakpoints: z.array(BreakpointSchema), total: z.number().int() });
export type BreakpointList = z.infer<typeof BreakpointListSchema>;
export const JobBreakpointsSchema = z.strictObject({
  breakpoints: z.array(BreakpointSchema),
  total: z.number().int(),
  /** The flow's breakpoints that apply to this job (set before it started). */
  flow_breakpoints: z.array(BreakpointSchema),
});
export type JobBreakpoints = z.infer<typeof JobBreakpointsSchema>;

// ------------------------------------------------------------------ debug sessions

/** `ended`: the job has finished (completed, failed or cancelled); no command moves it any more. */
export const SESSION_STATUSES = ["running", "paused", "stepping", "ended"] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const STEP_MODES = ["over", "into", "out"] as const;
export type StepMode = (typeof STEP_MODES)[number];
/** Why a job stopped, in the Debug Adapter Protocol's words. */
export const STOP_REASONS = ["breakpoint", "step", "pause", "entry", "exception"] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export const PausedAtSchema = z.strictObject({
  routine_id: z.string(),
  slot_name: z.string(),
  event_name: z.string().nullable(),
  reason: z.enum(STOP_REASONS),
  /** A sentence for people. */
  description: z.string(),
  breakpoint_id: z.string().nullable(),
  depth: z.number().int(),
  /** activation: before the handler runs; emit: before an emitted payload travels; error: after a handler threw. */
  kind: z.enum(["activation", "emit", "error"]),
  activation_id: z.number().int(),
  /** 1 for the job's first stop, 2 for the next: tells consecutive stops apart. */
  stop_number: z.number().int().min(1),
  error: z.strictObject({ error_type: z.string(), message: z.string() }).nullable(),
});
export type PausedAt = z.infer<typeof PausedAtSchema>;

export const SessionSnapshotSchema = z.strictObject({
  session_id: z.string(),
  job_id: z.string(),
  status: z.enum(SESSION_STATUSES),
  paused_at: PausedAtSchema.nullable(),
  step_mode: z.enum(STEP_MODES).nullable(),
  /** Set when the last step ran the job to its end without stopping: where the followed item went. */
  step_outcome: z.string().nullable(),
});
export type SessionSnapshot = z.infer<typeof SessionSnapshotSchema>;

export const CallFrameSchema = z.strictObject({
  routine_id: z.string(),
  slot_name: z.string(),
  event_name: z.string().nullable(),
  depth: z.number().int(),
  /** Source line of the `emit` this frame is at (where known), else null. */
  line: z.number().int().nullable(),
  activation_id: z.number().int(),
});
export type CallFrame = z.infer<typeof CallFrameSchema>;
export const CallStackSchema = z.strictObject({ frames: z.array(CallFrameSchema) });
export type CallStack = z.infer<typeof CallStackSchema>;

export const VariablesSchema = z.strictObject({
  variables: z.strictObject({ local: JsonObject, shared: JsonObject }),
  routine_id: z.string(),
  slot_name: z.string(),
  event_name: z.string().nullable(),
  /** The call-stack frame they belong to: 0 is the paused activation, 1 its parent, and so on. */
  frame: z.number().int().min(0),
  activation_id: z.number().int(),
  /** A past frame's input is history: only the paused activation's variables can change. */
  read_only: z.boolean(),
});
export type Variables = z.infer<typeof VariablesSchema>;

export const VARIABLE_SCOPES = ["local", "shared"] as const;
export type VariableScope = (typeof VARIABLE_SCOPES)[number];
export const SetVariableResultSchema = z.strictObject({ variable: z.string(), value: Json, scope: z.enum(VARIABLE_SCOPES) });
export type SetVariableResult = z.infer<typeof SetVariableResultSchema>;

export const EvaluateResultSchema = z.strictObject({ result: Json });
export type EvaluateResult = z.infer<typeof EvaluateResultSchema>;

/** What a continue, step or pause answers: where the job is now. */
export const DebugStateSchema = z.strictObject({
  job_id: z.string(),
  status: JobStatusSchema,
  paused_at: PausedAtSchema.nullable(),
  session: SessionSnapshotSchema,
});
export type DebugState = z.infer<typeof DebugStateSchema>;

export const JobStatusAnswerSchema = z.strictObject({ job_id: z.string(), status: JobStatusSchema });
export type JobStatusAnswer = z.infer<typeof JobStatusAnswerSchema>;

// ------------------------------------------------------------------ code reloads (`routilux dev`)

/** A reload of the project's code that failed: the previous version keeps serving. */
export const ReloadErrorSchema = z.strictObject({ message: z.string(), at: Timestamp });
export type ReloadError = z.infer<typeof ReloadErrorSchema>;

/** Which version of the program's own flows the server runs, and how the last reload went. */
export const DevStatusSchema = z.strictObject({
  /** Whether the server reloads the project's flows when its files change (`routilux dev`). */
  watching: z.boolean(),
  /** 1 for the flows the server started with, +1 per successful reload. */
  version: z.number().int().min(1),
  /** When the last successful reload happened; null before the first. */
  reloaded_at: Timestamp.nullable(),
  /** The flows the last successful reload added, replaced or removed. */
  flow_ids: z.array(z.string()),
  /** The last reload's error when it failed (cleared by the next success), else null. */
  error: ReloadErrorSchema.nullable(),
});
export type DevStatus = z.infer<typeof DevStatusSchema>;

/** `GET /api/health`: whether the server can do its work, and how late its event loop runs. */
export const HealthSchema = z.strictObject({
  /** `degraded`: it serves, but something it needs fails (`reasons` says what). */
  status: z.enum(["healthy", "degraded"]),
  /** Why it is degraded; empty when healthy. */
  reasons: z.array(z.string()),
  /** Event-loop delay over the last `window_ms` (and the window running now), in milliseconds. */
  event_loop: z.strictObject({ window_ms: z.number().int().positive(), p99_ms: z.number().min(0), max_ms: z.number().min(0) }),
  /** Jobs paused now, the cap, the idle expiry (null: off), and what they did so far. */
  paused_jobs: z.strictObject({
    paused: z.number().int().min(0),
    max_paused: z.number().int().min(1),
    idle_expiry_ms: z.number().int().positive().nullable(),
    /** Stops not made because the cap was reached. */
    refused_stops: z.number().int().min(0),
    /** Jobs cancelled after sitting paused and idle for `idle_expiry_ms`. */
    expired_jobs: z.number().int().min(0),
  }),
});
export type Health = z.infer<typeof HealthSchema>;
