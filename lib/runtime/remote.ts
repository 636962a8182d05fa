/**
 * Jobs of a cluster that run in other processes (workers), as a server sees them. The runtime only
 * knows this interface; the Redis implementation lives in the server layer (server/cluster), so a
 * runtime without it (embedded, a worker, a library user's process) never loads a Redis client.
 */
import type { SessionSnapshot } from "../monitoring";
import type { ForkedFrom } from "../wire/lineage";
import type { JobStatus, JobSummary } from "../wire/model";
import type { StartJobRequest } from "../wire/requests";
import type { JobRunning } from "../wire/sockets";

/** An API request relayed to the process that holds its job. */
export interface RelayedRequest {
  method: string;
  /** Path and query string, as received (`/api/jobs/job_x/trace?after_seq=3`). */
  url: string;
  body: string | null;
}

/** The answer of a relayed request, as the holding process's API gave it. */
export interface RelayedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface StartedJob {
  job_id: string;
  flow_id: string;
  status: JobStatus;
  created_at: string;
}

export interface RemoteJobs {
  /** Whether requests for this job go elsewhere (it runs, or ran, on a worker and is not in this process's history). */
  holds(jobId: string): boolean;
  /** The job's list entry, when the cluster knows it. */
  summary(jobId: string): JobSummary | undefined;
  /** The cluster's jobs not in this process's history, newest first. */
  list(filter: { flowId?: string; status?: JobStatus }): JobSummary[];
  /** The flow's unfinished jobs, oldest first, with the seqs their retained traces span here. */
  running(flowId: string): JobRunning[];
  /** The job's debug session as its worker last reported it. */
  session(jobId: string): SessionSnapshot | null;
  /** Queues a job (a fork: with its shared data and origin) for the workers; resolves once it is queued (status pending). */
  startJob(req: StartJobRequest, fork?: { shared: Record<string, unknown>; forkedFrom: ForkedFrom }): Promise<StartedJob>;
  /**
   * Runs an API request where the job is held and answers what that process answered; null when
   * the job came into this process's history meanwhile (answer it here).
   */
  relay(jobId: string, req: RelayedRequest): Promise<RelayedAnswer | null>;
  /** Resolves once what this process changed for the cluster (flow breakpoints) is in Redis: a client told "done" can rely on it everywhere. */
  settle(): Promise<void>;
  /**
   * Runs a debug command where the job is held (sockets; HTTP command routes are relayed whole);
   * null when the job came into this process's history meanwhile (run it here).
   */
  command(jobId: string, command: string, args: Record<string, unknown>): Promise<{ result: unknown } | null>;
}
