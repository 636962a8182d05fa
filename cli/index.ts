#!/usr/bin/env node
/**
 * The `routilux` command: `dev` (serve the debugger and reload the project's flows on every save),
 * `start` (serve without watching), `run` (one job in the terminal) and `init` (a starter project).
 * Exit codes: 0 done, 1 failed (a job that did not complete, a project that does not load), 2 the
 * command was called wrong.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { initProject } from "./init";
import { CommandFailed, packageRoot, ProjectLoadError, UsageError } from "./load";
import { runFlow } from "./run";
import { serve } from "./serve";
import { work } from "./worker";

/** Set by dev and start: the process keeps serving after the command returns. */
let serving = false;

const ENTRY_HELP = "the project's config module (default: routilux.config.ts, .mts, .js or .mjs in the current folder)";

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function serveCommand(name: "dev" | "start", description: string): Command {
  return new Command(name)
    .description(description)
    .argument("[entry]", ENTRY_HELP)
    .option("-p, --port <port>", "port to listen on (default: the config's port, else 8765)")
    .option("--host <host>", "interface to listen on (default: 127.0.0.1)")
    .option("--db <path>", "history database file, or :memory: (default: .routilux/history.db beside the config)")
    .option("--no-history", "keep no history (jobs are forgotten at exit)")
    .option("--redis <url>", "run jobs on a cluster's workers (routilux worker) through this Redis (default: ROUTILUX_REDIS_URL)")
    .action(async (entry: string | undefined, opts: { port?: string; host?: string; db?: string; history: boolean; redis?: string }) => {
      await serve(entry, opts, name);
      serving = true;
    });
}

function program(): Command {
  const cli = new Command("routilux")
    .description("Routilux: run, watch and debug your flows")
    .version(version(), "-v, --version")
    .showHelpAfterError("(routilux --help lists the commands)")
    .exitOverride();
  cli.addCommand(serveCommand("dev", "serve the API and the debugger with your flows, and reload them when your files change"));
  cli.addCommand(serveCommand("start", "serve the API and the debugger with your flows (no watching: production)"));
  cli.addCommand(
    new Command("run")
      .description("run one job of a flow in the terminal and print a summary (exit 0 completed, 1 failed or cancelled, 2 usage error)")
      .argument("<flow>", "the flow's id")
      .argument("[entry]", ENTRY_HELP)
      .addOption(new Option("--entry <routine.slot>", "where the job starts (default: the flow's example run; the slot defaults to trigger, else the routine's only slot)"))
      .option("--params <json|@file>", "the entry params: JSON text or @path of a JSON file (default: the example run's params)")
      .option("--json", "print the job snapshot as JSON instead of the summary")
      .action(async (flow: string, entry: string | undefined, opts: { entry?: string; params?: string; json?: boolean }) => {
        process.exitCode = await runFlow(flow, entry, opts);
      }),
  );
  cli.addCommand(
    new Command("worker")
      .description("run jobs for a cluster: take the jobs that `routilux start --redis` servers queue, with your flows")
      .argument("[entry]", ENTRY_HELP)
      .option("--redis <url>", "the cluster's Redis (default: ROUTILUX_REDIS_URL)")
      .option("-c, --concurrency <n>", "jobs run at once (default 8; a job held by the debugger takes one)")
      .action(async (entry: string | undefined, opts: { redis?: string; concurrency?: string }) => {
        await work(entry, opts);
        serving = true;
      }),
  );
  cli.addCommand(
    new Command("init")
      .description("create a starter project here: a routine, a flow with an example run, routilux.config.ts")
      .option("-f, --force", "overwrite the starter's files when they exist")
      .action((opts: { force?: boolean }) => {
        process.exitCode = initProject(process.cwd(), opts.force === true);
      }),
  );
  for (const c of cli.commands) c.exitOverride().showHelpAfterError(`(routilux ${c.name()} --help shows its options)`);
  return cli;
}

const indent = (text: string) => text.replace(/^/gm, "  ");

/** Runs the command line; resolves with the exit code of a command that ends (dev and start keep serving). */
async function main(argv: readonly string[]): Promise<number | null> {
  try {
    await program().parseAsync(argv as string[]);
    return serving ? null : Number(process.exitCode ?? 0);
  } catch (err) {
    // Commander printed its own message (usage error) or the help/version (exit code 0).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      console.error(`routilux: ${err.message}`);
      return 2;
    }
    if (err instanceof CommandFailed) {
      console.error(`routilux: ${err.message}`);
      return 1;
    }
    if (err instanceof ProjectLoadError) {
      console.error(`routilux: the project does not load:\n${indent(err.message)}`);
      return 1;
    }
    console.error(`routilux: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

const code = await main(process.argv);
if (code !== null) process.exit(code);
