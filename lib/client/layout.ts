/**
 * Graph layout with dagre (left to right, like the data moves): positions for routine nodes
 * sized by their port count, so labels never overlap.
 */
import dagre from "@dagrejs/dagre";
import type { FlowDetail } from "./types";

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

export function layoutFlow(flow: Pick<FlowDetail, "routines" | "connections">): Map<string, Placed> {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 170, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const r of Object.values(flow.routines)) {
    g.setNode(r.routine_id, { width: NODE_WIDTH, height: nodeHeight(Math.max(r.slots.length, r.events.length)) });
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
