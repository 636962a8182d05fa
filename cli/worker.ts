/**
 * `routilux worker --redis URL [entry]`: a worker of a cluster. It loads the project's flows (the
 * same config as `routilux start`, so both serve the same flows) and runs the jobs the servers
 * queue, until SIGTERM/SIGINT.
 */
import { workUntilSignal } from "../server/cluster/worker-main";
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

export async function work(entry: string | undefined, opts: WorkerCliOptions): Promise<void> {
  const redis = opts.redis ?? process.env.ROUTILUX_REDIS_URL;
  if (!redis) throw new UsageError("routilux worker needs the cluster's Redis: --redis redis://host:6379 (or ROUTILUX_REDIS_URL)");
  const concurrency = parseConcurrency(opts.concurrency);
  const loaded = await new ProjectLoader(findConfig(entry)).load();
  try {
    await workUntilSignal({ redis, flows: loaded.flows, ...(concurrency !== undefined ? { concurrency } : {}) });
  } catch (err) {
    throw new CommandFailed((err as Error).message);
  }
}
