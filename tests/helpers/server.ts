import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer as createNetServer } from "node:net";
import { startNode, stopChild } from "./process";

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const address = srv.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface TestServer {
  url: string;
  wsUrl: string;
  port: number;
  process: ChildProcess;
  /** Everything the server printed. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real server (`node --import tsx server/main.ts`, the production Next build) on a free
 * port and waits until it listens. Needs `next build` to have run (npm test and CI do it).
 */
export async function startServer(env: Record<string, string> = {}, options: { inspect?: boolean; entry?: string } = {}): Promise<TestServer> {
  const port = await freePort();
  // `inspect`: the V8 inspector on a free loopback port, so memory tests can force a GC and read
  // the heap instead of guessing from RSS, which lags whatever the collector has not yet run.
  const nodeArgs = options.inspect ? ["--inspect=127.0.0.1:0"] : [];
  // `entry`: another script that runs the server (a bench's own flows); default the repo's own.
  const { child, output } = await startNode(
    [...nodeArgs, options.entry ?? "server/main.ts"],
    // Each server gets its own in-memory database unless the test names a file (never ./data).
    { ...process.env, PORT: String(port), HOST: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ROUTILUX_DB: ":memory:", ROUTILUX_CHECK_WIRE: "1", ...env },
    /Routilux listening on/,
    "server",
  );
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    process: child,
    output,
    stop: () => stopChild(child, 3000),
  };
}
