/**
 * `routilux worker --redis URL [entry]`: a worker of a cluster. It loads the project's flows (the
 * same config as `routilux start`, so both serve the same flows) and runs the jobs the servers
 * queue, until SIGTERM/SIGINT.
 *
 * A Redis that does not answer yet is waited for, saying so (a worker is often started before its
 * Redis, or during a restart of it); one that answers but refuses the worker (a wrong password)
 * ends the command with exit 1.
 */
import { Redis } from "ioredis";
import { stopGraceMs, workUntilSignal } from "../server/cluster/worker-main";
import { CommandFailed, findConfig, ProjectLoader, UsageError } from "./load";

export interface WorkerCliOptions {
  redis?: string;
  concurrency?: string;
}

export function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new UsageError(`--concurrency must be a whole number from 1 to 10000, got '${value}'`);
  return n;
}

/** The URL as it may be printed: a password in it is masked. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}

/** `--redis`: redis://, rediss://, host:port or a socket path, as the client takes them; another scheme is a usage error. */
export function checkRedisUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^rediss?:\/\//i.test(url)) {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${redactRedisUrl(url)}'`);
  }
  return url;
}

/** How often a worker still waiting for Redis says so again. */
const WAITING_REMINDER_MS = 30_000;

function reason(err: Error): string {
  // A name that resolves to several addresses fails with an AggregateError whose message is empty.
  return err.message || (err as NodeJS.ErrnoException).code || String(err);
}

/**
 * Resolves once Redis answers a PING. While it cannot be reached this says so (at once, then
 * every 30 s) and keeps trying, as the worker's own connections would; SIGTERM/SIGINT meanwhile
 * end the process (exit 0: there is nothing to hand back).
 */
async function waitForRedis(url: string): Promise<void> {
  const shown = redactRedisUrl(url);
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (attempt) => Math.min(50 * attempt, 1000), connectionName: "routilux-worker-probe" });
  let failingSince: number | null = null;
  let reported = 0;
  probe.on("error", (err: Error) => {
    // Redis's own answer (a wrong password): the PING below fails with it.
    if (err.name === "ReplyError") return;
    const now = Date.now();
    if (failingSince === null) {
      failingSince = now;
      reported = now;
      console.error(`routilux worker: cannot reach Redis at ${shown} (${reason(err)}); retrying until it answers (Ctrl+C to stop)`);
    } else if (now - reported >= WAITING_REMINDER_MS) {
      reported = now;
      console.error(`routilux worker: still no Redis at ${shown} after ${Math.round((now - failingSince) / 1000)} s (${reason(err)}); retrying`);
    }
  });
  const stop = (): void => {
    probe.disconnect();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    await probe.ping();
  } catch (err) {
    // Not a connection that failed (those are retried): Redis answered with an error.
    throw new CommandFailed(`Redis at ${shown} refused the worker: ${reason(err as Error)}`);
  } finally {
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
    probe.disconnect();
  }
  if (failingSince !== null) console.log(`routilux worker: Redis at ${shown} answers`);
}

export async function work(entry: string | undefined, opts: WorkerCliOptions): Promise<void> {
  const redis = opts.redis ?? process.env.ROUTILUX_REDIS_URL;
  if (!redis) throw new UsageError("a worker needs the cluster's Redis: --redis redis://host:6379 (or ROUTILUX_REDIS_URL)");
  checkRedisUrl(redis);
  const concurrency = parseConcurrency(opts.concurrency);
  const loaded = await new ProjectLoader(findConfig(entry)).load();
  await waitForRedis(redis);
  let worker: Awaited<ReturnType<typeof workUntilSignal>>;
  try {
    worker = await workUntilSignal({ redis, flows: loaded.flows, ...(concurrency !== undefined ? { concurrency } : {}) });
  } catch (err) {
    throw new CommandFailed((err as Error).message);
  }
  // workUntilSignal stops the worker on these signals (and says how it ended); this says what it waits for.
  const unfinished = () => worker.runtime.monitoring.jobStore.list().jobs.filter((j) => !j.isFinished);
  let stopping = false;
  const onStop = (): void => {
    if (stopping) return;
    stopping = true;
    const n = unfinished().length;
    console.log(`Routilux worker ${worker.workerId} stopping: takes no more jobs${n ? `; waiting up to ${stopGraceMs() / 1000} s for ${n} running job${n === 1 ? "" : "s"} to finish, then cancelling what is left` : ""}`);
  };
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
}
