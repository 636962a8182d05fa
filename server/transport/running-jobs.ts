/** The announcement a flow monitor gets on connecting: the flow's jobs running at that moment. */
import type { Runtime } from "../../lib";
import type { JobRunning } from "../../lib/wire";

/**
 * Each unfinished job of the flow, oldest first, with the seq its retained trace starts at and the
 * seq it has reached. Call it in the same synchronous step as the flow subscription is made: the
 * subscription's live events of each job then start right after `last_seq`.
 */
export function runningJobs(runtime: Runtime, flowId: string): JobRunning[] {
  const { jobStore, monitorCollector } = runtime.monitoring;
  const out: JobRunning[] = [];
  // The store lists newest first.
  for (const job of jobStore.list({ flowId }).jobs.reverse()) {
    if (job.isFinished) continue;
    const info = monitorCollector.traceInfo(job.jobId);
    const last = info?.last_seq ?? 0;
    out.push({ job_id: job.jobId, flow_id: flowId, status: job.status, first_seq: Math.max(1, last - (info?.retained ?? 0) + 1), last_seq: last });
  }
  return out;
}
