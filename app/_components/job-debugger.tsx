"use client";
/**
 * `/jobs/[jobId]`: the debugger's layout. What it shows and does comes from `useJobDebugger`: the
 * graph follows the job's live store (socket.io), panels read the paused activation over HTTP.
 */
import Link from "next/link";
import { useState } from "react";
import { FlowBreakpointEditor } from "./breakpoint-editor";
import { BreakpointsPanel } from "./breakpoints-panel";
import { CallStackPanel } from "./call-stack-panel";
import { DebugToolbar } from "./debug-toolbar";
import { DevReloadNotice } from "./dev-reload";
import { EventLog } from "./event-log";
import { CompareWith, ForksOf, Lineage } from "./lineage";
import { ForkDialog, type ForkTarget } from "./fork-dialog";
import { FlowGraph } from "./flow-graph";
import { MetricsPanel } from "./metrics-panel";
import { NodeIoPanel } from "./node-io-panel";
import { PayloadViewer } from "./payload-viewer";
import { RoutinePanel } from "./routine-panel";
import { RoutineSearch } from "./routine-search";
import { formatMs, StatusBadge } from "./status-badge";
import { LaneView, TimelineBar, TravelPanel } from "./timeline-bar";
import { type JobDebuggerController, useJobDebugger } from "./use-job-debugger";
import { useTimeline } from "./use-timeline";
import { VariablesPanel } from "./variables-panel";
import { WatchPanel } from "./watch-panel";

