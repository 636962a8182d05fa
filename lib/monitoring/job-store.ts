import type { Job, JobStatus } from "../engine";

export interface JobListQuery {
  flowId?: string;
  status?: JobStatus;
  limit?: number;
  offset?: number;
}

/**
 * The monitored jobs by id, newest last. Removing a job runs the removal listeners, which drop
 * its trace, metrics, breakpoints, debug session and event queues.
 */
export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly removalListeners: ((jobId: string) => void)[] = [];

  add(job: Job): void {
    this.jobs.set(job.jobId, job);
  }

  get(jobId: string): Job | undefined {
    return this.jobs.get(jobId);
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Newest first, filtered; `total` counts all matches before paging. */
  list(query: JobListQuery = {}): { jobs: Job[]; total: number } {
    const matches: Job[] = [];
    for (const job of this.jobs.values()) {
      if (query.flowId !== undefined && job.flowId !== query.flowId) continue;
      if (query.status !== undefined && job.status !== query.status) continue;
      matches.push(job);
    }
    matches.reverse();
    const offset = query.offset ?? 0;
    const limit = query.limit ?? matches.length;
    return { jobs: matches.slice(offset, offset + limit), total: matches.length };
  }

  /** Finished jobs only; a running or paused job must be cancelled first. Returns whether it was removed. */
  remove(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job?.isFinished) return false;
    this.jobs.delete(jobId);
    for (const listener of this.removalListeners) listener(jobId);
    return true;
  }

  /** Removes finished jobs that ended more than `maxAgeSeconds` ago, with all their data. Returns how many. */
  removeOldJobs(maxAgeSeconds: number): number {
    if (!(maxAgeSeconds >= 0)) throw new RangeError("maxAgeSeconds must be a number ≥ 0");
    const cutoff = Date.now() - maxAgeSeconds * 1000;
    let removed = 0;
    for (const job of [...this.jobs.values()]) {
      const finished = job.finishedAt?.getTime();
      if (job.isFinished && finished !== undefined && finished <= cutoff && this.remove(job.jobId)) removed++;
    }
    return removed;
  }

  /** @internal Monitoring registers what must be dropped with a job. */
  onRemove(listener: (jobId: string) => void): void {
    this.removalListeners.push(listener);
  }
}
