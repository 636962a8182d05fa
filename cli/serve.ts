/**
 * `routilux dev` and `routilux start`: the server (API, sockets and the debugger) with the
 * project's flows. `dev` also watches the project's files and reloads its flows in the same
 * process when they change; a load that fails is reported and the last good version keeps serving.
 */
import { join, relative, resolve } from "node:path";
import type { Flow } from "../lib";
import { isRoutiluxError } from "../lib/wire";
import { createServer, type RunningServer } from "../server/main";
import { CommandFailed, findConfig, type LoadedProject, ProjectLoader, ProjectLoadError, packageRoot, UsageError } from "./load";
import { watchProject } from "./watch";

export interface ServeOptions {
  port?: string;
  host?: string;
  db?: string;
  /** false with --no-history */
  history: boolean;
  /** A cluster's Redis: jobs run on its workers. */
  redis?: string;
}

/** `--port` as a number, or a usage error. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, got '${value}'`);
  return n;
}

/** The history database: --no-history, --db (from the current folder), the config's `database` (from the config's folder), else .routilux/history.db beside the config. */
export function historyPath(opts: Pick<ServeOptions, "db" | "history">, configDatabase: string | false | undefined, root: string): string | false {
  if (!opts.history) return false;
  if (opts.db !== undefined) return opts.db === ":memory:" ? opts.db : resolve(opts.db);
  if (configDatabase === false) return false;
  if (typeof configDatabase === "string") return configDatabase === ":memory:" ? configDatabase : resolve(root, configDatabase);
  return join(root, ".routilux", "history.db");
}

function describeFlows(flows: readonly Flow[]): string {
  return flows.length ? flows.map((f) => `${f.flowId} (${f.routines.size} routines)`).join(", ") : "none";
}

const indent = (text: string) => text.replace(/^/gm, "  ");

export async function serve(entry: string | undefined, opts: ServeOptions, mode: "dev" | "start"): Promise<RunningServer> {
  const configPath = findConfig(entry);
  const loader = new ProjectLoader(configPath);
  const root = loader.root;
  let first: LoadedProject | null = null;
  let firstError: string | null = null;
  try {
    first = await loader.load();
  } catch (err) {
    if (!(err instanceof ProjectLoadError) || mode === "start") throw err;
    // dev starts anyway: the error shows in the terminal and the UI until a save fixes it.
    firstError = err.message;
  }
  const port = parsePort(opts.port) ?? first?.config.port;
  const database = historyPath(opts, first?.config.database, root);
  let server: RunningServer;
  try {
    server = await createServer({ flows: first?.flows ?? [], demos: false, port, hostname: opts.host, database, dir: packageRoot(), dev: false, ...(opts.redis !== undefined ? { redis: opts.redis } : {}) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new CommandFailed(`Port ${port ?? process.env.PORT ?? 8765} is in use (another routilux dev?): choose another with --port`);
    // A checkout of the sources before `npm run build`: Next has no UI to serve.
    if (/production build/.test(e.message ?? "")) throw new CommandFailed(`The debugger UI is not built in ${packageRoot()}: run \`npm run build\` there (${e.message})`);
    // The library's own errors (a history file it cannot use, ...) are written for the user: no stack.
    if (isRoutiluxError(err)) throw new CommandFailed(e.message);
    throw err;
  }
  const runtime = server.runtime;
  const where = database === false ? "off" : database === ":memory:" ? "in memory (lost at exit)" : database;
  console.log(`Routilux ${mode} listening on ${server.url}`);
  console.log(`  config:  ${configPath}`);
  console.log(`  history: ${where}`);
  console.log(`  flows:   ${first ? describeFlows(first.flows) : "none yet"}`);
  if (firstError !== null) {
    runtime.reloadFailed(firstError);
    console.error(`[routilux] the project does not load; fix it and save (the server waits):\n${indent(firstError)}`);
  }

  let stopWatching = (): void => {};
  if (mode === "dev") {
    runtime.setWatching(true);
    let lastConfig = first?.config;
    const watcher = watchProject(root, async (files) => {
      const what = files.map((f) => relative(root, f) || ".").join(", ");
      try {
        const loaded = await loader.load();
        const r = runtime.replaceFlows(loaded.flows);
        const parts = [r.changed.length ? `reloaded ${r.changed.join(", ")}` : "", r.added.length ? `added ${r.added.join(", ")}` : "", r.removed.length ? `removed ${r.removed.join(", ")}` : ""].filter(Boolean);
        console.log(`[routilux] ${what} changed: version ${r.version}, ${parts.join("; ") || "no flows"}`);
        if (lastConfig && (loaded.config.port !== lastConfig.port || loaded.config.database !== lastConfig.database)) {
          console.log("[routilux] port and database changes apply at the next start");
        }
        lastConfig = loaded.config;
      } catch (err) {
        const message = err instanceof ProjectLoadError ? err.message : (err as Error).stack ?? String(err);
        runtime.reloadFailed(message);
        console.error(`[routilux] ${what} changed: reload failed, version ${runtime.devStatus().version} keeps serving:\n${indent(message)}`);
      }
    });
    stopWatching = () => watcher.close();
    console.log(`  watching ${root} (Ctrl+C to stop)`);
  }

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    stopWatching();
    server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  return server;
}
