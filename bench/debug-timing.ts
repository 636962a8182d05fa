/**
 * Do routine timings stay honest while a job is debugged? The same chain of routines that each
 * spin for a fixed time runs free, debugged (a breakpoint applies to the job, so emit lines are
 * captured and every activation is checked) and stepped through (a step over at every stop);
 * the per-routine average durations from the job's metrics are compared. Target: within 20%.
 */
import { type ActivationContext, Flow, MonitoringRegistry, type Payload, Routine } from "../lib";
import { median } from "./engine-chain";

const STEPS = 6;
const WORK_MS = 0.2;
const JOBS = 15;

class Spin extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (p: Payload, ctx: ActivationContext) => {
      const end = performance.now() + WORK_MS;
      while (performance.now() < end) {
        // a fixed amount of the routine's own work
      }
      ctx.emit("output", p);
    });
    this.defineEvent("output");
  }
}

function chain(id: string): Flow {
  const flow = new Flow(id);
  for (let i = 0; i < STEPS; i++) {
    flow.addRoutine(new Spin(), `s${i}`);
    if (i > 0) flow.connect(`s${i - 1}`, "output", `s${i}`, "input");
  }
  return flow;
}

const reg = (): MonitoringRegistry => MonitoringRegistry.getInstance();

/** Median over jobs of the mean per-activation duration (ms) the job's metrics report. */
async function run(mode: "free" | "debugged" | "stepped"): Promise<number> {
  const flow = chain(`debug-timing-${mode}`);
  if (mode === "debugged") {
    // Applies to every job (so they are debugged) but never stops.
    reg().breakpointManager.setBreakpoint({ flow_id: flow.flowId, routine_id: "s0", condition: "False" });
  }
  const means: number[] = [];
  for (let j = 0; j < JOBS; j++) {
    const job = flow.start("s0", { j, items: [1, 2, 3] }, { entrySlot: "input" });
    if (mode === "stepped") {
      const s = reg().debugSessionManager.getSession(job.jobId);
      s.pause("entry");
      while (!job.isFinished) {
        await new Promise((r) => setTimeout(r, 1));
        if (s.status === "paused") s.stepOver();
      }
    }
    await job.done;
    const m = reg().monitorCollector.getMetrics(job.jobId);
    const rows = Object.values(m?.routine_metrics ?? {});
    const total = rows.reduce((a, r) => a + r.duration_ms, 0);
    const count = rows.reduce((a, r) => a + r.execution_count, 0);
    if (j > 2) means.push(total / count); // the first jobs warm the JIT up
    reg().jobStore.remove(job.jobId);
  }
  return median(means);
}

export async function debugTimingBench(): Promise<void> {
  MonitoringRegistry.enable();
  console.log(`\n## Routine timings while debugging: a chain of ${STEPS} routines of ${WORK_MS} ms work each, ${JOBS} jobs per mode`);
  const free = await run("free");
  const debugged = await run("debugged");
  const stepped = await run("stepped");
  const verdict = (r: number): string => (r <= 1.2 && r >= 1 / 1.2 ? "OK" : "MISSED");
  console.log(`mean activation duration: free ${free.toFixed(3)} ms, debugged ${debugged.toFixed(3)} ms, stepped ${stepped.toFixed(3)} ms`);
  console.log(`debugged / free: ${(debugged / free).toFixed(2)} (target within 20%) ${verdict(debugged / free)}`);
  console.log(`stepped / free:  ${(stepped / free).toFixed(2)} (target within 20%) ${verdict(stepped / free)}`);
}
