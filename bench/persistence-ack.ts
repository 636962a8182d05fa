/**
 * One process per measurement (spawned by bench/persistence.ts): what a durable acknowledgement
 * costs. `Runtime.startJob` of a 4-routine job, history in a SQLite file (the job's row committed
 * before startJob returns) or off. Prints one JSON line {mode, min, median} in µs per start; the
 * jobs themselves run between batches, outside the timed part.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../lib";
import { chainFlow, median } from "./engine-chain";

export type AckMode = "off" | "on";

const mode = process.argv[2] as AckMode;
const batch = Number(process.argv[3] ?? 500);
const runs = Number(process.argv[4] ?? 5);
const dir = mkdtempSync(join(tmpdir(), "routilux-bench-ack-"));
const runtime = new Runtime(mode === "on" ? { persistence: { path: join(dir, "bench.db") } } : {});
runtime.addFlow(chainFlow("ack"));

async function once(): Promise<number> {
  const jobs = [];
  const t0 = performance.now();
  for (let i = 0; i < batch; i++) jobs.push(runtime.startJob({ flow_id: "ack", entry_routine_id: "src", entry_params: { n: 1 } }));
  const us = ((performance.now() - t0) * 1000) / batch;
  await Promise.all(jobs.map((j) => j.done));
  runtime.persistence?.flush();
  for (const j of jobs) runtime.monitoring.jobStore.remove(j.jobId);
  runtime.persistence?.flush();
  return us;
}

await once();
const results: number[] = [];
for (let i = 0; i < runs; i++) results.push(await once());
runtime.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ mode, min: Math.min(...results), median: median(results) }));
