"use client";
/**
 * The flow drawn with React Flow. Nodes and edges are built once per flow (dagre layout) and keep
 * their identity; live state reaches each node through its own store subscription.
 */
import { Background, Controls, MarkerType, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow, useStore as useFlowStore, useStoreApi } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { memo, useCallback, useEffect, useMemo, useRef } from "react";
import { createPortal } from "react-dom";
import { LayoutCache, type LayoutStorage, NODE_WIDTH, type Placed } from "@/lib/client/layout";
import { FIT_MAX_ZOOM, fitViewport, focusViewport, MIN_ZOOM } from "@/lib/client/viewport";
import type { Breakpoint, FlowDetail } from "@/lib/wire";
import { CountEdge, type CountEdgeType } from "./count-edge";
import { GraphContext, type GraphContextValue, type GraphDiff } from "./graph-context";
import { RoutineNode, type RoutineNodeType } from "./routine-node";

const nodeTypes = { routine: RoutineNode };

function sessionStore(): LayoutStorage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null; // storage refused (privacy settings): layouts are kept in memory only
  }
}
const layouts = new LayoutCache(sessionStore());
const edgeTypes = { count: CountEdge };
// Constants, not inline objects: a new object on every parent render would make React Flow re-render.
// The Controls' "fit view" button: the same fit as the first view.
const fitViewOptions = { padding: 0.15, maxZoom: FIT_MAX_ZOOM };
const minimapStyle = { width: 300, height: 120 };
const proOptions = { hideAttribution: true };
const smallViewport = { x: 0, y: 0, zoom: 0.2 };
const normalViewport = { x: 0, y: 0, zoom: 1 };

export interface FlowGraphProps extends Omit<GraphContextValue, "routineBreakpoints" | "connectionBreakpoints" | "readOnly" | "diff"> {
  /** The run diff page: each node coloured by its difference between two runs. */
  diff?: GraphDiff | null;
  /** Breakpoints are shown but cannot be changed (a job drawn from its recorded flow). */
  readOnly?: boolean;
  flow: FlowDetail;
  breakpoints: Breakpoint[];
  /** Bring a routine's node into view when the request's `key` changes (see FocusRequest). */
  focus?: FocusRequest;
  /**
   * Where the minimap goes (big flows only): an element outside the graph, so that it never covers
   * a node, whatever the zoom. No minimap while it is null.
   */
  overview?: HTMLElement | null;
}

function byKey(bps: Breakpoint[], key: (b: Breakpoint) => string | null): Map<string, Breakpoint[]> {
  const m = new Map<string, Breakpoint[]>();
  for (const b of bps) {
    const k = key(b);
    if (k) m.set(k, [...(m.get(k) ?? []), b]);
  }
  return m;
}

export interface FocusRequest {
  /** Increases with every request; 0 = none yet. */
  key: number;
  routineId: string | null;
  /**
   * `reveal` (the job stopped there): move only when the node is out of sight or too small to
   * read; `zoom` (the user picked it: a call-stack frame, a search result): always centre it. Both
   * end at a readable zoom.
   */
  mode: "reveal" | "zoom";
}

/**
 * The viewport: the whole flow once the pane has a size, then each focus request. The first view is
 * computed here rather than by React Flow's `fitView`, so a job that is already stopped when its
 * view opens goes straight to the paused node (a fit arriving after the focus would undo it).
 */
function ViewportController({ focus, positions }: { focus?: FocusRequest; positions: Map<string, Placed> }) {
  const rf = useReactFlow();
  const pane = useStoreApi();
  const ready = useFlowStore((s) => Boolean(s.panZoom) && s.width > 0 && s.height > 0);
  const shown = useRef<{ first: boolean; key: number }>({ first: true, key: 0 });
  useEffect(() => {
    if (!ready) return;
    const { width, height } = pane.getState();
    const target = focus && focus.key !== shown.current.key && focus.routineId ? positions.get(focus.routineId) : undefined;
    if (focus) shown.current.key = focus.key;
    if (shown.current.first) {
      // The whole flow, or, when a node is asked for already, that node as seen from there (a small
      // flow stays whole when the node is readable in it).
      shown.current.first = false;
      const fit = fitViewport(positions.values(), width, height);
      void rf.setViewport(target && focus ? (focusViewport(fit, target, width, height, focus.mode) ?? fit) : fit);
      return;
    }
    if (!target || !focus) return;
    const next = focusViewport(rf.getViewport(), target, width, height, focus.mode);
    if (next) void rf.setViewport(next, { duration: 250 });
  }, [ready, focus, positions, rf, pane]);
  return null;
}

