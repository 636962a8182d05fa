/**
 * A worker process of a cluster: a runtime with the flows to run (no server, no database), joined
 * to the cluster's Redis. `routilux worker` starts one with a project's flows; run directly
 * (`node --import tsx server/cluster/worker-main.ts`, this repo's tests) it runs the demo flows.
 */
import { type Flow, Runtime, setRuntime } from "../../lib";
import { isRoutiluxError } from "../../lib/wire";
import { demoFlows, registerDemoTypes } from "../demos";
import { envInt, jobBudgetsFromEnv } from "../main";
import { ClusterWorker, DEFAULT_STOP_GRACE_MS } from "./worker";

export interface WorkerProcessOptions {
  /** Default: ROUTILUX_REDIS_URL. */
  redis?: string;
  flows?: Flow[];
  /** Also run the demo flows. */
  demos?: boolean;
  /** Jobs at once (default: ROUTILUX_WORKER_CONCURRENCY or 8). */
  concurrency?: number;
}

export async function startWorker(options: WorkerProcessOptions = {}): Promise<ClusterWorker> {
  const redisUrl = options.redis ?? process.env.ROUTILUX_REDIS_URL;
  if (!redisUrl) throw new Error("A worker needs the cluster's Redis: --redis URL or ROUTILUX_REDIS_URL");
  if (options.demos) registerDemoTypes();
  const runtime = setRuntime(
    new Runtime({
      flows: [...(options.demos ? demoFlows() : []), ...(options.flows ?? [])],
      maxEventsPerJob: envInt("ROUTILUX_MAX_EVENTS_PER_JOB"),
      maxPausedJobs: envInt("ROUTILUX_MAX_PAUSED_JOBS"),
      pausedIdleExpiryMs: envInt("ROUTILUX_PAUSED_IDLE_EXPIRY_MS") ?? null,
      jobBudgets: jobBudgetsFromEnv(),
      ...(envInt("ROUTILUX_PAYLOAD_BUDGET_BYTES") !== undefined ? { payloadBudgetBytes: envInt("ROUTILUX_PAYLOAD_BUDGET_BYTES") } : {}),
    }),
  );
  const concurrency = options.concurrency ?? envInt("ROUTILUX_WORKER_CONCURRENCY") ?? 8;
  if (concurrency < 1) throw new Error("The worker's concurrency must be at least 1");
  const worker = new ClusterWorker({
    redisUrl,
    runtime,
    concurrency,
    stopGraceMs: stopGraceMs(),
    ...(envInt("ROUTILUX_HEARTBEAT_MS") !== undefined ? { heartbeatMs: envInt("ROUTILUX_HEARTBEAT_MS") } : {}),
  });
  await worker.start();
  return worker;
}

/** How long a stopping worker lets its running jobs finish (ROUTILUX_WORKER_STOP_GRACE_MS, default 10 s). */
export function stopGraceMs(): number {
  return envInt("ROUTILUX_WORKER_STOP_GRACE_MS") ?? DEFAULT_STOP_GRACE_MS;
}

/**
 * Runs a worker until SIGTERM/SIGINT: it takes no more jobs, lets the running ones finish (or
 * cancels them after the grace), sends what is left and leaves the cluster.
 */
export async function workUntilSignal(options: WorkerProcessOptions = {}): Promise<ClusterWorker> {
  const worker = await startWorker(options);
  console.log(`Routilux worker ${worker.workerId} ready (flows: ${worker.runtime.flows.map((f) => f.flowId).join(", ") || "none"})`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    worker
      .close()
      .then((cancelled) => {
        if (cancelled.length === 0) console.log(`Routilux worker ${worker.workerId} stopped`);
        else console.error(`Routilux worker ${worker.workerId} stopped; cancelled ${cancelled.length} job${cancelled.length === 1 ? "" : "s"} still running after ${stopGraceMs() / 1000} s (${cancelled.join(", ")})`);
      })
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), stopGraceMs() + 10_000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  return worker;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    await workUntilSignal({ demos: process.env.ROUTILUX_DEMO !== "0" });
  } catch (err) {
    console.error(isRoutiluxError(err) ? err.message : ((err as Error).stack ?? String(err)));
    process.exit(1);
  }
}
