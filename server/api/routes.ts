import type { z } from "zod";
import {
  BreakpointInputSchema,
  BreakpointPatchSchema,
  dslToText,
  type Flow,
  flowToDsl,
  type Job,
  type JobSummary,
  MonitoringError,
  type Runtime,
} from "../../lib";
import {
  AddConnectionRequest,
  AddRoutineRequest,
  CreateFlowRequest,
  DslQuery,
  EvaluateRequest,
  JobListQuery,
  RemoveOldJobsQuery,
  SetVariableBody,
  SetVariableRequest,
  StartJobRequest,
  TraceQuery,
} from "../../lib/wire/schemas";
import type { RouteContext, RouteDef } from "./router";

type Ctx<B = unknown, Q = unknown> = RouteContext<B, Q>;

function route<B = unknown, Q = unknown>(def: Omit<RouteDef, "handler"> & { handler: (ctx: Ctx<B, Q>) => unknown }): RouteDef {
  return def as RouteDef;
}

// ------------------------------------------------------------------ shapes

function routineType(runtime: Runtime, flow: Flow, id: string): string {
  const routine = flow.getRoutine(id);
  return routine ? (runtime.registry.nameOf(routine) ?? routine.constructor.name) : "unknown";
}

export function flowDetail(runtime: Runtime, flow: Flow): Record<string, unknown> {
  const routines: Record<string, unknown> = {};
  for (const [id, r] of flow.routines) {
    routines[id] = { routine_id: id, type: routineType(runtime, flow, id), slots: r.slotNames, events: r.eventNames, config: r.getConfigObject() };
  }
  return {
    flow_id: flow.flowId,
    execution_strategy: flow.executionStrategy,
    max_workers: flow.maxWorkers,
    timeout: flow.timeout,
    routines,
    connections: flow.connections.map(connectionJson),
  };
}

function connectionJson(c: Flow["connections"][number]): Record<string, unknown> {
  return { id: c.id, source_routine: c.sourceRoutineId, source_event: c.sourceEvent, target_routine: c.targetRoutineId, target_slot: c.targetSlot, param_mapping: c.paramMapping };
}

function flowSummary(runtime: Runtime, flow: Flow): Record<string, unknown> {
  const { jobs, total } = runtime.listJobs({ flowId: flow.flowId, limit: 1 });
  const last = jobs[0];
  return {
    flow_id: flow.flowId,
    routine_count: flow.routines.size,
    connection_count: flow.connections.length,
    execution_strategy: flow.executionStrategy,
    job_count: total,
    last_job_id: last?.job_id ?? null,
    last_job_status: last?.status ?? null,
  };
}

function durationOf(j: JobSummary): number | null {
  return j.started_at !== null && j.finished_at !== null ? Date.parse(j.finished_at) - Date.parse(j.started_at) : null;
}

function session(runtime: Runtime, jobId: string) {
  runtime.getJob(jobId);
  return runtime.monitoring.debugSessionManager.getSession(jobId);
}

function debugResult(runtime: Runtime, jobId: string): Record<string, unknown> {
  const job = runtime.getJob(jobId);
  const s = runtime.monitoring.debugSessionManager.getSession(jobId);
  return { job_id: jobId, status: job.status, paused_at: s.pausedAt, session: s.toJSON() };
}

/** Waits briefly (bounded) for a requested pause to land, so the answer shows the new status. */
async function settlePause(job: Job): Promise<void> {
  for (let i = 0; i < 20 && job.status === "running"; i++) await new Promise((r) => setTimeout(r, 5));
}

/** Flow breakpoints name routines, slots, events or connections of the flow: check they exist. */
function checkFlowTarget(flow: Flow, bp: Record<string, unknown>): void {
  const rid = bp.routine_id as string | undefined;
  if (rid) {
    const routine = flow.getRoutine(rid);
    if (!routine) throw new MonitoringError("not_found", "ROUTINE_NOT_FOUND", `Routine '${rid}' not found in flow '${flow.flowId}'`);
    const slot = bp.slot_name as string | undefined;
    if (slot && !routine.getSlot(slot)) throw new MonitoringError("not_found", "SLOT_NOT_FOUND", `Slot '${slot}' not found on routine '${rid}'`);
    const event = bp.event_name as string | undefined;
    if (event && !routine.hasEvent(event)) throw new MonitoringError("not_found", "EVENT_NOT_FOUND", `Event '${event}' not found on routine '${rid}'`);
  }
  const conn = bp.connection as string | undefined;
  if (conn && !flow.getConnection(conn)) throw new MonitoringError("not_found", "CONNECTION_NOT_FOUND", `Connection '${conn}' not found in flow '${flow.flowId}'`);
}

