/**
 * Time travel (docs/time-travel.md): what recording full payloads and shared data costs the chain
 * workload (on vs off, interleaved in one process), a fork's start to its first activation, and
 * the state at a seq per step when scrubbing a 10,000-event job (server side: Runtime.jobStateAt
 * with its answer serialised, history in SQLite).
 */
import { type ActivationContext, DEFAULT_PAYLOAD_BUDGET_BYTES, Flow, MonitoringRegistry, type Payload, Routine, Runtime } from "../lib";
import { chainFlow, median } from "./engine-chain";

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const pct = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

/** The chain with a routine that writes the shared data on every activation (so changes are recorded). */
class SharedSource extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", (p: Payload, ctx: ActivationContext) => {
      const n = p.n as number;
      for (let i = 0; i < n; i++) ctx.emit("out", { i });
    });
  }
}
class SharedPass extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (p: Payload, ctx: ActivationContext) => {
      ctx.shared.last = p.i;
      ctx.emit("out", p);
    });
    this.defineEvent("out");
  }
}
function sharedChain(): Flow {
  const flow = new Flow("shared_chain");
  flow.addRoutine(new SharedSource(), "src");
  flow.addRoutine(new SharedPass(), "p1");
  flow.addRoutine(new SharedPass(), "p2");
  flow.addRoutine(new SharedPass(), "p3");
  flow.connect("src", "out", "p1", "input");
  flow.connect("p1", "out", "p2", "input");
  flow.connect("p2", "out", "p3", "input");
  return flow;
}

async function runOnce(flow: Flow, n: number, record: boolean): Promise<number> {
  const registry = MonitoringRegistry.getInstance();
  const collector = registry.monitorCollector;
  collector.setPayloadBudget(record ? DEFAULT_PAYLOAD_BUDGET_BYTES : 0);
  collector.recordSharedData = record;
  const t0 = performance.now();
  const job = await flow.execute("src", { n });
  const ms = performance.now() - t0;
  if (job.status !== "completed") throw new Error(`bench job ended ${job.status}`);
  registry.jobStore.remove(job.jobId);
  return (ms * 1e6) / (1 + 3 * n);
}

async function onVersusOff(flow: () => Flow, n: number): Promise<{ on: number[]; off: number[]; paired: number }> {
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < 2; i++) {
    await runOnce(flow(), n, true);
    await runOnce(flow(), n, false);
  }
  // ABBA: whichever runs first after the other pays for its garbage; alternating cancels it.
  for (let i = 0; i < 16; i++) {
    if (i % 2 === 0) {
      on.push(await runOnce(flow(), n, true));
      off.push(await runOnce(flow(), n, false));
    } else {
      off.push(await runOnce(flow(), n, false));
      on.push(await runOnce(flow(), n, true));
    }
  }
  return { on, off, paired: median(on.map((v, i) => v / (off[i] as number))) };
}

/** b records when its handler first runs, so a fork from b's start can be timed to it. */
let firstRun = 0;
class Loop extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (p: Payload, ctx: ActivationContext) => {
      if (firstRun === 0) firstRun = performance.now();
      ctx.shared.left = p.left;
      const left = p.left as number;
      if (left > 0) ctx.emit("again", { left: left - 1 });
    });
  }
}
function loopFlow(): Flow {
  const flow = new Flow("tt_loop");
  flow.addRoutine(new Loop(), "loop");
  flow.connect("loop", "again", "loop", "input");
  return flow;
}

