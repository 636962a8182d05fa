"use client";
/**
 * A degraded server says so on every page (what /api/health reports: a database that cannot be
 * written, a stored flow that could not be restored, ...), in a corner overlay that never resizes
 * the graph. Nothing is shown while it is healthy.
 */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { queries } from "./queries";

export function ServerHealth() {
  const health = useQuery(queries.health());
  const [dismissed, setDismissed] = useState<string | null>(null);
  const data = health.data;
  if (!data || data.status === "healthy") return null;
  const key = data.reasons.join("\n");
  if (key === dismissed) return null;
  return (
    <div className="dev-notices health-notices">
      <div className="dev-toast dev-toast-error" role="alert" data-testid="server-health" data-status={data.status}>
        <div className="dev-toast-head">
          <strong>Server degraded</strong>
          <span className="muted small">from /api/health</span>
          <button type="button" className="icon" aria-label="Dismiss" onClick={() => setDismissed(key)}>
            ×
          </button>
        </div>
        <ul className="health-reasons">
          {data.reasons.map((reason) => (
            <li key={reason} className="small" data-testid="server-health-reason">
              {reason}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