export function JobDebugger({ jobId }: { jobId: string }) {
  const d = useJobDebugger(jobId);
  const [bottomTab, setBottomTab] = useState<"log" | "metrics" | "lanes">("log");
  const t = useTimeline(d.store);
  /** The activation "re-run from here" was asked on (the fork dialog is open while set). */
  const [forking, setForking] = useState<ForkTarget | null>(null);
  const [overview, setOverview] = useState<HTMLDivElement | null>(null);

  if (d.job.error) {
    return (
      <main className="page">
        <div className="error-box" data-testid="job-error">
          {(d.job.error as Error).message}
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
        {d.flowId &&
          (d.flowServed ? (
            <Link href={`/flows/${encodeURIComponent(d.flowId)}`} className="mono muted">
              {d.flowId}
            </Link>
          ) : (
            <span className="mono muted" title="Not served by this server">
              {d.flowId}
            </span>
          ))}
        <StatusBadge status={d.status} testId="job-status" />
        <Lineage from={d.job.data?.forked_from} />
        {d.flowId && <ForksOf jobId={jobId} flowId={d.flowId} />}
        {d.metrics && (
          <span className="muted small">
            {formatMs(d.metrics.duration_ms)} · {d.metrics.total_events} events
          </span>
        )}
        <button
          type="button"
          className="tool run-again"
          data-testid="run-again"
          disabled={!d.canRunAgain || d.busy}
          onClick={d.runAgain}
          aria-label="Run again with the same input"
          title={
            d.readOnly
              ? "Run again needs this job's flow served as it ran"
              : "Run again with the same input: a new job of this flow with the same entry routine, slot and params (and this job's breakpoints)"
          }
        >
          <span className="tool-icon">↻</span>
          <span className="tool-label">Run again</span>
        </button>
        {d.flowId && <CompareWith jobId={jobId} flowId={d.flowId} />}
        <span className="spacer" />
        <DebugToolbar status={d.status} busy={d.busy} stepEnded={d.stepEnded} onAction={d.act} />
        <span className={`live live-${d.connection}`} data-testid="live-status" data-state={d.connection} title="Live updates">
          ● {d.connection}
        </span>
      </div>
      <StopBar d={d} />
      {d.flowNotice && (
        <div className="warn-box slim" data-testid="flow-not-served" data-reason={d.flowNotice.reason} role="status">
          {d.flowNotice.text}
        </div>
      )}
      {d.actionError && (
        <div className="error-box slim" role="alert" data-testid="action-error">
          {d.actionError}
        </div>
      )}
      {d.runError && d.status === "failed" && <div className="error-box slim">Job failed: {d.runError}</div>}
      {d.missing > 0 && (
        <div className="warn-box slim" data-testid="events-dropped" data-count={d.missing}>
          {d.missing} events were dropped before they could be shown (the server's trace ring no longer holds them); counts come from the job snapshot.
        </div>
      )}
      <div className="split">
        <div className="main-col">
          <div className="graph-area">
            {d.flow ? (
              <FlowGraph
                flow={d.flow}
                breakpoints={d.breakpoints.list}
                live={d.store}
                selected={d.selected}
                focus={d.focus}
                overview={overview}
                onSelect={d.select}
                onToggleBreakpoint={d.toggleRoutineBreakpoint}
                onEditBreakpoint={(routineId) => d.setEditing({ routineId })}
                onToggleConnectionBreakpoint={d.toggleConnectionBreakpoint}
                onEditConnectionBreakpoint={(connectionId) => d.setEditing({ connectionId })}
                readOnly={d.readOnly}
              />
            ) : d.flowError ? (
              <div className="error-box" data-testid="flow-error">
                The flow could not be loaded: {d.flowError}
              </div>
            ) : d.flowMissing ? (
              <div className="muted page" data-testid="flow-missing">
                No graph: this job was recorded before jobs kept their flow, and its flow is not served. Its trace, metrics and payloads stay readable in the panels.
              </div>
            ) : (
              <div className="muted page">Loading the flow…</div>
            )}
            {d.editing && <FlowBreakpointEditor target={d.editing} flow={d.flow} breakpoints={d.breakpoints} onClose={() => d.setEditing(null)} onRunTo={d.runTo} />}
          </div>
          <TimelineBar t={t} />
          <div className="bottom-dock">
            <div className="tabs" role="tablist">
              <button type="button" role="tab" aria-selected={bottomTab === "log"} className={bottomTab === "log" ? "on" : ""} onClick={() => setBottomTab("log")}>
                Event log
              </button>
              <button type="button" role="tab" aria-selected={bottomTab === "metrics"} className={bottomTab === "metrics" ? "on" : ""} data-testid="tab-metrics" onClick={() => setBottomTab("metrics")}>
                Metrics
              </button>
              <button type="button" role="tab" aria-selected={bottomTab === "lanes"} className={bottomTab === "lanes" ? "on" : ""} data-testid="tab-lanes" onClick={() => setBottomTab("lanes")}>
                Lanes
              </button>
            </div>
            {bottomTab === "log" ? <EventLog store={d.store} onOpen={d.openEvent} /> : bottomTab === "lanes" ? <LaneView t={t} /> : <MetricsPanel metrics={d.metrics} />}
          </div>
        </div>
        <aside className="side">
          <div className="navigator">
            <RoutineSearch routines={d.flow?.routines} onPick={d.showRoutine} />
            {/* The minimap lives here, beside the graph: over it, it would hide nodes. */}
            <div className="overview" ref={setOverview} data-testid="graph-overview" />
          </div>
          <TravelPanel jobId={jobId} t={t} onFork={setForking} />
          <CallStackPanel jobId={jobId} pausedAt={d.pausedAt} frame={d.frame} onFrame={d.showFrame} />
          <VariablesPanel jobId={jobId} pausedAt={d.pausedAt} frame={d.frame} />
          <RoutinePanel store={d.store} flow={d.flow} metrics={d.metrics} />
          <NodeIoPanel jobId={jobId} store={d.store} final={d.final} sharedData={d.job.data?.shared_data} onOpen={d.openEvent} onFork={setForking} />
          <WatchPanel jobId={jobId} pausedAt={d.pausedAt} />
          <BreakpointsPanel breakpoints={d.breakpoints} onSelect={d.showRoutine} onEdit={d.setEditing} readOnly={d.readOnly} />
        </aside>
      </div>
      <DevReloadNotice flowId={d.flowId} scope="job" />
      {forking && <ForkDialog jobId={jobId} target={forking} onClose={() => setForking(null)} />}
      {d.viewing !== null && <PayloadViewer key={d.viewing} jobId={jobId} seq={d.viewing} onClose={d.closeViewer} />}
    </div>
  );
}

/**
 * Where the job stopped and why. Always there, one line high: a banner that came and went would
 * resize the graph, and re-laying out and repainting a 300-routine graph on every stop and
 * continue is a long task.
 */
function StopBar({ d }: { d: JobDebuggerController }) {
  const p = d.pausedAt;
  return (
    <div className="stop-bar">
      {p ? (
        <div
          className="paused-banner"
          data-testid="paused-at"
          data-routine-id={p.routine_id}
          data-activation-id={p.activation_id}
          role="status"
          title={`${p.description} · ${p.routine_id}.${p.slot_name}, activation ${p.activation_id}, depth ${p.depth}`}
        >
          <strong>❚❚</strong>{" "}
          <span className="stop-number" data-testid="stop-number" data-count={p.stop_number} title="Stops so far in this job">
            Stop {p.stop_number}
          </span>{" "}
          · {p.description}
          {p.kind === "emit" && !p.description.includes("emitting") && (
            <>
              {" "}
              · while emitting <span className="mono">{p.event_name}</span>
            </>
          )}
          {p.error && !p.description.includes(p.error.message) && (
            <span className="err">
              {" "}
              · {p.error.error_type}: {p.error.message}
            </span>
          )}
          <span className="muted small"> · activation {p.activation_id}</span>
        </div>
      ) : d.stepNote ? (
        <div className="step-ended" data-testid="step-ended" role="status">
          {d.stepNote} · <span className="muted">Continue closes this note</span>
        </div>
      ) : (
        <div className="stop-bar-idle muted">{d.status === "running" ? "Running — set a breakpoint or press Pause (F6) to stop it" : d.status ? `Job ${d.status}` : ""}</div>
      )}
    </div>
  );
}
