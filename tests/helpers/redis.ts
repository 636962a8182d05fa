/**
 * A real redis-server for tests: Debian's /usr/bin/redis-server as a child process (never
 * daemonized) on a free 127.0.0.1 port, in its own temp dir, with an fsync'd append-only file so
 * a restart (or even a SIGKILL) loses nothing that was acknowledged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./server";

export const REDIS_SERVER = "/usr/bin/redis-server";

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Its data directory (the append-only files live here). */
  dir: string;
  /** The current server's pid (a restart changes it). */
  readonly pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the dir if startRedis made it. */
  stop(): Promise<void>;
  /** Graceful stop, then start again on the same port and dir (also after `kill()`). */
  restart(): Promise<void>;
  /** SIGKILL now, for emergencies and crash tests (the dir stays; `restart()` brings it back). */
  kill(): void;
}

/** How long a start may take until it answers PING. */
const START_DEADLINE_MS = 20_000;
/** How long a graceful stop may take before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Starts tried on the same port after a restart (it may briefly still be held). */
const RESTART_ATTEMPTS = 5;

/** Every server this process started and has not seen exit: killed if the test process exits first. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** The redis-server binary, or null when it is not installed. */
export function redisServerPath(): string | null {
  return existsSync(REDIS_SERVER) ? REDIS_SERVER : null;
}

/** The redis-server binary; a clear error when it is missing (tests need it, CI installs it). */
export function requireRedis(): string {
  const path = redisServerPath();
  if (path === null) throw new Error("redis-server is not installed: .ci/run installs Debian's redis-server (apt-get install redis-server)");
  return path;
}

interface Running {
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

function spawnRedis(bin: string, port: number, dir: string): Running {
  // Flags of redis 7.0: no RDB snapshots, an AOF fsync'd on every write, the log on stdout.
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--protected-mode", "no",
    "--dir", dir,
    "--appendonly", "yes",
    "--appendfsync", "always",
    "--save", "",
    "--logfile", "",
    "--daemonize", "no",
  ];
  const child = spawn(bin, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let out = "";
  child.stdout?.on("data", (d) => { out += String(d); });
  child.stderr?.on("data", (d) => { out += String(d); });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      live.delete(child);
      resolve();
    });
    // A spawn that fails (no binary) emits `error` and may never emit `exit`.
    child.once("error", (err) => {
      out += `\n${err.message}`;
      live.delete(child);
      resolve();
    });
  });
  return { child, output: () => out, exited };
}

/** One PING over raw TCP: true on `+PONG` (false while refused, loading, or on any other answer). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    // Bounds one attempt only; the caller's deadline decides when to give up.
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      answer += String(d);
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
    socket.on("close", () => done(false));
  });
}

/** Waits until the server answers PING; throws (with its output) if it exits or the deadline passes. */
async function waitReady(r: Running, port: number): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (r.child.exitCode !== null || r.child.signalCode !== null || r.child.pid === undefined) {
      throw new Error(`redis-server exited before answering PING (code ${r.child.exitCode}, signal ${r.child.signalCode}):\n${r.output()}`);
    }
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      r.child.kill("SIGKILL");
      throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${START_DEADLINE_MS / 1000} s:\n${r.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, wait for exit, SIGKILL if it takes longer than the grace period. */
async function stopProcess(r: Running): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill("SIGTERM");
  const timer = setTimeout(() => r.child.kill("SIGKILL"), STOP_GRACE_MS);
  await r.exited;
  clearTimeout(timer);
}

/**
 * Starts redis-server on a free 127.0.0.1 port in a fresh temp dir (or in `dir`, which then is
 * the caller's and is not removed) and waits until it answers PING.
 */
export async function startRedis(options: { dir?: string } = {}): Promise<TestRedis> {
  const bin = requireRedis();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "routilux-redis-")));
  let port = 0;
  let current: Running | null = null;
  for (let attempt = 1; current === null; attempt++) {
    port = await freePort();
    const r = spawnRedis(bin, port, dir);
    try {
      await waitReady(r, port);
      current = r;
    } catch (err) {
      r.child.kill("SIGKILL");
      await r.exited;
      // Another process may have taken the free port first: a new one, a few times.
      if (attempt < RESTART_ATTEMPTS && r.output().includes("Address already in use")) continue;
      if (ownDir) await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  let running: Running = current;
  const startAgain = async (): Promise<void> => {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < RESTART_ATTEMPTS; attempt++) {
      running = spawnRedis(bin, port, dir);
      try {
        await waitReady(running, port);
        return;
      } catch (err) {
        // Most likely the port is still held for a moment: try again, a little later each time.
        lastError = err;
        running.child.kill("SIGKILL");
        await running.exited;
        await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
      }
    }
    throw lastError;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return running.child.pid ?? -1;
    },
    stop: async () => {
      await stopProcess(running);
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopProcess(running);
      await startAgain();
    },
    kill: () => {
      running.child.kill("SIGKILL");
    },
  };
}
