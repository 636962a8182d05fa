import { describe, expect, it } from "vitest";
import { type ExecutionHooks, Flow, type JobStatus, type Payload, Routine } from "../../lib";
import { Fn, waitFor } from "../helpers/flows";

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** src emits 999 payloads into `work`: 1,000 activations in all; `work` counts each `i` it runs. */
function thousand(strategy: "sequential" | "concurrent") {
  const runs = new Map<number, number>();
  const flow = new Flow(`thousand-${strategy}`, { executionStrategy: strategy, maxWorkers: 5 });
  flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 999; i++) ctx.emit("out", { i }); }), "src");
  flow.addRoutine(
    new Fn(async (p) => {
      await tick();
      const i = p.i as number;
      runs.set(i, (runs.get(i) ?? 0) + 1);
    }),
    "work",
  );
  flow.connect("src", "out", "work", "input");
  const statuses: JobStatus[] = [];
  const hooks: ExecutionHooks = { onJobStatusChange: (_job, status) => statuses.push(status), onJobEnd: (job) => statuses.push(job.status) };
  return { flow, runs, statuses, hooks };
}

describe.each(["sequential", "concurrent"] as const)("pause / resume / cancel mid-job (%s)", (strategy) => {
  it("pause holds at an activation boundary; resume runs every activation exactly once", async () => {
    const { flow, runs, statuses, hooks } = thousand(strategy);
    const job = flow.start("src", {}, { hooks });
    await waitFor(() => runs.size >= 300);
    expect(job.pause()).toBe(true);
    expect(job.status).toBe("paused");
    // In-flight activations may finish; nothing new starts.
    for (let i = 0; i < 10; i++) await tick();
    const atPause = runs.size;
    for (let i = 0; i < 50; i++) await tick();
    expect(runs.size).toBe(atPause);
    expect(atPause).toBeLessThan(999);
    expect(job.pendingCount).toBe(999 - atPause);
    expect(job.pause()).toBe(false); // already paused
    expect(job.resume()).toBe(true);
    expect(job.status).toBe("running");
    await job.done;
    expect(job.status).toBe("completed");
    expect(runs.size).toBe(999);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(job.routineStates.work?.activations).toBe(999);
    expect(statuses).toEqual(["paused", "running", "completed"]);
    expect(job.resume()).toBe(false); // finished
  });

  it("cancel drops queued activations: none of them ever runs", async () => {
    const { flow, runs, statuses, hooks } = thousand(strategy);
    const job = flow.start("src", {}, { hooks });
    await waitFor(() => runs.size >= 200);
    expect(job.cancel("enough")).toBe(true);
    expect(job.status).toBe("cancelled");
    const atCancel = runs.size;
    for (let i = 0; i < 50; i++) await tick();
    // At most the in-flight ones (≤ maxWorkers) complete after cancel.
    expect(runs.size - atCancel).toBeLessThanOrEqual(strategy === "sequential" ? 1 : 5);
    const settled = runs.size;
    for (let i = 0; i < 50; i++) await tick();
    expect(runs.size).toBe(settled);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(job.pendingCount).toBe(0);
    expect(job.cancelReason).toBe("enough");
    expect(job.signal.aborted).toBe(true);
    expect(statuses).toEqual(["cancelled"]);
    expect((await job.done).status).toBe("cancelled");
    expect(job.cancel()).toBe(false);
  });

  it("cancel while paused also ends the job without running anything else", async () => {
    const { flow, runs, hooks } = thousand(strategy);
    const job = flow.start("src", {}, { hooks });
    await waitFor(() => runs.size >= 100);
    job.pause();
    for (let i = 0; i < 10; i++) await tick();
    const atPause = runs.size;
    job.cancel();
    for (let i = 0; i < 20; i++) await tick();
    expect(runs.size).toBe(atPause);
    expect(job.status).toBe("cancelled");
  });
});

