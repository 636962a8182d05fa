import { describe, expect, it } from "vitest";
import { DslError, dslToText, Flow, type Payload, Routine, RoutineRegistry, registerBuiltins, routineRegistry } from "../../lib";

class Collect extends Routine {
  static seen: Payload[] = [];
  constructor() {
    super();
    this.defineSlot("input", (p) => { Collect.seen.push(p); });
  }
}

function registry(): RoutineRegistry {
  const r = new RoutineRegistry();
  registerBuiltins(r);
  r.register("collect", Collect, { description: "test sink" });
  return r;
}

const YAML_FLOW = `
flow_id: pipeline
routines:
  split:
    class: splitter
  keep_big:
    class: filter
    config:
      condition: "item > 2"
  rename:
    class: mapper
    config:
      rename: { item: value }
      pick: [value]
  sink:
    class: collect
connections:
  - from: split.item
    to: keep_big.input
  - from: keep_big.output
    to: rename.input
  - from: rename.output
    to: sink.input
execution:
  strategy: sequential
`;

describe("DSL", () => {
  it("loads YAML, runs, and round-trips through JSON and YAML", async () => {
    const reg = registry();
    const flow = Flow.fromDSL(YAML_FLOW, reg);
    expect([...flow.routines.keys()]).toEqual(["split", "keep_big", "rename", "sink"]);
    Collect.seen = [];
    const job = await flow.execute("split", { items: [1, 2, 3, 4] }, { entrySlot: "input" });
    expect(job.status).toBe("completed");
    expect(Collect.seen).toEqual([{ value: 3 }, { value: 4 }]);

    const dsl = flow.toDSL(reg);
    expect(dsl.connections).toHaveLength(3);
    const again = Flow.fromDSL(dslToText(dsl, "json"), reg);
    expect(again.toDSL(reg)).toEqual(dsl);
    const fromYaml = Flow.fromDSL(dslToText(dsl, "yaml"), reg);
    expect(fromYaml.toDSL(reg)).toEqual(dsl);
  });

  it("accepts param_mapping, error_handler and execution settings", () => {
    const flow = Flow.fromDSL(
      {
        flow_id: "x",
        routines: {
          a: { class: "passthrough", error_handler: { strategy: "retry", max_retries: 2, retry_delay: 0.5 } },
          b: { class: "passthrough" },
        },
        connections: [{ from: "a.output", to: "b.input", param_mapping: { k: "v" } }],
        execution: { strategy: "concurrent", max_workers: 3, timeout: 10 },
      },
      registry(),
    );
    expect(flow.executionStrategy).toBe("concurrent");
    expect(flow.maxWorkers).toBe(3);
    expect(flow.timeout).toBe(10);
    expect(flow.connections[0]?.paramMapping).toEqual({ k: "v" });
    expect(flow.getRoutine("a")?.getErrorHandler()?.toJSON()).toMatchObject({ strategy: "retry", max_retries: 2, retry_delay: 0.5 });
  });

  it("uses the process-wide registry by default, with the built-ins registered", () => {
    expect(routineRegistry.names).toEqual(
      expect.arrayContaining(["passthrough", "mapper", "filter", "router", "splitter", "aggregator", "delay", "fail"]),
    );
    const info = routineRegistry.info("filter");
    expect(info?.slots.map((s) => s.name)).toEqual(["input"]);
    expect(info?.events.map((e) => e.name)).toEqual(["output", "rejected"]);
    expect(info?.config_schema).toMatchObject({ type: "object" });
  });

  const bad: [string, unknown, RegExp][] = [
    ["not an object", "[1, 2]", /must be an object/],
    ["no routines", { flow_id: "x" }, /must contain 'routines'/],
    ["routines not a map", { flow_id: "x", routines: [] }, /^routines: /],
    ["missing class", { flow_id: "x", routines: { a: {} } }, /routines\.a\.class: Routine 'a' must specify 'class'/],
    ["unknown type", { flow_id: "x", routines: { a: { class: "os.system" } } }, /routines\.a\.class: unknown routine type 'os\.system'/],
    ["unknown field", { flow_id: "x", routines: { a: { class: "passthrough", path: "/etc" } } }, /routines\.a: unknown field\(s\) 'path'/],
    ["malformed from", { flow_id: "x", routines: { a: { class: "passthrough" } }, connections: [{ from: "a", to: "a.input" }] }, /connections\[0\]\.from: Invalid connection format 'a'/],
    ["malformed to", { flow_id: "x", routines: { a: { class: "passthrough" } }, connections: [{ from: "a.output", to: "a.in.put" }] }, /connections\[0\]\.to: Invalid connection format/],
    ["missing routine in a connection", { flow_id: "x", routines: { a: { class: "passthrough" } }, connections: [{ from: "a.output", to: "ghost.input" }] }, /connections\[0\]: Target routine 'ghost' not found/],
    ["missing slot", { flow_id: "x", routines: { a: { class: "passthrough" } }, connections: [{ from: "a.output", to: "a.nope" }] }, /connections\[0\]: Slot 'nope' not found/],
    ["connections not a list", { flow_id: "x", routines: {}, connections: {} }, /^connections: /],
    ["bad strategy", { flow_id: "x", routines: {}, execution: { strategy: "parallel" } }, /execution\.strategy/],
    ["bad config", { flow_id: "x", routines: { f: { class: "filter", config: { condition: "1 +" } } } }, /routines\.f: Invalid config for 'filter' at condition/],
    ["prototype key", JSON.parse('{"flow_id":"x","routines":{"__proto__":{"class":"passthrough"}}}'), /key '__proto__' is not allowed/],
    ["bad YAML", "flow_id: x\nroutines:\n  a: [unclosed", /Invalid YAML at line \d+/],
    ["bad JSON", '{"flow_id": "x", ', /Invalid JSON/],
    ["empty text", "   ", /DSL text is empty/],
    ["no flow id", { routines: {} }, /flow_id: a flow id is required/],
    ["bad flow id", { flow_id: "a b", routines: {} }, /flow_id: Invalid flow id/],
  ];

  it.each(bad)("rejects %s with an error naming the problem", (_name, spec, message) => {
    let error: unknown;
    try {
      Flow.fromDSL(spec, registry());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DslError);
    expect((error as Error).message).toMatch(message);
  });

  it("builds nothing when a later part fails (all or nothing)", () => {
    const reg = registry();
    let created = 0;
    class Counting extends Routine {
      constructor() {
        super();
        created++;
        this.defineSlot("input", () => {});
      }
    }
    reg.register("counting", Counting);
    created = 0;
    expect(() =>
      Flow.fromDSL({ flow_id: "x", routines: { a: { class: "counting" } }, connections: [{ from: "a.out", to: "b.input" }] }, reg),
    ).toThrow(DslError);
    // The routine was built but no flow was returned: nothing half-built escapes to the caller.
    expect(created).toBe(1);
  });

  it("refuses to export a routine whose class is not registered", () => {
    const flow = new Flow("y");
    class Adhoc extends Routine {}
    flow.addRoutine(new Adhoc(), "a");
    expect(() => flow.toDSL(registry())).toThrow(/not a registered type/);
  });
});

