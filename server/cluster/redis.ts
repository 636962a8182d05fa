/**
 * Redis connections and key names of a Routilux cluster (API servers and workers over one Redis).
 * See docs/cluster.md for what each key holds.
 */
import { Redis } from "ioredis";

/** Where the cluster keeps its keys (several clusters can share one Redis with other prefixes). */
export const DEFAULT_PREFIX = "routilux";

export interface ClusterKeys {
  /** Stream of every job's trace events, job list changes and session changes, in order (servers tail it). */
  feed: string;
  /** Stream of one job's trace events, entry id `<seq>-0` (replay, gap filling). */
  jobEvents(jobId: string): string;
  /** Hash of one job: `summary`, `worker`, `session`. */
  job(jobId: string): string;
  /** Sorted set of job ids by creation time. */
  jobs: string;
  /** Stream of finished jobs, whole (servers write them to history). */
  done: string;
  /** A worker's heartbeat (expires when it stops renewing). */
  worker(workerId: string): string;
  /** Pub/sub channel of a worker's requests (API requests and debug commands for its jobs). */
  requests(workerId: string): string;
  /** Pub/sub channel of a server's answers. */
  answers(serverId: string): string;
  /** Hash of flow breakpoints by id, its version counter, and the channel announcing changes. */
  breakpoints: string;
  breakpointsVersion: string;
  breakpointsChanged: string;
  /** Hash of flows created over HTTP (DSL by flow id), its version counter, and its change channel. */
  flows: string;
  flowsVersion: string;
  flowsChanged: string;
  /** Set once a job is declared lost (its worker died): only one server finishes it. */
  lost(jobId: string): string;
  /** BullMQ's prefix and queue name. */
  bullPrefix: string;
  queue: string;
}

export function clusterKeys(prefix = DEFAULT_PREFIX): ClusterKeys {
  return {
    feed: `${prefix}:feed`,
    jobEvents: (id) => `${prefix}:ev:${id}`,
    job: (id) => `${prefix}:job:${id}`,
    jobs: `${prefix}:jobs`,
    done: `${prefix}:done`,
    worker: (id) => `${prefix}:worker:${id}`,
    requests: (id) => `${prefix}:req:${id}`,
    answers: (id) => `${prefix}:ans:${id}`,
    breakpoints: `${prefix}:bp`,
    breakpointsVersion: `${prefix}:bp:version`,
    breakpointsChanged: `${prefix}:bp:changed`,
    flows: `${prefix}:flows`,
    flowsVersion: `${prefix}:flows:version`,
    flowsChanged: `${prefix}:flows:changed`,
    lost: (id) => `${prefix}:lost:${id}`,
    bullPrefix: `${prefix}:bull`,
    queue: "jobs",
  };
}

/** Events a job's own stream keeps (about what a server's trace ring keeps, with slack). */
export const JOB_STREAM_MAXLEN = 2000;
/** The feed's length: servers that fall further behind fill the gap from the jobs' own streams. */
export const FEED_MAXLEN = 100_000;
/** Finished jobs kept in the done stream until servers have written them. */
export const DONE_MAXLEN = 2000;
/** A finished job's own stream stays this long (its history has been written by then). */
export const JOB_STREAM_TTL_S = 24 * 3600;

/**
 * A connection that waits out a Redis restart: commands queue while it is down and are sent when
 * it is back (never failed after N retries), so a worker's events are delayed, not lost.
 */
export function connect(url: string, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
  });
  let reported = 0;
  redis.on("error", (err: Error) => {
    // A restart makes every connection fail at once, repeatedly: say it once in a while.
    const now = Date.now();
    if (now - reported > 5000) {
      reported = now;
      console.warn(`[cluster] redis ${name}: ${err.message}`);
    }
  });
  return redis;
}

/** Redis field/value pairs (XREAD, HGETALL) as an object. */
export function fieldsOf(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] as string] = list[i + 1] as string;
  return out;
}
