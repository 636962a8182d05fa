import { describe, expect, it } from "vitest";
import { dataProcessingFlow } from "../../examples/data-processing";
import { Flow, FlowDefinitionError, type Payload, Routine } from "../../lib";
import { diamond, Fn, sleep } from "../helpers/flows";

describe("the three-routine example (ingest → process → validate)", () => {
  // The example flow (examples/data-processing.ts, `npm run example`).
  const build = dataProcessingFlow;

  it("validates with no issues and runs to completion with the right result", async () => {
    const flow = build();
    expect(flow.validate()).toEqual([]);
    const job = await flow.execute("ingest", { data: [1, 2, 3, 4, 5] });
    expect(job.status).toBe("completed");
    expect(job.shared).toEqual({ valid: true });
    expect(job.sharedLog).toEqual([expect.objectContaining({ routine_id: "validate", message: "validated", data: { result: [2, 4, 6, 8, 10] } })]);
    expect(Object.fromEntries(Object.entries(job.routineStates).map(([id, s]) => [id, [s.status, s.activations]]))).toEqual({
      ingest: ["completed", 1],
      process: ["completed", 1],
      validate: ["completed", 1],
    });
    const snap = job.toJSON();
    expect(snap.job_id).toBe(job.jobId);
    expect(snap.flow_id).toBe("data_processing");
    expect(snap.finished_at).not.toBeNull();
    expect(snap.duration_ms).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(snap)).status).toBe("completed");
  });

  it("start() returns a running job at once and completes only after all downstream work", async () => {
    const flow = build();
    const job = flow.start("ingest", { data: [1] });
    expect(job.status).toBe("running");
    expect(job.routineStates.validate?.activations).toBe(0);
    await job.done;
    expect(job.status).toBe("completed");
    expect(job.routineStates.validate?.activations).toBe(1);
  });

  it("rejects an unknown entry routine or slot synchronously", () => {
    const flow = build();
    expect(() => flow.start("nope")).toThrow(/Entry routine 'nope' not found/);
    expect(() => flow.start("ingest", {}, { entrySlot: "other" })).toThrow(/Entry slot 'other' not found on routine 'ingest'/);
  });
});

describe("execution order", () => {
  it("is breadth-first in sequential mode (src, m1, m2, l, l)", async () => {
    const order: string[] = [];
    const job = await diamond(order).execute("src");
    expect(job.status).toBe("completed");
    expect(order).toEqual(["src", "m1(x=1)", "m2(x=2)", "l(y=1)", "l(y=2)"]);
  });

  it("overlaps async handlers in concurrent mode, at most maxWorkers at a time", async () => {
    let active = 0;
    let peak = 0;
    const flow = new Flow("conc", { executionStrategy: "concurrent", maxWorkers: 5 });
    flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 10; i++) ctx.emit("out", { i }); }), "src");
    flow.addRoutine(
      new Fn(async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(50);
        active--;
      }),
      "work",
    );
    flow.connect("src", "out", "work", "input");
    const t0 = performance.now();
    const job = await flow.execute("src");
    const ms = performance.now() - t0;
    expect(job.status).toBe("completed");
    expect(job.routineStates.work?.activations).toBe(10);
    expect(peak).toBe(5);
    // Two waves of 50 ms (~100 ms), not ten in a row (500 ms).
    expect(ms).toBeLessThan(350);
  });

  it("in sequential mode runs async handlers one at a time", async () => {
    let active = 0;
    let peak = 0;
    const flow = new Flow("seq");
    flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 4; i++) ctx.emit("out", { i }); }), "src");
    flow.addRoutine(new Fn(async () => { active++; peak = Math.max(peak, active); await sleep(5); active--; }), "work");
    flow.connect("src", "out", "work", "input");
    await flow.execute("src");
    expect(peak).toBe(1);
  });
});

