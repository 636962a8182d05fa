import { afterAll, describe, expect, it } from "vitest";
import { Flow, getEventManager, jobStore, MonitoringRegistry, type Payload, Routine } from "../../lib";
import { Fn } from "../helpers/flows";
import { pausedSession } from "../helpers/monitoring";

afterAll(() => {
  MonitoringRegistry.getInstance().monitorCollector.setMaxEventsPerJob(1000);
});

describe("'Using Monitoring' example, in TypeScript", () => {
  it("collects metrics, the trace and per-routine metrics of an executed flow", async () => {
    // Enable monitoring
    MonitoringRegistry.enable();
    expect(MonitoringRegistry.isEnabled()).toBe(true);

    // Create and execute a flow
    const flow = new Flow("my_flow");
    class MyRoutine extends Routine {
      constructor() {
        super();
        this.addSlot("trigger", { handler: this.process });
      }
      process(_payload: Payload) {
        // This execution will be monitored
        return { result: "success" };
      }
    }
    flow.addRoutine(new MyRoutine(), "r1");
    const jobState = await flow.execute("r1");

    // Access monitoring data
    const registry = MonitoringRegistry.getInstance();
    const collector = registry.monitorCollector;

    const lines: string[] = [];
    const print = (s: string) => {
      lines.push(s);
      console.log(s);
    };
    const metrics = collector.getMetrics(jobState.jobId);
    expect(metrics).not.toBeNull();
    if (!metrics) return;
    print(`Duration: ${metrics.duration_ms}ms`);
    print(`Events: ${metrics.total_events}`);
    const trace = collector.getExecutionTrace(jobState.jobId);
    for (const event of trace) print(`${event.event_type}: ${event.routine_id}`);
    const routineMetrics = collector.getRoutineMetrics(jobState.jobId, "r1");
    print(`R1 duration: ${routineMetrics?.duration_ms}ms`);

    expect(metrics.status).toBe("completed");
    expect(metrics.duration_ms).toBeGreaterThanOrEqual(0);
    expect(metrics.total_events).toBe(4);
    expect(trace.map((e) => e.event_type)).toEqual(["job_started", "routine_start", "routine_complete", "job_completed"]);
    expect(trace.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(trace.every((e) => /Z$/.test(e.timestamp))).toBe(true);
    expect(routineMetrics).toMatchObject({ routine_id: "r1", execution_count: 1, error_count: 0 });
    expect(routineMetrics?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(lines[0]).toMatch(/^Duration: \d+ms$/);
    expect(lines.at(-1)).toMatch(/^R1 duration: [\d.]+ms$/);
  });

  it("monitoring applies to jobs started while it is enabled ('enable first, then execute')", async () => {
    const flow = new Flow("late");
    flow.addRoutine(new Fn(() => {}), "r1");
    MonitoringRegistry.disable();
    const unmonitored = await flow.execute("r1");
    expect(unmonitored.hooks).toBeNull();
    expect(MonitoringRegistry.getInstance().monitorCollector.getMetrics(unmonitored.jobId)).toBeNull();
    MonitoringRegistry.enable();
    const monitored = await flow.execute("r1");
    expect(MonitoringRegistry.getInstance().monitorCollector.getMetrics(monitored.jobId)?.total_events).toBe(4);
  });
});

describe("'Breakpoint Conditions' examples, in TypeScript", () => {
  it("stops job_abc123 only when the condition holds, and 'True' always", async () => {
    MonitoringRegistry.enable();
    const registry = MonitoringRegistry.getInstance();
    const breakpointManager = registry.breakpointManager;

    // Set a breakpoint with a condition
    const conditional = breakpointManager.setBreakpoint({
      job_id: "job_abc123",
      routine_id: "process_data",
      slot_name: "trigger",
      condition: "data.get('value', 0) > 100", // Only break if value > 100
    });
    // Set a breakpoint on any error... condition True, always break
    const always = breakpointManager.setBreakpoint({
      jobId: "job_abc123",
      routineId: "risky_operation",
      slotName: "trigger",
      condition: "True",
    });
    expect(conditional).toMatchObject({ type: "slot", job_id: "job_abc123", enabled: true, hit_count: 0 });
    expect(always.type).toBe("slot");

    const seen: unknown[] = [];
    const flow = new Flow("conditions");
    flow.addRoutine(new Fn((_p, ctx) => { ctx.emit("out", { value: 50 }); ctx.emit("out", { value: 150 }); ctx.emit("risk", {}); }), "src");
    flow.addRoutine(new Fn((p) => { seen.push(p.value); }), "process_data");
    flow.addRoutine(new Fn(() => {}), "risky_operation");
    flow.connect("src", "out", "process_data", "trigger");
    flow.connect("src", "risk", "risky_operation", "trigger");

    const job = flow.start("src", {}, { jobId: "job_abc123" });
    const session = await pausedSession(job);
    expect(session.pausedAt).toMatchObject({ routine_id: "process_data", reason: "breakpoint", breakpoint_id: conditional.breakpoint_id });
    expect(session.getVariables().variables.local).toEqual({ value: 150 });
    expect(seen).toEqual([50]);
    session.continue();
    const again = await pausedSession(job);
    expect(again.pausedAt).toMatchObject({ routine_id: "risky_operation", breakpoint_id: always.breakpoint_id });
    again.continue();
    await job.done;
    expect(job.status).toBe("completed");
    expect(seen).toEqual([50, 150]);
    expect(breakpointManager.getBreakpoint(conditional.breakpoint_id)?.hit_count).toBe(1);
    jobStore.remove("job_abc123");
  });
});

describe("'Memory Management' and 'Event Queue Management' examples", () => {
  it("setMaxEventsPerJob(500) on a 2,000-event job keeps the last 500, counts 2,000, reports 1,500 dropped", async () => {
    MonitoringRegistry.enable();
    const collector = MonitoringRegistry.getInstance().monitorCollector;
    collector.setMaxEventsPerJob(500);
    const flow = new Flow("two_thousand");
    // job_started, routine_start, 1,996 log events, routine_complete, job_completed = 2,000 events
    flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 1996; i++) ctx.log(`line ${i}`); }), "r");
    const job = await flow.execute("r");
    const metrics = collector.getMetrics(job.jobId);
    expect(metrics?.total_events).toBe(2000);
    const trace = collector.getExecutionTrace(job.jobId);
    expect(trace).toHaveLength(500);
    expect(metrics?.retained_events).toBe(500);
    expect(metrics?.dropped_events).toBe(1500);
    // The retained events are the newest 500, with no gap in seq.
    expect(trace.map((e) => e.seq)).toEqual(Array.from({ length: 500 }, (_, i) => 1501 + i));
    expect(trace.at(-1)?.event_type).toBe("job_completed");
    expect(collector.getExecutionTrace(job.jobId, 10).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1991 + i));
    expect(() => collector.setMaxEventsPerJob(0)).toThrow(/greater than 0/);
    collector.setMaxEventsPerJob(1000);
  });

  it("setMaxEventsPerJob applies to existing jobs too: exactly 2,000 events, 500 kept, 1,500 dropped", async () => {
    MonitoringRegistry.enable();
    const collector = MonitoringRegistry.getInstance().monitorCollector;
    collector.setMaxEventsPerJob(2000);
    const flow = new Flow("exactly_two_thousand");
    flow.addRoutine(new Fn((_p, ctx) => { for (let i = 0; i < 1996; i++) ctx.log(`line ${i}`); }), "r");
    const job = await flow.execute("r");
    expect(collector.getMetrics(job.jobId)?.dropped_events).toBe(0);
    collector.setMaxEventsPerJob(500);
    const metrics = collector.getMetrics(job.jobId);
    expect(metrics?.total_events).toBe(2000);
    expect(metrics?.dropped_events).toBe(1500);
    const seqs = collector.getExecutionTrace(job.jobId).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => 1501 + i));
    collector.setMaxEventsPerJob(1000);
  });

  it("get_event_manager().get_status(job_id) reports subscribers and queue", async () => {
    MonitoringRegistry.enable();
    const flow = new Flow("queue_status");
    flow.addRoutine(new Fn(() => {}), "r");
    const job = await flow.execute("r");
    const eventManager = getEventManager();
    const sub = eventManager.subscribe(job.jobId, { afterSeq: 0 });
    const status = eventManager.getStatus(job.jobId);
    console.log(`Subscribers: ${status.subscriber_count}`);
    console.log(`Queue size: ${status.queue_size}`);
    console.log(`Queue capacity: ${status.max_size}`);
    expect(status).toMatchObject({ job_id: job.jobId, subscriber_count: 1, max_size: 100, dropped: 0 });
    const items = sub.drain();
    expect(items.map((i) => (i.kind === "event" ? i.event.event_type : "dropped"))).toEqual([
      "job_started", "routine_start", "routine_complete", "job_completed",
    ]);
    sub.close();
    expect(eventManager.getStatus(job.jobId).subscriber_count).toBe(0);
  });
});
