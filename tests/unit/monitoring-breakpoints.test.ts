import { describe, expect, it } from "vitest";
import { type Breakpoint, Flow, type Job, MonitoringError, MonitoringRegistry, type Payload } from "../../lib";
import { Fn } from "../helpers/flows";
import { pausedSession, registry } from "../helpers/monitoring";

/** src emits each of `values` as {value} into `check` (slot `input`). */
function valuesFlow(id: string, values: unknown[], seen: unknown[] = []): Flow {
  const flow = new Flow(id);
  flow.addRoutine(new Fn((_p, ctx) => { for (const value of values) ctx.emit("out", { value }); }), "src");
  flow.addRoutine(new Fn((p) => { seen.push(p.value); }), "check");
  flow.connect("src", "out", "check", "input");
  return flow;
}

/** Runs the job, continuing every stop; returns the payloads it stopped on. */
async function runCollectingStops(job: Job): Promise<Payload[]> {
  const stops: Payload[] = [];
  const sessions = MonitoringRegistry.getInstance().debugSessionManager;
  while (!job.isFinished) {
    await new Promise((r) => setImmediate(r));
    const s = sessions.get(job.jobId);
    if (s?.status === "paused") {
      stops.push(s.getVariables().variables.local);
      s.continue();
    }
  }
  return stops;
}

function flowBreakpoint(flowId: string, extra: Record<string, unknown>): Breakpoint {
  return registry().breakpointManager.setBreakpoint({ flow_id: flowId, routine_id: "check", ...extra });
}

