/**
 * The HTTP contract: every route with its method, path, body, query and answer. The server
 * implements exactly these (one handler per entry, checked by the compiler), the browser's client
 * calls them by name, and the OpenAPI document is generated from them.
 */
import { z } from "zod";
import { ForkAnswerSchema, ForkRequestSchema, JobStateAtQuerySchema, JobStateAtSchema } from "./timetravel";
import { type DebugCommandName, DEBUG_COMMANDS } from "./commands";
import {
  BreakpointBodySchema,
  BreakpointListSchema,
  BreakpointPatchSchema,
  BreakpointSchema,
  ConnectionInfoSchema,
  DevStatusSchema,
  HealthSchema,
  EventPayloadSchema,
  FlowDetailSchema,
  FlowMetricsSchema,
  FlowSummarySchema,
  JobFlowSchema,
  JobIoPageSchema,
  JobMetricsSchema,
  JobSnapshotSchema,
  JobStatusAnswerSchema,
  JobSummarySchema,
  LogEntrySchema,
  RoutineInfoSchema,
  RoutineTypeInfoSchema,
  TracePageSchema,
  ValidationIssueSchema,
} from "./model";
import {
  AddConnectionRequestSchema,
  AddRoutineRequestSchema,
  CreateFlowRequestSchema,
  DslQuerySchema,
  JobIoQuerySchema,
  JobListQuerySchema,
  RemoveOldJobsQuerySchema,
  SetVariableBodySchema,
  StartJobAnswerSchema,
  StartJobRequestSchema,
  TraceQuerySchema,
  VariablesQuerySchema,
} from "./requests";
import { JobDiffQuerySchema, JobDiffSchema } from "./timetravel";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type RouteTag = "meta" | "flows" | "jobs" | "monitoring" | "debug";

export interface RouteSpec {
  method: HttpMethod;
  /** `/api/jobs/:job_id/...`: each `:name` segment is an id. */
  path: string;
  /** Other spellings of the same route (`step-over` for `step_over`). */
  aliases?: readonly string[];
  summary: string;
  tag: RouteTag;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The answer's schema; null for 204 No Content. */
  response: z.ZodType | null;
  /** Success status (default 200, or 204 without a response). */
  status?: number;
  /** A debug command: the route runs it (same behaviour as the sockets). */
  command?: DebugCommandName;
  /** Answered without an API key. */
  public?: boolean;
}

/** `{job_id: string, breakpoint_id: string}` from `/api/jobs/:job_id/breakpoints/:breakpoint_id`. */
export type PathParams<P extends string> = { [K in ParamNames<P>]: string };
type ParamNames<P extends string> = P extends `${infer Head}/${infer Rest}` ? ParamNames<Head> | ParamNames<Rest> : P extends `:${infer Name}` ? Name : never;

/** Keeps the literal types of a route (its path above all), checked against RouteSpec. */
function route<const R extends RouteSpec>(spec: R): R {
  return spec;
}

/** A debug command as an HTTP route: its answer is the command's result, unless `extra` (aliases, body, status...) says otherwise. */
function commandRoute<const N extends DebugCommandName, const M extends HttpMethod, const P extends string, const E extends Partial<RouteSpec>>(
  command: N,
  method: M,
  path: P,
  extra: E,
) {
  const spec = DEBUG_COMMANDS[command];
  type Base = { method: M; path: P; summary: string; tag: "debug"; command: N; response: (typeof DEBUG_COMMANDS)[N]["result"] };
  const base: Base = { method, path, summary: spec.summary, tag: "debug", command, response: spec.result };
  return { ...base, ...extra } as Omit<Base, keyof E> & E;
}

const JOB = "/api/jobs/:job_id" as const;
/** How many flow breakpoints one request may set. */
export const MAX_BULK_BREAKPOINTS = 10_000;

