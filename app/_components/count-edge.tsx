"use client";
/** A connection: labelled event→slot, with the number of payloads that crossed it and a breakpoint dot. */
import { BaseEdge, type Edge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from "@xyflow/react";
import { memo } from "react";
import type { ConnectionInfo } from "@/lib/client/types";
import { useGraph, useLive } from "./graph-context";

export type CountEdgeData = { connection: ConnectionInfo };
export type CountEdgeType = Edge<CountEdgeData, "count">;

function CountEdgeView({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, markerEnd }: EdgeProps<CountEdgeType>) {
  const g = useGraph();
  const live = useLive((s) => s.run.edges[id], undefined);
  const running = useLive((s) => s.run.status === "running", false);
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const c = data?.connection;
  const bps = g.connectionBreakpoints.get(id) ?? [];
  const active = bps.some((b) => b.enabled);
  const count = live?.count ?? 0;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={count > 0 ? "edge-used" : undefined} />
      {/* Re-keyed on every crossing: the pulse animation restarts while data flows. */}
      {running && count > 0 && <path key={count} d={path} className="edge-pulse" fill="none" />}
      <EdgeLabelRenderer>
        <div className="edge-label nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }} data-testid={`edge-${id}`}>
          <button
            type="button"
            className={`bp-dot small${active ? " on" : ""}`}
            data-testid={`edge-breakpoint-${id}`}
            data-active={active ? "true" : "false"}
            aria-label={`Breakpoint on connection ${id}`}
            title="Break when a payload crosses this connection"
            onClick={(e) => {
              e.stopPropagation();
              g.onToggleConnectionBreakpoint(id);
            }}
          />
          <span>
            {c?.source_event}→{c?.target_slot}
          </span>
          {g.live && (
            <span className="edge-count" data-testid={`edge-count-${id}`} data-count={count}>
              {count}
            </span>
          )}
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

export const CountEdge = memo(CountEdgeView);
