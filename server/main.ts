/**
 * The one process: a custom Next.js server. It creates the engine + monitoring runtime once
 * (before Next prepares, so route handlers find it through `currentRuntime()`), serves the UI and the
 * `/api/*` route handlers, and owns WebSocket upgrades: Next closes upgraded sockets on app-route
 * paths, so it only sees the upgrades that are not ours (HMR in development).
 */
import { EventEmitter } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { dirname, join } from "node:path";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import next from "next";
import { DEFAULT_PAYLOAD_BUDGET_BYTES, type Flow, type JobBudgetSettings, Runtime, setRuntime } from "../lib";
import { DEFAULT_DB_PATH, DEFAULT_RETENTION_JOBS, HistoryInUseError, HistoryUnusableError } from "../lib/persistence";
import { isRoutiluxError } from "../lib/wire";
import { type AccessOptions, accessPolicy, refuseHandshake } from "./access";
import { checkedKeys } from "./api/auth";
import { gate } from "./http-gate";
import { demoFlows, registerDemoTypes } from "./demos";
import { attachRawWebSockets, rejectUpgrade } from "./ws/raw";
import { attachSocketIo } from "./ws/socket-io";
import { type ClusterClient, joinCluster } from "./cluster/control-plane";

/** What createServer throws when another server holds the history file (code HISTORY_IN_USE). */
export { HistoryInUseError, HistoryUnusableError } from "../lib/persistence";

export interface ServerOptions extends AccessOptions {
  port?: number;
  /**
   * Interface to listen on (default: HOST or 127.0.0.1, loopback only). Another one opens the
   * debugger to the network: set an API key then (a warning says so when there is none).
   */
  hostname?: string;
  /** The flows to serve. */
  flows?: Flow[];
  /** Also serve the demo flows (default: only when ROUTILUX_DEMO=1; this repo's `npm start` turns them on). */
  demos?: boolean;
  /**
   * SQLite file for durable history (relative to the current directory), `:memory:`, or false for
   * none (default: ROUTILUX_DB or `.routilux/history.db`). One server per file: a file another
   * server holds makes createServer fail with HistoryInUseError, naming that server.
   */
  database?: string | false;
  /**
   * Serve the history file read-only (default: ROUTILUX_DB_READONLY=1): it must exist; starting
   * jobs and editing flows answer 503 HISTORY_UNAVAILABLE. A damaged or unwritable file makes
   * createServer fail with HistoryUnusableError instead.
   */
  databaseReadOnly?: boolean;
  /** Finished jobs kept (default: ROUTILUX_RETENTION_JOBS or 1,000). */
  retentionJobs?: number;
  /** Bytes of full payloads kept per job (default: ROUTILUX_PAYLOAD_BUDGET_BYTES or 1 MiB). */
  payloadBudgetBytes?: number;
  /** Jobs paused at once at most (default: ROUTILUX_MAX_PAUSED_JOBS or 100). */
  maxPausedJobs?: number;
  /** Cancel a job paused this long with no debug command, in ms (default: ROUTILUX_PAUSED_IDLE_EXPIRY_MS, else never). */
  pausedIdleExpiryMs?: number | null;
  /**
   * Default job budgets (a flow's own win). Default: ROUTILUX_MAX_QUEUED_ACTIVATIONS,
   * ROUTILUX_MAX_ACTIVATIONS, ROUTILUX_MAX_QUEUE_BYTES (0 = no limit), else the engine's defaults.
   */
  jobBudgets?: JobBudgetSettings;
  /** Trace events kept per job (default 1,000; env ROUTILUX_MAX_EVENTS_PER_JOB): states at a seq and forks need them. */
  maxEventsPerJob?: number;
  dev?: boolean;
  /**
   * Redis of a cluster (default: ROUTILUX_REDIS_URL): jobs are queued for workers
   * (`routilux worker`), which run them; this server relays their requests and debug commands,
   * fans out their events and writes their history. Without it everything runs in this process.
   */
  redis?: string;
  /** Where the Next app and its build are (default: this package's own folder). */
  dir?: string;
}

