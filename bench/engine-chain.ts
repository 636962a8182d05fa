import { type ActivationContext, type ExecutionHooks, Flow, type Payload, Routine } from "../lib";

/** Emits `n` payloads into the chain, all at once (the queue holds them all). */
class Source extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", (p: Payload, ctx: ActivationContext) => {
      const n = p.n as number;
      for (let i = 0; i < n; i++) ctx.emit("out", { i });
    });
  }
}

/** Pass-through via `ctx.emit`. */
class Pass extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (p: Payload, ctx: ActivationContext) => ctx.emit("out", p));
    this.defineEvent("out");
  }
}

/** Pass-through via `this.emit` (the AsyncLocalStorage path). */
class ThisPass extends Routine {
  constructor() {
    super();
    this.defineSlot("input", this.handle);
  }
  handle(p: Payload): void {
    this.emit("out", p);
  }
}

/** The workload: src → p1 → p2 → p3, sequential. */
export function chainFlow(id = "chain"): Flow {
  const flow = new Flow(id);
  flow.addRoutine(new Source(), "src");
  flow.addRoutine(new Pass(), "p1");
  flow.addRoutine(new ThisPass(), "p2");
  flow.addRoutine(new Pass(), "p3");
  flow.connect("src", "out", "p1", "input");
  flow.connect("p1", "out", "p2", "input");
  flow.connect("p2", "out", "p3", "input");
  return flow;
}

/** A routine feeding itself `n` times: a long job whose queue never holds more than one activation. */
export function loopFlow(): Flow {
  const flow = new Flow("loop");
  class Loop extends Routine {
    constructor() {
      super();
      this.defineSlot("input", (p: Payload, ctx: ActivationContext) => {
        const left = p.left as number;
        if (left > 0) ctx.emit("again", { left: left - 1 });
      });
    }
  }
  flow.addRoutine(new Loop(), "loop");
  flow.connect("loop", "again", "loop", "input");
  return flow;
}

export interface RunResult {
  activations: number;
  ms: number;
  perSec: number;
  nsPerActivation: number;
  baseHeapMB: number;
  peakHeapMB: number;
  afterHeapMB: number;
  peakRssMB: number;
}

const MB = 2 ** 20;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface MeasureOptions {
  entrySlot?: string;
  hooks?: ExecutionHooks | null;
  /**
   * Collect garbage before the run, for memory figures. Timing runs skip it: a forced full GC
   * shrinks the young generation, and the next short run pays for growing it back.
   */
  gcFirst?: boolean;
}

/** Runs one job to completion, sampling memory every 5 ms (the sampler runs when the job yields). */
export async function measureJob(flow: Flow, entry: string, params: Payload, activations: number, options: MeasureOptions = {}): Promise<RunResult> {
  const { entrySlot = "trigger", hooks, gcFirst = false } = options;
  if (gcFirst) gc();
  const base = process.memoryUsage();
  let peakHeap = base.heapUsed;
  let peakRss = base.rss;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.rss > peakRss) peakRss = m.rss;
  }, 5);
  const t0 = performance.now();
  const job = await flow.execute(entry, params, hooks === undefined ? { entrySlot } : { entrySlot, hooks });
  const ms = performance.now() - t0;
  clearInterval(sampler);
  if (job.status !== "completed") throw new Error(`bench job ended ${job.status}: ${job.error?.message}`);
  const end = process.memoryUsage();
  peakHeap = Math.max(peakHeap, end.heapUsed);
  if (gcFirst) gc();
  const after = process.memoryUsage().heapUsed;
  return {
    activations,
    ms,
    perSec: (activations / ms) * 1000,
    nsPerActivation: (ms * 1e6) / activations,
    baseHeapMB: base.heapUsed / MB,
    peakHeapMB: peakHeap / MB,
    afterHeapMB: after / MB,
    peakRssMB: peakRss / MB,
  };
}

export function runChain(n: number, options: MeasureOptions = {}): Promise<RunResult> {
  return measureJob(chainFlow(), "src", { n }, 1 + 3 * n, options);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
