/**
 * One process per measurement (spawned by bench/monitoring.ts): a process runs with monitoring
 * on or off for its whole life, as a server does, so each mode gets its own JIT state.
 * Prints one JSON line: {mode, min, median, delivered} in wall-clock ns per activation. The machine's
 * host adds ±30% noise to single runs; noise only ever adds time, so the minimum of several runs
 * is the steadiest estimate, and the median is reported beside it.
 */
import { getEventManager, MonitoringRegistry } from "../lib";
import { chainFlow, median } from "./engine-chain";

export type Mode = "no hooks" | "disabled" | "enabled" | "enabled + subscriber";

async function once(mode: Mode, n: number): Promise<{ ns: number; delivered: number }> {
  const flow = chainFlow();
  let delivered = 0;
  const t0 = performance.now();
  const job = flow.start("src", { n }, mode === "no hooks" ? { hooks: null } : {});
  if (mode === "enabled + subscriber") {
    // An in-process consumer that drains every event as it is published.
    const sub = getEventManager().subscribe(job.jobId, { afterSeq: 0 });
    sub.onReadable = () => {
      delivered += sub.drain().length;
    };
  }
  await job.done;
  const ms = performance.now() - t0;
  if (job.status !== "completed") throw new Error(`bench job ${job.status}`);
  MonitoringRegistry.getInstance().jobStore.remove(job.jobId);
  return { ns: (ms * 1e6) / (1 + 3 * n), delivered };
}

const mode = process.argv[2] as Mode;
const n = Number(process.argv[3] ?? 200_000);
const runs = Number(process.argv[4] ?? 5);
if (mode === "no hooks" || mode === "disabled") MonitoringRegistry.disable();
else MonitoringRegistry.enable();
for (let i = 0; i < 2; i++) await once(mode, 50_000);
const results: { ns: number; delivered: number }[] = [];
for (let i = 0; i < runs; i++) results.push(await once(mode, n));
if (process.env.BENCH_VERBOSE) console.error(results.map((r) => r.ns.toFixed(0)).join(" "));
console.log(JSON.stringify({ mode, min: Math.min(...results.map((r) => r.ns)), median: median(results.map((r) => r.ns)), delivered: results.at(-1)?.delivered ?? 0 }));
