/**
 * The served job snapshot says which trace seq it is as of: its counts include every event up to
 * `last_seq` and none after it, at any moment a request could read it.
 */
import { describe, expect, it } from "vitest";
import { Flow, type Job, type JobSnapshot, type TraceEvent } from "../../lib";
import { Fn } from "../helpers/flows";
import { pausedSession, registry } from "../helpers/monitoring";

/** What the events up to `lastSeq` say: activations and errors per routine, payloads per connection. */
function countsFromTrace(events: TraceEvent[], lastSeq: number) {
  const activations: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const connections: Record<string, number> = {};
  for (const e of events) {
    if (e.seq > lastSeq || e.routine_id === null) continue;
    if (e.event_type === "routine_start") activations[e.routine_id] = (activations[e.routine_id] ?? 0) + 1;
    if (e.event_type === "routine_error") errors[e.routine_id] = (errors[e.routine_id] ?? 0) + 1;
    if (e.event_type === "event_emit") {
      for (const t of e.data.targets as { routine_id: string; slot_name: string }[]) {
        const id = `${e.routine_id}.${String(e.data.event_name)}:${t.routine_id}.${t.slot_name}`;
        connections[id] = (connections[id] ?? 0) + 1;
      }
    }
  }
  return { activations, errors, connections };
}

/** The snapshot's own counts, in the same shape (zeros left out). */
function countsOf(snap: JobSnapshot) {
  const activations: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const [id, rs] of Object.entries(snap.routine_states)) {
    if (rs.activations > 0) activations[id] = rs.activations;
    if (rs.errors > 0) errors[id] = rs.errors;
  }
  return { activations, errors, connections: snap.connection_counts };
}

/** split → 3 items → work (fails on the second) → sink, plus a fan-out of `work` to `audit`. */
function fanFlow(id: string): Flow {
  const flow = new Flow(id);
  flow.addRoutine(new Fn((p, ctx) => {
    for (const item of p.items as number[]) ctx.emit("item", { item });
  }), "split");
  flow.addRoutine(new Fn((p, ctx) => {
    if (p.item === 2) throw new Error("two");
    ctx.emit("out", { v: p.item });
  }), "work");
  flow.addRoutine(new Fn(() => {}), "sink");
  flow.addRoutine(new Fn(() => {}), "audit");
  flow.connect("split", "item", "work", "input");
  flow.connect("work", "out", "sink", "input");
  flow.connect("work", "out", "audit", "input");
  flow.getRoutine("work")?.setAsOptional("continue");
  return flow;
}

describe("the served job snapshot", () => {
  it("counts payloads per connection, and is as of the last seq recorded", async () => {
    const reg = registry();
    const job = await fanFlow("snap_fan").execute("split", { items: [1, 2, 3] });
    const snap = reg.monitorCollector.jobSnapshot(job);
    const trace = reg.monitorCollector.getExecutionTrace(job.jobId);
    expect(snap.last_seq).toBe(trace.at(-1)?.seq);
    expect(snap.connection_counts).toEqual({ "split.item:work.input": 3, "work.out:sink.input": 2, "work.out:audit.input": 2 });
    expect(countsOf(snap)).toEqual(countsFromTrace(trace, snap.last_seq));
    expect(snap.routine_states.work).toMatchObject({ activations: 3, errors: 1, status: "error_continued" });
  });

  it("a job without monitoring has no trace: as of seq 0, with no counts", async () => {
    const reg = registry();
    const flow = fanFlow("snap_plain");
    const job = flow.start("split", { items: [1] }, { hooks: null });
    await job.done;
    expect(reg.monitorCollector.jobSnapshot(job)).toMatchObject({ last_seq: 0, connection_counts: {}, status: "completed" });
  });

  it("agrees with the trace at every microtask while a breakpoint releases an activation (routine_start and the count are one step)", async () => {
    const reg = registry();
    for (const strategy of ["sequential", "concurrent"] as const) {
      const flow = new Flow(`snap_release_${strategy}`, { executionStrategy: strategy });
      flow.addRoutine(new Fn((_p, ctx) => ctx.emit("out", {})), "a");
      flow.addRoutine(new Fn(() => {}), "b");
      flow.connect("a", "out", "b", "input");
      const job: Job = flow.start("a", {});
      reg.breakpointManager.setBreakpoint({ job_id: job.jobId, routine_id: "b" });
      const session = await pausedSession(job);
      const seen: string[] = [];
      const check = (): void => {
        const snap = reg.monitorCollector.jobSnapshot(job);
        const expected = countsFromTrace(reg.monitorCollector.getExecutionTrace(job.jobId), snap.last_seq);
        seen.push(JSON.stringify(countsOf(snap)) === JSON.stringify(expected) ? "ok" : `seq ${snap.last_seq}: ${JSON.stringify(countsOf(snap))} vs trace ${JSON.stringify(expected)}`);
      };
      session.continue();
      // Read it between every microtask of the release, as a request handler's continuation could.
      for (let i = 0; i < 30; i++) {
        check();
        await Promise.resolve();
      }
      await job.done;
      check();
      expect(seen.filter((s) => s !== "ok")).toEqual([]);
      expect(job.status).toBe("completed");
    }
  });
});
