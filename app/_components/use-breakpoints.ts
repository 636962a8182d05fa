"use client";
/**
 * Breakpoints in scope of a view: the flow's (flow page) or the job's own plus its flow's (job
 * page). Each breakpoint is changed through its own scope's route.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "@/lib/client/api";
import type { Breakpoint, BreakpointBody, BreakpointPatch } from "@/lib/wire";
import { type BreakpointScope, queries, queryKeys } from "./queries";

export type NewBreakpoint = BreakpointBody;

export function useBreakpoints(scope: BreakpointScope, live = false) {
  const qc = useQueryClient();
  const query = useQuery(queries.breakpoints(scope, live));
  const invalidate = () => qc.invalidateQueries({ queryKey: queryKeys.breakpointsAll });
  const add = useMutation({
    mutationFn: (bp: NewBreakpoint) => (scope.jobId ? api.addJobBreakpoint(scope.jobId, bp) : api.addFlowBreakpoint(scope.flowId, bp)),
    onSettled: invalidate,
  });
  const patch = useMutation({
    mutationFn: ({ bp, change }: { bp: Breakpoint; change: BreakpointPatch }) =>
      bp.job_id ? api.patchJobBreakpoint(bp.job_id, bp.breakpoint_id, change) : api.patchFlowBreakpoint(bp.flow_id ?? scope.flowId, bp.breakpoint_id, change),
    onSettled: invalidate,
  });
  const remove = useMutation({
    mutationFn: (bp: Breakpoint) => (bp.job_id ? api.removeJobBreakpoint(bp.job_id, bp.breakpoint_id) : api.removeFlowBreakpoint(bp.flow_id ?? scope.flowId, bp.breakpoint_id)),
    onSettled: invalidate,
  });
  const list = query.data ?? [];
  return {
    list,
    error: query.error,
    add,
    patch,
    remove,
    /** Click on a node's dot: off if there is any breakpoint on it, else a plain one on. */
    async toggleRoutine(routineId: string): Promise<void> {
      const here = list.filter((b) => b.type !== "connection" && b.routine_id === routineId);
      if (here.length) await Promise.all(here.map((b) => remove.mutateAsync(b)));
      else await add.mutateAsync({ routine_id: routineId });
    },
    async toggleConnection(connectionId: string): Promise<void> {
      const here = list.filter((b) => b.type === "connection" && b.connection === connectionId);
      if (here.length) await Promise.all(here.map((b) => remove.mutateAsync(b)));
      else await add.mutateAsync({ type: "connection", connection: connectionId });
    },
  };
}

export type BreakpointsApi = ReturnType<typeof useBreakpoints>;
