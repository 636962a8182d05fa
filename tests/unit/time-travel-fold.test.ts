import { describe, expect, it } from "vitest";
import { ErrorHandler, Flow, type Job, JobFold, MonitoringRegistry, SharedTracker, type TraceEvent } from "../../lib";
import { Fn, waitFor } from "../helpers/flows";
import { pausedSession, registry } from "../helpers/monitoring";

const trace = (job: Job): TraceEvent[] => MonitoringRegistry.getInstance().monitorCollector.getExecutionTrace(job.jobId);

/** Folds the job's trace up to every seq and compares with the snapshot at its end. */
function foldAll(job: Job): JobFold {
  const fold = new JobFold(Object.keys(job.routineStates));
  expect(fold.extend(trace(job))).toBe(true);
  return fold;
}

describe("SharedTracker", () => {
  it("reports set keys (nested mutation included) and deletions, and nothing when unchanged", () => {
    const t = new SharedTracker();
    const shared: Record<string, unknown> = {};
    expect(t.initial(shared)).toEqual({});
    expect(t.diff(shared)).toBeNull();
    shared.n = 1;
    shared.list = [1];
    expect(t.diff(shared)).toEqual({ set: { n: 1, list: [1] }, deleted: [] });
    expect(t.diff(shared)).toBeNull();
    (shared.list as number[]).push(2);
    const c = t.diff(shared);
    expect(c).toEqual({ set: { list: [1, 2] }, deleted: [] });
    // A copy: later mutation of the live value does not change what was recorded.
    (shared.list as number[]).push(3);
    expect(c?.set.list).toEqual([1, 2]);
    delete shared.n;
    expect(t.diff(shared)).toEqual({ set: { list: [1, 2, 3] }, deleted: ["n"] });
    shared.f = () => 1;
    expect(t.diff(shared)).toBeNull();
  });
});

describe("shared-data recording", () => {
  it("records initial shared data and the changes on routine_start / routine_complete / routine_error", async () => {
    registry();
    const flow = new Flow("tt-shared");
    flow.addRoutine(new Fn((p, ctx) => { ctx.shared.total = (p.n as number) * 2; ctx.emit("out", { n: p.n }); }), "a");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.shared.seen = ["b"]; throw new Error("boom"); }), "b");
    flow.getRoutine("b")?.setErrorHandler(new ErrorHandler("continue"));
    flow.connect("a", "out", "b", "input");
    const job = await flow.execute("a", { n: 3 });
    const events = trace(job);
    expect(events[0]?.data.shared_data).toEqual({});
    const complete = events.find((e) => e.event_type === "routine_complete" && e.routine_id === "a");
    expect(complete?.data.shared_changes).toEqual({ set: { total: 6 }, deleted: [] });
    const err = events.find((e) => e.event_type === "routine_error");
    expect(err?.data).toMatchObject({ shared_changes: { set: { seen: ["b"] }, deleted: [] }, outcome: "continue", activation_id: 2 });
    // Starts saw no change: nothing recorded on them.
    for (const e of events.filter((x) => x.event_type === "routine_start")) expect(e.data.shared_changes).toBeUndefined();
  });

  it("a debugger edit of shared data while held shows on the next routine_start", async () => {
    const reg = registry();
    const flow = new Flow("tt-shared-debug");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", {})), "a");
    flow.addRoutine(new Fn(() => {}), "b");
    flow.connect("a", "out", "b", "input");
    const job = flow.start("a");
    reg.breakpointManager.setBreakpoint({ job_id: job.jobId, routine_id: "b" });
    const session = await pausedSession(job);
    session.setVariable("flag", "edited", "shared");
    session.continue();
    await job.done;
    const start = trace(job).find((e) => e.event_type === "routine_start" && e.routine_id === "b");
    expect(start?.data.shared_changes).toEqual({ set: { flag: "edited" }, deleted: [] });
  });
});

describe("shared-data recording, concurrent and off", () => {
  it("a concurrent job's changes are all recorded; the fold at the end equals the snapshot", async () => {
    const reg = registry();
    const flow = new Flow("tt-concurrent", { executionStrategy: "concurrent", maxWorkers: 4 });
    flow.addRoutine(new Fn((_p, ctx) => { ctx.shared.started = true; ctx.emit("a", {}); ctx.emit("b", {}); }), "src");
    flow.addRoutine(new Fn(async (_p, ctx) => { await new Promise((r) => setTimeout(r, 5)); ctx.shared.slow = [1]; (ctx.shared.slow as number[]).push(2); }), "slow");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.shared.fast = { n: 1 }; delete ctx.shared.started; }), "fast");
    flow.connect("src", "a", "slow", "input");
    flow.connect("src", "b", "fast", "input");
    const job = await flow.execute("src");
    const fold = foldAll(job);
    const end = fold.at(trace(job).length).after;
    expect(end.shared).toEqual({ slow: [1, 2], fast: { n: 1 } });
    expect(end.shared).toEqual(reg.monitorCollector.jobSnapshot(job).shared_data);
    expect(Object.fromEntries([...end.routines].map(([id, r]) => [id, r.status]))).toEqual({ src: "completed", slow: "completed", fast: "completed" });
  });

  it("recordSharedData = false records none", async () => {
    const reg = registry();
    reg.monitorCollector.recordSharedData = false;
    try {
      const flow = new Flow("tt-off");
      flow.addRoutine(new Fn((_p, ctx) => { ctx.shared.x = 1; }), "a");
      const job = await flow.execute("a");
      expect(trace(job)[0]?.data.shared_data).toEqual({});
      expect(trace(job).some((e) => e.data.shared_changes !== undefined)).toBe(false);
    } finally {
      reg.monitorCollector.recordSharedData = true;
    }
  });
});

