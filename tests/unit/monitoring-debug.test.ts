import { describe, expect, it } from "vitest";
import { type ActivationContext, Flow, MonitoringError, type Payload, Routine } from "../../lib";
import { Fn, sleep } from "../helpers/flows";
import { nextStop, pausedSession, registry } from "../helpers/monitoring";

/**
 * src(0) fans out to a(1) and b(1); a starts a chain a → a2(2) → a3(3).
 * Sequential breadth-first order: src, a, b, a2, a3.
 */
function fanOutAndChain(id: string, ran: string[] = []): Flow {
  const flow = new Flow(id);
  const step = (name: string, next?: string) =>
    new Fn((p, ctx) => {
      ran.push(name);
      if (next) ctx.emit(next, { from: name, n: ((p.n as number) ?? 0) + 1 });
    });
  flow.addRoutine(new Fn((_p, ctx) => { ran.push("src"); ctx.emit("left", { n: 0 }); ctx.emit("right", { n: 0 }); }), "src");
  flow.addRoutine(step("a", "next"), "a");
  flow.addRoutine(step("b"), "b");
  flow.addRoutine(step("a2", "next"), "a2");
  flow.addRoutine(step("a3"), "a3");
  flow.connect("src", "left", "a", "input");
  flow.connect("src", "right", "b", "input");
  flow.connect("a", "next", "a2", "input");
  flow.connect("a2", "next", "a3", "input");
  return flow;
}

function breakAt(flowId: string, routineId: string) {
  return registry().breakpointManager.setBreakpoint({ flow_id: flowId, routine_id: routineId });
}

describe("stepping (sequential, breadth-first)", () => {
  it("step_into stops at the very next activation, whatever its depth", async () => {
    const flow = fanOutAndChain("step-into");
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    expect(s.pausedAt).toMatchObject({ routine_id: "a", depth: 1 });
    const path: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      s.stepInto();
      path.push(await nextStop(job));
    }
    expect(path).toEqual(["b", "a2", "a3", null]);
    expect(job.status).toBe("completed");
  });

  it("step_over follows the item: a's child a2, then a3; from the end of the chain the job finishes", async () => {
    const ran: string[] = [];
    const flow = fanOutAndChain("step-over", ran);
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    s.stepOver();
    // b is not on the item's path: it runs without stopping.
    expect(await nextStop(job)).toBe("a2");
    expect(ran).toEqual(["src", "a", "b"]);
    expect(s.pausedAt?.description).toBe("Step over: next hop of the item that a emitted, at a2.input");
    s.stepOver();
    expect(await nextStop(job)).toBe("a3");
    s.stepOver(); // a3 passes nothing on and nothing waits on its path
    expect(await nextStop(job)).toBeNull();
    expect(job.status).toBe("completed");
    expect(s.toJSON().step_outcome).toBe("Step over from a3.input: the item ended at a3 (it passed nothing on); nothing else was waiting on its path, and the job completed");
  });

  it("step_over from a routine that passes nothing on goes to the next item of its parent", async () => {
    const flow = fanOutAndChain("step-over-sibling");
    const bpB = breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    registry().breakpointManager.removeBreakpoint(bpB.breakpoint_id);
    s.stepInto(); // → b (the next activation)
    expect(await nextStop(job)).toBe("b");
    s.stepOver(); // b emits nothing; src has nothing more waiting; a's line is not b's: the job ends
    expect(await nextStop(job)).toBeNull();
    expect(job.routineStates.a3?.activations).toBe(1);
  });

  it("step_out runs the whole subtree; in breadth-first order the parent's other items already ran, so the job ends", async () => {
    const flow = fanOutAndChain("step-out");
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    (await pausedSession(job)).stepOut();
    expect(await nextStop(job)).toBeNull();
    expect(job.routineStates.a3?.activations).toBe(1);
    expect(registry().debugSessionManager.getSession(job.jobId).toJSON().step_outcome).toBe(
      "Step out from a.input: its whole subtree ran (2 more activations); nothing else was waiting on its path, and the job completed",
    );
  });

  it("breakpoints hit on the way still stop a step", async () => {
    const flow = fanOutAndChain("step-bp");
    breakAt(flow.flowId, "a");
    const bp = breakAt(flow.flowId, "a3");
    const job = flow.start("src");
    const s = await pausedSession(job);
    s.stepOut(); // the subtree of a runs, but the breakpoint on a3 in it stops first
    expect(await nextStop(job)).toBe("a3");
    expect(s.pausedAt).toMatchObject({ reason: "breakpoint", breakpoint_id: bp.breakpoint_id, description: "Breakpoint on a3 (before the handler)", stop_number: 2 });
    s.continue();
    await job.done;
  });
});

