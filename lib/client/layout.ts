/**
 * Graph layout with dagre (left to right, like the data moves): positions for routine nodes
 * sized by their port count, so labels never overlap.
 */
import dagre from "@dagrejs/dagre";
import type { FlowDetail } from "../wire";

export const NODE_WIDTH = 200;
/** The node's fixed height (head, one 18 px row per port, status row): fixed so that live text
 * changes inside a node never lay out anything outside it (CSS size containment). */
export const nodeHeight = (ports: number): number => 86 + Math.max(1, ports) * 18;

export interface Placed {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Above this many routines dagre ranks by longest path: half the time of network simplex on a
 * 300-routine flow (~100 ms instead of ~200 here), with ranks that differ only where branches
 * of unequal length meet (a short branch is drawn next to where it joins, not at the left). */
const FAST_RANKER_ABOVE = 120;

type FlowShape = Pick<FlowDetail, "routines" | "connections">;

/** Port rows of a routine's node (its height depends on them, so its layout does too). */
const portRows = (r: FlowDetail["routines"][string]): number => Math.max(r.slots.length, r.events.length);

export function layoutFlow(flow: FlowShape): Map<string, Placed> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  const ranker = Object.keys(flow.routines).length > FAST_RANKER_ABOVE ? "longest-path" : "network-simplex";
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 170, marginx: 20, marginy: 20, ranker });
  g.setDefaultEdgeLabel(() => ({}));
  for (const r of Object.values(flow.routines)) {
    g.setNode(r.routine_id, { width: NODE_WIDTH, height: nodeHeight(portRows(r)) });
  }
  for (const c of flow.connections) {
    if (g.hasNode(c.source_routine) && g.hasNode(c.target_routine)) g.setEdge(c.source_routine, c.target_routine, {}, c.id);
  }
  dagre.layout(g);
  const out = new Map<string, Placed>();
  for (const id of g.nodes()) {
    const n = g.node(id);
    // dagre gives centres; React Flow wants the top-left corner.
    out.set(id, { id, x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height });
  }
  return out;
}

/** What the layout depends on: routine ids and port counts, and who connects to whom. */
export function layoutSignature(flow: FlowShape): string {
  const parts: string[] = [];
  for (const r of Object.values(flow.routines)) parts.push(`${r.routine_id}:${portRows(r)}`);
  for (const c of flow.connections) parts.push(`${c.source_routine}>${c.target_routine}`);
  // FNV-1a plus the length: a short storage key (entries are also checked against the routines).
  const text = parts.join("|");
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return `${(h >>> 0).toString(36)}.${text.length}`;
}

/** Where laid-out flows are kept between page loads (the browser's sessionStorage). */
export interface LayoutStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Layouts by flow structure: the job view of a flow reuses the layout its flow page (or an
 * earlier job view) computed, within this page and across reloads in the same tab. A big
 * flow's layout costs a few hundred milliseconds of the first render otherwise.
 */
export class LayoutCache {
  private readonly memory = new Map<string, Map<string, Placed>>();

  constructor(private readonly storage: LayoutStorage | null) {}

  get(flow: FlowShape): Map<string, Placed> {
    const sig = layoutSignature(flow);
    const hit = this.memory.get(sig) ?? this.fromStorage(sig, flow);
    if (hit) return hit;
    const placed = layoutFlow(flow);
    this.memory.set(sig, placed);
    try {
      this.storage?.setItem(`routilux:layout:${sig}`, JSON.stringify([...placed.values()]));
    } catch {
      // Storage full or refused: the layout is still kept in memory.
    }
    return placed;
  }

  private fromStorage(sig: string, flow: FlowShape): Map<string, Placed> | null {
    try {
      const text = this.storage?.getItem(`routilux:layout:${sig}`);
      if (!text) return null;
      const list = JSON.parse(text) as Placed[];
      const placed = new Map(list.map((p) => [p.id, p]));
      // Every routine must be there (a stale or foreign entry is ignored).
      if (placed.size !== Object.keys(flow.routines).length || !Object.keys(flow.routines).every((id) => placed.has(id))) return null;
      this.memory.set(sig, placed);
      return placed;
    } catch {
      return null;
    }
  }
}
