/**
 * How a server holds up while something hostile runs against it: `/api/health` is polled every
 * 50 ms for the whole scenario, recording each answer's latency and the event-loop delay the
 * server reports (p99 and max over its last window). Targets: loop max < 100 ms, health p99 < 100 ms.
 */
import type { Health } from "../../lib/wire/model";

export interface LoopFigures {
  /** Health answers received while the scenario ran. */
  polls: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
  /** The worst p99 and max event-loop delay the server reported during the scenario. */
  loopP99Ms: number;
  loopMaxMs: number;
}

const percentile = (sorted: number[], p: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number));

/** Runs `scenario` while polling `${baseUrl}/api/health`; the polling ends one window after it. */
export async function underProbe(baseUrl: string, scenario: () => Promise<void>, options: { settleMs?: number } = {}): Promise<LoopFigures> {
  const latencies: number[] = [];
  let loopP99 = 0;
  let loopMax = 0;
  let running = true;
  const poll = async (): Promise<void> => {
    while (running) {
      const t0 = performance.now();
      try {
        const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as Health;
        latencies.push(performance.now() - t0);
        loopP99 = Math.max(loopP99, health.event_loop.p99_ms);
        loopMax = Math.max(loopMax, health.event_loop.max_ms);
      } catch {
        latencies.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // Start from a quiet server: the first requests after a start compile routes and warm caches.
  for (let i = 0; i < 50; i++) {
    const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as Health;
    if (health.event_loop.max_ms < 50) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const poller = poll();
  try {
    await scenario();
    // A stall at the very end is reported by the next window.
    await new Promise((r) => setTimeout(r, options.settleMs ?? 1_100));
  } finally {
    running = false;
    await poller;
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return { polls: sorted.length, healthP50Ms: percentile(sorted, 50), healthP99Ms: percentile(sorted, 99), healthMaxMs: sorted.at(-1) ?? 0, loopP99Ms: loopP99, loopMaxMs: loopMax };
}

/** One line of figures against the targets (loop max < 100 ms, health p99 < 100 ms). */
export function describeLoop(what: string, f: LoopFigures): string {
  const ok = f.loopMaxMs < 100 && f.healthP99Ms < 100;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  return `${what}: event loop p99 ${ms(f.loopP99Ms)}, max ${ms(f.loopMaxMs)}; /api/health p50 ${ms(f.healthP50Ms)}, p99 ${ms(f.healthP99Ms)}, max ${ms(f.healthMaxMs)} (${f.polls} polls); target loop max < 100 ms and health p99 < 100 ms ${ok ? "OK" : "MISSED"}`;
}
