"use client";
/** `/flows/[flowId]`: the graph with breakpoint dots, the breakpoint editor and the Run panel. */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { type EditTarget, FlowBreakpointEditor } from "./breakpoint-editor";
import { BreakpointsPanel } from "./breakpoints-panel";
import { DevReloadNotice } from "./dev-reload";
import { FlowGraph, type FocusRequest } from "./flow-graph";
import { queries } from "./queries";
import { RoutineConfig } from "./routine-panel";
import { RoutineSearch } from "./routine-search";
import { RunPanel } from "./run-panel";
import { useBreakpoints } from "./use-breakpoints";

export function FlowView({ flowId }: { flowId: string }) {
  const flow = useQuery(queries.flow(flowId));
  const breakpoints = useBreakpoints({ flowId });
  const [editing, setEditing] = useState<EditTarget | null>(null);
  const [running, setRunning] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [focus, setFocus] = useState<FocusRequest>({ key: 0, routineId: null, mode: "zoom" });
  const [overview, setOverview] = useState<HTMLDivElement | null>(null);
  /** A search result: select the node and zoom the graph to it. */
  const showRoutine = (routineId: string) => {
    setSelected(routineId);
    setFocus((f) => ({ key: f.key + 1, routineId, mode: "zoom" }));
  };
  const [actionError, setActionError] = useState<string | null>(null);
  const act = (p: Promise<unknown>) => p.then(() => setActionError(null), (e: Error) => setActionError(e.message));

  if (flow.error) return <main className="page"><div className="error-box" data-testid="flow-error">{(flow.error as Error).message}</div><Link href="/">← Flows</Link></main>;
  if (!flow.data) return <main className="page muted">Loading {flowId}…</main>;
  const f = flow.data;
  const info = selected ? f.routines[selected] : undefined;
  return (
    <div className="workspace">
      <div className="toolbar">
        <Link href="/" className="muted">
          Flows /
        </Link>
        <strong className="mono">{f.flow_id}</strong>
        <span className="muted">
          {Object.keys(f.routines).length} routines · {f.connections.length} connections · {f.execution_strategy}
        </span>
        <span className="spacer" />
        <Link href={`/jobs?flow_id=${encodeURIComponent(flowId)}`} className="muted">
          Jobs
        </Link>
        <button type="button" className="primary" data-testid="run-flow" onClick={() => setRunning(true)}>
          ▶ Run
        </button>
      </div>
      {actionError && <div className="error-box slim" role="alert">{actionError}</div>}
      <DevReloadNotice flowId={flowId} scope="flow" />
      <div className="split">
        <div className="graph-area">
          <FlowGraph
            flow={f}
            breakpoints={breakpoints.list}
            live={null}
            selected={selected}
            focus={focus}
            overview={overview}
            onSelect={setSelected}
            onToggleBreakpoint={(id) => act(breakpoints.toggleRoutine(id))}
            onEditBreakpoint={(routineId) => setEditing({ routineId })}
            onToggleConnectionBreakpoint={(id) => act(breakpoints.toggleConnection(id))}
            onEditConnectionBreakpoint={(connectionId) => setEditing({ connectionId })}
          />
          {editing && <FlowBreakpointEditor target={editing} flow={f} breakpoints={breakpoints} onClose={() => setEditing(null)} />}
          {running && <RunPanel flow={f} onClose={() => setRunning(false)} />}
        </div>
        <aside className="side">
          <div className="navigator">
            <RoutineSearch routines={f.routines} onPick={showRoutine} />
            <div className="overview" ref={setOverview} data-testid="graph-overview" />
          </div>
          <BreakpointsPanel breakpoints={breakpoints} onSelect={showRoutine} onEdit={setEditing} />
          <section className="panel">
            <h3>Routine</h3>
            {info ? (
              <>
                <div className="kv">
                  <div>id</div>
                  <div className="mono">{info.routine_id}</div>
                  <div>type</div>
                  <div className="mono">{info.type}</div>
                  <div>slots</div>
                  <div className="mono">{info.slots.join(", ") || "—"}</div>
                  <div>events</div>
                  <div className="mono">{info.events.join(", ") || "—"}</div>
                </div>
                <RoutineConfig config={info.config} />
              </>
            ) : (
              <p className="muted small">Click a node to see it (Ctrl+K finds one by name). Click its dot for a breakpoint; right click (or ⋯) for a condition.</p>
            )}
          </section>
        </aside>
      </div>
    </div>
  );
}