describe("emit routing", () => {
  it("this.emit after an await reaches the job running the handler, with concurrent jobs on one instance", async () => {
    class Echo extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", this.run);
      }
      async run({ tag, wait }: Payload): Promise<void> {
        await sleep(wait as number);
        this.emit("out", { tag });
      }
    }
    const seen: Record<string, unknown[]> = {};
    const flow = new Flow("echo");
    flow.addRoutine(new Echo(), "echo");
    flow.addRoutine(new Fn((p, ctx) => { seen[ctx.jobId] = [...(seen[ctx.jobId] ?? []), p.tag]; }), "sink");
    flow.connect("echo", "out", "sink", "input");
    const a = flow.start("echo", { tag: "A", wait: 30 });
    const b = flow.start("echo", { tag: "B", wait: 5 });
    await Promise.all([a.done, b.done]);
    expect(seen[a.jobId]).toEqual(["A"]);
    expect(seen[b.jobId]).toEqual(["B"]);
  });

  it("emitting an event that is neither declared nor connected fails the activation, naming it", async () => {
    const flow = new Flow("typo");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("oput", {})), "r");
    const job = await flow.execute("r");
    expect(job.status).toBe("failed");
    expect(job.error?.message).toMatch(/Routine 'r' has no event 'oput'/);
  });

  it("a declared but unconnected event is fine", async () => {
    class R extends Routine {
      constructor() {
        super();
        this.defineEvent("out");
        this.defineSlot("trigger", (_p, ctx) => ctx.emit("out", { a: 1 }));
      }
    }
    const flow = new Flow("unconnected");
    flow.addRoutine(new R(), "r");
    expect((await flow.execute("r")).status).toBe("completed");
    expect(flow.validate()).toEqual([expect.objectContaining({ level: "warning", code: "UNCONNECTED_EVENT" })]);
  });

  it("emit outside a handler throws", () => {
    class R extends Routine {}
    expect(() => new R().emit("x")).toThrow(/outside one of its own handlers/);
  });

  it("fan-out gives each target its own payload object", async () => {
    const got: Payload[] = [];
    const flow = new Flow("fan");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { v: 1 })), "src");
    flow.addRoutine(new Fn((p) => { p.v = 99; got.push(p); }), "a");
    flow.addRoutine(new Fn((p) => { got.push(p); }), "b");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    await flow.execute("src");
    expect(got).toEqual([{ v: 99 }, { v: 1 }]);
  });
});

describe("wiring", () => {
  it("param mapping renames mapped keys and passes the others through", async () => {
    const got: Payload[] = [];
    const flow = new Flow("map");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { old: 1, other: 2 })), "src");
    flow.addRoutine(new Fn((p) => { got.push(p); }), "dst");
    flow.connect("src", "out", "dst", "input", { old: "new" });
    await flow.execute("src");
    expect(got).toEqual([{ new: 1, other: 2 }]);
  });

  it("disconnect really stops data; removeRoutine removes its connections", async () => {
    const got: string[] = [];
    const flow = new Flow("dis");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", {})), "src");
    flow.addRoutine(new Fn(() => { got.push("a"); }), "a");
    flow.addRoutine(new Fn(() => { got.push("b"); }), "b");
    flow.connect("src", "out", "a", "input");
    flow.connect("src", "out", "b", "input");
    await flow.execute("src");
    expect(got).toEqual(["a", "b"]);
    expect(flow.disconnect("src", "out", "a", "input")).toBe(1);
    got.length = 0;
    await flow.execute("src");
    expect(got).toEqual(["b"]);
    flow.removeRoutine("b");
    expect(flow.connections).toEqual([]);
    got.length = 0;
    const job = await flow.execute("src");
    expect(job.status).toBe("completed");
    expect(got).toEqual([]);
  });

  it("names the missing part on bad connects and duplicates", () => {
    const flow = new Flow("bad");
    flow.addRoutine(new Fn(() => {}), "a");
    expect(() => flow.addRoutine(new Fn(() => {}), "a")).toThrow(/Routine id 'a' already exists/);
    expect(() => flow.connect("x", "e", "a", "input")).toThrow(/Source routine 'x' not found/);
    expect(() => flow.connect("a", "e", "y", "input")).toThrow(/Target routine 'y' not found/);
    expect(() => flow.connect("a", "e", "a", "nope")).toThrow(/Slot 'nope' not found on routine 'a'/);
    flow.connect("a", "e", "a", "input");
    expect(() => flow.connect("a", "e", "a", "input")).toThrow(FlowDefinitionError);
    expect(() => new Flow("bad id!")).toThrow(/Invalid flow id/);
  });

  it("refuses the DSL's reserved keys as routine ids and in mappings, so every flow can be exported and imported again", () => {
    const flow = new Flow("reserved");
    for (const id of ["constructor", "prototype", "__proto__"]) {
      expect(() => flow.addRoutine(new Fn(() => {}), id)).toThrow(/Invalid routine id/);
    }
    flow.addRoutine(new Fn(() => {}), "a");
    flow.addRoutine(new Fn(() => {}), "b");
    expect(() => flow.connect("a", "out", "b", "input", { constructor: "x" })).toThrow(FlowDefinitionError);
    expect(() => flow.connect("a", "out", "b", "input", { x: "prototype" })).toThrow(FlowDefinitionError);
    expect(flow.connections).toHaveLength(0);
  });

  it("validate reports cycles as info and unconnected slots as warnings, never the trigger slot", () => {
    const flow = new Flow("v");
    flow.addRoutine(new Fn(() => {}, ["trigger"]), "entry");
    flow.addRoutine(new Fn(() => {}, ["input", "extra"]), "a");
    flow.addRoutine(new Fn(() => {}, ["input"]), "b");
    flow.connect("entry", "go", "a", "input");
    flow.connect("a", "next", "b", "input");
    flow.connect("b", "back", "a", "input");
    const issues = flow.validate();
    expect(issues).toContainEqual(expect.objectContaining({ level: "info", code: "CYCLE", message: "Cycle: a -> b -> a" }));
    expect(issues).toContainEqual(expect.objectContaining({ level: "warning", code: "UNCONNECTED_SLOT", routine_id: "a" }));
    expect(issues.some((i) => i.message.includes("trigger"))).toBe(false);
  });
});