describe("breakpoint conditions", () => {
  it.each([
    ["data.get('value', 0) > 100"],
    ["data['value'] > 100"],
    ["value > 100"],
    ["payload['value'] > 100 && shared.get('x') == None"],
  ])("%s stops on value 150 and not on 50", async (condition) => {
    const flow = valuesFlow(`cond-${Math.random().toString(36).slice(2)}`, [50, 150, 20]);
    const bp = flowBreakpoint(flow.flowId, { condition });
    const job = flow.start("src");
    expect(await runCollectingStops(job)).toEqual([{ value: 150 }]);
    expect(job.status).toBe("completed");
    expect(registry().breakpointManager.getBreakpoint(bp.breakpoint_id)).toMatchObject({ hit_count: 1, error_count: 0 });
  });

  it("'True' stops on every pass", async () => {
    const flow = valuesFlow("cond-true", [1, 2, 3]);
    flowBreakpoint(flow.flowId, { condition: "True" });
    expect(await runCollectingStops(flow.start("src"))).toEqual([{ value: 1 }, { value: 2 }, { value: 3 }]);
  });

  it("hit_count counts only passes where the condition held", async () => {
    const flow = valuesFlow("cond-count", [150, 50, 200, 10, 300]);
    const bp = flowBreakpoint(flow.flowId, { condition: "value > 100", log_message: "big {value}" });
    await flow.execute("src");
    expect(registry().breakpointManager.getBreakpoint(bp.breakpoint_id)?.hit_count).toBe(3);
  });

  it("hit condition '>= 3' first stops on the third pass where the condition held", async () => {
    const flow = valuesFlow("hit-ge3", [150, 5, 160, 6, 170, 180]);
    flowBreakpoint(flow.flowId, { condition: "value > 100", hit_condition: ">= 3" });
    expect(await runCollectingStops(flow.start("src"))).toEqual([{ value: 170 }, { value: 180 }]);
  });

  it("hit conditions '3' and '% 2' (exactly the 3rd, every 2nd)", async () => {
    const a = valuesFlow("hit-eq3", [1, 2, 3, 4, 5]);
    flowBreakpoint(a.flowId, { hit_condition: "3" });
    expect(await runCollectingStops(a.start("src"))).toEqual([{ value: 3 }]);
    const b = valuesFlow("hit-mod2", [1, 2, 3, 4, 5]);
    flowBreakpoint(b.flowId, { hit_condition: "% 2" });
    expect(await runCollectingStops(b.start("src"))).toEqual([{ value: 2 }, { value: 4 }]);
  });

  it("a logpoint never stops and emits log events with the interpolated values", async () => {
    const flow = valuesFlow("logpoint", [7, 8]);
    const bp = flowBreakpoint(flow.flowId, { log_message: "value={value} doubled={value * 2} {{literal}} bad={nope}" });
    const job = flow.start("src");
    expect(await runCollectingStops(job)).toEqual([]);
    expect(job.status).toBe("completed");
    const logs = registry().monitorCollector.getExecutionTrace(job.jobId).filter((e) => e.event_type === "log");
    expect(logs.map((e) => e.data.message)).toEqual([
      "value=7 doubled=14 {literal} bad=<error: Name 'nope' is not defined>",
      "value=8 doubled=16 {literal} bad=<error: Name 'nope' is not defined>",
    ]);
    expect(logs.every((e) => e.data.breakpoint_id === bp.breakpoint_id && e.routine_id === "check")).toBe(true);
  });

  it("a condition that throws at run time counts an error, never stops and never fails the job", async () => {
    const flow = valuesFlow("cond-throws", [1, 2]);
    const bp = flowBreakpoint(flow.flowId, { condition: "value / 0 > 1" });
    const job = flow.start("src");
    expect(await runCollectingStops(job)).toEqual([]);
    expect(job.status).toBe("completed");
    expect(registry().breakpointManager.getBreakpoint(bp.breakpoint_id)).toMatchObject({ hit_count: 0, error_count: 2 });
    expect(registry().breakpointManager.getBreakpoint(bp.breakpoint_id)?.last_error).toMatch(/zero/i);
  });

  it("a condition that does not parse is refused at creation with its position", () => {
    const bpm = registry().breakpointManager;
    const attempt = (condition: string) => {
      try {
        bpm.setBreakpoint({ flow_id: "f", routine_id: "r", condition });
      } catch (err) {
        return err as MonitoringError;
      }
      throw new Error("accepted");
    };
    const err = attempt("data['value'] >");
    expect(err).toBeInstanceOf(MonitoringError);
    expect(err.kind).toBe("bad_request");
    expect(err.code).toBe("INVALID_CONDITION");
    expect(err.details?.position).toBe(15);
    expect(err.message).toMatch(/position 15/);
    expect(bpm.getFlowBreakpoints("f")).toEqual([]);
  });

  it.each([
    ["data.__proto__", /__proto__/],
    ["data.constructor", /constructor/],
    ["data['prototype']", /prototype/],
    ["this.value", /this/],
    ["process.exit(1)", /not allowed|not defined/],
    ["x = 1", /./],
  ])("refuses or defuses hostile condition %s", (condition, message) => {
    const bpm = registry().breakpointManager;
    let error: unknown = null;
    let bp: Breakpoint | null = null;
    try {
      bp = bpm.setBreakpoint({ flow_id: "hostile", routine_id: "r", condition });
    } catch (err) {
      error = err;
    }
    if (bp) {
      // Accepted only if it cannot reach anything: it fails harmlessly at run time.
      const r = bpm.check({ job_id: "j", flow_id: "hostile", start_order: Number.MAX_SAFE_INTEGER }, { kind: "activation", routine_id: "r", slot_name: "s", connection_id: null }, () => ({ data: {} }));
      expect(r.stop).toBeNull();
      expect(bpm.getBreakpoint(bp.breakpoint_id)?.last_error).toMatch(message);
      bpm.removeBreakpoint(bp.breakpoint_id);
    } else {
      expect((error as Error).message).toMatch(message);
    }
  });

  it("rejects bad combinations and infers the type from the fields", () => {
    const bpm = registry().breakpointManager;
    expect(bpm.setBreakpoint({ flow_id: "f2", routine_id: "r" }).type).toBe("routine");
    expect(bpm.setBreakpoint({ flow_id: "f2", routine_id: "r", slot_name: "s" }).type).toBe("slot");
    expect(bpm.setBreakpoint({ flow_id: "f2", routine_id: "r", event_name: "e" }).type).toBe("event");
    expect(bpm.setBreakpoint({ flow_id: "f2", connection: "a.e:b.s" }).type).toBe("connection");
    expect(bpm.setBreakpoint({ flow_id: "f2", type: "error", routine_id: "r" }).type).toBe("error");
    expect(() => bpm.setBreakpoint({ flow_id: "f2", type: "slot", routine_id: "r" })).toThrow(/slot_name is required/);
    expect(() => bpm.setBreakpoint({ flow_id: "f2", type: "routine", routine_id: "r", event_name: "e" })).toThrow(/do not take event_name/);
    expect(() => bpm.setBreakpoint({ flow_id: "f2" })).toThrow(/routine_id is required/);
    expect(() => bpm.setBreakpoint({ routine_id: "r" })).toThrow(/needs a job_id .* or a flow_id/);
    expect(() => bpm.setBreakpoint({ flow_id: "f2", routine_id: "r", colour: "red" })).toThrow(/unknown field/);
    expect(() => bpm.setBreakpoint({ flow_id: "f2", routine_id: "r", hit_condition: "sometimes" })).toThrow(/Invalid hit condition/);
    expect(() => bpm.setBreakpoint({ flow_id: "f2", routine_id: "r", log_message: "x {1 +}" })).toThrow(/log message/);
    expect(() => bpm.setBreakpoint({ flow_id: "bad id", routine_id: "r" })).toThrow(MonitoringError);
    bpm.clearFlowBreakpoints("f2");
    expect(bpm.getFlowBreakpoints("f2")).toEqual([]);
  });

  it("update: a bad new condition changes nothing; enabled=false stops matching", async () => {
    const flow = valuesFlow("update", [1, 2]);
    const bp = flowBreakpoint(flow.flowId, { condition: "value == 1" });
    const bpm = registry().breakpointManager;
    expect(() => bpm.updateBreakpoint(bp.breakpoint_id, { condition: "value ==" })).toThrow(/Invalid condition/);
    expect(bpm.getBreakpoint(bp.breakpoint_id)?.condition).toBe("value == 1");
    bpm.updateBreakpoint(bp.breakpoint_id, { enabled: false });
    expect(await runCollectingStops(flow.start("src"))).toEqual([]);
    bpm.updateBreakpoint(bp.breakpoint_id, { enabled: true, condition: "value == 2" });
    expect(await runCollectingStops(flow.start("src"))).toEqual([{ value: 2 }]);
    expect(() => bpm.updateBreakpoint("bp_missing", { enabled: true })).toThrow(/not found/);
  });

  it("flow breakpoints apply to jobs started afterwards; job breakpoints to their job only", async () => {
    const flow = valuesFlow("scope", [1]);
    const early = flow.start("src", {}, { hooks: undefined });
    flowBreakpoint(flow.flowId, {});
    expect(await runCollectingStops(early)).toEqual([]);
    expect(await runCollectingStops(flow.start("src"))).toEqual([{ value: 1 }]);
    registry().breakpointManager.clearFlowBreakpoints(flow.flowId);
    const a = flow.start("src");
    const b = flow.start("src");
    registry().breakpointManager.setBreakpoint({ job_id: a.jobId, routine_id: "check" });
    const [stopsA, stopsB] = await Promise.all([runCollectingStops(a), runCollectingStops(b)]);
    expect(stopsA).toEqual([{ value: 1 }]);
    expect(stopsB).toEqual([]);
  });

  it("event, connection and error breakpoints stop where they should", async () => {
    const flow = new Flow("kinds");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { v: 1 })), "src");
    const bad = new Fn(() => { throw new RangeError("nope"); });
    bad.setAsOptional("continue");
    flow.addRoutine(bad, "bad");
    flow.connect("src", "out", "bad", "input");
    const bpm = registry().breakpointManager;
    bpm.setBreakpoint({ flow_id: "kinds", routine_id: "src", event_name: "out" });
    bpm.setBreakpoint({ flow_id: "kinds", connection: "src.out:bad.input" });
    bpm.setBreakpoint({ flow_id: "kinds", type: "error", routine_id: "bad" });
    const job = flow.start("src");
    const s1 = await pausedSession(job);
    expect(s1.pausedAt).toMatchObject({ kind: "emit", routine_id: "src", event_name: "out", reason: "breakpoint" });
    s1.setVariable("v", 2);
    s1.continue();
    const s2 = await pausedSession(job);
    expect(s2.pausedAt).toMatchObject({ kind: "activation", routine_id: "bad", event_name: "out" });
    expect(s2.getVariables().variables.local).toEqual({ v: 2 });
    s2.continue();
    const s3 = await pausedSession(job);
    expect(s3.pausedAt).toMatchObject({ kind: "error", routine_id: "bad", reason: "exception", error: { error_type: "RangeError", message: "nope" } });
    expect(s3.evaluate("error['message']").result).toBe("nope");
    s3.continue();
    await job.done;
    expect(job.status).toBe("completed");
    expect(job.routineStates.bad?.status).toBe("error_continued");
  });
});
