/**
 * The e2e cluster (Playwright's second webServer): a real redis-server, two worker processes with
 * the demo flows, and the API server in this process with ROUTILUX_REDIS_URL set, so the UI runs
 * against a control plane whose jobs run on other processes. A testing script: it uses the test
 * helpers' redis-server and worker processes.
 *
 * Env: PORT (default 8798), HOST, ROUTILUX_DB (default :memory:), as for the server.
 */
import { rmSync } from "node:fs";
import { startWorkerProcess, type TestWorker } from "../tests/helpers/cluster";
import { startRedis, type TestRedis } from "../tests/helpers/redis";
import { buildIfNeeded } from "./build-if-needed";

const WORKERS = 2;

buildIfNeeded();
process.env.NEXT_TELEMETRY_DISABLED = "1";
process.env.PORT ??= "8798";
process.env.ROUTILUX_DB ??= ":memory:";

let redis: TestRedis | null = null;
const workers: TestWorker[] = [];

/** Signals every child by pid; what it does on SIGTERM (a worker leaves the cluster) it does on its own. */
function signalChildren(signal: NodeJS.Signals): void {
  for (const w of workers) {
    try {
      process.kill(w.pid, signal);
    } catch {
      // already gone
    }
  }
  if (redis !== null) {
    try {
      process.kill(redis.pid, signal);
    } catch {
      // already gone
    }
  }
}

// Registered before the server's own handlers (which close it and exit), so the children are
// told first; whatever is still alive when this process exits is killed, and Redis' dir removed.
const onSignal = (): void => signalChildren("SIGTERM");
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
process.on("exit", () => {
  signalChildren("SIGKILL");
  if (redis !== null) rmSync(redis.dir, { recursive: true, force: true });
});

const redisServer = await startRedis();
redis = redisServer;
// A heartbeat every second, judged lost after ten (the defaults): the short test-cluster period
// is for tests that kill workers, which these do not.
const starts = await Promise.allSettled(Array.from({ length: WORKERS }, () => startWorkerProcess(redisServer.url, { ROUTILUX_DEMO: "1", ROUTILUX_HEARTBEAT_MS: "1000" })));
for (const s of starts) if (s.status === "fulfilled") workers.push(s.value);
// Their output, for Playwright's webServer log (what the helper already read stays in its buffer).
for (const w of workers) {
  w.process.stdout?.on("data", (d) => process.stdout.write(`[worker ${w.id}] ${String(d)}`));
  w.process.stderr?.on("data", (d) => process.stderr.write(`[worker ${w.id}] ${String(d)}`));
}
const failed = starts.find((s) => s.status === "rejected");
if (failed !== undefined) {
  console.error(String(failed.reason));
  process.exit(1);
}
console.log(`cluster: redis ${redisServer.url}, workers ${workers.map((w) => `${w.id} (pid ${w.pid})`).join(", ")}`);

process.env.ROUTILUX_REDIS_URL = redisServer.url;
// Imported after the build: Next reads its build output when the server is created.
const { main } = await import("../server/main");
await main({ demos: true });
