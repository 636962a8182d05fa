import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./engine-chain";
import type { PersistenceMode } from "./persistence-mode";

const worker = fileURLToPath(new URL("./persistence-mode.ts", import.meta.url));

interface Sample {
  min: number;
  median: number;
}

function measure(mode: PersistenceMode, n: number, runs: number): Sample {
  const out = execFileSync(process.execPath, ["--import", "tsx", worker, mode, String(n), String(runs)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Sample;
}

/** Durable history (SQLite, WAL, one transaction per tick) on vs off, monitoring on in both. */
export async function persistenceBench(): Promise<void> {
  const n = 200_000;
  const rounds = 3;
  const runs = 5;
  console.log(`\n## Durable history: the chain workload (N = ${n.toLocaleString("en-US")}), monitoring ON in both modes, history in a SQLite file on vs off; each mode in its own process, ${rounds} interleaved rounds of ${runs} runs`);
  const modes: PersistenceMode[] = ["off", "on"];
  const samples = new Map<PersistenceMode, Sample[]>(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) for (const m of modes) samples.get(m)?.push(measure(m, n, runs));
  const best = (m: PersistenceMode): number => Math.min(...(samples.get(m) ?? []).map((s) => s.min));
  const med = (m: PersistenceMode): number => median((samples.get(m) ?? []).map((s) => s.median));
  console.log("history   best ns/act  median ns/act");
  for (const m of modes) console.log(`${m.padEnd(8)} ${best(m).toFixed(0).padStart(12)}  ${med(m).toFixed(0).padStart(13)}`);
  const ratio = best("on") / best("off");
  // The verdict uses the best runs: timing noise only ever adds time.
  console.log(`history on / off: ${ratio.toFixed(2)} best, ${(med("on") / med("off")).toFixed(2)} median (target ≤ 1.30) ${ratio <= 1.3 ? "OK" : "MISSED"}`);
}
