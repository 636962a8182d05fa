"use client";
/**
 * The job view's controller: the live store and its socket, the REST queries, breakpoints, and
 * what the user does (toolbar actions, selection, the breakpoint being edited). The view only
 * lays out panels around what this returns.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useStore } from "zustand";
import { api, isStaleStop } from "@/lib/client/api";
import { connectJob } from "@/lib/client/live-connection";
import { createJobLiveStore } from "@/lib/client/live-store";
import { isFinal } from "@/lib/client/run-state";
import type { BreakpointBody, PausedAt } from "@/lib/wire";
import type { EditTarget } from "./breakpoint-editor";
import type { ToolbarAction } from "./debug-toolbar";
import type { FocusRequest } from "./flow-graph";
import { pauseKey, queries, queryKeys } from "./queries";
import { useBreakpoints } from "./use-breakpoints";

export type StepAction = "step_over" | "step_into" | "step_out";
const isStep = (a: ToolbarAction): a is StepAction => a === "step_over" || a === "step_into" || a === "step_out";

export function useJobDebugger(jobId: string) {
  const qc = useQueryClient();
  const router = useRouter();
  const store = useMemo(() => createJobLiveStore(jobId), [jobId]);
  useEffect(() => connectJob(store), [store]);

  const job = useQuery(queries.job(jobId));
  const flowId = job.data?.flow_id;
  // The graph is the flow as this job ran it (recorded when it started), never the flow as it is
  // now: an edited, deleted or foreign flow would draw something else, or nothing at all.
  const jobFlow = useQuery(queries.jobFlow(jobId));
  const ran = jobFlow.data;
  /** The job's flow is served as it ran: what needs the live flow (run again, breakpoints) works. */
  const flowLive = ran?.served === true && ran.same_structure !== false;
  const readOnly = !flowLive && !jobFlow.isPending;
  const status = useStore(store, (s) => s.run.status) ?? job.data?.status ?? null;
  const pausedAt = useStore(store, (s) => s.run.pausedAt);
  const connection = useStore(store, (s) => s.connection);
  const selected = useStore(store, (s) => s.selectedRoutine);
  const runError = useStore(store, (s) => s.run.error);
  const missing = useStore(store, (s) => s.run.missing);
  const stepOutcome = useStore(store, (s) => s.session?.step_outcome ?? null);
  const final = isFinal(status);
  const metrics = useQuery(queries.metrics(jobId, !final));
  const breakpoints = useBreakpoints({ flowId: flowId ?? "", jobId }, !final);

  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [editing, setEditing] = useState<EditTarget | null>(null);
  const [focus, setFocus] = useState<FocusRequest>({ key: 0, routineId: null, mode: "reveal" });
  // The call-stack frame whose variables show; every new stop starts at its own (0).
  const [frame, setFrame] = useState(0);
  /** The event whose full payload the payload viewer shows (its seq), if open. */
  const [viewing, setViewing] = useState<number | null>(null);
  const closeViewer = useCallback(() => setViewing(null), []);
  // The step the user asked for last, and where from: if the job ends before it stops anywhere,
  // the stop bar says where the followed item went (the server's `step_outcome`).
  const [step, setStep] = useState<{ action: StepAction; from: PausedAt } | null>(null);
  const stepEnded = step !== null && final;

  // The snapshot is the authority on counts and states. It says which seq it is as of, so it is
  // applied whenever it arrives (before or after the events it covers: those are only logged).
  useEffect(() => {
    if (job.data) store.getState().reconcile(job.data);
  }, [job.data, store]);
  // A fresh one at every stop and at the end, and when events were lost on the way. Fetched
  // apart from the query: a failed refresh (the connection is down) must not turn the loaded
  // view into an error page; the next stop, end or reconnect brings another.
  const refreshSnapshot = useCallback(() => {
    api.job(jobId).then(
      (snap) => qc.setQueryData(queryKeys.job(jobId), snap),
      () => {},
    );
  }, [jobId, qc]);
  useEffect(() => {
    if (status === "paused" || final) {
      refreshSnapshot();
      void qc.invalidateQueries({ queryKey: queryKeys.metrics(jobId) });
      void qc.invalidateQueries({ queryKey: queryKeys.breakpointsAll });
      void qc.invalidateQueries({ queryKey: queryKeys.ioAll(jobId) });
    }
  }, [status, final, jobId, qc, refreshSnapshot]);
  useEffect(() => {
    if (missing > 0) refreshSnapshot();
  }, [missing, refreshSnapshot]);
  /**
   * A command named stop `from` and the job had left it (STALE_STOP: nothing happened): this view
   * is behind. The session fetched is applied only while the view still shows that stop; a socket
   * update that came meanwhile is at least as new.
   */
  const refreshSession = useCallback(
    (from: number) => {
      api.session(jobId).then(
        (session) => {
          if ((store.getState().run.pausedAt?.stop_number ?? null) === from) store.getState().setSession(session);
        },
        () => {},
      );
      refreshSnapshot();
    },
    [jobId, store, refreshSnapshot],
  );
  // Whether the flow is still served as it ran may have changed while the job ran.
  useEffect(() => {
    if (final) void qc.invalidateQueries({ queryKey: queryKeys.jobFlow(jobId) });
  }, [final, jobId, qc]);
  // Select the node where the job stopped and bring it into view, once per stop: the same stop
  // re-sent by a session update leaves the user's selection and view alone.
  const shownStop = useRef<string | null>(null);
  useEffect(() => {
    if (pausedAt) {
      const key = pauseKey(pausedAt);
      // A new stop ends the step (the same stop, re-sent by a session update, does not).
      setStep((st) => (st && pauseKey(st.from) !== key ? null : st));
      if (shownStop.current === key) return;
      shownStop.current = key;
      store.getState().select(pausedAt.routine_id);
      setFrame(0);
      setFocus((f) => ({ key: f.key + 1, routineId: pausedAt.routine_id, mode: "reveal" }));
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
    // The stop on screen: a doubled or late click then cannot release the stop after it.
    const from = pausedAt?.stop_number;
    try {
      if (a === "pause") await api.pause(jobId);
      else if (a === "cancel") await api.cancel(jobId);
      // The answer's session is not applied: the socket's ordered session and trace updates are
      // the source of truth (an HTTP answer can arrive after a newer stop was already shown).
      else await api.debug(jobId, a, from);
    } catch (e) {
      if (from !== undefined && isStaleStop(e)) {
        // Not an error for the user: the job had already moved on; show where it is now.
        setStep(null);
        refreshSession(from);
      } else {
        setActionError((e as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };

  /**
   * A new job of the same flow with the same entry routine, slot and params, and this job's own
   * breakpoints (a restart in an IDE keeps them; the flow's apply by themselves). Opens it.
   */
  const runAgain = async (): Promise<void> => {
    const snap = job.data;
    if (!snap || !flowLive) return;
    setBusy(true);
    setActionError(null);
    try {
      const own: BreakpointBody[] = breakpoints.list
        .filter((b) => b.job_id === jobId)
        .map((b) => ({
          type: b.type,
          routine_id: b.routine_id,
          slot_name: b.slot_name,
          event_name: b.event_name,
          connection: b.connection,
          condition: b.condition,
          hit_condition: b.hit_condition,
          log_message: b.log_message,
          enabled: b.enabled,
        }));
      const started = await api.startJob({
        flow_id: snap.flow_id,
        entry_routine_id: snap.entry_routine_id,
        entry_slot: snap.entry_slot,
        entry_params: snap.entry_params,
        ...(own.length ? { breakpoints: own } : {}),
      });
      router.push(`/jobs/${encodeURIComponent(started.job_id)}`);
    } catch (e) {
      setActionError(`Run again: ${(e as Error).message}`);
      setBusy(false);
    }
  };

  /** Run to here, from the stop on screen when paused (none while running: only the one-shot breakpoint is set). */
  const runTo = async (routineId: string): Promise<unknown> => {
    const from = status === "paused" ? pausedAt?.stop_number : undefined;
    try {
      return await api.runTo(jobId, routineId, { stopNumber: from });
    } catch (e) {
      if (from === undefined || !isStaleStop(e)) throw e;
      refreshSession(from);
      // Said where the editor shows its errors: it stays open, and the user sees nothing ran.
      throw new Error("The job had already left that stop, so it did not run on; the view now shows where it is.");
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
    /** The flow as the job ran it (undefined while loading, or when there is no record of it). */
    flow: ran?.flow ?? undefined,
    /** The flow could not be loaded (the graph area says so instead of waiting). */
    flowError: jobFlow.error ? (jobFlow.error as Error).message : null,
    /** Loaded, and there is nothing to draw: not served, and recorded before flows were kept with jobs. */
    flowMissing: ran !== undefined && ran.flow === null,
    /** A flow of this id is served now (the toolbar links to it). */
    flowServed: ran?.served ?? true,
    /** Why the view is read-only, when it is: its flow is not served, or has changed since the job ran. */
    flowNotice: ran !== undefined && !flowLive ? flowNotice(ran.flow_id, ran.served) : null,
    /** Breakpoints and "run again" need the flow served as it ran. */
    readOnly,
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
    /** Set when the user's last step ran the job to its end: where the item went. */
    stepNote: stepEnded && step ? (stepOutcome ?? `${stepLabel(step.action)} from ${step.from.routine_id}.${step.from.slot_name} ran the job to its end (${status ?? "finished"})`) : null,
    stepEnded,
    final,
    viewing,
    /** Opens the payload viewer on event `seq` (stable: the memoised event log takes it). */
    openEvent: setViewing,
    closeViewer,
    act: (a: ToolbarAction) => void act(a),
    select: (routineId: string) => store.getState().select(routineId),
    frame,
    /** A call-stack frame: its variables, its node selected and the graph zoomed to it. */
    showFrame: (routineId: string, index: number) => {
      setFrame(index);
      store.getState().select(routineId);
      setFocus((f) => ({ key: f.key + 1, routineId, mode: "zoom" }));
    },
    /** A search result or a breakpoint row: select its node and zoom the graph to it. */
    showRoutine: (routineId: string) => {
      store.getState().select(routineId);
      setFocus((f) => ({ key: f.key + 1, routineId, mode: "zoom" }));
    },
    /** Set once the job's snapshot (its entry routine, slot and params) is there and its flow is served as it ran. */
    canRunAgain: job.data !== undefined && flowLive,
    runAgain: () => void runAgain(),
    toggleRoutineBreakpoint: (routineId: string) => {
      if (!readOnly) attempt(breakpoints.toggleRoutine(routineId));
    },
    toggleConnectionBreakpoint: (connectionId: string) => {
      if (!readOnly) attempt(breakpoints.toggleConnection(connectionId));
    },
    /** "Run to here" while the job can still run (a one-shot breakpoint, then continue if paused). */
    runTo: final || readOnly ? undefined : (routineId: string) => runTo(routineId),
  };
}

export type JobDebuggerController = ReturnType<typeof useJobDebugger>;

/** The notice of a job view drawn from its recorded flow (test id `flow-not-served`). */
function flowNotice(flowId: string, served: boolean): { reason: "not-served" | "changed"; text: string } {
  return served
    ? { reason: "changed", text: `flow ${flowId} has changed since this job ran: shown read-only from history` }
    : { reason: "not-served", text: `flow ${flowId} is not served by this server: shown read-only from history` };
}

function stepLabel(action: StepAction): string {
  return action === "step_over" ? "Step over" : action === "step_out" ? "Step out" : "Step into";
}