describe("built-in routine types", () => {
  const reg = registry();
  const run = async (dsl: object, params: Payload) => {
    Collect.seen = [];
    const flow = Flow.fromDSL({ flow_id: "b", ...dsl }, reg);
    const job = await flow.execute("entry", params, { entrySlot: "input" });
    return { job, seen: Collect.seen };
  };

  it("router sends each payload to the first matching route, else default", async () => {
    const dsl = {
      routines: {
        entry: { class: "splitter" },
        route: { class: "router", config: { routes: [{ event: "big", condition: "item >= 10" }, { event: "even", condition: "item % 2 == 0" }] } },
        sink: { class: "collect" },
      },
      connections: [
        { from: "entry.item", to: "route.input" },
        { from: "route.big", to: "sink.input", param_mapping: { item: "big" } },
        { from: "route.even", to: "sink.input", param_mapping: { item: "even" } },
        { from: "route.default", to: "sink.input", param_mapping: { item: "other" } },
      ],
    };
    const { job, seen } = await run(dsl, { items: [12, 4, 3] });
    expect(job.status).toBe("completed");
    expect(seen.map((p) => Object.keys(p).find((k) => ["big", "even", "other"].includes(k)))).toEqual(["big", "even", "other"]);
  });

  it("aggregator collects N payloads then emits them together", async () => {
    const { seen } = await run(
      {
        routines: { entry: { class: "splitter" }, agg: { class: "aggregator", config: { count: 3, field: "item" } }, sink: { class: "collect" } },
        connections: [{ from: "entry.item", to: "agg.input" }, { from: "agg.output", to: "sink.input" }],
      },
      { items: ["a", "b", "c", "d", "e", "f"] },
    );
    expect(seen).toEqual([{ items: ["a", "b", "c"], count: 3 }, { items: ["d", "e", "f"], count: 3 }]);
  });

  it("delay waits and passes the payload on; fail throws, or passes after fail_times", async () => {
    const t0 = Date.now();
    const { seen } = await run(
      { routines: { entry: { class: "delay", config: { ms: 30 } }, sink: { class: "collect" } }, connections: [{ from: "entry.output", to: "sink.input" }] },
      { v: 1 },
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(seen).toEqual([{ v: 1 }]);
    const failing = await run({ routines: { entry: { class: "fail", config: { message: "boom" } } } }, {});
    expect(failing.job.status).toBe("failed");
    expect(failing.job.error?.message).toBe("boom");
    const flaky = await run(
      {
        routines: {
          entry: { class: "fail", config: { fail_times: 2 }, error_handler: { strategy: "retry", max_retries: 3, retry_delay: 0.001 } },
          sink: { class: "collect" },
        },
        connections: [{ from: "entry.output", to: "sink.input" }],
      },
      { v: 2 },
    );
    expect(flaky.job.status).toBe("completed");
    expect(flaky.job.routineStates.entry).toMatchObject({ activations: 3, errors: 2 });
    expect(flaky.seen).toEqual([{ v: 2 }]);
  });

  it("filter conditions see the payload keys, data and shared", async () => {
    const { seen } = await run(
      {
        routines: { entry: { class: "filter", config: { condition: "data.get('value', 0) > 100 and payload['value'] == value" } }, sink: { class: "collect" } },
        connections: [{ from: "entry.output", to: "sink.input" }],
      },
      { value: 150 },
    );
    expect(seen).toEqual([{ value: 150 }]);
  });
});
