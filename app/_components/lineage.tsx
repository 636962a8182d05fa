"use client";
/** Where a forked job came from (its view and job lists), and the job view's "compare with…". */
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import type { ForkedFrom } from "@/lib/wire";
import { queries } from "./queries";

/** "forked from <job> at #N", linking to the origin; nothing for a job that is not a fork. */
export function Lineage({ from }: { from: ForkedFrom | null | undefined }) {
  if (!from) return null;
  return (
    <span className="lineage small" data-testid="forked-from" data-job-id={from.job_id} data-seq={from.seq}>
      forked from{" "}
      <Link href={`/jobs/${encodeURIComponent(from.job_id)}`} className="mono">
        {from.job_id}
      </Link>{" "}
      at #{from.seq}
    </span>
  );
}

/**
 * The forks of this job among its flow's recent runs (the origin's side of the lineage), each
 * linking to the fork; nothing when it has none.
 */
export function ForksOf({ jobId, flowId }: { jobId: string; flowId: string }) {
  const jobs = useQuery(queries.jobs({ flow_id: flowId, limit: 50 }, 0));
  const forks = (jobs.data?.jobs ?? []).filter((j) => j.forked_from?.job_id === jobId);
  if (forks.length === 0) return null;
  return (
    <span className="lineage small" data-testid="forks-of" data-count={forks.length}>
      forks:{" "}
      {forks.map((j, i) => (
        <span key={j.job_id}>
          {i > 0 ? ", " : ""}
          <Link href={`/jobs/${encodeURIComponent(j.job_id)}`} className="mono" data-testid="fork-link" data-job-id={j.job_id}>
            {j.job_id}
          </Link>{" "}
          (#{j.forked_from?.seq})
        </span>
      ))}
    </span>
  );
}

/** The diff page of two jobs: `base` is the reference, `other` the run looked at. */
export const diffHref = (base: string, other: string): string => `/jobs/diff?base=${encodeURIComponent(base)}&other=${encodeURIComponent(other)}`;

/**
 * "Compare with…": this job (as `other`) against another run of its flow; by default its origin
 * when it is a fork, else the previous completed run (the newest completed one created before it).
 */
export function CompareWith({ jobId, flowId }: { jobId: string; flowId: string }) {
  const job = useQuery(queries.job(jobId));
  const jobs = useQuery(queries.jobs({ flow_id: flowId, limit: 50 }, 0));
  const origin = job.data?.forked_from?.job_id ?? null;
  const candidates = useMemo(() => {
    const list = (jobs.data?.jobs ?? []).filter((j) => j.job_id !== jobId);
    const created = job.data?.created_at ?? "";
    // Newest first: the first completed one created before this job is "the previous run".
    const previous = list.find((j) => j.status === "completed" && j.created_at <= created) ?? list.find((j) => j.status === "completed") ?? list[0];
    const first = origin ?? previous?.job_id ?? null;
    const ids = list.map((j) => j.job_id);
    return { first, ids: first && !ids.includes(first) ? [first, ...ids] : ids, statusOf: new Map(list.map((j) => [j.job_id, j.status])) };
  }, [jobs.data, jobId, job.data?.created_at, origin]);
  const [picked, setPicked] = useState<string>("");
  useEffect(() => {
    if (!picked && candidates.first) setPicked(candidates.first);
  }, [picked, candidates.first]);
  if (candidates.ids.length === 0) return null;
  return (
    <span className="compare-with small">
      <select aria-label="Compare with" data-testid="compare-with-select" value={picked} onChange={(e) => setPicked(e.target.value)}>
        {candidates.ids.map((id) => (
          <option key={id} value={id}>
            {id}
            {id === origin ? " (origin)" : ""} · {candidates.statusOf.get(id) ?? ""}
          </option>
        ))}
      </select>
      {picked && (
        <Link href={diffHref(picked, jobId)} data-testid="compare-with" data-base={picked} title="Compare this run with another run of its flow: where they first diverge">
          Compare
        </Link>
      )}
    </span>
  );
}
