"use client";
/**
 * What `routilux dev` did with the project's code: "flow reloaded" for a while after a reload that
 * touched this flow (the flow page then fetches the new graph), or the error of a reload that
 * failed, until a reload succeeds (the previous version keeps serving meanwhile). A page opened
 * later learns about a failed reload from GET /api/dev/status. An overlay in a corner: it never
 * resizes the graph. Nothing is shown, and no socket is opened for it, when the server does not
 * watch the code.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { watchReloads } from "@/lib/client/live-connection";
import type { DevStatus } from "@/lib/wire";
import { queries, queryKeys } from "./queries";

/** How long "flow reloaded" stays up. */
const RELOADED_SHOWN_MS = 8000;

export function DevReloadNotice({ flowId, scope }: { flowId: string | undefined; scope: "flow" | "job" }) {
  const qc = useQueryClient();
  const status = useQuery(queries.devStatus());
  const watching = status.data?.watching === true;

  useEffect(() => {
    if (!watching) return;
    const update = (change: (old: DevStatus) => DevStatus) => qc.setQueryData<DevStatus>(queryKeys.devStatus, (old) => (old ? change(old) : old));
    return watchReloads({
      reloaded: (info) =>
        update((old) => (info.version > old.version ? { ...old, version: info.version, reloaded_at: info.at, flow_ids: info.flow_ids, error: null } : old)),
      failed: (info) => update((old) => ({ ...old, error: { message: info.error, at: info.at } })),
      // Whatever happened while the connection was down.
      connected: () => void qc.invalidateQueries({ queryKey: queryKeys.devStatus }),
    });
  }, [watching, qc]);

  // A version above the one this page first saw is a reload; it concerns this page when it touched its flow.
  const [reloaded, setReloaded] = useState<number | null>(null);
  const seenVersion = useRef<number | null>(null);
  const data = status.data;
  useEffect(() => {
    if (!data) return;
    const before = seenVersion.current;
    seenVersion.current = data.version;
    if (before === null || data.version <= before || flowId === undefined || !data.flow_ids.includes(flowId)) return;
    setReloaded(data.version);
    if (scope === "flow") {
      // The graph, its example and its breakpoints as the new code defines them. A job's view keeps
      // its graph: the job runs on the code it started with.
      void qc.invalidateQueries({ queryKey: queryKeys.flow(flowId) });
      void qc.invalidateQueries({ queryKey: queryKeys.flows });
      void qc.invalidateQueries({ queryKey: queryKeys.breakpoints({ flowId }) });
    }
  }, [data, flowId, scope, qc]);
  useEffect(() => {
    if (reloaded === null) return;
    const timer = setTimeout(() => setReloaded(null), RELOADED_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [reloaded]);

  const [dismissedError, setDismissedError] = useState<string | null>(null);
  const error = data?.error ?? null;
  const showError = error !== null && error.at !== dismissedError;
  if (!showError && reloaded === null) return null;
  return (
    <div className="dev-notices">
      {showError ? (
        <div className="dev-toast dev-toast-error" role="alert" data-testid="flow-reload-error">
          <div className="dev-toast-head">
            <strong>Reload failed</strong>
            <span className="muted small">the previous version keeps serving; save a fix to reload</span>
            <button type="button" className="icon" aria-label="Dismiss" onClick={() => setDismissedError(error.at)}>
              ×
            </button>
          </div>
          <pre className="dev-toast-text">{error.message}</pre>
        </div>
      ) : (
        <div className="dev-toast" role="status" data-testid="flow-reloaded" data-version={reloaded ?? undefined}>
          <div className="dev-toast-head">
            <strong>Flow reloaded</strong>
            <span className="muted small">version {reloaded}</span>
            <button type="button" className="icon" aria-label="Dismiss" onClick={() => setReloaded(null)}>
              ×
            </button>
          </div>
          <div className="small">
            {scope === "flow" ? "New runs use the new code." : "This job keeps the code it started with; ↻ Run again uses the new code."}
          </div>
        </div>
      )}
    </div>
  );
}
