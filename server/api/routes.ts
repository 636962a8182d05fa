/**
 * The handlers of the HTTP contract (lib/wire `API`): one per route, typed by it. Debug-command
 * routes all run the command table (transport/commands.ts), as the sockets do.
 */
// Narrow imports, not the public index: this module is bundled into Next's route handler, which
// must not pull in the runtime's history (a native addon).
import { dslToText, type Flow, flowToDsl } from "../../lib/engine";
import { checkBreakpointTarget, MonitoringError } from "../../lib/monitoring";
import { connectionInfo, routineInfo as describeRoutine, flowDetail } from "../../lib/runtime/flow-detail";
import type { Runtime } from "../../lib/runtime/runtime";
import { type Api, API, type FlowSummary, isRoutiluxError, type RouteName, RoutiluxError, type RoutineInfo, shownId } from "../../lib/wire";
import { runCommand } from "../transport/commands";
import { openApiDocument } from "./openapi";
import type { RouteHandler, RouteHandlers } from "./router";

// ------------------------------------------------------------------ shapes

function routineInfo(runtime: Runtime, flow: Flow, id: string): RoutineInfo {
  const info = describeRoutine(flow, id, runtime.registry);
  if (!info) throw new MonitoringError("not_found", "ROUTINE_NOT_FOUND", `Routine '${id}' not found in flow '${flow.flowId}'`);
  return info;
}

function flowSummary(runtime: Runtime, flow: Flow): FlowSummary {
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
    has_example: flow.example !== null,
  };
}

/** A flow breakpoint `id` of this flow (a job's, or another flow's, is not found here). */
function flowBreakpoint(runtime: Runtime, flowId: string, id: string) {
  const bp = runtime.monitoring.breakpointManager.getBreakpoint(id);
  if (!bp || bp.job_id !== null || bp.flow_id !== flowId) throw new MonitoringError("not_found", "BREAKPOINT_NOT_FOUND", `Breakpoint '${id}' not found`);
  return bp;
}

function jobStatus(runtime: Runtime, jobId: string) {
  const job = runtime.getJob(jobId);
  return { job_id: job.jobId, status: job.status };
}

// ------------------------------------------------------------------ debug-command routes

type CommandRouteName = { [K in RouteName]: Api[K] extends { command: string } ? K : never }[RouteName];
type PlainRouteName = Exclude<RouteName, CommandRouteName>;

/** A command route: the path's ids but the job's, the query and the body are the command's arguments. */
function commandHandler<K extends CommandRouteName>(name: K): RouteHandler<Api[K]> {
  const command = API[name].command;
  return (async ({ params, query, body, runtime }: { params: Record<string, string>; query: unknown; body: unknown; runtime: Runtime }) => {
    const { job_id, ...fromPath } = params;
    return await runCommand(runtime, job_id as string, command, { ...fromPath, ...(query as object | undefined), ...(body as object | undefined) });
  }) as unknown as RouteHandler<Api[K]>;
}

const commandRoutes = Object.fromEntries(
  (Object.keys(API) as RouteName[]).filter((n): n is CommandRouteName => "command" in API[n]).map((n) => [n, commandHandler(n)]),
) as { [K in CommandRouteName]: RouteHandler<Api[K]> };

// ------------------------------------------------------------------ the others

let openApiCache: Record<string, unknown> | null = null;

