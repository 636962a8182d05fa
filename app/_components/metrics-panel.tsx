"use client";
/** Duration, events and the per-routine table of the collector's metrics. */
import type { JobMetrics } from "@/lib/client/types";
import { formatMs } from "./status-badge";

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
      <table className="table compact">
        <thead>
          <tr>
            <th>Routine</th>
            <th>Runs</th>
            <th>Errors</th>
            <th>Avg</th>
            <th>Min</th>
            <th>Max</th>
            <th>Total</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.routine_id}>
              <td className="mono">{r.routine_id}</td>
              <td>{r.execution_count}</td>
              <td className={r.error_count ? "err" : ""}>{r.error_count}</td>
              <td>{formatMs(r.avg_duration_ms)}</td>
              <td>{formatMs(r.min_duration_ms)}</td>
              <td>{formatMs(r.max_duration_ms)}</td>
              <td>{formatMs(r.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {metrics.errors.length > 0 && (
        <ul className="errors">
          {metrics.errors.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id
            <li key={i} className="err small">
              {e.routine_id}: {e.error_type} {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