describe("stepping where depths interleave (concurrent)", () => {
  /** src emits to a at once and to b 60 ms later: a(1) and a2(2) run before b(1). */
  function streaming(id: string): Flow {
    const flow = new Flow(id, { executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(new Fn(async (_p, ctx) => { ctx.emit("left", {}); await sleep(60); ctx.emit("right", {}); }), "src");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("next", {})), "a");
    flow.addRoutine(new Fn(() => {}), "a2");
    flow.addRoutine(new Fn(() => {}), "b");
    flow.connect("src", "left", "a", "input");
    flow.connect("src", "right", "b", "input");
    flow.connect("a", "next", "a2", "input");
    return flow;
  }

  it("step_into from a lands on its child a2; step_out from a2 lands on b (depth 1 < 2)", async () => {
    const flow = streaming("conc-into-out");
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    s.stepInto();
    expect(await nextStop(job)).toBe("a2");
    expect(s.pausedAt?.depth).toBe(2);
    s.stepOut();
    expect(await nextStop(job)).toBe("b");
    expect(s.pausedAt?.depth).toBe(1);
    s.continue();
    await job.done;
    expect(job.status).toBe("completed");
  });

  it("step_over from a lands on its child a2; from a2 (nothing passed on) on the next item of src, b", async () => {
    const flow = streaming("conc-over");
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    s.stepOver();
    expect(await nextStop(job)).toBe("a2");
    s.stepOver();
    // a2 and a are done; src is still running and sends b: the nearest open branch.
    expect(await nextStop(job)).toBe("b");
    expect(s.pausedAt?.description).toBe("Step over: a2 passed nothing more on; next item from src, at b.input");
    s.continue();
    await job.done;
  });
});