describe("state fold", () => {
  it("equals the snapshot at the end, and tracks activations, counts and shared data at every seq", async () => {
    registry();
    const flow = new Flow("tt-fold");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { x: 1 }); ctx.emit("out", { x: 2 }); }), "src");
    flow.addRoutine(new Fn((p, ctx) => { ctx.shared[`k${p.x}`] = p.x; ctx.emit("done", { y: p.x }); }), "mid");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "mid", "input");
    flow.connect("mid", "done", "sink", "input");
    const job = await flow.execute("src");
    const fold = foldAll(job);
    const events = trace(job);
    const end = fold.at(events.length).after;
    const snap = MonitoringRegistry.getInstance().monitorCollector.jobSnapshot(job);
    expect(Object.fromEntries([...end.routines].map(([id, r]) => [id, { status: r.status, activations: r.activations, errors: r.errors, last_error: r.last_error }]))).toEqual(snap.routine_states);
    expect(Object.fromEntries(end.connections)).toEqual(snap.connection_counts);
    expect(end.shared).toEqual(snap.shared_data);
    expect(end.status).toBe("completed");
    // Right after the first mid routine_start: mid running, src done, one activation open.
    const midStart = events.find((e) => e.event_type === "routine_start" && e.routine_id === "mid") as TraceEvent;
    const at = fold.at(midStart.seq).after;
    expect(at.routines.get("mid")?.status).toBe("running");
    expect(at.routines.get("src")?.status).toBe("completed");
    expect(at.routines.get("sink")?.status).toBe("pending");
    expect(at.open.map((a) => a.routineId)).toEqual(["mid"]);
    expect(at.connections.get("src.out:mid.input")).toBe(2);
    expect(at.shared).toEqual({});
    expect(fold.at(0).after.status).toBe("pending");
  });

  it("retries: status stays running between attempts; a retry out of attempts that is critical fails the routine", async () => {
    registry();
    const flow = new Flow("tt-retry");
    flow.addRoutine(new Fn(() => { throw new Error("nope"); }), "a");
    flow.getRoutine("a")?.setErrorHandler(new ErrorHandler("retry", { maxRetries: 1, retryDelay: 0.001 }));
    const job = await flow.execute("a");
    const fold = foldAll(job);
    const events = trace(job);
    const firstErr = events.find((e) => e.event_type === "routine_error") as TraceEvent;
    expect(fold.at(firstErr.seq).after.routines.get("a")).toMatchObject({ status: "running", errors: 1 });
    expect(fold.at(events.length).after.routines.get("a")).toMatchObject({ status: "failed", errors: 2, activations: 2 });
    const snap = MonitoringRegistry.getInstance().monitorCollector.jobSnapshot(job);
    expect(snap.routine_states.a).toEqual({ status: "failed", activations: 2, errors: 2, last_error: "nope" });
  });

  it("checkpoints: the state at any seq equals a fold from the start", async () => {
    registry();
    const flow = new Flow("tt-long");
    flow.addRoutine(new Fn((p, ctx) => { ctx.shared.last = p.i; if ((p.i as number) < 150) ctx.emit("next", { i: (p.i as number) + 1 }); }), "loop");
    flow.connect("loop", "next", "loop", "input");
    MonitoringRegistry.getInstance().monitorCollector.setMaxEventsPerJob(5000);
    try {
      const job = await flow.execute("loop", { i: 0 });
      await waitFor(() => job.isFinished);
      const fold = foldAll(job);
      const events = trace(job);
      const fresh = new JobFold(Object.keys(job.routineStates));
      for (const n of [1, 127, 128, 129, 300, events.length]) {
        const slow = new JobFold(Object.keys(job.routineStates));
        slow.extend(events.slice(0, n));
        const a = fold.at(n).after;
        const b = slow.at(n).after;
        expect(a.shared).toEqual(b.shared);
        expect([...a.routines]).toEqual([...b.routines]);
        expect([...a.connections]).toEqual([...b.connections]);
      }
      expect(fresh.extend(events.slice(1))).toBe(false);
    } finally {
      MonitoringRegistry.getInstance().monitorCollector.setMaxEventsPerJob(1000);
    }
  });
});
