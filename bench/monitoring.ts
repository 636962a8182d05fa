import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MonitoringRegistry } from "../lib";
import { loopFlow, measureJob, median } from "./engine-chain";
import type { Mode } from "./monitoring-mode";

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const worker = fileURLToPath(new URL("./monitoring-mode.ts", import.meta.url));

function measure(mode: Mode, n: number): { ns: number; delivered: number } {
  const out = execFileSync(process.execPath, ["--import", "tsx", worker, mode, String(n), "5"], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as { ns: number; delivered: number };
}

export async function monitoringBench(): Promise<void> {
  const n = 200_000;
  const rounds = 3;
  console.log(`\n## Monitoring overhead: the chain workload (N = ${fmt(n)}), each mode in its own process, ${rounds} interleaved rounds × median of 5 runs`);
  const modes: Mode[] = ["no hooks", "disabled", "enabled", "enabled + subscriber"];
  const samples = new Map<Mode, number[]>(modes.map((m) => [m, []]));
  let delivered = 0;
  for (let round = 0; round < rounds; round++) {
    for (const m of modes) {
      const r = measure(m, n);
      samples.get(m)?.push(r.ns);
      if (m === "enabled + subscriber") delivered = r.delivered;
    }
  }
  const med = (m: Mode): number => median(samples.get(m) ?? []);
  for (const m of modes) console.log(`${m.padEnd(22)} ${med(m).toFixed(0).padStart(5)} ns/activation  (${fmt(1e9 / med(m))} activations/s)  runs: ${(samples.get(m) ?? []).map((x) => x.toFixed(0)).join(", ")}`);
  const disabledRatio = med("disabled") / med("no hooks");
  const enabledRatio = med("enabled") / med("disabled");
  const subRatio = med("enabled + subscriber") / med("disabled");
  console.log(`disabled / no hooks:             ${disabledRatio.toFixed(3)} (target ≤ 1.05) ${disabledRatio <= 1.05 ? "OK" : "MISSED"}`);
  console.log(`enabled / disabled:              ${enabledRatio.toFixed(2)} (target ≤ 2.00) ${enabledRatio <= 2 ? "OK" : "MISSED"}`);
  console.log(`enabled + subscriber / disabled: ${subRatio.toFixed(2)} (the subscriber drained ${fmt(delivered)} events in its last run)`);

  console.log("\n## Monitoring memory: 1,000,000 activations with monitoring on");
  MonitoringRegistry.enable();
  const registry = MonitoringRegistry.getInstance();
  const r = await measureJob(loopFlow(), "loop", { left: 1_000_000 }, 1_000_001, { entrySlot: "input", gcFirst: true });
  const [job] = registry.jobStore.list({ flowId: "loop", limit: 1 }).jobs;
  const m = job ? registry.monitorCollector.getMetrics(job.jobId) : null;
  console.log(
    `self-loop job: ${fmt(r.perSec)} activations/s; heap ${r.baseHeapMB.toFixed(1)} → peak ${r.peakHeapMB.toFixed(1)} → after ${r.afterHeapMB.toFixed(1)} MB; events recorded ${fmt(m?.total_events ?? 0)}, retained ${fmt(m?.retained_events ?? 0)} (ring buffer ${registry.monitorCollector.getMaxEventsPerJob()})`,
  );
  if (job) registry.jobStore.remove(job.jobId);
  MonitoringRegistry.disable();
}