function ownBreakpoint(runtime: Runtime, bpId: string, owner: { job_id?: string; flow_id?: string }) {
  const bp = runtime.monitoring.breakpointManager.getBreakpoint(bpId);
  const matches = bp && (owner.job_id ? bp.job_id === owner.job_id : bp.job_id === null && bp.flow_id === owner.flow_id);
  if (!bp || !matches) throw new MonitoringError("not_found", "BREAKPOINT_NOT_FOUND", `Breakpoint '${bpId}' not found`);
  return bp;
}

const BreakpointBody = BreakpointInputSchema.omit({ job_id: true, flow_id: true });

// ------------------------------------------------------------------ routes

export const routes: RouteDef[] = [
  route({ method: "GET", path: "/api/health", tag: "meta", summary: "Health check (never needs a key)", handler: () => ({ status: "healthy" }) }),

  // Flows
  route({
    method: "GET", path: "/api/flows", tag: "flows", summary: "List flows",
    handler: ({ runtime }) => {
      const flows = runtime.flows.map((f) => flowSummary(runtime, f));
      return { flows, total: flows.length };
    },
  }),
  route<z.infer<typeof CreateFlowRequest>>({
    method: "POST", path: "/api/flows", tag: "flows", summary: "Create a flow (empty, or from a DSL object or YAML/JSON text)", body: CreateFlowRequest, status: 201,
    handler: ({ runtime, body }) => flowDetail(runtime, runtime.createFlow(body.flow_id, body.dsl)),
  }),
  route({ method: "GET", path: "/api/flows/:flow_id", tag: "flows", summary: "A flow: routines, connections, strategy", handler: ({ runtime, params }) => flowDetail(runtime, runtime.getFlow(params.flow_id as string)) }),
  route({ method: "DELETE", path: "/api/flows/:flow_id", tag: "flows", summary: "Delete a flow (its jobs stay in history)", handler: ({ runtime, params }) => { runtime.deleteFlow(params.flow_id as string); } }),
  route<unknown, z.infer<typeof DslQuery>>({
    method: "GET", path: "/api/flows/:flow_id/dsl", tag: "flows", summary: "Export the flow as DSL text", query: DslQuery,
    handler: ({ runtime, params, query }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      return { flow_id: flow.flowId, format: query.format, dsl: dslToText(flowToDsl(flow, runtime.registry), query.format) };
    },
  }),
  route({
    method: "POST", path: "/api/flows/:flow_id/validate", tag: "flows", summary: "Validate the flow",
    handler: ({ runtime, params }) => {
      const issues = runtime.getFlow(params.flow_id as string).validate();
      return { valid: !issues.some((i) => i.level === "error"), issues };
    },
  }),
  route<z.infer<typeof AddRoutineRequest>>({
    method: "POST", path: "/api/flows/:flow_id/routines", tag: "flows", summary: "Add a routine of a registered type", body: AddRoutineRequest, status: 201,
    handler: ({ runtime, params, body }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      if (flow.getRoutine(body.routine_id)) throw new MonitoringError("conflict", "ROUTINE_EXISTS", `Routine '${body.routine_id}' already exists in flow '${flow.flowId}'`);
      if (!runtime.registry.has(body.type)) throw new MonitoringError("bad_request", "UNKNOWN_TYPE", `Unknown routine type '${body.type}' (registered: ${runtime.registry.names.join(", ")})`);
      flow.addRoutine(runtime.registry.create(body.type, body.config), body.routine_id);
      runtime.flowChanged(flow.flowId);
      return (flowDetail(runtime, flow).routines as Record<string, unknown>)[body.routine_id];
    },
  }),
  route({
    method: "DELETE", path: "/api/flows/:flow_id/routines/:routine_id", tag: "flows", summary: "Remove a routine and its connections",
    handler: ({ runtime, params }) => {
      runtime.getFlow(params.flow_id as string).removeRoutine(params.routine_id as string);
      runtime.flowChanged(params.flow_id as string);
    },
  }),
  route<z.infer<typeof AddConnectionRequest>>({
    method: "POST", path: "/api/flows/:flow_id/connections", tag: "flows", summary: "Connect an event to a slot", body: AddConnectionRequest, status: 201,
    handler: ({ runtime, params, body }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      try {
        const connection = connectionJson(flow.connect(body.source_routine, body.source_event, body.target_routine, body.target_slot, body.param_mapping ?? null));
        runtime.flowChanged(flow.flowId);
        return connection;
      } catch (err) {
        const code = (err as { code?: string }).code ?? "INVALID_CONNECTION";
        throw new MonitoringError(code === "DUPLICATE_CONNECTION" ? "conflict" : code.endsWith("NOT_FOUND") ? "not_found" : "bad_request", code, (err as Error).message);
      }
    },
  }),
  route({
    method: "DELETE", path: "/api/flows/:flow_id/connections/:connection_id", tag: "flows", summary: "Remove a connection (data stops flowing at once)",
    handler: ({ runtime, params }) => {
      runtime.getFlow(params.flow_id as string).removeConnection(params.connection_id as string);
      runtime.flowChanged(params.flow_id as string);
    },
  }),
  route({ method: "GET", path: "/api/routine-types", tag: "flows", summary: "Registered routine types", handler: ({ runtime }) => { const types = runtime.registry.list(); return { routine_types: types, total: types.length }; } }),
  route({
    method: "GET", path: "/api/flows/:flow_id/metrics", tag: "monitoring", summary: "Job counts and durations of a flow",
    handler: ({ runtime, params }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      const { jobs } = runtime.listJobs({ flowId: flow.flowId });
      const count = (s: string) => jobs.filter((j) => j.status === s).length;
      const durations = jobs.map(durationOf).filter((d): d is number => d !== null);
      return {
        flow_id: flow.flowId,
        total_jobs: jobs.length,
        completed_jobs: count("completed"),
        failed_jobs: count("failed"),
        cancelled_jobs: count("cancelled"),
        running_jobs: count("running"),
        paused_jobs: count("paused"),
        avg_duration_ms: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null,
        job_metrics: jobs.slice(0, 100),
      };
    },
  }),
  route({
    method: "GET", path: "/api/flows/:flow_id/breakpoints", tag: "debug", summary: "Flow breakpoints (apply to jobs started later)",
    handler: ({ runtime, params }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      const breakpoints = runtime.monitoring.breakpointManager.getFlowBreakpoints(flow.flowId);
      return { breakpoints, total: breakpoints.length };
    },
  }),
  route<z.infer<typeof BreakpointBody>>({
    method: "POST", path: "/api/flows/:flow_id/breakpoints", tag: "debug", summary: "Set a flow breakpoint", body: BreakpointBody, status: 201,
    handler: ({ runtime, params, body }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      checkFlowTarget(flow, body);
      return runtime.monitoring.breakpointManager.setBreakpoint({ ...body, flow_id: flow.flowId, job_id: null });
    },
  }),
  route({
    method: "DELETE", path: "/api/flows/:flow_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Delete a flow breakpoint",
    handler: ({ runtime, params }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      ownBreakpoint(runtime, params.breakpoint_id as string, { flow_id: flow.flowId });
      runtime.monitoring.breakpointManager.removeBreakpoint(params.breakpoint_id as string);
    },
  }),
  route<z.infer<typeof BreakpointPatchSchema>>({
    method: "PATCH", path: "/api/flows/:flow_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Change a flow breakpoint", body: BreakpointPatchSchema,
    handler: ({ runtime, params, body }) => {
      const flow = runtime.getFlow(params.flow_id as string);
      ownBreakpoint(runtime, params.breakpoint_id as string, { flow_id: flow.flowId });
      return runtime.monitoring.breakpointManager.updateBreakpoint(params.breakpoint_id as string, body);
    },
  }),

  // Jobs
  route<z.infer<typeof StartJobRequest>>({
    method: "POST", path: "/api/jobs", tag: "jobs", summary: "Start a job; answers at once with status running", body: StartJobRequest, status: 201,
    handler: ({ runtime, body }) => {
      const job = runtime.startJob(body);
      return { job_id: job.jobId, flow_id: job.flowId, status: job.status, created_at: job.createdAt.toISOString() };
    },
  }),
  route<unknown, z.infer<typeof JobListQuery>>({
    method: "GET", path: "/api/jobs", tag: "jobs", summary: "Jobs, newest first", query: JobListQuery,
    handler: ({ runtime, query }) => {
      const { jobs, total } = runtime.listJobs({ flowId: query.flow_id, status: query.status, limit: query.limit, offset: query.offset });
      return { jobs, total, limit: query.limit, offset: query.offset };
    },
  }),
  route<unknown, z.infer<typeof RemoveOldJobsQuery>>({
    method: "DELETE", path: "/api/jobs", tag: "jobs", summary: "Remove finished jobs older than max_age_seconds, with their data (memory and database)", query: RemoveOldJobsQuery,
    handler: ({ runtime, query }) => ({ removed: runtime.removeOldJobs(query.max_age_seconds) }),
  }),
  route({ method: "GET", path: "/api/jobs/:job_id", tag: "jobs", summary: "Job snapshot", handler: ({ runtime, params }) => runtime.jobSnapshot(params.job_id as string) }),
  route({
    method: "GET", path: "/api/jobs/:job_id/metrics", tag: "monitoring", summary: "The collector's metrics of a job",
    handler: ({ runtime, params }) => runtime.jobMetrics(params.job_id as string),
  }),
  route<unknown, z.infer<typeof TraceQuery>>({
    method: "GET", path: "/api/jobs/:job_id/trace", tag: "monitoring", summary: "Trace events (the last `limit`, or those after `after_seq`)", query: TraceQuery,
    handler: ({ runtime, params, query }) => {
      const jobId = params.job_id as string;
      runtime.jobSummary(jobId);
      const collector = runtime.monitoring.monitorCollector;
      const info = collector.traceInfo(jobId) ?? { total: 0, retained: 0, dropped: 0, last_seq: 0 };
      const events =
        query.after_seq !== undefined
          ? collector.eventsAfter(jobId, query.after_seq).events.slice(0, query.limit).map((e) => e.toJSON())
          : collector.getExecutionTrace(jobId, query.limit);
      return { job_id: jobId, total: info.total, retained: info.retained, dropped: info.dropped, last_seq: info.last_seq, events };
    },
  }),
  route({
    method: "GET", path: "/api/jobs/:job_id/logs", tag: "monitoring", summary: "The job's shared log",
    handler: ({ runtime, params }) => {
      const jobId = params.job_id as string;
      const logs = runtime.monitoring.jobStore.get(jobId)?.sharedLog ?? runtime.jobSnapshot(jobId).shared_log;
      return { job_id: jobId, logs, total: logs.length };
    },
  }),
  route({
    method: "GET", path: "/api/jobs/:job_id/breakpoints", tag: "debug", summary: "The job's breakpoints",
    handler: ({ runtime, params }) => {
      const jobId = params.job_id as string;
      // A job restored from history: job breakpoints are not saved; the flow's that were set
      // before it started applied to it.
      if (!runtime.monitoring.jobStore.has(jobId)) {
        const summary = runtime.jobSummary(jobId); // unknown → 404
        const flowBreakpoints = runtime.monitoring.breakpointManager.getFlowBreakpoints(summary.flow_id).filter((b) => b.created_at < summary.created_at);
        return { breakpoints: [], total: 0, flow_breakpoints: flowBreakpoints };
      }
      const job = runtime.getJob(jobId);
      const breakpoints = runtime.monitoring.breakpointManager.getBreakpoints(job.jobId);
      return { breakpoints, total: breakpoints.length, flow_breakpoints: runtime.monitoring.breakpointManager.getEffectiveBreakpoints({ job_id: job.jobId, flow_id: job.flowId, start_order: job.startOrder }).filter((b) => b.job_id === null) };
    },
  }),
  route<z.infer<typeof BreakpointBody>>({
    method: "POST", path: "/api/jobs/:job_id/breakpoints", tag: "debug", summary: "Set a job breakpoint (type inferred when omitted)", body: BreakpointBody, status: 201,
    handler: ({ runtime, params, body }) => {
      const job = runtime.getJob(params.job_id as string);
      checkFlowTarget(job.flow, body);
      return runtime.monitoring.breakpointManager.setBreakpoint({ ...body, job_id: job.jobId });
    },
  }),
  route({
    method: "DELETE", path: "/api/jobs/:job_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Delete a job breakpoint",
    handler: ({ runtime, params }) => {
      runtime.getJob(params.job_id as string);
      ownBreakpoint(runtime, params.breakpoint_id as string, { job_id: params.job_id as string });
      runtime.monitoring.breakpointManager.removeBreakpoint(params.breakpoint_id as string);
    },
  }),
  route<z.infer<typeof BreakpointPatchSchema>>({
    method: "PATCH", path: "/api/jobs/:job_id/breakpoints/:breakpoint_id", tag: "debug", summary: "Change a job breakpoint", body: BreakpointPatchSchema,
    handler: ({ runtime, params, body }) => {
      runtime.getJob(params.job_id as string);
      ownBreakpoint(runtime, params.breakpoint_id as string, { job_id: params.job_id as string });
      return runtime.monitoring.breakpointManager.updateBreakpoint(params.breakpoint_id as string, body);
    },
  }),
  route({
    method: "POST", path: "/api/jobs/:job_id/pause", tag: "jobs", summary: "Pause (a monitored job stops at its next activation)",
    handler: async ({ runtime, params }) => {
      const job = runtime.getJob(params.job_id as string);
      if (job.isFinished) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${job.jobId}' has already finished (${job.status})`);
      runtime.monitoring.debugSessionManager.getSession(job.jobId).pause();
      await settlePause(job);
      return { job_id: job.jobId, status: job.status };
    },
  }),
  route({
    method: "POST", path: "/api/jobs/:job_id/resume", tag: "jobs", summary: "Resume a paused job",
    handler: ({ runtime, params }) => {
      const job = runtime.getJob(params.job_id as string);
      const s = runtime.monitoring.debugSessionManager.get(job.jobId);
      if (s?.status === "paused") s.continue();
      else if (!job.resume()) throw new MonitoringError("conflict", "JOB_NOT_PAUSED", `Job '${job.jobId}' is not paused (it is ${job.status})`);
      return { job_id: job.jobId, status: job.status };
    },
  }),
  route({
    method: "POST", path: "/api/jobs/:job_id/cancel", tag: "jobs", summary: "Cancel a job",
    handler: ({ runtime, params }) => {
      const job = runtime.getJob(params.job_id as string);
      if (!job.cancel("Cancelled over the API")) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${job.jobId}' has already finished (${job.status})`);
      return { job_id: job.jobId, status: job.status };
    },
  }),

  // Debugging
  ...(["continue", "step_over", "step_into", "step_out"] as const).map((cmd) =>
    route({
      method: "POST", path: `/api/jobs/:job_id/debug/${cmd}`, aliases: [`/api/jobs/:job_id/debug/${cmd.replace("_", "-")}`, ...(cmd === "continue" ? ["/api/jobs/:job_id/debug/resume"] : [])], tag: "debug",
      summary: cmd === "continue" ? "Continue until a breakpoint or the end" : `Step (${cmd.slice(5)}) by causal depth`,
      handler: async ({ runtime, params }) => {
        const s = session(runtime, params.job_id as string);
        if (cmd === "continue") s.continue();
        else if (cmd === "step_over") s.stepOver();
        else if (cmd === "step_into") s.stepInto();
        else s.stepOut();
        const job = runtime.getJob(params.job_id as string);
        if (cmd !== "continue") await settlePause(job);
        return debugResult(runtime, job.jobId);
      },
    }),
  ),
  route({ method: "POST", path: "/api/jobs/:job_id/debug/pause", tag: "debug", summary: "Pause at the next activation", handler: async ({ runtime, params }) => { const s = session(runtime, params.job_id as string); s.pause(); await settlePause(runtime.getJob(params.job_id as string)); return debugResult(runtime, params.job_id as string); } }),
  route({ method: "GET", path: "/api/jobs/:job_id/debug/session", tag: "debug", summary: "The debug session", handler: ({ runtime, params }) => runtime.jobSession(params.job_id as string) }),
  route({ method: "GET", path: "/api/jobs/:job_id/debug/variables", tag: "debug", summary: "Variables of the paused activation: local (its payload) and shared", handler: ({ runtime, params }) => session(runtime, params.job_id as string).getVariables() }),
  route<z.infer<typeof SetVariableBody>>({
    method: "PUT", path: "/api/jobs/:job_id/debug/variables/:name", tag: "debug", summary: "Change a variable (dotted paths allowed)", body: SetVariableBody,
    handler: ({ runtime, params, body }) => session(runtime, params.job_id as string).setVariable(params.name as string, body.value, body.scope ?? "local"),
  }),
  route<z.infer<typeof SetVariableRequest>>({
    method: "POST", path: "/api/jobs/:job_id/debug/variables", tag: "debug", summary: "Change a variable (document's spelling)", body: SetVariableRequest,
    handler: ({ runtime, params, body }) => session(runtime, params.job_id as string).setVariable(body.variable, body.value, body.scope ?? "local"),
  }),
  route({ method: "GET", path: "/api/jobs/:job_id/debug/call_stack", aliases: ["/api/jobs/:job_id/debug/call-stack"], tag: "debug", summary: "The causal call stack", handler: ({ runtime, params }) => session(runtime, params.job_id as string).getCallStack() }),
  route<z.infer<typeof EvaluateRequest>>({
    method: "POST", path: "/api/jobs/:job_id/debug/evaluate", tag: "debug", summary: "Evaluate an expression against the paused scope", body: EvaluateRequest,
    handler: ({ runtime, params, body }) => session(runtime, params.job_id as string).evaluate(body.expression),
  }),
];
