"use client";
/** A connection: labelled event→slot, with the number of payloads that crossed it and a breakpoint dot. */
import { BaseEdge, type Edge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from "@xyflow/react";
import { memo } from "react";
import type { ConnectionInfo } from "@/lib/wire";
import { READ_ONLY_TITLE, useGraph, useLive, useLowDetail } from "./graph-context";

export type CountEdgeData = { connection: ConnectionInfo };
export type CountEdgeType = Edge<CountEdgeData, "count">;

function CountEdgeView({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd }: EdgeProps<CountEdgeType>) {
  const g = useGraph();
  const live = useLive((s) => s.view.edges[id], undefined);
  const lowDetail = useLowDetail(Math.min(sourceX, targetX), Math.min(sourceY, targetY), Math.abs(targetX - sourceX), Math.abs(targetY - sourceY));
  // Only the label uses it: at low detail no edge re-renders when the job starts or stops.
  const running = useLive((s) => !lowDetail && s.view.status === "running", false);
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const c = data?.connection;
  const bps = g.connectionBreakpoints.get(id) ?? [];
  const active = bps.some((b) => b.enabled);
  const count = live?.count ?? 0;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={count > 0 ? "edge-used" : undefined} />
      {!lowDetail && (
      <EdgeLabelRenderer>
        <div className="edge-label nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }} data-testid={`edge-${id}`}>
          <button
            type="button"
            className={`bp-dot small${active ? " on" : ""}`}
            data-testid={`edge-breakpoint-${id}`}
            data-active={active ? "true" : "false"}
            disabled={g.readOnly}
            aria-label={`Breakpoint on connection ${id}`}
            title={g.readOnly ? READ_ONLY_TITLE : "Break when a payload crosses this connection (right click: condition, hit condition, log message)"}
            onClick={(e) => {
              e.stopPropagation();
              g.onToggleConnectionBreakpoint(id);
            }}
            onContextMenu={(e) => {
              e.preventDefault();
              e.stopPropagation();
              if (!g.readOnly) g.onEditConnectionBreakpoint(id);
            }}
          />
          <span>{c && (c.source_event === c.target_slot ? c.source_event : `${c.source_event}→${c.target_slot}`)}</span>
          {g.diff && (
            <span className="edge-count" data-testid={`diff-edge-${id}`} data-base={g.diff.connections.get(id)?.base ?? 0} data-other={g.diff.connections.get(id)?.other ?? 0} title="payloads: base → other">
              {g.diff.connections.get(id)?.base ?? 0}→{g.diff.connections.get(id)?.other ?? 0}
            </span>
          )}
          {g.live && (
            // Re-keyed on every crossing while the job runs: the count flashes as data flows. Only
            // this small label repaints (an animated path would repaint the whole edge layer).
            <span key={running ? count : "idle"} className={`edge-count${running && count > 0 ? " flowing" : ""}`} data-testid={`edge-count-${id}`} data-count={count}>
              {count}
            </span>
          )}
        </div>
      </EdgeLabelRenderer>
      )}
    </>
  );
}

export const CountEdge = memo(CountEdgeView);