describe("variables, call stack and evaluate while paused", () => {
  class Emitter extends Routine {
    constructor() {
      super();
      this.defineSlot("trigger", this.run);
    }
    run(_p: Payload, ctx: ActivationContext): void {
      ctx.shared.counter = 5;
      this.emit("out", { items: [{ price: 1 }, { price: 2 }], tag: "orig" });
    }
  }

  it("setting a local variable changes what the handler receives; shared changes the job's data", async () => {
    const received: Payload[] = [];
    const flow = new Flow("vars");
    flow.addRoutine(new Emitter(), "src");
    flow.addRoutine(new Fn((p, ctx) => { received.push(structuredClone(p)); ctx.emit("next", {}); }), "mid");
    flow.addRoutine(new Fn(() => {}), "leaf");
    flow.connect("src", "out", "mid", "input");
    flow.connect("mid", "next", "leaf", "input");
    breakAt(flow.flowId, "mid");
    const job = flow.start("src");
    const s = await pausedSession(job);
    expect(job.status).toBe("paused");
    const vars = s.getVariables();
    expect(vars).toMatchObject({ routine_id: "mid", slot_name: "input", variables: { local: { tag: "orig" }, shared: { counter: 5 } } });
    expect(s.setVariable("items.0.price", 10)).toEqual({ variable: "items.0.price", value: 10, scope: "local" });
    s.setVariable("tag", "edited");
    s.setVariable("counter", 10, "shared");
    s.setVariable("nested.deep", true, "shared");
    expect(() => s.setVariable("__proto__.polluted", 1)).toThrow(/not allowed/);
    expect(s.evaluate("items[0]['price'] + len(items)").result).toBe(12);
    expect(s.evaluate("shared['counter'] * 2").result).toBe(20);
    expect(() => s.evaluate("items[")).toThrow(MonitoringError);
    s.stepInto();
    expect(await nextStop(job)).toBe("leaf");
    const stack = s.getCallStack().frames;
    expect(stack.map((f) => [f.routine_id, f.depth, f.event_name])).toEqual([
      ["leaf", 2, "next"],
      ["mid", 1, "out"],
      ["src", 0, null],
    ]);
    // Lines of the emit calls, where they were captured (the debugger was active by then).
    expect(stack[1]?.line).toEqual(expect.any(Number));
    s.continue();
    await job.done;
    expect(received).toEqual([{ items: [{ price: 10 }, { price: 2 }], tag: "edited" }]);
    expect(job.shared).toEqual({ counter: 10, nested: { deep: true } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("commands on a job that is not paused fail clearly", async () => {
    const flow = new Flow("not-paused");
    flow.addRoutine(new Fn(() => {}), "r");
    const job = await flow.execute("r");
    const s = registry().debugSessionManager.getSession(job.jobId);
    for (const cmd of [() => s.continue(), () => s.stepOver(), () => s.getVariables(), () => s.getCallStack(), () => s.setVariable("x", 1), () => s.evaluate("1")]) {
      expect(cmd).toThrow(/is not paused/);
    }
    expect(() => registry().debugSessionManager.getSession("job_nope")).toThrow(/not found/);
    expect(() => s.pause()).toThrow(/already finished/);
  });

  it("pause stops the job at the next activation, with its payload readable", async () => {
    const flow = new Flow("user-pause");
    flow.addRoutine(new Fn(async (_p, ctx) => { await sleep(20); ctx.emit("out", { k: 1 }); }), "slow");
    flow.addRoutine(new Fn(() => {}), "next");
    flow.connect("slow", "out", "next", "input");
    const job = flow.start("slow");
    const s = registry().debugSessionManager.getSession(job.jobId);
    s.pause();
    expect(await nextStop(job)).toBe("slow");
    expect(s.pausedAt?.reason).toBe("pause");
    s.stepInto();
    expect(await nextStop(job)).toBe("next");
    expect(s.getVariables().variables.local).toEqual({ k: 1 });
    s.continue();
    await job.done;
    expect(job.status).toBe("completed");
  });
});

describe("isolation", () => {
  it("with a breakpoint holding job A, job B of the same flow completes; A then completes with exactly the expected activations", async () => {
    const ran: Record<string, string[]> = {};
    const flow = new Flow("isolation");
    flow.addRoutine(new Fn((p, ctx) => { for (let i = 0; i < 3; i++) ctx.emit("out", { i, who: p.who }); }), "src");
    flow.addRoutine(new Fn((p, ctx) => { ran[ctx.jobId] = [...(ran[ctx.jobId] ?? []), `${p.who}${p.i}`]; }), "work");
    flow.connect("src", "out", "work", "input");
    const a = flow.start("src", { who: "A" });
    registry().breakpointManager.setBreakpoint({ job_id: a.jobId, routine_id: "work", condition: "i == 1" });
    const b = flow.start("src", { who: "B" });
    const s = await pausedSession(a);
    await b.done;
    expect(b.status).toBe("completed");
    expect(ran[b.jobId]).toEqual(["B0", "B1", "B2"]);
    expect(a.status).toBe("paused");
    expect(ran[a.jobId]).toEqual(["A0"]);
    const trace = registry().monitorCollector.getExecutionTrace(a.jobId).map((e) => e.event_type);
    expect(trace).toContain("breakpoint_hit");
    expect(trace.at(-1)).toBe("job_paused");
    s.continue();
    await a.done;
    expect(a.status).toBe("completed");
    expect(ran[a.jobId]).toEqual(["A0", "A1", "A2"]);
    expect(registry().monitorCollector.getMetrics(a.jobId)?.routine_metrics.work?.execution_count).toBe(3);
    const after = registry().monitorCollector.getExecutionTrace(a.jobId).map((e) => e.event_type);
    expect(after.filter((t) => t === "job_resumed")).toHaveLength(1);
    expect(after.at(-1)).toBe("job_completed");
  });

  it("cancelling a paused job releases it and nothing else runs", async () => {
    const ran: string[] = [];
    const flow = new Flow("cancel-paused");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", {}); ctx.emit("out", {}); }), "src");
    flow.addRoutine(new Fn(() => { ran.push("work"); }), "work");
    flow.connect("src", "out", "work", "input");
    breakAt(flow.flowId, "work");
    const job = flow.start("src");
    const s = await pausedSession(job);
    job.cancel("stop debugging");
    await job.done;
    await sleep(10);
    expect(job.status).toBe("cancelled");
    expect(ran).toEqual([]);
    expect(s.status).toBe("ended"); // a finished job's session says so, whatever it last did
    expect(s.pausedAt).toBeNull();
    // The trace ends with the cancellation: the held activation never started.
    const types = registry().monitorCollector.getExecutionTrace(job.jobId).map((e) => e.event_type);
    expect(types.at(-1)).toBe("job_cancelled");
    expect(types.filter((t) => t === "routine_start")).toEqual(["routine_start"]); // src only
  });

  it("cancelling a job stopped at an emit or after an error: nothing is recorded after job_cancelled", async () => {
    for (const kind of ["event", "error"] as const) {
      const flow = new Flow(`cancel-${kind}`);
      flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { v: 1 })), "src");
      flow.addRoutine(
        new Fn(() => {
          throw new RangeError("nope");
        }),
        "bad",
      );
      flow.connect("src", "out", "bad", "input");
      registry().breakpointManager.setBreakpoint(kind === "event" ? { flow_id: flow.flowId, type: "event", routine_id: "src", event_name: "out" } : { flow_id: flow.flowId, type: "error", routine_id: "bad" });
      const job = flow.start("src");
      const s = await pausedSession(job);
      expect(s.pausedAt?.kind).toBe(kind === "event" ? "emit" : "error");
      job.cancel("stop debugging");
      await job.done;
      await sleep(10);
      const types = registry().monitorCollector.getExecutionTrace(job.jobId).map((e) => e.event_type);
      expect(types.at(-1), `${kind}: ${types.join(", ")}`).toBe("job_cancelled");
    }
  });
});

describe("timing while paused", () => {
  it("a handler's duration and start time exclude the time the debugger held it", async () => {
    const flow = fanOutAndChain("pause-time");
    breakAt(flow.flowId, "a");
    const job = flow.start("src");
    const s = await pausedSession(job);
    const heldAt = Date.now();
    await sleep(300); // the user reads the variables
    s.continue();
    await job.done;
    const trace = registry().monitorCollector.getExecutionTrace(job.jobId);
    const start = trace.find((e) => e.event_type === "routine_start" && e.routine_id === "a");
    const complete = trace.find((e) => e.event_type === "routine_complete" && e.routine_id === "a");
    // The handler itself is trivial: its duration cannot include the 300 ms hold, and it
    // started when it was released, not when it was stopped.
    expect(complete?.duration).toBeLessThan(250);
    expect(Date.parse(start?.timestamp ?? "")).toBeGreaterThanOrEqual(heldAt + 250);
  });
});
