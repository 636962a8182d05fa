import { afterEach, describe, expect, it, vi } from "vitest";
import { Flow, getEventManager, jobStore, MonitoringRegistry } from "../../lib";
import { Fn } from "../helpers/flows";
import { pausedSession, registry } from "../helpers/monitoring";

afterEach(() => {
  vi.useRealTimers();
});

describe("jobStore.removeOldJobs", () => {
  it("removes only finished jobs older than the limit, with all their data", async () => {
    const reg = registry();
    const flow = new Flow("retention");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", {})), "src");
    flow.addRoutine(new Fn(() => {}), "work");
    flow.connect("src", "out", "work", "input");

    const old1 = await flow.execute("src");
    const old2 = await flow.execute("src");
    reg.breakpointManager.setBreakpoint({ job_id: old1.jobId, routine_id: "work", condition: "False" });
    reg.debugSessionManager.getSession(old1.jobId);
    const sub = getEventManager().subscribe(old1.jobId, { afterSeq: 0 });

    // Two hours later: a fresh job finishes, another is paused in the debugger.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 2 * 3600_000 });
    const fresh = await flow.execute("src");
    const pausedJob = flow.start("src");
    reg.breakpointManager.setBreakpoint({ job_id: pausedJob.jobId, routine_id: "work" });
    const session = await pausedSession(pausedJob);

    const removed = jobStore.removeOldJobs(3600);
    expect(removed).toBeGreaterThanOrEqual(2);
    for (const gone of [old1, old2]) {
      expect(jobStore.get(gone.jobId)).toBeUndefined();
      expect(reg.monitorCollector.getMetrics(gone.jobId)).toBeNull();
      expect(reg.monitorCollector.getExecutionTrace(gone.jobId)).toEqual([]);
      expect(reg.breakpointManager.getBreakpoints(gone.jobId)).toEqual([]);
      expect(reg.debugSessionManager.get(gone.jobId)).toBeUndefined();
      expect(getEventManager().getStatus(gone.jobId).subscriber_count).toBe(0);
    }
    expect(sub.closed).toBe(true);
    expect(jobStore.get(fresh.jobId)).toBe(fresh);
    expect(reg.monitorCollector.getMetrics(fresh.jobId)).not.toBeNull();
    expect(jobStore.get(pausedJob.jobId)).toBe(pausedJob);
    expect(jobStore.remove(pausedJob.jobId)).toBe(false); // never a running or paused job

    session.continue();
    await pausedJob.done;
    vi.setSystemTime(Date.now() + 2 * 3600_000);
    expect(jobStore.removeOldJobs(3600)).toBeGreaterThanOrEqual(2);
    expect(jobStore.get(pausedJob.jobId)).toBeUndefined();
    expect(() => jobStore.removeOldJobs(-1)).toThrow(RangeError);
  });

  it("lists jobs newest first with filters", async () => {
    registry();
    const flow = new Flow("listing");
    flow.addRoutine(new Fn(() => {}), "ok");
    flow.addRoutine(new Fn(() => { throw new Error("x"); }), "bad");
    const a = await flow.execute("ok");
    const b = await flow.execute("bad");
    const c = await flow.execute("ok");
    const all = jobStore.list({ flowId: "listing" });
    expect(all.total).toBe(3);
    expect(all.jobs.map((j) => j.jobId)).toEqual([c.jobId, b.jobId, a.jobId]);
    expect(jobStore.list({ flowId: "listing", status: "failed" }).jobs.map((j) => j.jobId)).toEqual([b.jobId]);
    expect(jobStore.list({ flowId: "listing", limit: 1, offset: 1 })).toMatchObject({ total: 3, jobs: [b] });
    expect(MonitoringRegistry.getInstance().jobStore).toBe(jobStore);
  });
});

describe("metrics", () => {
  it("counts routines, errors and emits of a job with a failing routine", async () => {
    const reg = registry();
    const flow = new Flow("metrics");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { n: 1 }); ctx.emit("out", { n: 2 }); }), "src");
    const bad = new Fn((p) => { if (p.n === 2) throw new TypeError("two"); });
    bad.setAsOptional("continue");
    flow.addRoutine(bad, "work");
    flow.connect("src", "out", "work", "input");
    const job = await flow.execute("src");
    const m = reg.monitorCollector.getMetrics(job.jobId);
    expect(m).toMatchObject({
      status: "completed",
      total_routines: 2,
      completed_routines: 1,
      failed_routines: 0,
      total_activations: 3,
      total_event_emits: 2,
      total_errors: 1,
    });
    expect(m?.routine_metrics.work).toMatchObject({ execution_count: 2, error_count: 1 });
    expect(m?.errors).toEqual([expect.objectContaining({ routine_id: "work", error_type: "TypeError", error_message: "two", strategy: "continue" })]);
    const types = reg.monitorCollector.getExecutionTrace(job.jobId).map((e) => e.event_type);
    expect(types).toEqual([
      "job_started",
      "routine_start", "event_emit", "event_emit", "routine_complete",
      "routine_start", "routine_complete",
      "routine_start", "routine_error",
      "job_completed",
    ]);
    const err = reg.monitorCollector.getExecutionTrace(job.jobId).find((e) => e.event_type === "routine_error");
    expect(err?.data).toMatchObject({ error_type: "TypeError", message: "two", strategy: "continue" });
    const emit = reg.monitorCollector.getExecutionTrace(job.jobId).find((e) => e.event_type === "event_emit");
    expect(emit?.data).toEqual({ event_name: "out", targets: [{ routine_id: "work", slot_name: "input" }], payload: { n: 1 }, activation_id: 1 });
  });

  it("previews stay small for huge payloads", async () => {
    const reg = registry();
    const flow = new Flow("huge");
    flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", { big: "x".repeat(1_000_000), list: Array.from({ length: 100_000 }, (_, i) => i) })), "src");
    flow.addRoutine(new Fn(() => {}), "sink");
    flow.connect("src", "out", "sink", "input");
    const job = await flow.execute("src");
    for (const e of reg.monitorCollector.getExecutionTrace(job.jobId)) {
      expect(JSON.stringify(e.data).length).toBeLessThanOrEqual(2048 + 200);
    }
  });
});
