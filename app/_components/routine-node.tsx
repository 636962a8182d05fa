"use client";
/** A routine on the graph: id and type, slots as input handles (left), events as outputs (right), breakpoint dot, live state. */
import { Handle, type Node, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import { NODE_WIDTH, nodeHeight } from "@/lib/client/layout";
import { averageMs } from "@/lib/client/run-state";
import type { RoutineInfo } from "@/lib/wire";
import { READ_ONLY_TITLE, useGraph, useLive, useLowDetail } from "./graph-context";

export type RoutineNodeData = { routine: RoutineInfo };
export type RoutineNodeType = Node<RoutineNodeData, "routine">;

/** One line about the routine's config for the flow view (`count: 4`, `2 routes`), or nothing. */
function configSummary(config: Record<string, unknown>): string {
  const parts = Object.entries(config).map(([k, v]) => (Array.isArray(v) ? `${v.length} ${k}` : v && typeof v === "object" ? `${k}: {…}` : `${k}: ${JSON.stringify(v)}`));
  const text = parts.join(" · ");
  return text.length > 34 ? `${text.slice(0, 33)}…` : text;
}

function RoutineNodeView({ data, positionAbsoluteX, positionAbsoluteY }: NodeProps<RoutineNodeType>) {
  const { routine } = data;
  const id = routine.routine_id;
  const g = useGraph();
  const live = useLive((s) => s.view.routines[id], undefined);
  const paused = useLive((s) => (s.view.pausedAt?.routine_id === id ? s.view.pausedAt : null), null);
  // Time travel: the node whose event the timeline is on.
  const travelActive = useLive((s) => s.travel?.active === id, false);
  const hasJob = g.live !== null;
  const rows = Math.max(routine.slots.length, routine.events.length, 1);
  const lowDetail = useLowDetail(positionAbsoluteX, positionAbsoluteY, NODE_WIDTH, nodeHeight(rows));
  const bps = g.routineBreakpoints.get(id) ?? [];
  const active = bps.some((b) => b.enabled);
  const conditional = bps.some((b) => b.condition || b.hit_condition || b.log_message || b.type === "error" || b.type === "event");
  const diff = g.diff?.routines.get(id) ?? null;
  const divergence = g.diff?.firstDivergence === id;
  const status = paused ? "paused" : (live?.status ?? "pending");
  const avg = live ? averageMs(live) : null;
  const activations = live?.activations ?? 0;
  const errors = live?.errors ?? 0;
  return (
    <div
      className={`rnode status-${hasJob ? status : "idle"}${g.selected === id ? " selected" : ""}${travelActive ? " travel-active" : ""}${g.diff ? ` diff-${diff?.diff ?? "none"}` : ""}${divergence ? " diverges" : ""}`}
      data-routine-id={id}
      data-travel-active={travelActive ? "true" : undefined}
      style={{ height: nodeHeight(rows) }}
      title={paused ? paused.description : undefined}
    >
      <div className="rnode-head">
        <button
          type="button"
          className={`bp-dot nodrag${active ? " on" : bps.length ? " disabled" : ""}${conditional ? " conditional" : ""}`}
          data-testid={`breakpoint-toggle-${id}`}
          data-active={active ? "true" : "false"}
          disabled={g.readOnly}
          aria-label={g.readOnly ? `Breakpoints on ${id} (read-only)` : active ? `Remove breakpoint on ${id}` : `Add breakpoint on ${id}`}
          title={g.readOnly ? READ_ONLY_TITLE : active ? "Breakpoint (click: remove, right click: edit)" : "Add breakpoint (right click: with a condition)"}
          onClick={(e) => {
            e.stopPropagation();
            g.onToggleBreakpoint(id);
          }}
          onContextMenu={(e) => {
            e.preventDefault();
            e.stopPropagation();
            if (!g.readOnly) g.onEditBreakpoint(id);
          }}
        />
        <div className="rnode-title">
          <div className="rnode-id">{id}</div>
          <div className="rnode-type">{routine.type}</div>
        </div>
        <button
          type="button"
          className="bp-edit nodrag"
          data-testid={`breakpoint-edit-${id}`}
          disabled={g.readOnly}
          aria-label={`Edit breakpoint on ${id}`}
          title={g.readOnly ? READ_ONLY_TITLE : "Breakpoint condition, hit condition, log message"}
          onClick={(e) => {
            e.stopPropagation();
            g.onEditBreakpoint(id);
          }}
        >
          ⋯
        </button>
      </div>
      <div className="rnode-ports" style={{ height: rows * 18 }}>
        {routine.slots.map((s, i) => (
          <div key={`in-${s}`} className="port in" style={{ top: i * 18 }}>
            <Handle type="target" position={Position.Left} id={s} style={{ top: 9 }} />
            {!lowDetail && <span>{s}</span>}
          </div>
        ))}
        {routine.events.map((e, i) => (
          <div key={`out-${e}`} className="port out" style={{ top: i * 18 }}>
            {!lowDetail && <span>{e}</span>}
            <Handle type="source" position={Position.Right} id={e} style={{ top: 9 }} />
          </div>
        ))}
      </div>
      {g.diff && (
        <div className="rnode-foot" data-testid={`diff-node-${id}`} data-diff={diff?.diff ?? "none"}>
          <span className={`badge diff-badge diff-${diff?.diff ?? "none"}`}>{diff?.diff ?? "not compared"}</span>
          {diff && (
            <span className="stat" title="activations: base → other">
              ▶ {diff.base} → {diff.other}
            </span>
          )}
          {divergence && (
            <span className="stat diverges-mark" data-testid={`diverges-${id}`} title="The first divergence">
              ⚑ first divergence
            </span>
          )}
        </div>
      )}
      {!hasJob && !g.diff && !lowDetail && (
        <div className="rnode-foot config" title={JSON.stringify(routine.config)}>
          {configSummary(routine.config)}
        </div>
      )}
      {hasJob && (
        <div className="rnode-foot">
          <span className={`badge badge-${status}`} data-testid={`node-status-${id}`} data-status={status}>
            {status.replace("_", " ")}
          </span>
          <span className="stat" title="activations" data-testid={`node-activations-${id}`} data-count={activations}>
            ▶ {activations}
          </span>
          {/* Always there for its count; shown when there are errors and the zoom is readable. */}
          <span className="stat err" title={live?.lastError ?? "errors"} data-testid={`node-errors-${id}`} data-count={errors} hidden={lowDetail || errors === 0}>
            ✕ {errors}
          </span>
          {!lowDetail && avg !== null && <span className="stat" title="average duration">{avg < 10 ? avg.toFixed(2) : avg.toFixed(0)} ms</span>}
        </div>
      )}
      {paused && (
        <div className="rnode-paused" data-testid={`node-paused-${id}`}>
          ❚❚ {paused.reason === "breakpoint" ? "breakpoint" : paused.reason === "exception" ? "exception" : paused.reason}
          {paused.kind === "emit" ? ` · emit ${paused.event_name ?? ""}` : ""}
        </div>
      )}
    </div>
  );
}

export const RoutineNode = memo(RoutineNodeView);
