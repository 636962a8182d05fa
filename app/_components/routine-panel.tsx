"use client";
/** The selected node in the job view: its type and config, live state, error and timing. */
import { useStore } from "zustand";
import type { JobLiveStore } from "@/lib/client/live-store";
import { averageMs } from "@/lib/client/run-state";
import type { FlowDetail, JobMetrics } from "@/lib/wire";
import { JsonTree } from "./json-tree";
import { formatMs, StatusBadge } from "./status-badge";

export function RoutinePanel({ store, flow, metrics }: { store: JobLiveStore; flow: FlowDetail | undefined; metrics: JobMetrics | undefined }) {
  const id = useStore(store, (s) => s.selectedRoutine);
  const live = useStore(store, (s) => (id ? s.view.routines[id] : undefined));
  const paused = useStore(store, (s) => (id && s.view.pausedAt?.routine_id === id ? s.view.pausedAt : null));
  const info = id ? flow?.routines[id] : undefined;
  const m = id ? metrics?.routine_metrics[id] : undefined;
  if (!id || !info) return null;
  const avg = live ? averageMs(live) : null;
  return (
    <section className="panel" data-testid="routine-panel" data-routine-id={id}>
      <h3>Routine</h3>
      <div className="kv">
        <div>id</div>
        <div className="mono">{id}</div>
        <div>type</div>
        <div className="mono">{info.type}</div>
        <div>state</div>
        <div>
          <StatusBadge status={paused ? "paused" : (live?.status ?? "pending")} />
        </div>
        <div>runs</div>
        <div data-testid="routine-panel-runs" data-count={live?.activations ?? 0}>
          {live?.activations ?? 0}
          {live && live.running > 0 ? ` (${live.running} running)` : ""}
        </div>
        <div>errors</div>
        <div className={live?.errors ? "err" : ""} data-testid="routine-panel-errors" data-count={live?.errors ?? 0}>
          {live?.errors ?? 0}
        </div>
        {live?.lastError && (
          <>
            <div>last error</div>
            <div className="err small">{live.lastError}</div>
          </>
        )}
        <div>timing</div>
        <div>
          {/* The server's figures once it has any (null: no timed run yet), else the live ones. */}
          avg {formatMs(m ? m.avg_duration_ms : avg)} · max {formatMs(m ? m.max_duration_ms : null)}
        </div>
      </div>
      <RoutineConfig config={info.config} />
    </section>
  );
}

/** A routine's config as a JSON tree (nested values fold). */
export function RoutineConfig({ config }: { config: Record<string, unknown> }) {
  return (
    <div className="routine-config" data-testid="routine-config">
      <div className="muted small">config</div>
      {Object.keys(config).length ? <JsonTree value={config} /> : <div className="muted small">none (the type's defaults)</div>}
    </div>
  );
}
