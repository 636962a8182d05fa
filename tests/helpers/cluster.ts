/**
 * A real cluster for tests: redis-server, API servers (`server/main.ts` with ROUTILUX_REDIS_URL)
 * and worker processes (`server/cluster/worker-main.ts`), each on loopback, each ended by pid.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { startNode, stopChild } from "./process";
import { startRedis, type TestRedis } from "./redis";
import { startServer, type TestServer } from "./server";

export interface TestWorker {
  process: ChildProcess;
  pid: number;
  /** The id the worker announced ("Routilux worker <id> ready"). */
  id: string;
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL, no goodbye: its heartbeat simply stops. */
  kill(): Promise<void>;
}

export interface TestCluster {
  redis: TestRedis;
  servers: TestServer[];
  workers: TestWorker[];
  addWorker(env?: Record<string, string>): Promise<TestWorker>;
  stop(): Promise<void>;
}

/**
 * Env every process of a test cluster gets: a killed worker is noticed within ~5 s (heartbeats
 * every 500 ms, expiring after ten), still far from what a busy machine delays a heartbeat by.
 */
const CLUSTER_ENV = { ROUTILUX_HEARTBEAT_MS: "500", ROUTILUX_WORKER_LOST_MS: "5000" };

/** `entry`: another script that runs a worker (a bench's own flows); default the demo flows' worker. */
export async function startWorkerProcess(redisUrl: string, env: Record<string, string> = {}, entry = "server/cluster/worker-main.ts"): Promise<TestWorker> {
  const { child, output, ready } = await startNode(
    [entry],
    { ...process.env, NODE_ENV: "production", ROUTILUX_REDIS_URL: redisUrl, ROUTILUX_CHECK_WIRE: "1", ...CLUSTER_ENV, ...env },
    /Routilux worker (\S+) ready/,
    "worker",
  );
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    process: child,
    pid: child.pid ?? -1,
    id: ready[1] as string,
    output,
    stop: () => stopChild(child, 5000),
    kill: async () => {
      if (ended()) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export async function startCluster(options: { servers?: number; workers?: number; serverEnv?: Record<string, string>[]; workerEnv?: Record<string, string> } = {}): Promise<TestCluster> {
  const redis = await startRedis();
  const servers: TestServer[] = [];
  const workers: TestWorker[] = [];
  const cluster: TestCluster = {
    redis,
    servers,
    workers,
    addWorker: async (env = {}) => {
      const w = await startWorkerProcess(redis.url, { ...options.workerEnv, ...env });
      workers.push(w);
      return w;
    },
    stop: async () => {
      await Promise.allSettled([...workers.map((w) => w.stop()), ...servers.map((s) => s.stop())]);
      await redis.stop();
    },
  };
  try {
    for (let i = 0; i < (options.servers ?? 2); i++) servers.push(await startServer({ ROUTILUX_REDIS_URL: redis.url, ...CLUSTER_ENV, ...(options.serverEnv?.[i] ?? {}) }));
    await Promise.all(Array.from({ length: options.workers ?? 3 }, () => cluster.addWorker()));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
