/**
 * A flow's example run (entry routine, slot, params): in the DSL (validated, exported back), on
 * code flows (FlowOptions.example, setExample), and the job's params kept as sent.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DslError, dslToText, Flow, FlowDefinitionError, type Payload, Routine, RoutineRegistry, Runtime, registerBuiltins } from "../../lib";
import { dataProcessingFlow } from "../../server/demos/data-processing";
import { demoFlows } from "../../server/demos";

class TwoSlots extends Routine {
  constructor() {
    super();
    this.defineSlot("left", () => {});
    this.defineSlot("right", () => {});
  }
}

/** Changes its input in place (what a careless handler does). */
class Mutates extends Routine {
  static seen: Payload[] = [];
  constructor() {
    super();
    this.defineSlot("trigger", (p) => {
      (p.data as number[]).push(99);
      p.extra = true;
      Mutates.seen.push(p);
    });
  }
}

function registry(): RoutineRegistry {
  const r = new RoutineRegistry();
  registerBuiltins(r);
  r.register("two_slots", TwoSlots);
  r.register("mutates", Mutates);
  return r;
}

const BASE = {
  flow_id: "ex",
  routines: { split: { class: "splitter" }, sink: { class: "passthrough" }, both: { class: "two_slots" } },
  connections: [{ from: "split.item", to: "sink.input" }],
};

function dslError(spec: unknown): DslError {
  try {
    Flow.fromDSL(spec, registry());
  } catch (err) {
    expect(err).toBeInstanceOf(DslError);
    return err as DslError;
  }
  throw new Error("the DSL was accepted");
}