describe("merge strategies, kept per job per slot", () => {
  it("append accumulates the incoming keys; a function merges", async () => {
    const appended: Payload[] = [];
    const custom: Payload[] = [];
    class Acc extends Routine {
      constructor() {
        super();
        this.defineSlot("input", (p) => { appended.push(structuredClone(p)); }, { mergeStrategy: "append" });
        this.defineSlot("sum", (p) => { custom.push(p); }, {
          mergeStrategy: (prev, inc) => ({ total: ((prev?.total as number) ?? 0) + (inc.n as number) }),
        });
      }
    }
    const flow = new Flow("merge");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { a: 1 }); ctx.emit("out", { a: 2, b: 3 }); }), "src");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("n", { n: 2 }); ctx.emit("n", { n: 5 }); }), "nums");
    flow.addRoutine(new Acc(), "acc");
    flow.connect("src", "out", "acc", "input");
    flow.connect("nums", "n", "acc", "sum");
    await flow.execute("src");
    expect(appended).toEqual([{ a: [1] }, { a: [1, 2], b: [3] }]);
    await flow.execute("nums");
    expect(custom).toEqual([{ total: 2 }, { total: 7 }]);
    // A second job starts from empty buffers.
    appended.length = 0;
    await flow.execute("src");
    expect(appended).toEqual([{ a: [1] }, { a: [1, 2], b: [3] }]);
  });
});

describe("config", () => {
  it("is plain JSON and may change between jobs", async () => {
    const seen: unknown[] = [];
    class C extends Routine {
      constructor() {
        super();
        this.defineSlot("trigger", () => { seen.push(this.getConfig("k", "default")); });
      }
    }
    const r = new C();
    const flow = new Flow("cfg");
    flow.addRoutine(r, "c");
    await flow.execute("c");
    r.setConfig({ k: 1 });
    await flow.execute("c");
    r.setConfig({ k: 2 });
    await flow.execute("c");
    expect(seen).toEqual(["default", 1, 2]);
    expect(() => r.setConfig({ f: () => 1 })).toThrow(/not plain JSON/);
    expect(r.getConfigObject()).toEqual({ k: 2 });
  });
});

describe("concurrent jobs with a streaming source", () => {
  it("deliver what an in-flight async handler emits while it is still running", async () => {
    const seen: number[] = [];
    let sourceDone = false;
    const flow = new Flow("stream", { executionStrategy: "concurrent", maxWorkers: 2 });
    flow.addRoutine(
      new Fn(async (_p, ctx) => {
        for (let n = 1; n <= 3; n++) {
          ctx.emit("tick", { n });
          await sleep(20);
        }
        sourceDone = true;
      }),
      "source",
    );
    flow.addRoutine(new Fn((p) => { if (!sourceDone) seen.push(p.n as number); }), "sink");
    flow.connect("source", "tick", "sink", "input");
    await flow.execute("source");
    // Every tick was handled while the source was still streaming.
    expect(seen).toEqual([1, 2, 3]);
  });
});
