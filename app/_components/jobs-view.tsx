"use client";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useState } from "react";
import type { JobStatus } from "@/lib/wire";
import { JobTable } from "./home-view";
import { queries } from "./queries";

const STATUSES: JobStatus[] = ["running", "paused", "completed", "failed", "cancelled", "pending"];
const PAGE = 50;

export function JobsView() {
  // `/jobs?flow_id=…` (the flow page links here) starts filtered.
  const params = useSearchParams();
  const [flowId, setFlowId] = useState(params.get("flow_id") ?? "");
  const [status, setStatus] = useState<JobStatus | "">("");
  const [offset, setOffset] = useState(0);
  const flows = useQuery(queries.flows());
  const jobs = useQuery(queries.jobs({ flow_id: flowId || undefined, status, limit: PAGE, offset }, 2000));
  const total = jobs.data?.total ?? 0;
  return (
    <main className="page">
      <h1>Jobs</h1>
      <div className="filters">
        <label>
          Flow
          <select data-testid="jobs-filter-flow" value={flowId} onChange={(e) => {
            setFlowId(e.target.value);
            setOffset(0);
          }}>
            <option value="">all</option>
            {flows.data?.flows.map((f) => (
              <option key={f.flow_id} value={f.flow_id}>
                {f.flow_id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select data-testid="jobs-filter-status" value={status} onChange={(e) => {
            setStatus(e.target.value as JobStatus | "");
            setOffset(0);
          }}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{total} jobs, newest first</span>
      </div>
      {jobs.error && <div className="error-box">{(jobs.error as Error).message}</div>}
      <JobTable jobs={jobs.data?.jobs ?? []} />
      <div className="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          ← Newer
        </button>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Older →
        </button>
      </div>
    </main>
  );
}
