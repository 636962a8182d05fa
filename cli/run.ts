/**
 * `routilux run <flow>`: one job of a flow of the project, in the terminal, with monitoring on,
 * then a summary from the collector's metrics. Exit code 0 when the job completed, 1 when it
 * failed or was cancelled (usage errors are the caller's: 2).
 */
import { readFileSync } from "node:fs";
import type { Flow, Job, JobMetrics, Payload } from "../lib";
import { Runtime } from "../lib";
import { findConfig, ProjectLoader, UsageError } from "./load";

export interface RunOptions {
  /** `routine` or `routine.slot` */
  entry?: string;
  /** JSON text, or `@file` */
  params?: string;
  json?: boolean;
}

/** `--params`: JSON text or `@path` of a JSON file; an object. */
export function parseParams(value: string): Payload {
  let text = value;
  if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch (err) {
      throw new UsageError(`--params ${value}: ${(err as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--params is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError("--params must be a JSON object (the entry routine's payload)");
  return parsed as Payload;
}

/** `--entry routine[.slot]` against the flow: the slot defaults to `trigger`, else the routine's only slot. */
export function parseEntry(value: string, flow: Flow): { routineId: string; slot: string } {
  const dot = value.indexOf(".");
  const routineId = dot < 0 ? value : value.slice(0, dot);
  const slotGiven = dot < 0 ? undefined : value.slice(dot + 1);
  const routine = flow.getRoutine(routineId);
  if (!routine) throw new UsageError(`--entry: routine '${routineId}' is not in flow '${flow.flowId}' (routines: ${[...flow.routines.keys()].join(", ") || "none"})`);
  const slots = routine.slotNames;
  if (slotGiven !== undefined) {
    if (!routine.getSlot(slotGiven)) throw new UsageError(`--entry: routine '${routineId}' has no slot '${slotGiven}' (slots: ${slots.join(", ") || "none"})`);
    return { routineId, slot: slotGiven };
  }
  const slot = routine.getSlot("trigger") ? "trigger" : slots.length === 1 ? slots[0] : undefined;
  if (slot === undefined) throw new UsageError(`--entry: say which slot of '${routineId}' (${routineId}.<slot>; slots: ${slots.join(", ") || "none"})`);
  return { routineId, slot };
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? "—" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v >= 10 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  // The first column (ids) left-aligned, numbers right-aligned.
  return rows.map((r) => `  ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")}`).join("\n");
}

/** What `run` prints at the end: status, duration, per-routine counts and timings, errors. */
export function summary(flow: Flow, job: Pick<Job, "jobId" | "status" | "error" | "cancelReason">, m: JobMetrics): string {
  const mark = job.status === "completed" ? "✔" : "✘";
  const lines = [`${mark} ${flow.flowId} ${job.status} in ${ms(m.duration_ms)}  (job ${job.jobId})`];
  const error = job.error;
  if (error) lines.push(`  ${error.error_type}: ${error.message}${error.routine_id ? ` (in ${error.routine_id})` : ""}`);
  else if (job.status === "cancelled" && job.cancelReason) lines.push(`  ${job.cancelReason}`);
  const rows = [["routine", "runs", "errors", "total", "avg", "max"]];
  const ids = [...flow.routines.keys(), ...Object.keys(m.routine_metrics).filter((id) => !flow.routines.has(id))];
  for (const id of ids) {
    const r = m.routine_metrics[id];
    const ran = r !== undefined && r.execution_count > 0;
    rows.push([id, String(r?.execution_count ?? 0), String(r?.error_count ?? 0), ms(ran ? r.duration_ms : null), ms(r?.avg_duration_ms), ms(r?.max_duration_ms)]);
  }
  lines.push("", table(rows), "", `  ${count(m.total_activations, "activation")} · ${count(m.total_event_emits, "event")} emitted · ${count(m.total_errors, "error")} · ${count(m.total_events, "trace event")}`);
  if (m.errors.length) {
    lines.push("", "  errors:");
    for (const e of m.errors) lines.push(`    ${e.routine_id ?? "(job)"}: ${e.error_type}: ${e.error_message}${e.strategy ? ` (${e.strategy})` : ""}`);
  }
  return lines.join("\n");
}

export async function runFlow(flowId: string, entry: string | undefined, opts: RunOptions): Promise<number> {
  const loaded = await new ProjectLoader(findConfig(entry)).load();
  const flow = loaded.flows.find((f) => f.flowId === flowId);
  if (!flow) throw new UsageError(`Unknown flow '${flowId}' (flows: ${loaded.flows.map((f) => f.flowId).join(", ") || "none"})`);
  const params = opts.params === undefined ? undefined : parseParams(opts.params);
  const example = flow.example;
  let start: { routineId: string; slot: string };
  if (opts.entry !== undefined) start = parseEntry(opts.entry, flow);
  else if (example) start = { routineId: example.entryRoutineId, slot: example.entrySlot };
  else throw new UsageError(`Flow '${flowId}' has no example run: say where it starts with --entry routine[.slot] (and --params '{...}')`);
  const entryParams = params ?? (example ? (structuredClone(example.params) as Payload) : {});

  // No history: a run in the terminal must not compete with a `routilux dev` for the project's database.
  const runtime = new Runtime({ flows: loaded.flows });
  let job: ReturnType<Runtime["startJob"]>;
  try {
    job = runtime.startJob({ flow_id: flowId, entry_routine_id: start.routineId, entry_slot: start.slot, entry_params: entryParams });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const collector = runtime.monitoring.monitorCollector;
  const live = process.stdout.isTTY === true && !opts.json;
  const began = performance.now();
  const progress = (): void => {
    const m = collector.getMetrics(job.jobId);
    const elapsed = ((performance.now() - began) / 1000).toFixed(1);
    process.stdout.write(`\r\x1b[2K… ${flowId}  ${count(m?.total_activations ?? 0, "activation")} · ${count(m?.total_events ?? 0, "event")} · ${count(m?.total_errors ?? 0, "error")} · ${elapsed} s`);
  };
  const ticker = live ? setInterval(progress, 100) : null;
  const interrupt = (): void => {
    job.cancel("Interrupted (Ctrl+C)");
  };
  process.once("SIGINT", interrupt);
  try {
    await job.done;
  } finally {
    process.off("SIGINT", interrupt);
    if (ticker) {
      clearInterval(ticker);
      process.stdout.write("\r\x1b[2K");
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(runtime.jobSnapshot(job.jobId), null, 2)}\n`);
  else console.log(summary(flow, job, runtime.jobMetrics(job.jobId)));
  return job.status === "completed" ? 0 : 1;
}
