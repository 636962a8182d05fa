/**
 * One process per measurement (spawned by bench/persistence.ts): the chain workload with
 * monitoring on, and durable history on (a SQLite file in a temp folder) or off. Prints one JSON
 * line {mode, min, median} in ns per activation; with history on, the timed part includes the
 * final write of the job (a synchronous flush once it is done).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../lib";
import { chainFlow, median } from "./engine-chain";

export type PersistenceMode = "off" | "on";

const mode = process.argv[2] as PersistenceMode;
const n = Number(process.argv[3] ?? 200_000);
const runs = Number(process.argv[4] ?? 5);
const dir = mkdtempSync(join(tmpdir(), "routilux-bench-"));
// Monitoring is enabled by the runtime in both modes: persistence sits behind it.
const runtime = new Runtime(mode === "on" ? { persistence: { path: join(dir, "bench.db") } } : {});

async function once(size: number): Promise<number> {
  const flow = chainFlow();
  const t0 = performance.now();
  const job = flow.start("src", { n: size });
  await job.done;
  runtime.persistence?.flush();
  const ms = performance.now() - t0;
  if (job.status !== "completed") throw new Error(`bench job ${job.status}`);
  runtime.monitoring.jobStore.remove(job.jobId);
  runtime.persistence?.flush();
  return (ms * 1e6) / (1 + 3 * size);
}

for (let i = 0; i < 2; i++) await once(50_000);
const results: number[] = [];
for (let i = 0; i < runs; i++) results.push(await once(n));
runtime.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ mode, min: Math.min(...results), median: median(results) }));
