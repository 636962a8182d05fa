"use client";
/**
 * What graph nodes and edges need besides their own data: the live store of the job (if any),
 * breakpoints by location, the selection, and the breakpoint actions. Changes here are rare user
 * actions; live run state does not go through this context (nodes subscribe to the store's
 * `view`, the run state refreshed a few times a second).
 */
import { useStore as useFlowStore } from "@xyflow/react";
import { createContext, useContext } from "react";
import type { StoreApi } from "zustand";
import { useStore } from "zustand";
import type { JobLiveState } from "@/lib/client/live-store";
import type { Breakpoint, DiffKind } from "@/lib/wire";

/** The run diff page's colouring: per routine its kind and counts, the first divergence, per connection both counts. */
export interface GraphDiff {
  routines: Map<string, { diff: DiffKind; base: number; other: number }>;
  firstDivergence: string | null;
  connections: Map<string, { base: number; other: number }>;
}

export interface GraphContextValue {
  live: StoreApi<JobLiveState> | null;
  routineBreakpoints: Map<string, Breakpoint[]>;
  connectionBreakpoints: Map<string, Breakpoint[]>;
  selected: string | null;
  /**
   * Breakpoints cannot be changed from the graph: a job view drawn from its recorded flow (the
   * flow is not served, or has changed since): the dots only show what is set.
   */
  readOnly: boolean;
  /** Set on the run diff page: nodes and edges show the difference of two runs instead of one job. */
  diff?: GraphDiff | null;
  onSelect(routineId: string): void;
  onToggleBreakpoint(routineId: string): void;
  onEditBreakpoint(routineId: string): void;
  onToggleConnectionBreakpoint(connectionId: string): void;
  /** Right click on a connection's dot: its breakpoints' editor. */
  onEditConnectionBreakpoint(connectionId: string): void;
}

/** Why breakpoint controls do nothing in a job view drawn from its recorded flow. */
export const READ_ONLY_TITLE = "Read-only: this job's flow is not served as it ran, so breakpoints cannot be changed here";

export const GraphContext = createContext<GraphContextValue | null>(null);

export function useGraph(): GraphContextValue {
  const v = useContext(GraphContext);
  if (!v) throw new Error("graph components need a GraphContext");
  return v;
}

const noStore = { getState: () => null, subscribe: () => () => {} } as unknown as StoreApi<JobLiveState | null>;

/** A slice of the live store, or `fallback` on the flow page (no job). */
export function useLive<T>(select: (s: JobLiveState) => T, fallback: T): T {
  const { live } = useGraph();
  return useStore((live ?? noStore) as StoreApi<JobLiveState | null>, (s) => (s ? select(s) : fallback));
}

/**
 * Level of detail: below this zoom labels are unreadable anyway, so nodes drop their port names
 * and stats and edges their labels. On a 300-routine flow this removes most of the style and
 * layout work each live update costs.
 */
export const LOW_DETAIL_ZOOM = 0.5;

/**
 * Whether what sits at this box of the flow (flow coordinates) is drawn at low detail: below
 * LOW_DETAIL_ZOOM, and also outside the visible area with a margin of half the pane each way. A
 * stop zooms the graph in to the paused node, and a 300-routine flow drawn in full detail off
 * screen would pay for every live update nobody can see; the margin keeps a short pan from
 * redrawing the nodes at the edges. The selector is arithmetic on every viewport change; a
 * component re-renders only when its answer flips.
 */
export function useLowDetail(x: number, y: number, width: number, height: number): boolean {
  return useFlowStore((s) => {
    const [tx, ty, zoom] = s.transform;
    if (zoom < LOW_DETAIL_ZOOM) return true;
    const left = x * zoom + tx;
    const top = y * zoom + ty;
    const mx = s.width / 2;
    const my = s.height / 2;
    return left + width * zoom < -mx || top + height * zoom < -my || left > s.width + mx || top > s.height + my;
  });
}
