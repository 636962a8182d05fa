/**
 * Numbers a user can trust: a retry's backoff is a wait, not part of its duration; a cancel marks
 * the interrupted routine `cancelled` and closes its trace entry; call-stack lines are real source
 * lines of the user's emits, or null.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ActivationContext, ErrorHandler, Flow, type Payload, Routine } from "../../lib";
import { Fn, sleep, waitFor } from "../helpers/flows";
import { nextStop, pausedSession, registry } from "../helpers/monitoring";

describe("retry backoff is a wait, not a duration", () => {
  it("the retried attempt's duration and start exclude the backoff", async () => {
    const flow = new Flow("retry-wait");
    let calls = 0;
    const flaky = new Fn(() => {
      if (++calls === 1) throw new Error("once");
    });
    flaky.setErrorHandler(new ErrorHandler("retry", { maxRetries: 1, retryDelay: 1, retryBackoff: 1 }));
    flow.addRoutine(flaky, "flaky");
    registry();
    const job = await flow.execute("flaky", {});
    expect(job.status).toBe("completed");
    const trace = registry().monitorCollector.getExecutionTrace(job.jobId);
    const error = trace.find((e) => e.event_type === "routine_error");
    const starts = trace.filter((e) => e.event_type === "routine_start");
    const complete = trace.find((e) => e.event_type === "routine_complete");
    expect(starts.map((s) => s.data.attempt)).toEqual([0, 1]);
    const waited = Date.parse(starts[1]?.timestamp ?? "") - Date.parse(error?.timestamp ?? "");
    expect(waited).toBeGreaterThanOrEqual(990);
    // The second attempt ran after the wait: its duration is its own, far below the wait.
    expect(complete?.duration).toBeLessThan(waited);
    const m = registry().monitorCollector.getMetrics(job.jobId)?.routine_metrics.flaky;
    expect(m?.max_duration_ms).toBeLessThan(waited);
  });
});

describe("a cancel during a running routine", () => {
  it("marks it cancelled (no error) and closes its trace entry before the job's end", async () => {
    const flow = new Flow("cancel-running");
    flow.addRoutine(new Fn(async (_p, ctx) => { await sleep(5_000); ctx.emit("never", {}); }), "slow");
    registry();
    const job = flow.start("slow", {});
    await waitFor(() => job.routineStates.slow?.status === "running");
    await sleep(20);
    job.cancel("the user stopped it");
    await job.done;
    expect(job.status).toBe("cancelled");
    expect(job.routineStates.slow).toMatchObject({ status: "cancelled", errors: 0 });
    const trace = registry().monitorCollector.getExecutionTrace(job.jobId);
    const types = trace.map((e) => `${e.event_type}:${e.status ?? ""}`);
    expect(types.slice(-2)).toEqual(["routine_complete:cancelled", "job_cancelled:cancelled"]);
    const closed = trace.at(-2);
    expect(closed).toMatchObject({ routine_id: "slow", data: { interrupted: true, reason: "the user stopped it" } });
    expect(closed?.duration).toBeGreaterThanOrEqual(15);
  });
});

const SOURCE = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
/** The 1-based line of the source holding `marker`. */
const lineOf = (marker: string): number => SOURCE.findIndex((l) => l.includes(marker) && !l.includes("lineOf(")) + 1;

class Emitter extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", (p: Payload, ctx: ActivationContext) => {
      ctx.emit("out", { n: p.n }); // emit-line: ctx
    });
    this.defineSlot("again", (p: Payload) => {
      this.emit("out", { n: p.n }); // emit-line: this
    });
    this.defineEvent("out");
  }
}

describe("call-stack lines", () => {
  it("are the source lines of the user's emits (ctx.emit and this.emit), null where there is no emit", async () => {
    const flow = new Flow("lines");
    flow.addRoutine(new Emitter(), "first");
    flow.addRoutine(new Emitter(), "second");
    flow.addRoutine(new Fn(() => {}), "last");
    flow.connect("first", "out", "second", "again");
    flow.connect("second", "out", "last", "input");
    registry().breakpointManager.setBreakpoint({ flow_id: "lines", routine_id: "last" });
    const job = flow.start("first", { n: 1 });
    const s = await pausedSession(job);
    const frames = s.getCallStack().frames;
    expect(frames.map((f) => f.routine_id)).toEqual(["last", "second", "first"]);
    expect(frames.map((f) => f.line)).toEqual([null, lineOf("emit-line: this"), lineOf("emit-line: ctx")]);
    s.continue();
    await job.done;
  });

  it("are null for the engine's own routine types (no user code emitted)", async () => {
    const flow = Flow.fromDSL({ flow_id: "lines-builtin", routines: { a: { class: "passthrough" }, b: { class: "passthrough" } }, connections: [{ from: "a.output", to: "b.input" }] });
    registry().breakpointManager.setBreakpoint({ flow_id: "lines-builtin", routine_id: "b" });
    const job = flow.start("a", {}, { entrySlot: "input" });
    const s = await pausedSession(job);
    expect(s.getCallStack().frames.map((f) => [f.routine_id, f.line])).toEqual([
      ["b", null],
      ["a", null],
    ]);
    s.continue();
    await job.done;
    expect(await nextStop(job)).toBeNull();
  });
});
