/**
 * The session rule for `stop_number`: a moving command named for a stop the job is no longer at
 * fails with STALE_STOP and changes nothing; without it, commands behave as before.
 */
import { describe, expect, it } from "vitest";
import { Flow, type Job, MonitoringError } from "../../lib";
import { Fn, waitFor } from "../helpers/flows";
import { nextStop, pausedSession, registry } from "../helpers/monitoring";

/** a → b → c, each passing one item on. */
function chain(id: string, options: ConstructorParameters<typeof Flow>[1] = {}): Flow {
  const flow = new Flow(id, options);
  flow.addRoutine(new Fn((_p, ctx) => ctx.emit("next", {})), "a");
  flow.addRoutine(new Fn((_p, ctx) => ctx.emit("next", {})), "b");
  flow.addRoutine(new Fn(() => {}), "c");
  flow.connect("a", "next", "b", "input");
  flow.connect("b", "next", "c", "input");
  return flow;
}

function breakAt(flowId: string, routineId: string) {
  return registry().breakpointManager.setBreakpoint({ flow_id: flowId, routine_id: routineId });
}

/** The error `fn` throws (fails the test when it throws none). */
function thrown(fn: () => unknown): MonitoringError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MonitoringError);
    return err as MonitoringError;
  }
  throw new Error("expected an error");
}

function hits(job: Job): number {
  return registry().monitorCollector.getExecutionTrace(job.jobId).filter((e) => e.event_type === "breakpoint_hit").length;
}

describe("moving commands carry the stop number they apply to", () => {
  it("a command for another stop fails with STALE_STOP and changes nothing; the right one goes through once", async () => {
    const flow = chain("stop-number-chain");
    breakAt(flow.flowId, "a");
    breakAt(flow.flowId, "b");
    const job = flow.start("a");
    const s = await pausedSession(job);
    expect(s.pausedAt).toMatchObject({ routine_id: "a", stop_number: 1 });

    for (const wrong of [() => s.continue(2), () => s.stepOver(2), () => s.stepInto(7), () => s.stepOut(3)]) {
      const err = thrown(wrong);
      expect(err).toMatchObject({ code: "STALE_STOP", kind: "conflict", status: 409, details: { current_stop_number: 1 } });
      expect(err.message).toMatch(/is at stop 1 now, not at stop \d/);
    }
    // Nothing moved: still at stop 1, no step under way.
    expect(s.toJSON()).toMatchObject({ status: "paused", step_mode: null, paused_at: { routine_id: "a", stop_number: 1 } });
    expect(job.status).toBe("paused");

    s.continue(1);
    // The same command again (a double click): the job has left stop 1, so it is refused.
    const again = thrown(() => s.continue(1));
    expect(again).toMatchObject({ code: "STALE_STOP", details: { current_stop_number: null } });
    expect(again.message).toMatch(/is not paused now/);

    expect(await nextStop(job)).toBe("b");
    expect(s.pausedAt?.stop_number).toBe(2);
    // Late: still for stop 1 while the job waits at stop 2, which stays held.
    expect(thrown(() => s.continue(1))).toMatchObject({ code: "STALE_STOP", details: { current_stop_number: 2 } });
    expect(s.pausedAt).toMatchObject({ routine_id: "b", stop_number: 2 });

    s.stepInto(2);
    expect(await nextStop(job)).toBe("c");
    expect(s.pausedAt?.stop_number).toBe(3);
    // Without a stop number: the old behaviour, whatever stop it is.
    s.continue();
    await job.done;
    expect(job.status).toBe("completed");
  });

  it("on a finished job a stop number gets STALE_STOP (null), none gets JOB_NOT_PAUSED as before", async () => {
    const flow = chain("stop-number-finished");
    const job = flow.start("a");
    await job.done;
    const s = registry().debugSessionManager.getSession(job.jobId);
    expect(thrown(() => s.continue(1))).toMatchObject({ code: "STALE_STOP", details: { current_stop_number: null } });
    expect(thrown(() => s.stepOver(1))).toMatchObject({ code: "STALE_STOP" });
    expect(thrown(() => s.continue())).toMatchObject({ code: "JOB_NOT_PAUSED" });
  });

  it("stops queued at once: releasing stop 1 shows stop 2 at once, and a second command for stop 1 leaves it held", async () => {
    // a fans out to b and c; each waits until both are in their handlers, then emits, and both
    // emits break: two stops at once, the second waits its turn (no timing involved).
    const flow = new Flow("stop-number-queued", { executionStrategy: "concurrent", maxWorkers: 2 });
    let arrived = 0;
    let bothIn: () => void = () => {};
    const together = new Promise<void>((resolve) => { bothIn = resolve; });
    const meet = async (): Promise<void> => {
      if (++arrived === 2) bothIn();
      await together;
    };
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("left", {}); ctx.emit("right", {}); }), "a");
    flow.addRoutine(new Fn(async (_p, ctx) => { await meet(); ctx.emit("out", {}); }), "b");
    flow.addRoutine(new Fn(async (_p, ctx) => { await meet(); ctx.emit("out", {}); }), "c");
    flow.addRoutine(new Fn(() => {}), "d");
    flow.connect("a", "left", "b", "input");
    flow.connect("a", "right", "c", "input");
    flow.connect("b", "out", "d", "input");
    flow.connect("c", "out", "d", "input");
    registry().breakpointManager.setBreakpoint({ flow_id: flow.flowId, routine_id: "b", event_name: "out" });
    registry().breakpointManager.setBreakpoint({ flow_id: flow.flowId, routine_id: "c", event_name: "out" });
    const job = flow.start("a");
    const s = await pausedSession(job);
    await waitFor(() => hits(job) === 2);
    expect(s.pausedAt?.stop_number).toBe(1);
    const first = s.pausedAt?.routine_id;

    s.continue(1);
    expect(s.pausedAt?.stop_number).toBe(2);
    expect(s.pausedAt?.routine_id).not.toBe(first);
    expect(thrown(() => s.continue(1))).toMatchObject({ code: "STALE_STOP", details: { current_stop_number: 2 } });
    expect(s.status).toBe("paused");
    s.continue(2);
    await job.done;
    expect(job.status).toBe("completed");
  });
});
