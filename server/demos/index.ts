/** The demo flows `npm start` serves (unless ROUTILUX_DEMO=0). */
import { type ActivationContext, Flow, type Payload, Routine, routineRegistry, setLongTimeout } from "../../lib";
import { dataProcessingFlow } from "./data-processing";

/** Emits `count` items (default 50), `interval_ms` apart (default 100): a stream to watch live. */
export class Ticker extends Routine {
  constructor() {
    super();
    this.defineSlot("trigger", this.run);
    this.defineEvent("tick", ["n", "value"]);
  }
  async run(payload: Payload, ctx: ActivationContext): Promise<void> {
    const count = typeof payload.count === "number" ? payload.count : 50;
    const interval = typeof payload.interval_ms === "number" ? payload.interval_ms : 100;
    for (let n = 1; n <= count; n++) {
      if (ctx.signal.aborted) return;
      ctx.emit("tick", { n, value: Math.round(Math.sin(n / 5) * 100) });
      // interval_ms comes from the request: past setTimeout's range it would not wait at all.
      await new Promise<void>((r) => setLongTimeout(r, interval));
    }
  }
}

/** Makes `ticker` available to flows created over HTTP (the live-update demos and the UI's performance test use it). */
export function registerDemoTypes(): void {
  if (!routineRegistry.has("ticker")) {
    routineRegistry.register("ticker", Ticker, { description: "Emits `count` ticks (payload param, default 50) on 'tick', `interval_ms` apart (default 100)." });
  }
}

export function demoFlows(): Flow[] {
  const fanOut = Flow.fromDSL({
    flow_id: "fan_out",
    routines: {
      split: { class: "splitter" },
      route: { class: "router", config: { routes: [{ event: "small", condition: "item < 10" }, { event: "large", condition: "item >= 10" }] } },
      small_worker: { class: "mapper", config: { set: { size: "small" } } },
      large_worker: { class: "mapper", config: { set: { size: "large" } } },
      collect: { class: "aggregator", config: { count: 4 } },
    },
    connections: [
      { from: "split.item", to: "route.input" },
      { from: "route.small", to: "small_worker.input" },
      { from: "route.large", to: "large_worker.input" },
      { from: "small_worker.output", to: "collect.input" },
      { from: "large_worker.output", to: "collect.input" },
    ],
    // Four items, so the aggregator (count 4) emits once: two small, two large.
    example: { entry_routine_id: "split", entry_slot: "input", params: { items: [3, 12, 7, 25] } },
  });

  const flaky = Flow.fromDSL({
    flow_id: "flaky_retry",
    routines: {
      flaky: { class: "fail", config: { fail_times: 2, message: "flaky: try again" }, error_handler: { strategy: "retry", max_retries: 3, retry_delay: 0.2, retry_backoff: 2 } },
      thrower: { class: "fail", config: { message: "boom" }, error_handler: { strategy: "continue" } },
      done: { class: "passthrough" },
    },
    connections: [
      { from: "flaky.output", to: "thrower.input" },
      { from: "flaky.output", to: "done.input" },
    ],
    // No input needed: flaky fails twice and is retried, thrower fails and the job goes on.
    example: { entry_routine_id: "flaky", entry_slot: "input", params: {} },
  });

  // Concurrent, so downstream routines run while the source is still streaming.
  const stream = new Flow("slow_stream", {
    executionStrategy: "concurrent",
    maxWorkers: 4,
    // A short stream: 20 ticks, 50 ms apart (about a second to watch).
    example: { entryRoutineId: "source", params: { count: 20, interval_ms: 50 } },
  });
  stream.addRoutine(new Ticker(), "source");
  stream.addRoutine(routineRegistry.create("mapper", { rename: { value: "reading" } }), "scale");
  stream.addRoutine(routineRegistry.create("passthrough"), "sink");
  stream.connect("source", "tick", "scale", "input");
  stream.connect("scale", "output", "sink", "input");

  return [dataProcessingFlow(), fanOut, flaky, stream];
}
