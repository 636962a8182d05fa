/**
 * Stepping that follows the data, on the demo flows (library level; the HTTP and UI tests drive the
 * same through the server).
 */
import { describe, expect, it } from "vitest";
import type { Flow, Job } from "../../lib";
import { demoFlows } from "../../server/demos";
import { nextStop, pausedSession, registry } from "../helpers/monitoring";

const demo = (id: string): Flow => {
  const flow = demoFlows().find((f) => f.flowId === id);
  if (!flow) throw new Error(`no demo ${id}`);
  return flow;
};

function startPaused(flow: Flow, entry: string, params: Record<string, unknown>, slot = "trigger"): Job {
  registry();
  const job = flow.start(entry, params, { entrySlot: slot });
  registry().debugSessionManager.getSession(job.jobId).pause("entry");
  return job;
}

describe("step over follows the item", () => {
  it("data_processing paused at ingest: step over stops at process, again at validate, then the job ends", async () => {
    const job = startPaused(demo("data_processing"), "ingest", { data: [1, 2, 3] });
    const s = await pausedSession(job);
    expect(s.pausedAt).toMatchObject({ routine_id: "ingest", reason: "entry", stop_number: 1, description: "Paused on start, before ingest.trigger" });
    s.stepOver();
    expect(await nextStop(job)).toBe("process");
    expect(s.pausedAt).toMatchObject({ reason: "step", stop_number: 2, description: "Step over: next hop of the item that ingest emitted, at process.data_ingested" });
    expect(s.getVariables().variables.local).toEqual({ count: 3, data: [1, 2, 3] });
    s.stepOver();
    expect(await nextStop(job)).toBe("validate");
    expect(s.pausedAt).toMatchObject({ stop_number: 3, description: "Step over: next hop of the item that process emitted, at validate.data_processed" });
    s.stepOver();
    expect(await nextStop(job)).toBeNull();
    expect(job.status).toBe("completed");
    expect(s.toJSON().step_outcome).toMatch(/^Step over from validate\.data_processed: the item ended at validate/);
  });

  it("fan_out paused at the splitter: step over stops at the first item's next hop; its own next hop is that item's worker", async () => {
    const job = startPaused(demo("fan_out"), "split", { items: [1, 20, 3, 40] }, "input");
    const s = await pausedSession(job);
    s.stepOver();
    expect(await nextStop(job)).toBe("route");
    expect(s.getVariables().variables.local).toMatchObject({ item: 1, index: 0 });
    const firstRoute = s.pausedAt?.activation_id;
    s.stepOver();
    // The other three items are routed meanwhile (they are not on this item's path).
    expect(await nextStop(job)).toBe("small_worker");
    expect(s.getVariables().variables.local).toMatchObject({ item: 1 });
    expect(job.routineStates.route?.activations).toBe(4);
    expect(s.getCallStack().frames.map((f) => f.activation_id)).toContain(firstRoute);
    s.continue();
    await job.done;
    expect(job.status).toBe("completed");
  });

  it("fan_out paused at the splitter: step out runs the whole fan-out without stopping", async () => {
    const job = startPaused(demo("fan_out"), "split", { items: [1, 20, 3, 40] }, "input");
    const s = await pausedSession(job);
    s.stepOut();
    expect(await nextStop(job)).toBeNull();
    expect(job.status).toBe("completed");
    expect(job.routineStates.collect?.activations).toBe(4);
    expect(s.toJSON().step_outcome).toBe(
      "Step out from split.input: its whole subtree ran (12 more activations); nothing else was waiting on its path, and the job completed",
    );
  });

  it("fan_out paused at the second item's route: step out runs that item's subtree; the other items were already routed, so the job ends", async () => {
    const flow = demo("fan_out");
    registry();
    const job = flow.start("split", { items: [1, 20, 3, 40] }, { entrySlot: "input" });
    const bp = registry().breakpointManager.setBreakpoint({ job_id: job.jobId, routine_id: "route", condition: "item == 20" });
    const s = await pausedSession(job);
    registry().breakpointManager.removeBreakpoint(bp.breakpoint_id);
    expect(s.getVariables().variables.local).toMatchObject({ item: 20 });
    s.stepOut();
    expect(await nextStop(job)).toBeNull();
    expect(job.routineStates.large_worker?.activations).toBe(2);
  });

  it("step into goes to the very next activation, in the job's own order", async () => {
    const job = startPaused(demo("fan_out"), "split", { items: [1, 20] }, "input");
    const s = await pausedSession(job);
    const seen: string[] = [];
    for (;;) {
      s.stepInto();
      const at = await nextStop(job);
      if (at === null) break;
      seen.push(at);
    }
    expect(seen).toEqual(["route", "route", "small_worker", "large_worker", "collect", "collect"]);
  });
});

describe("stops are numbered and say what they are", () => {
  it("a retried routine is not a new hop: stepping over a failing attempt waits for the retry's output", async () => {
    const job = startPaused(demo("flaky_retry"), "flaky", {}, "input");
    const s = await pausedSession(job);
    s.stepOver(); // flaky fails twice (retried after backoff), then passes: its output goes to thrower and done
    expect(await nextStop(job)).toBe("thrower");
    expect(s.pausedAt?.stop_number).toBe(2);
    s.continue();
    await job.done;
  });
});
