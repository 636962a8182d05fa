"use client";
/** Duration, events and the per-routine table of the collector's metrics. */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import type { JobMetrics, RoutineMetrics } from "@/lib/wire";
import { formatMs } from "./status-badge";

const COLUMNS = ["Routine", "Runs", "Errors", "Avg", "Min", "Max", "Total"];
const ROW_HEIGHT = 24;

/**
 * The rows, virtualised: a 300-routine flow re-sorted on every poll (once a second while the job
 * runs) would otherwise rebuild and lay out a 300-row table each time.
 */
function RoutineRows({ rows }: { rows: RoutineMetrics[] }) {
  const parent = useRef<HTMLTableSectionElement>(null);
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => ROW_HEIGHT, overscan: 8, useFlushSync: false });
  return (
    // A real table whose body scrolls (display overridden in CSS); rows are placed absolutely
    // over a spacer row as tall as all of them.
    <tbody ref={parent} className="metrics-body">
      <tr className="metrics-spacer" style={{ height: v.getTotalSize() }} />
      {v.getVirtualItems().map((item) => {
        const r = rows[item.index];
        if (!r) return null;
        return (
          <tr key={r.routine_id} className="metrics-row" data-routine-id={r.routine_id} data-testid={`metrics-row-${r.routine_id}`} style={{ top: item.start }}>
            <td className="mono" title={r.routine_id}>
              {r.routine_id}
            </td>
            <td>{r.execution_count}</td>
            <td className={r.error_count ? "err" : ""}>{r.error_count}</td>
            <td data-testid="metrics-avg">{formatMs(r.avg_duration_ms)}</td>
            <td>{formatMs(r.min_duration_ms)}</td>
            <td>{formatMs(r.max_duration_ms)}</td>
            <td>{formatMs(r.duration_ms)}</td>
          </tr>
        );
      })}
    </tbody>
  );
}

export function MetricsPanel({ metrics }: { metrics: JobMetrics | undefined }) {
  if (!metrics) return <div className="muted small">No metrics yet.</div>;
  const rows = Object.values(metrics.routine_metrics).sort((a, b) => b.duration_ms - a.duration_ms);
  return (
    <div className="metrics" data-testid="metrics-panel">
      <div className="metric-cards">
        <div className="card">
          <div className="label">duration</div>
          <div className="value" data-testid="metrics-duration">{formatMs(metrics.duration_ms)}</div>
        </div>
        <div className="card">
          <div className="label">events</div>
          <div className="value" data-testid="metrics-total-events">{metrics.total_events}</div>
        </div>
        <div className="card">
          <div className="label">routines</div>
          <div className="value">
            {metrics.completed_routines}/{metrics.total_routines}
          </div>
        </div>
        <div className="card">
          <div className="label">failed</div>
          <div className="value">{metrics.failed_routines}</div>
        </div>
        {(metrics.dropped_events ?? 0) > 0 && (
          <div className="card">
            <div className="label">trace dropped</div>
            <div className="value">{metrics.dropped_events}</div>
          </div>
        )}
      </div>
      {metrics.errors.length > 0 && (
        <ul className="errors metrics-errors">
          {metrics.errors.map((e) => (
            <li key={e.error_id} className="err small" data-testid="metrics-error" data-routine-id={e.routine_id ?? ""}>
              <span className="mono">{e.routine_id ?? "job"}</span>: {e.error_type}: {e.error_message}
            </li>
          ))}
        </ul>
      )}
      <table className="metrics-table" data-testid="metrics-table">
        <thead>
          <tr className="metrics-row head">
            {COLUMNS.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <RoutineRows rows={rows} />
      </table>
    </div>
  );
}
