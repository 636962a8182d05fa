"use client";
/**
 * The flow drawn with React Flow. Nodes and edges are built once per flow (dagre layout) and keep
 * their identity; live state reaches each node through its own store subscription.
 */
import { Background, Controls, MarkerType, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow, useStoreApi } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { memo, useCallback, useEffect, useMemo, useRef } from "react";
import { LayoutCache, type LayoutStorage, NODE_WIDTH } from "@/lib/client/layout";
import type { Breakpoint, FlowDetail } from "@/lib/wire";
import { CountEdge, type CountEdgeType } from "./count-edge";
import { GraphContext, type GraphContextValue } from "./graph-context";
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
const fitViewOptions = { padding: 0.15, maxZoom: 1.2 };
const proOptions = { hideAttribution: true };
const smallViewport = { x: 0, y: 0, zoom: 0.2 };
const normalViewport = { x: 0, y: 0, zoom: 1 };

export interface FlowGraphProps extends Omit<GraphContextValue, "routineBreakpoints" | "connectionBreakpoints"> {
  flow: FlowDetail;
  breakpoints: Breakpoint[];
  /**
   * Bring the selected node into view when `key` changes: `centre` (a call-stack click) always
   * centres it; otherwise (a stop) the view moves only if the node is out of sight.
   */
  focus?: FocusRequest;
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
  key: number;
  centre: boolean;
}

function FocusOnSelect({ selected, focus, positions }: { selected: string | null; focus?: FocusRequest; positions: Map<string, { x: number; y: number; height: number }> }) {
  const rf = useReactFlow();
  const pane = useStoreApi();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the request's key is the trigger
  useEffect(() => {
    if (!selected || !focus || focus.key === 0) return;
    const p = positions.get(selected);
    if (!p) return;
    // Like an editor revealing a line: move only when the node is not already in view, and keep
    // the zoom the user chose.
    const { x, y, zoom } = rf.getViewport();
    const { width, height } = pane.getState();
    const left = p.x * zoom + x;
    const top = p.y * zoom + y;
    const inView = left >= 0 && top >= 0 && left + NODE_WIDTH * zoom <= width && top + p.height * zoom <= height;
    if (focus.centre || !inView) void rf.setCenter(p.x + NODE_WIDTH / 2, p.y + p.height / 2, { zoom, duration: 300 });
  }, [focus?.key]);
  return null;
}

function FlowGraphView(props: FlowGraphProps) {
  const { flow, breakpoints, focus, ...handlers } = props;
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
      onSelect: (id) => latest.current.onSelect(id),
      onToggleBreakpoint: (id) => latest.current.onToggleBreakpoint(id),
      onEditBreakpoint: (id) => latest.current.onEditBreakpoint(id),
      onToggleConnectionBreakpoint: (id) => latest.current.onToggleConnectionBreakpoint(id),
      onEditConnectionBreakpoint: (id) => latest.current.onEditConnectionBreakpoint(id),
      routineBreakpoints: byKey(breakpoints, (b) => (b.type !== "connection" ? b.routine_id : null)),
      connectionBreakpoints: byKey(breakpoints, (b) => (b.type === "connection" ? b.connection : null)),
    }),
    [breakpoints, selected, live],
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
            fitView
            // Big graphs start zoomed out (low detail) so the first render is already the cheap
            // one; fitView then settles the exact viewport.
            defaultViewport={nodes.length > 40 ? smallViewport : normalViewport}
            fitViewOptions={fitViewOptions}
            minZoom={0.05}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            onNodeClick={onNodeClick}
            proOptions={proOptions}
          >
            <Background gap={20} size={1} color="#e3e7ee" />
            <Controls showInteractive={false} />
            {nodes.length > 20 && <MiniMap pannable zoomable />}
            <FocusOnSelect selected={selected} focus={focus} positions={positions} />
          </ReactFlow>
        </div>
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
  (a, b) => a.flow === b.flow && a.breakpoints === b.breakpoints && a.live === b.live && a.selected === b.selected && a.focus === b.focus,
);
