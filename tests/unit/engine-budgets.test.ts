/**
 * Per-job budgets: a job that queues, runs or holds too much fails on its own with an error naming
 * the budget, its limit and the routine, while another job in the same process completes.
 */
import { describe, expect, it } from "vitest";
import { BudgetExceededError, DEFAULT_JOB_BUDGETS, DslError, estimatePayloadBytes, Flow, type FlowOptions, FlowDefinitionError, type Job, Passthrough } from "../../lib";
import { Fn, MULTIPLYING_CYCLE_DSL } from "../helpers/flows";

/** The drill's flow: a → b, a → c, b → a, c → a (every lap doubles what is queued). */
function multiplying(options: FlowOptions = {}, id = "multiplying"): Flow {
  const flow = new Flow(id, options);
  for (const r of ["a", "b", "c"]) flow.addRoutine(new Passthrough(), r);
  flow.connect("a", "output", "b", "input");
  flow.connect("a", "output", "c", "input");
  flow.connect("b", "output", "a", "input");
  flow.connect("c", "output", "a", "input");
  return flow;
}

/** A bystander: src emits `n` payloads into a two-step chain and counts what arrives. */
function bystander(n = 2000): { flow: Flow; arrived: () => number } {
  let arrived = 0;
  const flow = new Flow("bystander");
  flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < n; i++) ctx.emit("out", { i }); }), "src");
  flow.addRoutine(new Fn((p, ctx) => ctx.emit("out", p)), "mid");
  flow.addRoutine(new Fn(() => { arrived++; }), "sink");
  flow.connect("src", "out", "mid", "input");
  flow.connect("mid", "out", "sink", "input");
  return { flow, arrived: () => arrived };
}

/** Runs `bad` next to the bystander in the same process; both must end. */
async function nextToBystander(bad: () => Job): Promise<{ job: Job; other: Job; arrived: number }> {
  const b = bystander();
  const other = b.flow.start("src");
  const job = bad();
  await Promise.all([job.done, other.done]);
  return { job, other, arrived: b.arrived() };
}

function expectBudgetFailure(job: Job, budget: string, limit: string, routine: string | RegExp): void {
  expect(job.status).toBe("failed");
  expect(job.error?.code).toBe("BUDGET_EXCEEDED");
  expect(job.error?.error_type).toBe("BudgetExceededError");
  expect(job.error?.message).toContain(`budget ${budget} = ${limit}`);
  if (typeof routine === "string") {
    expect(job.error?.routine_id).toBe(routine);
    expect(job.error?.message).toContain(`routine '${routine}'`);
    expect(job.routineStates[routine]?.status).toBe("failed");
  } else expect(job.error?.routine_id).toMatch(routine);
  // Recorded like any failure: the history ends with it, and nothing is left queued.
  expect(job.executionHistory.at(-1)).toMatchObject({ event: "failed", data: { error_type: "BudgetExceededError" } });
  expect(job.pendingCount).toBe(0);
}