const plainRoutes: { [K in PlainRouteName]: RouteHandler<Api[K]> } = {
  health: ({ runtime }) => runtime.health(),
  openApi: () => {
    openApiCache ??= openApiDocument();
    return openApiCache;
  },
  devStatus: ({ runtime }) => runtime.devStatus(),

  listFlows: ({ runtime }) => {
    const flows = runtime.flows.map((f) => flowSummary(runtime, f));
    return { flows, total: flows.length };
  },
  createFlow: async ({ runtime, body }) => flowDetail(await runtime.createFlowFromRequest(body.flow_id, body.dsl), runtime.registry),
  getFlow: ({ runtime, params }) => flowDetail(runtime.getFlow(params.flow_id), runtime.registry),
  deleteFlow: ({ runtime, params }) => runtime.deleteFlow(params.flow_id),
  exportFlow: ({ runtime, params, query }) => {
    const flow = runtime.getFlow(params.flow_id);
    return { flow_id: flow.flowId, format: query.format, dsl: dslToText(flowToDsl(flow, runtime.registry), query.format) };
  },
  validateFlow: ({ runtime, params }) => {
    const issues = runtime.getFlow(params.flow_id).validate();
    return { valid: !issues.some((i) => i.level === "error"), issues };
  },
  addRoutine: ({ runtime, params, body }) => {
    const flow = runtime.getFlow(params.flow_id);
    if (flow.getRoutine(body.routine_id)) throw new MonitoringError("conflict", "ROUTINE_EXISTS", `Routine '${body.routine_id}' already exists in flow '${flow.flowId}'`);
    if (!runtime.registry.has(body.type)) throw new MonitoringError("bad_request", "UNKNOWN_TYPE", `Unknown routine type '${body.type}' (registered: ${runtime.registry.names.join(", ")})`);
    runtime.editFlow(
      flow.flowId,
      (f) => f.addRoutine(runtime.registry.create(body.type, body.config), body.routine_id),
      (f) => f.removeRoutine(body.routine_id),
    );
    return routineInfo(runtime, flow, body.routine_id);
  },
  removeRoutine: ({ runtime, params }) => {
    runtime.flowForEdit(params.flow_id).removeRoutine(params.routine_id);
    runtime.flowChanged(params.flow_id);
  },
  addConnection: ({ runtime, params, body }) => {
    const flow = runtime.getFlow(params.flow_id);
    try {
      const connection = runtime.editFlow(
        flow.flowId,
        (f) => f.connect(body.source_routine, body.source_event, body.target_routine, body.target_slot, body.param_mapping ?? null),
        (f, c) => f.removeConnection(c.id),
      );
      return connectionInfo(connection);
    } catch (err) {
      // A duplicate is a conflict; the engine's other definition errors keep their kind.
      const code = (err as { code?: unknown }).code;
      if (code === "DUPLICATE_CONNECTION") throw new MonitoringError("conflict", code, (err as Error).message);
      throw err;
    }
  },
  removeConnection: ({ runtime, params }) => {
    runtime.flowForEdit(params.flow_id).removeConnection(params.connection_id);
    runtime.flowChanged(params.flow_id);
  },
  routineTypes: ({ runtime }) => {
    const types = runtime.registry.list();
    return { routine_types: types, total: types.length };
  },
  flowMetrics: ({ runtime, params }) => {
    const flow = runtime.getFlow(params.flow_id);
    const { jobs } = runtime.listJobs({ flowId: flow.flowId });
    const count = (s: string) => jobs.filter((j) => j.status === s).length;
    const durations = jobs.map((j) => j.duration_ms).filter((d): d is number => d !== null);
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
  flowBreakpoints: ({ runtime, params }) => {
    const flow = runtime.getFlow(params.flow_id);
    const breakpoints = runtime.monitoring.breakpointManager.getFlowBreakpoints(flow.flowId);
    return { breakpoints, total: breakpoints.length };
  },
  addFlowBreakpoint: ({ runtime, params, body }) => {
    const flow = runtime.getFlow(params.flow_id);
    const manager = runtime.monitoring.breakpointManager;
    // Flow breakpoints are part of the history.
    runtime.assertHistoryWritable();
    if (!Array.isArray(body)) {
      checkBreakpointTarget(flow, body);
      return manager.setBreakpoint({ ...body, flow_id: flow.flowId, job_id: null });
    }
    // All or none: the first refused entry removes those set before it and names its index.
    const set: string[] = [];
    try {
      for (const [i, bp] of body.entries()) {
        try {
          checkBreakpointTarget(flow, bp);
          set.push(manager.setBreakpoint({ ...bp, flow_id: flow.flowId, job_id: null }).breakpoint_id);
        } catch (err) {
          if (isRoutiluxError(err)) throw new RoutiluxError(err.code, `Breakpoint [${i}]: ${err.message} (none of the ${body.length} was set)`, { kind: err.kind, details: { index: i } });
          throw err;
        }
      }
    } catch (err) {
      for (const id of set) manager.removeBreakpoint(id);
      throw err;
    }
    const breakpoints = set.map((id) => manager.getBreakpoint(id)).filter((b) => b !== undefined);
    return { breakpoints, total: breakpoints.length };
  },
  removeFlowBreakpoint: ({ runtime, params }) => {
    flowBreakpoint(runtime, runtime.getFlow(params.flow_id).flowId, params.breakpoint_id);
    runtime.assertHistoryWritable();
    runtime.monitoring.breakpointManager.removeBreakpoint(params.breakpoint_id);
  },
  patchFlowBreakpoint: ({ runtime, params, body }) => {
    flowBreakpoint(runtime, runtime.getFlow(params.flow_id).flowId, params.breakpoint_id);
    runtime.assertHistoryWritable();
    return runtime.monitoring.breakpointManager.updateBreakpoint(params.breakpoint_id, body);
  },

  startJob: ({ runtime, body }) => runtime.submitJob(body),
  listJobs: ({ runtime, query }) => {
    const { jobs, total } = runtime.listJobs({ flowId: query.flow_id, status: query.status, limit: query.limit, offset: query.offset });
    return { jobs, total, limit: query.limit, offset: query.offset };
  },
  removeOldJobs: ({ runtime, query }) => ({ removed: runtime.removeOldJobs(query.max_age_seconds) }),
  jobDiff: ({ runtime, query }) => runtime.jobDiff(query.base, query.other),
  getJob: ({ runtime, params }) => runtime.jobSnapshot(params.job_id),
  jobFlow: ({ runtime, params }) => runtime.jobFlow(params.job_id),
  jobMetrics: ({ runtime, params }) => runtime.jobMetrics(params.job_id),
  jobTrace: ({ runtime, params, query }) => {
    const jobId = params.job_id;
    runtime.jobSummary(jobId);
    const collector = runtime.monitoring.monitorCollector;
    const info = collector.traceInfo(jobId) ?? { total: 0, retained: 0, dropped: 0, last_seq: 0 };
    const events =
      query.after_seq !== undefined
        ? collector
            .eventsAfter(jobId, query.after_seq)
            .events.slice(0, query.limit)
            .map((e) => e.toJSON())
        : collector.getExecutionTrace(jobId, query.limit);
    return { job_id: jobId, ...info, events };
  },
  jobIo: ({ runtime, params, query }) =>
    runtime.jobIo(params.job_id, { routineId: query.routine_id, kind: query.kind, afterSeq: query.after_seq, limit: query.limit }),
  jobEvent: ({ runtime, params }) => {
    const seq = Number(params.seq);
    if (!/^[0-9]{1,15}$/.test(params.seq) || seq < 1) throw new MonitoringError("bad_request", "INVALID_SEQ", `Invalid seq '${shownId(params.seq)}' (a whole number ≥ 1)`);
    return runtime.jobEvent(params.job_id, seq);
  },
  jobLogs: ({ runtime, params }) => {
    const jobId = params.job_id;
    const logs = runtime.monitoring.jobStore.get(jobId)?.sharedLog ?? runtime.jobSnapshot(jobId).shared_log;
    return { job_id: jobId, logs, total: logs.length };
  },
  pauseJob: async ({ runtime, params }) => {
    await runCommand(runtime, params.job_id, "pause", {});
    return jobStatus(runtime, params.job_id);
  },
  resumeJob: ({ runtime, params }) => {
    const job = runtime.getJob(params.job_id);
    const s = runtime.monitoring.debugSessionManager.get(job.jobId);
    if (s?.status === "paused") s.continue();
    else if (!job.resume()) throw new MonitoringError("conflict", "JOB_NOT_PAUSED", `Job '${job.jobId}' is not paused (it is ${job.status})`);
    return jobStatus(runtime, job.jobId);
  },
  jobStateAt: ({ runtime, params, query }) => runtime.jobStateAt(params.job_id, query.at_seq),
  forkJob: ({ runtime, params, body }) => runtime.submitFork(params.job_id, body),
  cancelJob: ({ runtime, params }) => {
    const job = runtime.getJob(params.job_id);
    if (!job.cancel("Cancelled over the API")) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${job.jobId}' has already finished (${job.status})`);
    return jobStatus(runtime, job.jobId);
  },
};

export const handlers: RouteHandlers = { ...plainRoutes, ...commandRoutes };