describe("DSL example", () => {
  it("loads, decides the entry slot, runs as is, and round-trips through JSON and YAML", async () => {
    const reg = registry();
    const flow = Flow.fromDSL({ ...BASE, example: { entry_routine_id: "split", params: { items: [1, 2, 3] } } }, reg);
    // `split` has one slot and no `trigger`: that slot is the entry.
    expect(flow.example).toEqual({ entryRoutineId: "split", entrySlot: "input", params: { items: [1, 2, 3] } });
    const ex = flow.example;
    if (!ex) throw new Error("no example");
    const job = await flow.execute(ex.entryRoutineId, { ...ex.params }, { entrySlot: ex.entrySlot });
    expect(job.status).toBe("completed");
    expect(job.routineStates.sink?.activations).toBe(3);

    const dsl = flow.toDSL(reg);
    expect(dsl.example).toEqual({ entry_routine_id: "split", entry_slot: "input", params: { items: [1, 2, 3] } });
    expect(Flow.fromDSL(dslToText(dsl, "json"), reg).toDSL(reg)).toEqual(dsl);
    expect(Flow.fromDSL(dslToText(dsl, "yaml"), reg).toDSL(reg)).toEqual(dsl);
  });

  it("a flow without one exports none, and `example: null` is accepted as none", () => {
    const reg = registry();
    expect("example" in Flow.fromDSL(BASE, reg).toDSL(reg)).toBe(false);
    const flow = Flow.fromDSL({ ...BASE, example: null }, reg);
    expect(flow.example).toBeNull();
    expect("example" in flow.toDSL(reg)).toBe(false);
  });

  const bad: [string, unknown, RegExp][] = [
    ["an unknown entry routine", { entry_routine_id: "ghost", params: {} }, /^example\.entry_routine_id: routine 'ghost' is not in flow 'ex'/],
    ["an unknown entry slot", { entry_routine_id: "split", entry_slot: "nope", params: {} }, /^example\.entry_slot: routine 'split' has no slot 'nope' \(slots: input\)/],
    ["no slot where the routine has several and no trigger", { entry_routine_id: "both", params: {} }, /^example\.entry_slot: needed for routine 'both' \(its slots are left, right/],
    ["params that are a list", { entry_routine_id: "split", params: [1, 2] }, /^example\.params: /],
    ["no params", { entry_routine_id: "split" }, /^example\.params: /],
    ["an unknown field", { entry_routine_id: "split", params: {}, slot: "input" }, /^example: unknown field\(s\) 'slot'/],
    ["an empty routine id", { entry_routine_id: "", params: {} }, /^example\.entry_routine_id: /],
    ["a prototype key in the params", JSON.parse('{"entry_routine_id":"split","params":{"__proto__":{"x":1}}}'), /key '__proto__' is not allowed/],
  ];
  it.each(bad)("refuses %s, naming where", (_name, example, message) => {
    expect(dslError({ ...BASE, example }).message).toMatch(message);
  });
});

describe("code flows", () => {
  function build(example?: ConstructorParameters<typeof Flow>[1]): Flow {
    const reg = registry();
    const flow = new Flow("code", example);
    flow.addRoutine(reg.create("splitter"), "split");
    flow.addRoutine(reg.create("passthrough"), "sink");
    flow.addRoutine(new TwoSlots(), "both");
    flow.connect("split", "item", "sink", "input");
    return flow;
  }

  it("FlowOptions.example is checked once the routines are there; validate() says why one does not fit", () => {
    const ok = build({ example: { entryRoutineId: "split", params: { items: [4] } } });
    expect(ok.example).toEqual({ entryRoutineId: "split", entrySlot: "input", params: { items: [4] } });
    expect(ok.validate().filter((i) => i.code === "INVALID_EXAMPLE")).toEqual([]);
    expect(ok.toDSL(registry()).example).toEqual({ entry_routine_id: "split", entry_slot: "input", params: { items: [4] } });

    const wrong = build({ example: { entryRoutineId: "split", entrySlot: "trigger", params: {} } });
    expect(wrong.example).toBeNull();
    expect(wrong.validate()).toContainEqual({ level: "error", code: "INVALID_EXAMPLE", message: "example.entry_slot: routine 'split' has no slot 'trigger' (slots: input)" });
    // An example that does not fit is not exported (the DSL would not load again).
    expect("example" in wrong.toDSL(registry())).toBe(false);
  });

  it("setExample checks at once, keeps its own copy of the params, and null clears it", () => {
    const flow = build();
    expect(flow.example).toBeNull();
    expect(() => flow.setExample({ entryRoutineId: "ghost", params: {} })).toThrow(FlowDefinitionError);
    expect(() => flow.setExample({ entryRoutineId: "both", params: {} })).toThrow(/example\.entry_slot: needed for routine 'both'/);
    expect(() => flow.setExample({ entryRoutineId: "split", params: { when: new Date() } as unknown as Payload })).toThrow(/example\.params: must be a JSON object/);
    expect(() => flow.setExample({ entryRoutineId: "split", params: JSON.parse('{"a":{"constructor":1}}') })).toThrow(/example\.params: key 'constructor' is not allowed/);
    expect(flow.example).toBeNull();

    const params = { items: [1, 2] };
    flow.setExample({ entryRoutineId: "both", entrySlot: "right", params });
    params.items.push(3);
    expect(flow.example).toEqual({ entryRoutineId: "both", entrySlot: "right", params: { items: [1, 2] } });
    flow.setExample(null);
    expect(flow.example).toBeNull();
  });

  it("removing the example's entry routine drops the example (it could not run, and its DSL would not load)", () => {
    const flow = build({ example: { entryRoutineId: "split", params: { items: [] } } });
    flow.removeRoutine("sink");
    expect(flow.example?.entryRoutineId).toBe("split");
    flow.removeRoutine("split");
    expect(flow.example).toBeNull();
    expect(flow.validate().some((i) => i.code === "INVALID_EXAMPLE")).toBe(false);
    expect(() => Flow.fromDSL(flow.toDSL(registry()), registry())).not.toThrow();
  });

  it("the demos' examples run as they are", async () => {
    const ends: Record<string, string> = {};
    for (const flow of [...demoFlows()]) {
      const ex = flow.example;
      expect(ex, flow.flowId).not.toBeNull();
      if (!ex) continue;
      const job = await flow.execute(ex.entryRoutineId, structuredClone(ex.params) as Payload, { entrySlot: ex.entrySlot, hooks: null });
      ends[flow.flowId] = job.status;
      if (flow.flowId === "fan_out") expect(job.routineStates.collect?.activations).toBe(4);
      if (flow.flowId === "data_processing") expect(job.shared.valid).toBe(true);
    }
    expect(ends).toEqual({ data_processing: "completed", fan_out: "completed", flaky_retry: "completed", slow_stream: "completed" });
  }, 20_000);

  it("data_processing without its data says what it expects", async () => {
    const job = await dataProcessingFlow().execute("ingest", {}, { hooks: null });
    expect(job.status).toBe("failed");
    expect(job.error?.message).toMatch(/ingest expects params like \{"data": \[1, 2, 3\]\}/);
  });
});

describe("a job's entry params", () => {
  const dir = mkdtempSync(join(tmpdir(), "routilux-example-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runtimes: Runtime[] = [];
  afterEach(() => {
    for (const r of runtimes.splice(0)) {
      for (const id of r.flows.map((f) => f.flowId)) r.deleteFlow(id);
      r.close();
    }
  });

  it("copyParams: the handler gets its own copy, so the job keeps the params as sent", async () => {
    const flow = new Flow("mut");
    flow.addRoutine(new Mutates(), "m");
    const params = { data: [1, 2] };
    const copied = await flow.execute("m", params, { copyParams: true, hooks: null });
    expect(copied.entryParams).toEqual({ data: [1, 2] });
    expect(copied.toJSON().entry_params).toEqual({ data: [1, 2] });
    expect(Mutates.seen.at(-1)).toEqual({ data: [1, 2, 99], extra: true });
    // Without it the handler works on the caller's object itself (the engine's default: no copy).
    const shared = await flow.execute("m", params, { hooks: null });
    expect(shared.entryParams).toBe(params);
    expect(params.data).toEqual([1, 2, 99]);
  });

  it("the runtime's snapshot carries them as sent, also after a restart and for rows stored before the field existed", async () => {
    const path = join(dir, "params.db");
    const reg = registry();
    const r1 = new Runtime({ registry: reg, persistence: { path } });
    runtimes.push(r1);
    r1.createFlow("mut", { routines: { m: { class: "mutates" } } });
    const job = r1.startJob({ flow_id: "mut", entry_routine_id: "m", entry_params: { data: [5] } });
    await job.done;
    expect(r1.jobSnapshot(job.jobId).entry_params).toEqual({ data: [5] });
    const before = JSON.stringify(r1.jobSnapshot(job.jobId));
    r1.close();
    runtimes.splice(0);
    r1.monitoring.jobStore.remove(job.jobId);
    r1.deleteFlow("mut");

    const r2 = new Runtime({ registry: reg, persistence: { path } });
    runtimes.push(r2);
    expect(JSON.stringify(r2.jobSnapshot(job.jobId))).toBe(before);
    // A row written before snapshots had the field: the params column fills it in, in its place.
    const db = r2.persistence?.db;
    if (!db) throw new Error("no database");
    const row = db.prepare("SELECT snapshot FROM jobs WHERE job_id = ?").get(job.jobId) as { snapshot: string };
    const old = JSON.parse(row.snapshot) as Record<string, unknown>;
    delete old.entry_params;
    db.prepare("UPDATE jobs SET snapshot = ? WHERE job_id = ?").run(JSON.stringify(old), job.jobId);
    expect(JSON.stringify(r2.jobSnapshot(job.jobId))).toBe(before);
  });
});