describe("job budgets", () => {
  it("max_queued_activations: the multiplying cycle fails naming the budget and routine; a job beside it completes", async () => {
    const flow = multiplying({ budgets: { maxQueuedActivations: 1000 } });
    const { job, other, arrived } = await nextToBystander(() => flow.start("a", { x: 1 }, { entrySlot: "input" }));
    expectBudgetFailure(job, "max_queued_activations", "1,000", /^[abc]$/);
    expect(job.error?.message).toMatch(/\(1,00[12] activations queued after its event 'output'\) at routine '[abc]'$/);
    expect(other.status).toBe("completed");
    expect(arrived).toBe(2000);
  });

  it("max_queued_activations in a concurrent flow with async handlers: the job fails, nothing runs after", async () => {
    const flow = new Flow("multiplying_async", { executionStrategy: "concurrent", maxWorkers: 8, budgets: { maxQueuedActivations: 500 } });
    let after = 0;
    let failedAt = -1;
    for (const r of ["a", "b", "c"]) {
      flow.addRoutine(
        new Fn(async (p, ctx) => {
          await Promise.resolve();
          if (failedAt >= 0) after++;
          ctx.emit("output", p);
        }, ["input"]),
        r,
      );
    }
    flow.connect("a", "output", "b", "input");
    flow.connect("a", "output", "c", "input");
    flow.connect("b", "output", "a", "input");
    flow.connect("c", "output", "a", "input");
    const { job, other } = await nextToBystander(() => {
      const j = flow.start("a", {}, { entrySlot: "input" });
      void j.done.then(() => { failedAt = 0; });
      return j;
    });
    expectBudgetFailure(job, "max_queued_activations", "500", /^[abc]$/);
    expect(other.status).toBe("completed");
    await new Promise((r) => setTimeout(r, 20));
    // Handlers in flight when it failed may finish, but nothing new starts.
    expect(after).toBeLessThanOrEqual(8);
  });

  it("max_activations: a loop that never ends fails on its count at the routine about to run", async () => {
    const flow = new Flow("forever", { budgets: { maxActivations: 500 } });
    flow.addRoutine(new Fn((p, ctx) => ctx.emit("again", p)), "loop");
    flow.connect("loop", "again", "loop", "input");
    const { job, other, arrived } = await nextToBystander(() => flow.start("loop"));
    expectBudgetFailure(job, "max_activations", "500", "loop");
    expect(job.routineStates.loop?.activations).toBe(500);
    expect(other.status).toBe("completed");
    expect(arrived).toBe(2000);
  });

  it("max_queue_bytes: big payloads queued up fail the job naming the emitting routine", async () => {
    const flow = new Flow("big_payloads", { budgets: { maxQueueBytes: 1_000_000 } });
    const blob = "x".repeat(100_000);
    flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 50; i++) ctx.emit("out", { i, blob }); }), "src");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    const { job, other } = await nextToBystander(() => flow.start("src"));
    expectBudgetFailure(job, "max_queue_bytes", "1,000,000", "src");
    expect(job.routineStates.sink?.activations).toBe(0);
    expect(other.status).toBe("completed");
  });

  it("a budget counts what is queued now: the same payloads consumed as they come stay within it", async () => {
    const flow = new Flow("streaming", { budgets: { maxQueueBytes: 1_000_000, maxQueuedActivations: 5 } });
    const blob = "x".repeat(100_000);
    let left = 50;
    flow.addRoutine(new Fn((_p, ctx) => { if (left-- > 0) ctx.emit("out", { blob }); }), "loop");
    flow.connect("loop", "out", "loop", "input");
    const job = await flow.execute("loop");
    expect(job.status).toBe("completed");
    expect(job.routineStates.loop?.activations).toBe(51);
  });

  it("the flow's budget wins over the server's default, the server's over the engine's", async () => {
    const flow = multiplying({ budgets: { maxQueuedActivations: 50 } });
    const own = await flow.execute("a", {}, { entrySlot: "input", defaultBudgets: { maxQueuedActivations: 10 } });
    expect(own.budgets.maxQueuedActivations).toBe(50);
    expect(own.error?.message).toContain("max_queued_activations = 50 ");

    const plain = multiplying();
    const server = await plain.execute("a", {}, { entrySlot: "input", defaultBudgets: { maxQueuedActivations: 10 } });
    expect(server.budgets).toEqual({ ...DEFAULT_JOB_BUDGETS, maxQueuedActivations: 10 });
    expect(server.error?.message).toContain("max_queued_activations = 10 ");

    const engine = plain.start("a", {}, { entrySlot: "input" });
    expect(engine.budgets).toEqual(DEFAULT_JOB_BUDGETS);
    engine.cancel();
  });

  it("null turns a budget off; setBudgets changes jobs started afterwards", async () => {
    const flow = new Flow("counted");
    let left = 100;
    flow.addRoutine(new Fn((_p, ctx) => { if (left-- > 0) ctx.emit("again", {}); }), "loop");
    flow.connect("loop", "again", "loop", "input");
    flow.setBudgets({ maxActivations: 10 });
    expect((await flow.execute("loop")).error?.code).toBe("BUDGET_EXCEEDED");
    left = 100;
    flow.setBudgets({ maxActivations: null });
    const job = await flow.execute("loop", {}, { defaultBudgets: { maxActivations: 10 } });
    expect(job.status).toBe("completed");
    expect(job.budgets.maxActivations).toBeNull();
    flow.setBudgets({ maxActivations: undefined });
    expect(flow.budgets).toEqual({});
  });

  it("refuses budgets that are not whole numbers ≥ 1 (or null), naming the budget", () => {
    expect(() => new Flow("bad", { budgets: { maxActivations: 0 } })).toThrow(FlowDefinitionError);
    expect(() => new Flow("bad", { budgets: { maxActivations: 0 } })).toThrow(/maxActivations \(max_activations\) must be a whole number ≥ 1 or null/);
    expect(() => new Flow("bad").setBudgets({ maxQueueBytes: 1.5 })).toThrow(/max_queue_bytes/);
    expect(() => new Flow("bad").setBudgets({ nope: 1 } as never)).toThrow(/unknown budget 'nope'/);
  });

  it("the DSL carries budgets (execution.budgets), round-trips them and refuses bad ones with their path", async () => {
    const dsl = {
      flow_id: "dsl_budgets",
      ...MULTIPLYING_CYCLE_DSL,
      execution: { budgets: { max_queued_activations: 200, max_activations: null } },
    };
    const flow = Flow.fromDSL(dsl);
    expect(flow.budgets).toEqual({ maxQueuedActivations: 200, maxActivations: null });
    expect(flow.toDSL().execution?.budgets).toEqual({ max_queued_activations: 200, max_activations: null });
    expect(Flow.fromDSL(flow.toDSL()).budgets).toEqual(flow.budgets);
    const job = await flow.execute("a", {}, { entrySlot: "input" });
    expect(job.error?.message).toContain("max_queued_activations = 200 ");

    const bad = { ...dsl, execution: { budgets: { max_queue_bytes: 0 } } };
    expect(() => Flow.fromDSL(bad)).toThrow(DslError);
    expect(() => Flow.fromDSL(bad)).toThrow(/^execution\.budgets\.max_queue_bytes: /);
    expect(() => Flow.fromDSL({ ...dsl, execution: { budgets: { max_things: 1 } } })).toThrow(/unknown field\(s\) 'max_things'/);
  });

  it("BudgetExceededError carries the budget, limit and routine", () => {
    const err = new BudgetExceededError("max_activations", 10, "r", "activation 11 of the job");
    expect(err).toMatchObject({ code: "BUDGET_EXCEEDED", budget: "max_activations", limit: 10, routineId: "r" });
    expect(err.message).toBe("Job exceeded its budget max_activations = 10 (activation 11 of the job) at routine 'r'");
  });
});