export interface RunningServer {
  server: Server;
  runtime: Runtime;
  url: string;
  /** Where history is kept: the database file (absolute), `:memory:`, or null (none). */
  history: string | null;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export async function createServer(options: ServerOptions = {}): Promise<RunningServer> {
  const port = options.port ?? Number(process.env.PORT ?? 8765);
  const hostname = options.hostname ?? process.env.HOST ?? "127.0.0.1";
  // Configuration mistakes stop the start, before anything is opened.
  const keys = checkedKeys();
  const policy = accessPolicy(hostname, options);
  if (keys.length === 0 && !isLoopback(hostname)) {
    console.warn(`warning: listening on ${hostname} without an API key: anyone who can reach this machine can read and change your jobs' data. Set ROUTILUX_API_KEY, or listen on 127.0.0.1.`);
  }
  const demos = options.demos ?? process.env.ROUTILUX_DEMO === "1";
  if (demos) registerDemoTypes();
  const database = options.database ?? (process.env.ROUTILUX_DB || DEFAULT_DB_PATH);
  const retentionJobs = options.retentionJobs ?? envInt("ROUTILUX_RETENTION_JOBS") ?? DEFAULT_RETENTION_JOBS;
  const payloadBudgetBytes = options.payloadBudgetBytes ?? envInt("ROUTILUX_PAYLOAD_BUDGET_BYTES") ?? DEFAULT_PAYLOAD_BUDGET_BYTES;
  const runtime = setRuntime(
    new Runtime({
      flows: [...(demos ? demoFlows() : []), ...(options.flows ?? [])],
      payloadBudgetBytes,
      maxEventsPerJob: options.maxEventsPerJob ?? envInt("ROUTILUX_MAX_EVENTS_PER_JOB"),
      maxPausedJobs: options.maxPausedJobs ?? envInt("ROUTILUX_MAX_PAUSED_JOBS"),
      pausedIdleExpiryMs: options.pausedIdleExpiryMs !== undefined ? options.pausedIdleExpiryMs : (envInt("ROUTILUX_PAUSED_IDLE_EXPIRY_MS") ?? null),
      jobBudgets: options.jobBudgets ?? jobBudgetsFromEnv(),
      ...(database === false ? {} : { persistence: { path: database, retentionJobs, readOnly: options.databaseReadOnly ?? process.env.ROUTILUX_DB_READONLY === "1" } }),
    }),
  );

  const httpServer = createHttpServer();
  // Longer than the clients' own idle timeouts: a client reusing a kept-alive connection at the
  // moment the server drops it gets ECONNRESET (Node's default here is 5 s).
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  // Next's own upgrade handling closes sockets on app-route paths: it gets a private emitter and
  // only the upgrades that are not ours (HMR in dev).
  const nextUpgrades = new EventEmitter();
  const dev = options.dev ?? process.env.NODE_ENV === "development";
  // The app is this package's own (its built UI ships inside it), whatever the working directory.
  const app = next({ dev, hostname, port, dir: options.dir ?? packageRoot(), httpServer: nextUpgrades as unknown as Server });
  try {
    await app.prepare();
  } catch (err) {
    runtime.close();
    throw err;
  }
  const redisUrl = options.redis ?? (process.env.ROUTILUX_REDIS_URL || undefined);
  let cluster: ClusterClient | null = null;
  if (redisUrl !== undefined) {
    try {
      cluster = await joinCluster(runtime, { redisUrl, ...(envInt("ROUTILUX_WORKER_LOST_MS") !== undefined ? { lostAfterMs: envInt("ROUTILUX_WORKER_LOST_MS") } : {}) });
    } catch (err) {
      runtime.close();
      await app.close().catch(() => {});
      throw err;
    }
  }
  const handle = app.getRequestHandler();
  const raw = attachRawWebSockets(runtime);

  httpServer.on("request", (req, res) => {
    if (gate(req, res, runtime, policy)) return;
    handle(req, res).catch((err: unknown) => {
      console.error("request failed", err);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  // socket.io (engine.io) claims /socket.io/ requests and upgrades itself; attached after the
  // request listener above, which it wraps.
  // Several servers of a cluster share socket.io's rooms and broadcasts through Redis streams.
  const sio = attachSocketIo(httpServer, runtime, (req) => refuseHandshake(req, policy)?.message ?? null, cluster ? createAdapter(cluster.redis) : undefined);
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path.startsWith("/socket.io/")) return; // engine.io's own upgrade listener has it
    const refusal = refuseHandshake(req, policy);
    if (refusal !== null) return rejectUpgrade(socket, refusal.status, "Forbidden", { error: { code: refusal.code, message: refusal.message } });
    if (path.startsWith("/api/ws/")) raw.handleUpgrade(req, socket, head);
    else if (dev) nextUpgrades.emit("upgrade", req, socket, head);
    else {
      // Only dev has upgrades of its own (HMR); Next would leave this socket hanging forever.
      socket.on("error", () => {});
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject); // EADDRINUSE and the like: the caller says so
      httpServer.listen(port, hostname, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    raw.close();
    await cluster?.close();
    runtime.close();
    await sio.close().catch(() => {});
    await app.close().catch(() => {});
    throw err;
  }
  const address = httpServer.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const url = `http://${hostname === "127.0.0.1" ? "localhost" : hostname}:${actualPort}`;
  return {
    server: httpServer,
    runtime,
    url,
    history: runtime.persistence?.path ?? null,
    close: async () => {
      raw.close();
      httpServer.closeAllConnections();
      await cluster?.close();
      runtime.close(); // writes the pending history batch first: the exit timer may cut what follows
      await sio.close(); // also closes the HTTP server
    },
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

/** The folder of this package (its package.json, next.config.mjs and built app), found from this file. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "routilux") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Routilux cannot find its own package folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0, got '${raw}'`);
  return n;
}

/** The server-wide job budgets set in the environment; 0 turns a budget off. */
export function jobBudgetsFromEnv(): JobBudgetSettings {
  const out: JobBudgetSettings = {};
  const read = (name: string): number | null | undefined => {
    const n = envInt(name);
    return n === 0 ? null : n;
  };
  const queued = read("ROUTILUX_MAX_QUEUED_ACTIVATIONS");
  const activations = read("ROUTILUX_MAX_ACTIVATIONS");
  const bytes = read("ROUTILUX_MAX_QUEUE_BYTES");
  if (queued !== undefined) out.maxQueuedActivations = queued;
  if (activations !== undefined) out.maxActivations = activations;
  if (bytes !== undefined) out.maxQueueBytes = bytes;
  return out;
}

/**
 * Starts the server for a command line: prints where its history is kept and where it listens,
 * closes cleanly on SIGTERM/SIGINT.
 */
export async function serveUntilSignal(options: ServerOptions = {}): Promise<RunningServer> {
  const running = await createServer(options);
  console.log(`history: ${running.history === null ? "off" : running.history === ":memory:" ? ":memory: (lost when the server stops)" : running.history}`);
  console.log(`Routilux listening on ${running.url}`);
  const shutdown = (): void => {
    running.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  return running;
}

/**
 * Runs `serveUntilSignal` as a program: an error a user can act on (the history file is held by
 * another server, damaged or unwritable) is printed as its message alone, and the process exits with 1.
 */
export async function main(options: ServerOptions = {}): Promise<void> {
  try {
    await serveUntilSignal(options);
  } catch (err) {
    // Errors a user can act on (the history file is held by another server, damaged or unwritable, a blank API key, a
    // limit out of range): the message alone.
    if (err instanceof HistoryInUseError || err instanceof HistoryUnusableError || (isRoutiluxError(err) && err.kind === "bad_request")) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

// Run directly: `node --import tsx server/main.ts`.
// Run directly (this repo's own server, its tests): the demo flows unless ROUTILUX_DEMO=0.
if (import.meta.url === `file://${process.argv[1]}`) await main({ demos: process.env.ROUTILUX_DEMO !== "0" });
