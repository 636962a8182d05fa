/**
 * Every REST query of the UI: its key and options in one place (TanStack Query's `queryOptions`),
 * so components share cache entries and invalidate by the same keys.
 */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api } from "@/lib/client/api";
import type { Breakpoint, JobStatus, PausedAt } from "@/lib/wire";

/** Identifies one stop: panels that read the paused activation refetch when it changes. */
export const pauseKey = (p: PausedAt | null): string => (p ? `${p.activation_id}:${p.kind}:${p.routine_id}` : "none");

/** Inputs and outputs per page of the node-io panel. */
export const IO_PAGE = 50;

export interface JobFilter {
  flow_id?: string;
  status?: JobStatus | "";
  limit?: number;
  offset?: number;
}

export interface BreakpointScope {
  flowId: string;
  jobId?: string;
}

/** How often every page asks whether the server is degraded. */
const HEALTH_POLL_MS = 15_000;

export const queryKeys = {
  devStatus: ["dev-status"] as const,
  health: ["health"] as const,
  flows: ["flows"] as const,
  flow: (flowId: string) => ["flow", flowId] as const,
  jobs: (filter: JobFilter) => ["jobs", filter] as const,
  job: (jobId: string) => ["job", jobId] as const,
  jobFlow: (jobId: string) => ["job-flow", jobId] as const,
  metrics: (jobId: string) => ["metrics", jobId] as const,
  /** Everything that reads the paused activation of a job (variables, stack, watches). */
  stop: (jobId: string) => ["stop", jobId] as const,
  variables: (jobId: string, at: PausedAt | null, frame = 0) => ["stop", jobId, "variables", pauseKey(at), frame] as const,
  callStack: (jobId: string, at: PausedAt | null) => ["stop", jobId, "call-stack", pauseKey(at)] as const,
  watch: (jobId: string, expression: string, at: PausedAt | null) => ["stop", jobId, "watch", expression, pauseKey(at)] as const,
  /** Every inputs-and-outputs query of a job (refreshed at stops and at the end). */
  ioAll: (jobId: string) => ["io", jobId] as const,
  io: (jobId: string, routineId: string | null) => ["io", jobId, routineId ?? ""] as const,
  event: (jobId: string, seq: number) => ["event", jobId, seq] as const,
  breakpointsAll: ["breakpoints"] as const,
  breakpoints: (scope: BreakpointScope) => (scope.jobId ? (["breakpoints", "job", scope.jobId] as const) : (["breakpoints", "flow", scope.flowId] as const)),
};

export const queries = {
  /** Read once per page; the live channel keeps it current (routilux dev). */
  devStatus: () => queryOptions({ queryKey: queryKeys.devStatus, queryFn: api.devStatus, staleTime: Number.POSITIVE_INFINITY, retry: false }),
  /** Polled slowly: a degraded server is shown on every page. */
  health: () => queryOptions({ queryKey: queryKeys.health, queryFn: api.health, refetchInterval: HEALTH_POLL_MS, retry: false }),
  flows: (refetchInterval: number | false = false) => queryOptions({ queryKey: queryKeys.flows, queryFn: api.flows, refetchInterval }),
  flow: (flowId: string | undefined) =>
    queryOptions({ queryKey: queryKeys.flow(flowId ?? ""), queryFn: () => api.flow(flowId as string), enabled: Boolean(flowId) }),
  jobs: (filter: JobFilter, refetchInterval: number) => queryOptions({ queryKey: queryKeys.jobs(filter), queryFn: () => api.jobs(filter), refetchInterval }),
  job: (jobId: string) => queryOptions({ queryKey: queryKeys.job(jobId), queryFn: () => api.job(jobId), retry: false }),
  /** The flow the job ran (recorded when it started), and whether it is served as such now. */
  jobFlow: (jobId: string) => queryOptions({ queryKey: queryKeys.jobFlow(jobId), queryFn: () => api.jobFlow(jobId) }),
  /** Polled while the job can still change. */
  metrics: (jobId: string, live: boolean) => queryOptions({ queryKey: queryKeys.metrics(jobId), queryFn: () => api.metrics(jobId), refetchInterval: live ? 1000 : false }),
  variables: (jobId: string, at: PausedAt | null, frame = 0) =>
    queryOptions({ queryKey: queryKeys.variables(jobId, at, frame), queryFn: () => api.variables(jobId, frame), enabled: at !== null, retry: false }),
  callStack: (jobId: string, at: PausedAt | null) =>
    queryOptions({ queryKey: queryKeys.callStack(jobId, at), queryFn: () => api.callStack(jobId), enabled: at !== null, retry: false }),
  watch: (jobId: string, expression: string, at: PausedAt | null) =>
    queryOptions({ queryKey: queryKeys.watch(jobId, expression, at), queryFn: () => api.evaluate(jobId, expression), enabled: at !== null, retry: false }),
  /**
   * A node's inputs and outputs, a page at a time (`after_seq` = the last row's seq); followed
   * while the job runs. Without a node, one row: the answer's job-level payload figures.
   */
  io: (jobId: string, routineId: string | null, live: boolean) =>
    infiniteQueryOptions({
      queryKey: queryKeys.io(jobId, routineId),
      queryFn: ({ pageParam }) => api.io(jobId, routineId ? { routine_id: routineId, after_seq: pageParam, limit: IO_PAGE } : { limit: 1 }),
      initialPageParam: 0,
      getNextPageParam: (last) => (last.has_more && routineId ? last.rows.at(-1)?.seq : undefined),
      refetchInterval: live ? 2000 : false,
    }),
  /** One event with its full payload (it never changes once recorded). */
  event: (jobId: string, seq: number) => queryOptions({ queryKey: queryKeys.event(jobId, seq), queryFn: () => api.event(jobId, seq), retry: false, staleTime: Number.POSITIVE_INFINITY }),
  /** A job's own breakpoints and its flow's, or a flow's; hit counts move while a job runs. */
  breakpoints: (scope: BreakpointScope, live: boolean) =>
    queryOptions({
      queryKey: queryKeys.breakpoints(scope),
      queryFn: async (): Promise<Breakpoint[]> => {
        if (scope.jobId) {
          const r = await api.jobBreakpoints(scope.jobId);
          return [...r.breakpoints, ...r.flow_breakpoints];
        }
        return (await api.flowBreakpoints(scope.flowId)).breakpoints;
      },
      refetchInterval: live ? 1500 : false,
    }),
};
