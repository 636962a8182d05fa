"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { Lineage } from "./lineage";
import type { JobSummary } from "@/lib/wire";
import { queries } from "./queries";
import { formatMs, StatusBadge, timeAgo } from "./status-badge";

export function HomeView() {
  const flows = useQuery(queries.flows(3000));
  const jobs = useQuery(queries.jobs({ limit: 10 }, 3000));
  return (
    <main className="page">
      <h1>Flows</h1>
      {flows.error && <div className="error-box">{(flows.error as Error).message}</div>}
      <table className="table" data-testid="flow-list">
        <thead>
          <tr>
            <th>Flow</th>
            <th>Routines</th>
            <th>Strategy</th>
            <th>Jobs</th>
            <th>Last status</th>
          </tr>
        </thead>
        <tbody>
          {flows.data?.flows.map((f) => (
            <tr key={f.flow_id} data-testid={`flow-row-${f.flow_id}`}>
              <td>
                <Link href={`/flows/${encodeURIComponent(f.flow_id)}`} className="mono">
                  {f.flow_id}
                </Link>
              </td>
              <td>{f.routine_count}</td>
              <td>{f.execution_strategy}</td>
              <td>{f.job_count}</td>
              <td>{f.last_job_status ? <Link href={`/jobs/${encodeURIComponent(f.last_job_id ?? "")}`}><StatusBadge status={f.last_job_status} /></Link> : <span className="muted">never run</span>}</td>
            </tr>
          ))}
          {flows.data && flows.data.flows.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No flows yet. Create one with <code>POST /api/flows</code> or start the server with your own (see the README).
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h2>Recent jobs</h2>
      <JobTable jobs={jobs.data?.jobs ?? []} />
      <p>
        <Link href="/jobs">All jobs →</Link>
      </p>
    </main>
  );
}

export function JobTable({ jobs }: { jobs: JobSummary[] }) {
  return (
    <table className="table" data-testid="job-list">
      <thead>
        <tr>
          <th>Job</th>
          <th>Flow</th>
          <th>Status</th>
          <th>Started</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.job_id} data-testid={`job-row-${j.job_id}`}>
            <td>
              <Link href={`/jobs/${encodeURIComponent(j.job_id)}`} className="mono">
                {j.job_id}
              </Link>
              <Lineage from={j.forked_from} />
            </td>
            <td className="mono">{j.flow_id}</td>
            <td>
              <StatusBadge status={j.status} />
            </td>
            <td>{timeAgo(j.created_at)}</td>
            <td data-testid={`job-duration-${j.job_id}`} data-ms={j.duration_ms ?? ""}>
              {formatMs(j.duration_ms)}
            </td>
          </tr>
        ))}
        {jobs.length === 0 && (
          <tr>
            <td colSpan={5} className="muted">
              No jobs.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
