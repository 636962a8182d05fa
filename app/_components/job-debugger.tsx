"use client";
/**
 * `/jobs/[jobId]`: the debugger. The graph shows live state from the job's store (fed by
 * socket.io, once per animation frame); panels read the paused activation over HTTP.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { useStore } from "zustand";
import { api } from "@/lib/client/api";
import { connectJob } from "@/lib/client/live-connection";
import { createJobLiveStore } from "@/lib/client/live-store";
import { isFinal } from "@/lib/client/run-state";
import type { PausedAt } from "@/lib/client/types";
import { BreakpointEditor } from "./breakpoint-editor";
import { BreakpointsPanel } from "./breakpoints-panel";
import { CallStackPanel } from "./call-stack-panel";
import { DebugToolbar, type ToolbarAction } from "./debug-toolbar";
import { EventLog } from "./event-log";
import { FlowGraph, type FocusRequest } from "./flow-graph";
import { MetricsPanel } from "./metrics-panel";
import { RoutinePanel } from "./routine-panel";
import { StatusBadge, formatMs } from "./status-badge";
import { useBreakpoints } from "./use-breakpoints";
import { pauseKey, VariablesPanel } from "./variables-panel";
import { WatchPanel } from "./watch-panel";

export function JobDebugger({ jobId }: { jobId: string }) {
  const qc = useQueryClient();
  const store = useMemo(() => createJobLiveStore(jobId), [jobId]);
  useEffect(() => connectJob(store), [store]);

  const job = useQuery({ queryKey: ["job", jobId], queryFn: () => api.job(jobId), retry: false });
  const flowId = job.data?.flow_id;
  const flow = useQuery({ queryKey: ["flow", flowId], queryFn: () => api.flow(flowId as string), enabled: Boolean(flowId) });
  const status = useStore(store, (s) => s.run.status) ?? job.data?.status ?? null;
  const pausedAt = useStore(store, (s) => s.run.pausedAt);
  const connection = useStore(store, (s) => s.connection);
  const selected = useStore(store, (s) => s.selectedRoutine);
  const runError = useStore(store, (s) => s.run.error);
  const missing = useStore(store, (s) => s.run.missing);
  const final = isFinal(status);
  const metrics = useQuery({ queryKey: ["metrics", jobId], queryFn: () => api.metrics(jobId), refetchInterval: final ? false : 1000 });
  const breakpoints = useBreakpoints({ flowId: flowId ?? "", jobId }, !final);

  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [focus, setFocus] = useState<FocusRequest>({ key: 0, centre: false });
  const [bottomTab, setBottomTab] = useState<"log" | "metrics">("log");
  // The step the user asked for last, and where from: if the job ends before it stops anywhere,
  // the stop bar says why (nothing came at the depth the step waits for).
  const [step, setStep] = useState<{ action: StepAction; from: PausedAt } | null>(null);
  const stepEnded = step !== null && final;

  // On every stop and at the end the snapshot is the authority on counts and states.
  useEffect(() => {
    if (status === "paused" || final) {
      void api.job(jobId).then((snap) => store.getState().reconcile(snap), () => {});
      void qc.invalidateQueries({ queryKey: ["metrics", jobId] });
      void qc.invalidateQueries({ queryKey: ["breakpoints"] });
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

  const onAction = async (a: ToolbarAction) => {
    if (stepEnded) {
      // The job is over: Continue only closes the note.
      if (a === "continue") setStep(null);
      return;
    }
    setStep(pausedAt && (a === "step_over" || a === "step_into" || a === "step_out") ? { action: a, from: pausedAt } : null);
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

  if (job.error) {
    return (
      <main className="page">
        <div className="error-box" data-testid="job-error">
          {(job.error as Error).message}
        </div>
        <Link href="/jobs">← Jobs</Link>
      </main>
    );
  }
  return (
    <div className="workspace">
      <div className="toolbar">
        <Link href="/jobs" className="muted">
          Jobs /
        </Link>
        <strong className="mono">{jobId}</strong>
        {flowId && (
          <Link href={`/flows/${encodeURIComponent(flowId)}`} className="mono muted">
            {flowId}
          </Link>
        )}
        <StatusBadge status={status} testId="job-status" />
        {metrics.data && <span className="muted small">{formatMs(metrics.data.duration_ms)} · {metrics.data.total_events} events</span>}
        <span className="spacer" />
        <DebugToolbar status={status} busy={busy} stepEnded={stepEnded} onAction={(a) => void onAction(a)} />
        <span className={`live live-${connection}`} data-testid="live-status" data-state={connection} title="Live updates">
          ● {connection}
        </span>
      </div>
      {/* Always there, one line high: a banner that came and went would resize the graph, and
          re-laying out and repainting a 300-routine graph on every stop and continue is a long task. */}
      <div className="stop-bar">
        {pausedAt ? (
          <div className="paused-banner" data-testid="paused-at" data-routine-id={pausedAt.routine_id} role="status" title={pausedAt.error ? `${pausedAt.description} · ${pausedAt.error.error_type}: ${pausedAt.error.message}` : pausedAt.description}>
            <strong>❚❚ Paused</strong> at <span className="mono">{pausedAt.routine_id}.{pausedAt.slot_name}</span>
            {pausedAt.kind === "emit" && <> while emitting <span className="mono">{pausedAt.event_name}</span></>}
            {pausedAt.kind === "error" && <> after an error</>} — {pausedAt.description}
            {pausedAt.error && <span className="err"> · {pausedAt.error.error_type}: {pausedAt.error.message}</span>}
          </div>
        ) : stepEnded && step ? (
          <div className="step-ended" data-testid="step-ended" role="status">
            {describeStepEnd(step.action, step.from, status)} · <span className="muted">Continue closes this note</span>
          </div>
        ) : (
          <div className="stop-bar-idle muted">{status === "running" ? "Running — set a breakpoint or press Pause (F6) to stop it" : status ? `Job ${status}` : ""}</div>
        )}
      </div>
      {actionError && (
        <div className="error-box slim" role="alert" data-testid="action-error">
          {actionError}
        </div>
      )}
      {runError && status === "failed" && <div className="error-box slim">Job failed: {runError}</div>}
      {missing > 0 && <div className="warn-box slim">{missing} events were dropped before they could be shown (the server's trace ring no longer holds them); counts come from the job snapshot.</div>}
      <div className="split">
        <div className="main-col">
          <div className="graph-area">
            {flow.data ? (
              <FlowGraph
                flow={flow.data}
                breakpoints={breakpoints.list}
                live={store}
                selected={selected}
                focus={focus}
                onSelect={(id) => store.getState().select(id)}
                onToggleBreakpoint={(id) => void breakpoints.toggleRoutine(id).catch((e: Error) => setActionError(e.message))}
                onEditBreakpoint={setEditing}
                onToggleConnectionBreakpoint={(id) => void breakpoints.toggleConnection(id).catch((e: Error) => setActionError(e.message))}
              />
            ) : (
              <div className="muted page">Loading the flow…</div>
            )}
            {editing && <BreakpointEditor key={editing} routineId={editing} events={flow.data?.routines[editing]?.events ?? []} breakpoints={breakpoints} onClose={() => setEditing(null)} />}
          </div>
          <div className="bottom-dock">
            <div className="tabs" role="tablist">
              <button type="button" role="tab" aria-selected={bottomTab === "log"} className={bottomTab === "log" ? "on" : ""} onClick={() => setBottomTab("log")}>
                Event log
              </button>
              <button type="button" role="tab" aria-selected={bottomTab === "metrics"} className={bottomTab === "metrics" ? "on" : ""} data-testid="tab-metrics" onClick={() => setBottomTab("metrics")}>
                Metrics
              </button>
            </div>
            {bottomTab === "log" ? <EventLog store={store} /> : <MetricsPanel metrics={metrics.data} />}
          </div>
        </div>
        <aside className="side">
          <CallStackPanel
            jobId={jobId}
            pausedAt={pausedAt}
            onFrame={(id) => {
              store.getState().select(id);
              setFocus((f) => ({ key: f.key + 1, centre: true }));
            }}
          />
          <VariablesPanel jobId={jobId} pausedAt={pausedAt} />
          <RoutinePanel store={store} flow={flow.data} metrics={metrics.data} />
          <WatchPanel jobId={jobId} pausedAt={pausedAt} />
          <BreakpointsPanel breakpoints={breakpoints} onSelect={(id) => store.getState().select(id)} onEdit={setEditing} />
        </aside>
      </div>
    </div>
  );
}

type StepAction = "step_over" | "step_into" | "step_out";

/** Why a step did not stop: the spec's depth rule, in words. */
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
