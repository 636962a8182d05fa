"use client";
/**
 * The job view's controller: the live store and its socket, the REST queries, breakpoints, and
 * what the user does (toolbar actions, selection, the breakpoint being edited). The view only
 * lays out panels around what this returns.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { useStore } from "zustand";
import { api } from "@/lib/client/api";
import { connectJob } from "@/lib/client/live-connection";
import { createJobLiveStore } from "@/lib/client/live-store";
import { isFinal } from "@/lib/client/run-state";
import type { PausedAt } from "@/lib/wire";
import type { ToolbarAction } from "./debug-toolbar";
import type { FocusRequest } from "./flow-graph";
import { pauseKey, queries, queryKeys } from "./queries";
import { useBreakpoints } from "./use-breakpoints";

export type StepAction = "step_over" | "step_into" | "step_out";
const isStep = (a: ToolbarAction): a is StepAction => a === "step_over" || a === "step_into" || a === "step_out";

export function useJobDebugger(jobId: string) {
  const qc = useQueryClient();
  const store = useMemo(() => createJobLiveStore(jobId), [jobId]);
  useEffect(() => connectJob(store), [store]);

  const job = useQuery(queries.job(jobId));
  const flowId = job.data?.flow_id;
  const flow = useQuery(queries.flow(flowId));
  const status = useStore(store, (s) => s.run.status) ?? job.data?.status ?? null;
  const pausedAt = useStore(store, (s) => s.run.pausedAt);
  const connection = useStore(store, (s) => s.connection);
  const selected = useStore(store, (s) => s.selectedRoutine);
  const runError = useStore(store, (s) => s.run.error);
  const missing = useStore(store, (s) => s.run.missing);
  const final = isFinal(status);
  const metrics = useQuery(queries.metrics(jobId, !final));
  const breakpoints = useBreakpoints({ flowId: flowId ?? "", jobId }, !final);

  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [focus, setFocus] = useState<FocusRequest>({ key: 0, centre: false });
  /** The event whose full payload the payload viewer shows (its seq), if open. */
  const [viewing, setViewing] = useState<number | null>(null);
  const closeViewer = useCallback(() => setViewing(null), []);
  // The step the user asked for last, and where from: if the job ends before it stops anywhere,
  // the stop bar says why (nothing came at the depth the step waits for).
  const [step, setStep] = useState<{ action: StepAction; from: PausedAt } | null>(null);
  const stepEnded = step !== null && final;

  // On every stop and at the end the snapshot is the authority on counts and states (and, at the
  // end, on the final shared data: fetched into the job query's cache).
  useEffect(() => {
    if (status === "paused" || final) {
      void qc.fetchQuery({ ...queries.job(jobId), staleTime: 0 }).then(
        (snap) => store.getState().reconcile(snap),
        () => {},
      );
      void qc.invalidateQueries({ queryKey: queryKeys.metrics(jobId) });
      void qc.invalidateQueries({ queryKey: queryKeys.breakpointsAll });
      void qc.invalidateQueries({ queryKey: queryKeys.ioAll(jobId) });
    }
  }, [status, final, jobId, store, qc]);
  // Select the node where the job stopped.
  useEffect(() => {
    if (pausedAt) {
      // A new stop ends the step (the same stop, re-sent by a session update, does not).
      setStep((st) => (st && pauseKey(st.from) !== pauseKey(pausedAt) ? null : st));
      store.getState().select(pausedAt.routine_id);
      setFocus((f) => ({ key: f.key + 1, centre: false }));
    }
  }, [pausedAt, store]);

  const act = async (a: ToolbarAction): Promise<void> => {
    if (stepEnded) {
      // The job is over: Continue only closes the note.
      if (a === "continue") setStep(null);
      return;
    }
    setStep(pausedAt && isStep(a) ? { action: a, from: pausedAt } : null);
    setBusy(true);
    setActionError(null);
    try {
      if (a === "pause") await api.pause(jobId);
      else if (a === "cancel") await api.cancel(jobId);
      // The answer's session is not applied: the socket's ordered session and trace updates are
      // the source of truth (an HTTP answer can arrive after a newer stop was already shown).
      else await api.debug(jobId, a);
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  /** Runs a breakpoint change; its failure is shown where action errors are. */
  const attempt = (p: Promise<unknown>): void => {
    p.catch((e: Error) => setActionError(e.message));
  };

  return {
    jobId,
    store,
    job,
    flowId,
    flow: flow.data,
    metrics: metrics.data,
    breakpoints,
    status,
    pausedAt,
    connection,
    selected,
    runError,
    missing,
    busy,
    actionError,
    editing,
    setEditing,
    focus,
    /** Set when the user's last step ran the job to its end: what to tell them. */
    stepNote: stepEnded && step ? describeStepEnd(step.action, step.from, status) : null,
    stepEnded,
    final,
    viewing,
    /** Opens the payload viewer on event `seq` (stable: the memoised event log takes it). */
    openEvent: setViewing,
    closeViewer,
    act: (a: ToolbarAction) => void act(a),
    select: (routineId: string) => store.getState().select(routineId),
    /** A call-stack frame: select its node and centre the graph on it. */
    showFrame: (routineId: string) => {
      store.getState().select(routineId);
      setFocus((f) => ({ key: f.key + 1, centre: true }));
    },
    toggleRoutineBreakpoint: (routineId: string) => attempt(breakpoints.toggleRoutine(routineId)),
    toggleConnectionBreakpoint: (connectionId: string) => attempt(breakpoints.toggleConnection(connectionId)),
  };
}

export type JobDebuggerController = ReturnType<typeof useJobDebugger>;

/** Why a step did not stop: the depth rule, in words. */
function describeStepEnd(action: StepAction, from: PausedAt, status: string | null): string {
  const where = `${from.routine_id}.${from.slot_name}`;
  const d = from.depth;
  const waited =
    action === "step_over"
      ? `an activation at depth ≤ ${d} (the depth of ${where})`
      : action === "step_out"
        ? `an activation at depth < ${d} (above ${where})`
        : "another activation";
  const verb = action === "step_over" ? "Step over" : action === "step_out" ? "Step out" : "Step into";
  return `${verb} from ${where} ran the job to its end (${status ?? "finished"}): no ${waited} came after it`;
}