describe("two jobs of one flow", () => {
  class Collector extends Routine {
    constructor() {
      super();
      this.defineSlot(
        "input",
        (p, ctx) => {
          ctx.state.seen = ((ctx.state.seen as number | undefined) ?? 0) + 1;
          ctx.shared.collected = p.tag;
          // Append merge: each key is the list of everything this slot received in this job.
          if (ctx.attempt === 0 && (p.fail as (boolean | undefined)[]).at(-1)) throw new Error("first attempt fails");
        },
        { mergeStrategy: "append" },
      );
    }
  }

  function build() {
    const flow = new Flow("twins");
    flow.addRoutine(new Fn((p, ctx) => { for (let i = 0; i < 3; i++) ctx.emit("out", { tag: `${p.tag}${i}`, fail: p.fail }); }), "src");
    const collector = new Collector();
    collector.setAsCritical({ maxRetries: 1, retryDelay: 0.001 });
    flow.addRoutine(collector, "collect");
    flow.connect("src", "out", "collect", "input");
    return flow;
  }

  it("run at once without mixing payloads, slot buffers, retry counts or state", async () => {
    const flow = build();
    const a = flow.start("src", { tag: "A", fail: true });
    const b = flow.start("src", { tag: "B", fail: false });
    await Promise.all([a.done, b.done]);
    expect(a.status).toBe("completed");
    expect(b.status).toBe("completed");
    // Append buffers are per job: the last payload each saw holds only its own tags.
    expect(a.shared.collected).toEqual(["A0", "A1", "A2"]);
    expect(b.shared.collected).toEqual(["B0", "B1", "B2"]);
    // Each of A's three activations failed once and was retried once; B never failed.
    expect(a.routineStates.collect).toMatchObject({ activations: 6, errors: 3 });
    expect(b.routineStates.collect).toMatchObject({ activations: 3, errors: 0 });
  });

  it("holding one job in a hook does not stop the other", async () => {
    const flow = build();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let heldAt: Payload | null = null;
    const a = flow.start("src", { tag: "A" }, {
      hooks: {
        beforeActivation(act) {
          if (act.routineId === "collect" && heldAt === null) {
            heldAt = act.payload;
            return gate;
          }
        },
      },
    });
    const b = flow.start("src", { tag: "B" });
    await b.done;
    expect(b.status).toBe("completed");
    expect(a.status).toBe("running");
    expect(a.routineStates.collect?.activations).toBe(0);
    expect(heldAt).toEqual({ tag: "A0", fail: undefined });
    expect(a.shared.collected).toBeUndefined();
    release();
    await a.done;
    expect(a.status).toBe("completed");
    expect(a.routineStates.collect?.activations).toBe(3);
  });

  it("a hook may change the payload before the handler runs", async () => {
    const got: unknown[] = [];
    const flow = new Flow("edit");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { v: 1 })), "src");
    flow.addRoutine(new Fn((p) => { got.push(p.v); }), "dst");
    flow.connect("src", "out", "dst", "input");
    await flow.execute("src", {}, {
      hooks: {
        beforeActivation(act) {
          if (act.routineId === "dst") {
            return new Promise<void>((r) => setTimeout(() => { act.payload = { v: 42 }; r(); }, 5));
          }
        },
      },
    });
    expect(got).toEqual([42]);
  });

  for (const strategy of ["sequential", "concurrent"] as const) {
    it(`${strategy}: a held activation goes on with activationReleased, in the step that counts it and runs its handler; never after the job ended`, async () => {
      const seen: string[] = [];
      const flow = new Flow(`released-${strategy}`, { executionStrategy: strategy });
      flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", {})), "src");
      flow.addRoutine(new Fn(() => { seen.push("handler"); }), "dst");
      flow.connect("src", "out", "dst", "input");
      let release!: () => void;
      const hooks: ExecutionHooks = {
        beforeActivation(act) {
          if (act.routineId !== "dst") return undefined;
          seen.push("held");
          return new Promise<void>((r) => { release = r; });
        },
        activationReleased(act) {
          seen.push(`released (${act.job.routineStates.dst?.activations} counted)`);
          // Nothing else runs in between: the handler starts in this same synchronous step.
          queueMicrotask(() => seen.push("a microtask queued at the release"));
        },
      };
      const job = flow.start("src", {}, { hooks });
      await waitFor(() => seen.includes("held"));
      release();
      await job.done;
      expect(seen).toEqual(["held", "released (0 counted)", "handler", "a microtask queued at the release"]);
      expect(job.routineStates.dst?.activations).toBe(1);

      // Cancelled while held: the activation never runs, and is not released.
      seen.length = 0;
      const cancelled = flow.start("src", {}, { hooks });
      await waitFor(() => seen.includes("held"));
      cancelled.cancel("stop");
      release();
      await cancelled.done;
      await tick();
      expect(seen).toEqual(["held"]);
      expect(cancelled.routineStates.dst?.activations).toBe(0);
    });
  }

  it("a hook holding an emit defers its delivery until released, and may edit it", async () => {
    const order: string[] = [];
    const flow = new Flow("emit-hold");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { v: 1 }); order.push("src done"); }), "src");
    flow.addRoutine(new Fn((p) => { order.push(`dst ${p.v}`); }), "dst");
    flow.connect("src", "out", "dst", "input");
    const job = await flow.execute("src", {}, {
      hooks: {
        onEmit(info) {
          return new Promise<void>((r) => setTimeout(() => { info.payload = { v: 2 }; order.push("released"); r(); }, 5));
        },
      },
    });
    expect(job.status).toBe("completed");
    expect(order).toEqual(["src done", "released", "dst 2"]);
  });
});

describe("job snapshot and bounded history", () => {
  it("keeps the execution history bounded on long jobs", async () => {
    const flow = new Flow("long");
    const r = new Fn((_p, ctx) => { for (let i = 0; i < 3000; i++) ctx.emit("out", { i }); });
    flow.addRoutine(r, "src");
    const bad = new Fn(() => { throw new Error("x"); });
    bad.setAsOptional("continue");
    flow.addRoutine(bad, "bad");
    flow.connect("src", "out", "bad", "input");
    const job = await flow.execute("src");
    expect(job.status).toBe("completed");
    expect(job.routineStates.bad?.errors).toBe(3000);
    expect(job.executionHistory.length).toBeLessThanOrEqual(1000);
    const snap = job.toJSON();
    expect(Object.keys(snap)).toEqual(expect.arrayContaining([
      "job_id", "flow_id", "status", "created_at", "started_at", "finished_at", "routine_states", "shared_data", "shared_log", "error",
    ]));
  });

  it("ctx.log appends to the job's shared log", async () => {
    const flow = new Flow("log");
    flow.addRoutine(new Fn((_p, ctx) => ctx.log("hello", { n: 1 })), "r");
    const job = await flow.execute("r");
    expect(job.sharedLog).toEqual([expect.objectContaining({ routine_id: "r", message: "hello", data: { n: 1 } })]);
  });
});
