/**
 * Runtime.replaceFlows (what `routilux dev` calls when the project's code changed): flows swapped
 * by id, added and removed; flows created over HTTP left alone; running jobs keep the Flow they
 * started with; flow breakpoints of kept ids survive; the dev status and the notices.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Flow, type FlowsReloadNotice, Runtime } from "../../lib";
import { Fn } from "../helpers/flows";

/** `a → b`; b keeps what a says in shared data. */
function flow(id: string, says: string): Flow {
  const f = new Flow(id);
  f.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { said: says })), "a");
  f.addRoutine(new Fn((p, ctx) => { ctx.shared.said = p.said; }), "b");
  f.connect("a", "out", "b", "input");
  return f;
}

afterEach(() => {
  const m = new Runtime().monitoring;
  for (const job of m.jobStore.list().jobs) job.cancel("test cleanup");
  for (const job of m.jobStore.list().jobs) m.jobStore.remove(job.jobId);
  for (const bp of m.breakpointManager.getAllFlowBreakpoints()) m.breakpointManager.removeBreakpoint(bp.breakpoint_id);
});

describe("Runtime.replaceFlows", () => {
  it("swaps code flows by id, adds and removes, and leaves HTTP flows alone", () => {
    const runtime = new Runtime({ flows: [flow("keep", "v1"), flow("gone", "v1")] });
    runtime.createFlow("http", { routines: { p: { class: "passthrough" } } });
    const notices: FlowsReloadNotice[] = [];
    runtime.onFlowsReload((n) => notices.push(n));
    const next = flow("keep", "v2");

    const r = runtime.replaceFlows([next, flow("new", "v2")]);
    expect(r).toEqual({ version: 2, added: ["new"], changed: ["keep"], removed: ["gone"] });
    expect(runtime.flows.map((f) => f.flowId)).toEqual(["keep", "http", "new"]);
    expect(runtime.getFlow("keep")).toBe(next);
    expect(runtime.hasFlow("gone")).toBe(false);
    const status = runtime.devStatus();
    expect(status).toMatchObject({ watching: false, version: 2, flow_ids: ["new", "keep", "gone"], error: null });
    expect(notices).toEqual([{ kind: "reloaded", info: { flow_ids: ["new", "keep", "gone"], version: 2, at: status.reloaded_at } }]);
  });

  it("a job running on the old flow finishes on it; the next job runs the new one", async () => {
    const runtime = new Runtime({ flows: [flow("f", "old")] });
    const bpm = runtime.monitoring.breakpointManager;
    bpm.setBreakpoint({ flow_id: "f", routine_id: "b" });
    const held = runtime.startJob({ flow_id: "f", entry_routine_id: "a", entry_slot: "trigger", entry_params: {} });
    await expect.poll(() => held.status).toBe("paused");

    runtime.replaceFlows([flow("f", "new")]);
    // The flow breakpoint names routines by id: it survives and stops the new code's jobs too.
    expect(bpm.getFlowBreakpoints("f").map((b) => b.routine_id)).toEqual(["b"]);
    const fresh = runtime.startJob({ flow_id: "f", entry_routine_id: "a", entry_slot: "trigger", entry_params: {} });
    await expect.poll(() => fresh.status).toBe("paused");
    for (const job of [held, fresh]) runtime.monitoring.debugSessionManager.getSession(job.jobId).continue();
    await Promise.all([held.done, fresh.done]);
    expect(held.shared).toEqual({ said: "old" });
    expect(fresh.shared).toEqual({ said: "new" });
  });

  it("a removed flow's breakpoints go with it; a code flow takes the place of an HTTP flow of its id", () => {
    const runtime = new Runtime({ flows: [flow("f", "v1")] });
    runtime.monitoring.breakpointManager.setBreakpoint({ flow_id: "f", routine_id: "a" });
    runtime.createFlow("taken", { routines: { p: { class: "passthrough" } } });
    const r = runtime.replaceFlows([flow("taken", "code")]);
    expect(r).toMatchObject({ added: ["taken"], changed: [], removed: ["f"] });
    expect(runtime.monitoring.breakpointManager.getFlowBreakpoints("f")).toEqual([]);
    expect(runtime.getFlow("taken").getRoutine("a")).toBeDefined();
    // It is code now: the next reload without it removes it.
    expect(runtime.replaceFlows([]).removed).toEqual(["taken"]);
  });

  it("two flows of one id are refused before anything changes; a failed reload is reported and changes nothing", () => {
    const runtime = new Runtime({ flows: [flow("f", "v1")] });
    const before = runtime.getFlow("f");
    expect(() => runtime.replaceFlows([flow("g", "a"), flow("g", "b")])).toThrow("Two flows have the id 'g'");
    expect(runtime.getFlow("f")).toBe(before);
    expect(runtime.devStatus().version).toBe(1);

    const notices: FlowsReloadNotice[] = [];
    runtime.onFlowsReload((n) => notices.push(n));
    runtime.setWatching(true);
    runtime.reloadFailed("greet.ts:3:1: Expected ';'");
    const failed = runtime.devStatus();
    expect(failed).toMatchObject({ watching: true, version: 1, error: { message: "greet.ts:3:1: Expected ';'" } });
    expect(notices).toEqual([{ kind: "failed", info: { error: "greet.ts:3:1: Expected ';'", at: failed.error?.at } }]);
    expect(runtime.getFlow("f")).toBe(before);
    // The next good reload clears the error.
    runtime.replaceFlows([flow("f", "v2")]);
    expect(runtime.devStatus()).toMatchObject({ version: 2, error: null });
  });
});