describe("payload size estimate", () => {
  it("grows with strings, arrays and objects, without walking them all", () => {
    const small = estimatePayloadBytes({ x: 1 });
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThan(200);
    expect(estimatePayloadBytes({ s: "x".repeat(1_000_000) })).toBeGreaterThan(1_000_000);
    const many = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(estimatePayloadBytes({ many })).toBeGreaterThan(8_000_000);
    const strings = Array.from({ length: 10_000 }, () => "y".repeat(100));
    expect(estimatePayloadBytes({ strings })).toBeGreaterThan(1_000_000);
    const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, "z".repeat(100)]));
    expect(estimatePayloadBytes(wide)).toBeGreaterThan(1_000_000);
    expect(estimatePayloadBytes({ buf: new Uint8Array(500_000) })).toBeGreaterThan(500_000);
  });

  it("never throws: a throwing getter or a proxy that cannot list its keys counts as a small payload", () => {
    const getter = Object.defineProperty({ ok: 1 }, "boom", { enumerable: true, get: () => { throw new Error("no reading me"); } });
    const proxy = new Proxy({ a: 1 }, { ownKeys: () => { throw new Error("no keys"); } });
    expect(estimatePayloadBytes(getter)).toBeGreaterThan(0);
    expect(estimatePayloadBytes(proxy)).toBeGreaterThan(0);
  });
});