function FlowGraphView(props: FlowGraphProps) {
  const { flow, breakpoints, focus, overview, readOnly = false, diff = null, ...handlers } = props;
  const positions = useMemo(() => layouts.get(flow), [flow]);
  const nodes = useMemo<RoutineNodeType[]>(
    () =>
      Object.values(flow.routines).map((r) => {
        const p = positions.get(r.routine_id);
        return { id: r.routine_id, type: "routine", position: { x: p?.x ?? 0, y: p?.y ?? 0 }, data: { routine: r }, width: NODE_WIDTH, height: p?.height };
      }),
    [flow, positions],
  );
  const edges = useMemo<CountEdgeType[]>(
    () =>
      flow.connections.map((c) => ({
        id: c.id,
        type: "count",
        source: c.source_routine,
        sourceHandle: c.source_event,
        target: c.target_routine,
        targetHandle: c.target_slot,
        data: { connection: c },
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
      })),
    [flow],
  );
  // Parents re-create their handlers on every render; the context calls the latest through a ref
  // so that it changes only when breakpoints or the selection do (each change re-renders nodes).
  const latest = useRef(handlers);
  latest.current = handlers;
  const { selected, live } = handlers;
  const onNodeClick = useCallback((_: unknown, n: { id: string }) => latest.current.onSelect(n.id), []);
  const ctx = useMemo<GraphContextValue>(
    () => ({
      live,
      selected,
      readOnly,
      diff,
      onSelect: (id) => latest.current.onSelect(id),
      onToggleBreakpoint: (id) => latest.current.onToggleBreakpoint(id),
      onEditBreakpoint: (id) => latest.current.onEditBreakpoint(id),
      onToggleConnectionBreakpoint: (id) => latest.current.onToggleConnectionBreakpoint(id),
      onEditConnectionBreakpoint: (id) => latest.current.onEditConnectionBreakpoint(id),
      routineBreakpoints: byKey(breakpoints, (b) => (b.type !== "connection" ? b.routine_id : null)),
      connectionBreakpoints: byKey(breakpoints, (b) => (b.type === "connection" ? b.connection : null)),
    }),
    [breakpoints, selected, live, readOnly, diff],
  );
  return (
    <GraphContext.Provider value={ctx}>
      <ReactFlowProvider>
        <div className="graph" data-testid="flow-graph">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            // Big graphs start zoomed out (low detail) so the first render is already the cheap
            // one; the viewport controller then settles the exact viewport.
            defaultViewport={nodes.length > 40 ? smallViewport : normalViewport}
            minZoom={MIN_ZOOM}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            onNodeClick={onNodeClick}
            proOptions={proOptions}
          >
            <Background gap={20} size={1} color="#e3e7ee" />
            <Controls showInteractive={false} fitViewOptions={fitViewOptions} />
            <ViewportController focus={focus} positions={positions} />
          </ReactFlow>
        </div>
        {overview && nodes.length > 20 && createPortal(<MiniMap pannable zoomable style={minimapStyle} ariaLabel="Overview of the flow" />, overview)}
      </ReactFlowProvider>
    </GraphContext.Provider>
  );
}

/**
 * Re-rendered only when what it draws changes: the job view re-renders on every metrics poll and
 * status change, and a 300-node React Flow is not cheap to reconcile. The handlers are not
 * compared (parents re-create them; the graph calls the latest through a ref).
 */
export const FlowGraph = memo(
  FlowGraphView,
  (a, b) => a.flow === b.flow && a.breakpoints === b.breakpoints && a.live === b.live && a.selected === b.selected && a.focus === b.focus && a.overview === b.overview && a.readOnly === b.readOnly && a.diff === b.diff,
);