export async function timetravelBench(): Promise<void> {
  const n = 100_000;
  console.log(`\n## Time travel: recording full payloads + shared data, on vs off (chain, N = ${fmt(n)}, monitoring on, one process, 16 interleaved pairs)`);
  MonitoringRegistry.enable();
  const collector = MonitoringRegistry.getInstance().monitorCollector;
  const budget = collector.getPayloadBudget();
  try {
    for (const [name, flow] of [
      ["chain (no shared data)", chainFlow],
      ["chain writing shared data every activation", sharedChain],
    ] as const) {
      const r = await onVersusOff(flow, n);
      const best = Math.min(...r.on) / Math.min(...r.off);
      console.log(
        `${name}: on ${Math.min(...r.on).toFixed(0)} ns/act best, ${median(r.on).toFixed(0)} median; off ${Math.min(...r.off).toFixed(0)} best, ${median(r.off).toFixed(0)} median; on/off ${r.paired.toFixed(2)} median of pair ratios, ${best.toFixed(2)} best (target ≤ 1.30) ${r.paired <= 1.3 ? "OK" : "MISSED"}`,
      );
    }
  } finally {
    collector.setPayloadBudget(budget);
    collector.recordSharedData = true;
  }

  // Server side: a runtime with history in SQLite, as `npm start` runs it.
  const runtime = new Runtime({ flows: [loopFlow()], maxEventsPerJob: 20_000, persistence: { path: ":memory:", retentionJobs: 100 } });
  try {
    const started = runtime.startJob({ flow_id: "tt_loop", entry_routine_id: "loop", entry_slot: "input", entry_params: { left: 3332 } });
    await started.done;
    // Its history written (payloads leave memory: the state's inputs are read from SQLite then).
    runtime.persistence?.flush();
    const id = started.jobId;
    const last = runtime.jobSnapshot(id).last_seq;
    console.log(`\n## Time travel: state at a seq, scrubbing a ${fmt(last)}-event job step by step (Runtime.jobStateAt + JSON of the answer; history in SQLite)`);
    let t0 = performance.now();
    JSON.stringify(runtime.jobStateAt(id, last));
    const cold = performance.now() - t0;
    const steps: number[] = [];
    for (let seq = 1; seq <= last; seq++) {
      t0 = performance.now();
      JSON.stringify(runtime.jobStateAt(id, seq));
      steps.push(performance.now() - t0);
    }
    const back: number[] = [];
    for (let seq = last; seq >= 1; seq -= 7) {
      t0 = performance.now();
      JSON.stringify(runtime.jobStateAt(id, seq));
      back.push(performance.now() - t0);
    }
    console.log(`first call (reads and folds all ${fmt(last)} events, checkpoints): ${cold.toFixed(1)} ms`);
    console.log(
      `per step forward: median ${median(steps).toFixed(3)} ms, p95 ${pct(steps, 95).toFixed(3)} ms, max ${Math.max(...steps).toFixed(2)} ms; backward (every 7th): median ${median(back).toFixed(3)} ms, p95 ${pct(back, 95).toFixed(3)} ms (target < 50 ms) ${pct(steps, 95) < 50 && pct(back, 95) < 50 ? "OK" : "MISSED"}`,
    );

    console.log("\n## Time travel: fork start to its first activation (Runtime.forkJob → the forked handler runs; committed to history before it returns)");
    const trace = runtime.monitoring.monitorCollector.getExecutionTrace(id);
    const starts = trace.filter((e) => e.event_type === "routine_start").map((e) => e.seq);
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const seq = starts[starts.length - 1 - i] as number;
      firstRun = 0;
      t0 = performance.now();
      const { job } = runtime.forkJob(id, { from_seq: seq });
      await new Promise<void>((resolve) => {
        const poll = (): void => (firstRun !== 0 ? resolve() : void setImmediate(poll));
        poll();
      });
      times.push(firstRun - t0);
      await job.done;
    }
    console.log(`forks of the ${fmt(last)}-event job (its fold cached): median ${median(times).toFixed(2)} ms, p95 ${pct(times, 95).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms (target < 50 ms) ${pct(times, 95) < 50 ? "OK" : "MISSED"}`);
    runtime.stateAtCache.drop(id);
    firstRun = 0;
    t0 = performance.now();
    const { job } = runtime.forkJob(id, { from_seq: starts[starts.length - 1] as number });
    await new Promise<void>((resolve) => {
      const poll = (): void => (firstRun !== 0 ? resolve() : void setImmediate(poll));
      poll();
    });
    console.log(`first fork of it (fold not cached: reads and folds its events first): ${(firstRun - t0).toFixed(2)} ms`);
    await job.done;
  } finally {
    runtime.close();
    MonitoringRegistry.disable();
  }
}