export const API = {
  health: route({ method: "GET", path: "/api/health", tag: "meta", summary: "Health check (never needs a key): healthy or degraded (with reasons), and the event loop's recent delay", public: true, response: HealthSchema }),
  openApi: route({ method: "GET", path: "/api/openapi.json", tag: "meta", summary: "This API as OpenAPI 3.1", response: z.record(z.string(), z.unknown()) }),
  devStatus: route({
    method: "GET",
    path: "/api/dev/status",
    tag: "meta",
    summary: "The version of the program's flows being served and how the last reload went (routilux dev)",
    response: DevStatusSchema,
  }),

  // Flows
  listFlows: route({ method: "GET", path: "/api/flows", tag: "flows", summary: "List flows", response: z.strictObject({ flows: z.array(FlowSummarySchema), total: z.number().int() }) }),
  createFlow: route({ method: "POST", path: "/api/flows", tag: "flows", summary: "Create a flow (empty, or from a DSL object or YAML/JSON text)", body: CreateFlowRequestSchema, status: 201, response: FlowDetailSchema }),
  getFlow: route({ method: "GET", path: "/api/flows/:flow_id", tag: "flows", summary: "A flow: routines, connections, strategy", response: FlowDetailSchema }),
  deleteFlow: route({ method: "DELETE", path: "/api/flows/:flow_id", tag: "flows", summary: "Delete a flow (its jobs stay in history)", response: null }),
  exportFlow: route({
    method: "GET",
    path: "/api/flows/:flow_id/dsl",
    tag: "flows",
    summary: "Export the flow as DSL text",
    query: DslQuerySchema,
    response: z.strictObject({ flow_id: z.string(), format: z.enum(["json", "yaml"]), dsl: z.string() }),
  }),
  validateFlow: route({
    method: "POST",
    path: "/api/flows/:flow_id/validate",
    tag: "flows",
    summary: "Validate the flow",
    response: z.strictObject({ valid: z.boolean(), issues: z.array(ValidationIssueSchema) }),
  }),
  addRoutine: route({ method: "POST", path: "/api/flows/:flow_id/routines", tag: "flows", summary: "Add a routine of a registered type", body: AddRoutineRequestSchema, status: 201, response: RoutineInfoSchema }),
  removeRoutine: route({ method: "DELETE", path: "/api/flows/:flow_id/routines/:routine_id", tag: "flows", summary: "Remove a routine and its connections", response: null }),
  addConnection: route({ method: "POST", path: "/api/flows/:flow_id/connections", tag: "flows", summary: "Connect an event to a slot", body: AddConnectionRequestSchema, status: 201, response: ConnectionInfoSchema }),
  removeConnection: route({ method: "DELETE", path: "/api/flows/:flow_id/connections/:connection_id", tag: "flows", summary: "Remove a connection (data stops flowing at once)", response: null }),
  routineTypes: route({
    method: "GET",
    path: "/api/routine-types",
    tag: "flows",
    summary: "Registered routine types",
    response: z.strictObject({ routine_types: z.array(RoutineTypeInfoSchema), total: z.number().int() }),
  }),
  flowMetrics: route({ method: "GET", path: "/api/flows/:flow_id/metrics", tag: "monitoring", summary: "Job counts and durations of a flow", response: FlowMetricsSchema }),
  flowBreakpoints: route({ method: "GET", path: "/api/flows/:flow_id/breakpoints", tag: "debug", summary: "Flow breakpoints (apply to jobs started later)", response: BreakpointListSchema }),
  addFlowBreakpoint: route({
    method: "POST",
    path: "/api/flows/:flow_id/breakpoints",
    tag: "debug",
    summary: `Set a flow breakpoint; or many at once: an array (up to ${MAX_BULK_BREAKPOINTS}) is set all or none and answered as a list`,
    body: z.union([BreakpointBodySchema, z.array(BreakpointBodySchema).min(1).max(MAX_BULK_BREAKPOINTS)]),
    status: 201,
    response: z.union([BreakpointSchema, BreakpointListSchema]),
  }),
  removeFlowBreakpoint: route({ method: "DELETE", path: "/api/flows/:flow_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Delete a flow breakpoint", response: null }),
  patchFlowBreakpoint: route({ method: "PATCH", path: "/api/flows/:flow_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Change a flow breakpoint", body: BreakpointPatchSchema, response: BreakpointSchema }),

  // Jobs
  startJob: route({ method: "POST", path: "/api/jobs", tag: "jobs", summary: "Start a job; answers at once with status running", body: StartJobRequestSchema, status: 201, response: StartJobAnswerSchema }),
  listJobs: route({
    method: "GET",
    path: "/api/jobs",
    tag: "jobs",
    summary: "Jobs, newest first",
    query: JobListQuerySchema,
    response: z.strictObject({ jobs: z.array(JobSummarySchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
  }),
  removeOldJobs: route({
    method: "DELETE",
    path: "/api/jobs",
    tag: "jobs",
    summary: "Remove finished jobs older than max_age_seconds, with their data (memory and database)",
    query: RemoveOldJobsQuerySchema,
    response: z.strictObject({ removed: z.number().int() }),
  }),
  // Before getJob: `/api/jobs/diff` would otherwise read as the job "diff".
  jobDiff: route({
    method: "GET",
    path: "/api/jobs/diff",
    tag: "jobs",
    summary: "Compare two runs of one flow: per routine and connection, and where they first diverge",
    query: JobDiffQuerySchema,
    response: JobDiffSchema,
  }),
  getJob: route({ method: "GET", path: JOB, tag: "jobs", summary: "Job snapshot", response: JobSnapshotSchema }),
  jobFlow: route({
    method: "GET",
    path: `${JOB}/flow`,
    tag: "jobs",
    summary: "The flow as the job ran it (recorded when it started), whether that flow is served now and whether it still has that structure",
    response: JobFlowSchema,
  }),
  jobMetrics: route({ method: "GET", path: `${JOB}/metrics`, tag: "monitoring", summary: "The collector's metrics of a job", response: JobMetricsSchema }),
  jobTrace: route({ method: "GET", path: `${JOB}/trace`, tag: "monitoring", summary: "Trace events (the last `limit`, or those after `after_seq`)", query: TraceQuerySchema, response: TracePageSchema }),
  jobIo: route({
    method: "GET",
    path: `${JOB}/io`,
    tag: "monitoring",
    summary: "Inputs and outputs per activation, in full within the job's payload budget (of one routine with `routine_id`)",
    query: JobIoQuerySchema,
    response: JobIoPageSchema,
  }),
  jobEvent: route({ method: "GET", path: `${JOB}/events/:seq`, tag: "monitoring", summary: "One trace event with its payload in full", response: EventPayloadSchema }),
  jobLogs: route({
    method: "GET",
    path: `${JOB}/logs`,
    tag: "monitoring",
    summary: "The job's shared log",
    response: z.strictObject({ job_id: z.string(), logs: z.array(LogEntrySchema), total: z.number().int() }),
  }),
  pauseJob: route({ method: "POST", path: `${JOB}/pause`, tag: "jobs", summary: "Pause (a monitored job stops at its next activation)", response: JobStatusAnswerSchema }),
  resumeJob: route({ method: "POST", path: `${JOB}/resume`, tag: "jobs", summary: "Resume a paused job", response: JobStatusAnswerSchema }),
  cancelJob: route({ method: "POST", path: `${JOB}/cancel`, tag: "jobs", summary: "Cancel a job", response: JobStatusAnswerSchema }),
  jobStateAt: route({
    method: "GET",
    path: `${JOB}/state`,
    tag: "monitoring",
    summary: "The job as it stood right after trace event at_seq: routine states, connection counts, status, shared data, the activation running and its input",
    query: JobStateAtQuerySchema,
    response: JobStateAtSchema,
  }),
  forkJob: route({
    method: "POST",
    path: `${JOB}/fork`,
    tag: "jobs",
    summary: "Start a new job of the same flow from one activation of this one (its recorded or an edited input, the shared data as it was then); the original is not changed",
    body: ForkRequestSchema,
    status: 201,
    response: ForkAnswerSchema,
  }),

  // Debugging: each runs the debug command of the same name. The moving ones take an optional
  // body `{stop_number}` (no body: the old behaviour).
  jobBreakpoints: commandRoute("get_breakpoints", "GET", `${JOB}/breakpoints`, {}),
  addJobBreakpoint: commandRoute("set_breakpoint", "POST", `${JOB}/breakpoints`, { body: BreakpointBodySchema, status: 201 }),
  removeJobBreakpoint: commandRoute("remove_breakpoint", "DELETE", `${JOB}/breakpoints/:breakpoint_id`, { response: null }),
  patchJobBreakpoint: commandRoute("update_breakpoint", "PATCH", `${JOB}/breakpoints/:breakpoint_id`, { body: BreakpointPatchSchema }),
  debugContinue: commandRoute("continue", "POST", `${JOB}/debug/continue`, { aliases: [`${JOB}/debug/resume`], body: DEBUG_COMMANDS.continue.args }),
  debugStepOver: commandRoute("step_over", "POST", `${JOB}/debug/step_over`, { aliases: [`${JOB}/debug/step-over`], body: DEBUG_COMMANDS.step_over.args }),
  debugStepInto: commandRoute("step_into", "POST", `${JOB}/debug/step_into`, { aliases: [`${JOB}/debug/step-into`], body: DEBUG_COMMANDS.step_into.args }),
  debugStepOut: commandRoute("step_out", "POST", `${JOB}/debug/step_out`, { aliases: [`${JOB}/debug/step-out`], body: DEBUG_COMMANDS.step_out.args }),
  debugPause: commandRoute("pause", "POST", `${JOB}/debug/pause`, {}),
  debugRunTo: commandRoute("run_to", "POST", `${JOB}/debug/run_to`, { aliases: [`${JOB}/debug/run-to`], body: DEBUG_COMMANDS.run_to.args }),
  debugSession: commandRoute("get_session", "GET", `${JOB}/debug/session`, {}),
  debugVariables: commandRoute("get_variables", "GET", `${JOB}/debug/variables`, { query: VariablesQuerySchema }),
  putVariable: commandRoute("set_variable", "PUT", `${JOB}/debug/variables/:variable`, { body: SetVariableBodySchema }),
  setVariable: commandRoute("set_variable", "POST", `${JOB}/debug/variables`, { body: DEBUG_COMMANDS.set_variable.args }),
  callStack: commandRoute("get_call_stack", "GET", `${JOB}/debug/call_stack`, { aliases: [`${JOB}/debug/call-stack`] }),
  evaluate: commandRoute("evaluate", "POST", `${JOB}/debug/evaluate`, { body: DEBUG_COMMANDS.evaluate.args }),
} as const satisfies Record<string, RouteSpec>;

export type Api = typeof API;
export type RouteName = keyof Api;

/** The parsed body a route's handler receives (undefined when it takes none). */
export type RouteBody<R extends RouteSpec> = R["body"] extends z.ZodType ? z.output<R["body"]> : undefined;
/** The body a client sends. */
export type RouteBodyInput<R extends RouteSpec> = R["body"] extends z.ZodType ? z.input<R["body"]> : undefined;
export type RouteQuery<R extends RouteSpec> = R["query"] extends z.ZodType ? z.output<R["query"]> : undefined;
export type RouteQueryInput<R extends RouteSpec> = R["query"] extends z.ZodType ? z.input<R["query"]> : undefined;
/** What a route answers (undefined for 204). */
export type RouteAnswer<R extends RouteSpec> = R["response"] extends z.ZodType ? z.output<R["response"]> : undefined;
export type RouteParams<R extends RouteSpec> = PathParams<R["path"]>;

/** `/api/jobs/:job_id` + `{job_id: "x"}` → `/api/jobs/x` (each value percent-encoded). */
export function fillPath<P extends string>(path: P, params: PathParams<P>): string {
  return path.replace(/:([a-z_]+)/g, (_, name: string) => encodeURIComponent((params as Record<string, string>)[name] ?? ""));
}
