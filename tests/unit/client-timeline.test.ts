import { describe, expect, it } from "vitest";
import { createJobLiveStore } from "../../lib/client/live-store";
import { applyEvents, connectionId, emptyRunState, type RunState } from "../../lib/client/run-state";
import { CHECKPOINT_EVERY, keepViewIdentity, runStateFromStateAt, Timeline } from "../../lib/client/timeline";
import type { TraceEvent, TraceEventType } from "../../lib/wire";

/** A chain a → b run `n` times (7 events per round plus job start and end), 1 ms apart. */
function chainTrace(n: number): TraceEvent[] {
  const out: TraceEvent[] = [];
  const add = (event_type: TraceEventType, routine_id: string | null, data: Record<string, unknown> = {}, extra: Partial<TraceEvent> = {}): void => {
    const seq = out.length + 1;
    out.push({ event_id: `e${seq}`, seq, job_id: "j", flow_id: "f", routine_id, event_type, timestamp: new Date(1_700_000_000_000 + seq).toISOString(), data, duration: null, status: null, ...extra });
  };
  add("job_started", null, { shared_data: {} });
  for (let i = 0; i < n; i++) {
    add("routine_start", "a", { slot_name: "in", attempt: 0, payload: { i } });
    add("event_emit", "a", { event_name: "out", targets: [{ routine_id: "b", slot_name: "in" }], payload: { i } });
    add("routine_complete", "a", { slot_name: "in" }, { duration: 1, status: "completed" });
    add("routine_start", "b", { slot_name: "in", attempt: 0, payload: { i } });
    if (i % 3 === 0) {
      add("routine_error", "b", { strategy: "retry", message: "flaky" });
      add("routine_start", "b", { slot_name: "in", attempt: 1, payload: { i } });
    }
    add("routine_complete", "b", { slot_name: "in" }, { duration: 1, status: "completed" });
  }
  add("job_completed", null, { status: "completed", error: null });
  return out;
}

describe("timeline: the job folded as of any seq", () => {
  const events = chainTrace(400);
  const t = new Timeline(events);

  it("equals a fold from the start at every seq, across checkpoints, in any order of visits", () => {
    const seqs = [events.length, 1, CHECKPOINT_EVERY, CHECKPOINT_EVERY + 1, 3 * CHECKPOINT_EVERY - 1, 17, 0, 1000, 999, 2];
    for (const s of seqs) {
      const direct = applyEvents(emptyRunState(), events.slice(0, s), 0);
      expect(t.stateAt(s)).toEqual(direct);
    }
    expect(t.stateAt(0)?.lastSeq).toBe(0);
    expect(t.stateAt(events.length)?.status).toBe("completed");
    expect(t.stateAt(events.length)?.edges[connectionId("a", "out", "b", "in")]?.count).toBe(400);
  });

  it("attributes emits and ends to their activation, and steps between activations", () => {
    // seq 2: a starts; 3: its emit; 4: its end; 5: b starts; 6: b fails (retry); 7: b again; 8: ends.
    expect(t.activationAt(3)).toMatchObject({ routineId: "a", startSeq: 2, endSeq: 4, outcome: "completed" });
    expect(t.activationAt(6)).toMatchObject({ routineId: "b", startSeq: 5, endSeq: 6, outcome: "error" });
    expect(t.activationAt(8)).toMatchObject({ routineId: "b", startSeq: 7, endSeq: 8, attempt: 1 });
    expect(t.activationAt(1)).toBeNull();
    expect(t.stepActivation(3, -1)).toBe(2);
    expect(t.stepActivation(2, -1)).toBe(2);
    expect(t.stepActivation(3, 1)).toBe(5);
    expect(t.stepActivation(5, 1)).toBe(7);
    expect(t.stepActivation(events.length, 1)).toBe(events.length);
    // A retried activation shows as two bars in b's lane, the failed attempt and the retry.
    const lanes = t.lanes();
    expect(lanes.map((l) => l.routineId)).toEqual(["a", "b"]);
    expect(lanes[1]?.spans.length).toBe(400 + 134);
  });

  it("in a concurrent run, emits and ends go to the activation their activation_id names, not the newest open one", () => {
    const ev = (seq: number, event_type: TraceEventType, data: Record<string, unknown>): TraceEvent => ({
      event_id: `c${seq}`, seq, job_id: "j", flow_id: "f", routine_id: event_type === "job_started" ? null : "w", event_type,
      timestamp: new Date(1_700_000_000_000 + seq).toISOString(), data, duration: null, status: null,
    });
    const c = new Timeline([
      ev(1, "job_started", { shared_data: {} }),
      ev(2, "routine_start", { slot_name: "in", activation_id: 10, payload: { n: 1 } }),
      ev(3, "routine_start", { slot_name: "in", activation_id: 11, payload: { n: 2 } }),
      // The first one emits and ends while the second still runs.
      ev(4, "event_emit", { event_name: "out", targets: [], activation_id: 10, payload: { n: 1 } }),
      ev(5, "routine_complete", { slot_name: "in", activation_id: 10 }),
      ev(6, "routine_complete", { slot_name: "in", activation_id: 11 }),
    ]);
    expect(c.activationAt(4)).toMatchObject({ startSeq: 2, endSeq: 5 });
    expect(c.activationAt(6)).toMatchObject({ startSeq: 3, endSeq: 6 });
  });

  it("a trace whose first events are gone folds from the server's state before them, and nothing without it", () => {
    const from = 1001;
    const held = events.slice(from - 1);
    expect(new Timeline(held).stateAt(2000)).toBeNull();
    const full = t.stateAt(from - 1) as RunState;
    // What GET /api/jobs/{id}/state?at_seq=1000 answers, as the client turns it into a run state.
    const routine_states = Object.fromEntries(
      Object.entries(full.routines).map(([id, r]) => [id, { status: r.status === "paused" ? "running" : r.status, activations: r.activations, errors: r.errors, last_error: r.lastError }]),
    );
    const connection_counts = Object.fromEntries(Object.entries(full.edges).map(([id, e]) => [id, e.count]));
    const base = runStateFromStateAt({
      job_id: "j",
      flow_id: "f",
      at_seq: from - 1,
      last_seq: events.length,
      event: null,
      status: "running",
      routine_states: routine_states as never,
      connection_counts,
      shared_data: {},
      activation: null,
      running: [],
    });
    const partial = new Timeline(held, base);
    expect(partial.foldsFrom).toBe(from - 1);
    expect(partial.stateAt(from - 2)).toBeNull();
    for (const s of [from - 1, from, 1500, events.length]) {
      const a = partial.stateAt(s) as RunState;
      const b = t.stateAt(s) as RunState;
      for (const id of ["a", "b"]) expect({ act: a.routines[id]?.activations, err: a.routines[id]?.errors, st: a.routines[id]?.status }).toEqual({ act: b.routines[id]?.activations, err: b.routines[id]?.errors, st: b.routines[id]?.status });
      expect(a.edges[connectionId("a", "out", "b", "in")]?.count).toBe(b.edges[connectionId("a", "out", "b", "in")]?.count);
    }
  });

  it("keeps the objects of unchanged routines between two views", () => {
    const before = t.stateAt(5) as RunState;
    const after = keepViewIdentity(before, t.stateAt(6) as RunState);
    expect(after.routines.a).toBe(before.routines.a);
    expect(after.routines.b).not.toBe(before.routines.b);
  });

  it("the store shows the travelled state instead of the live run, and live again after", () => {
    const store = createJobLiveStore("j");
    store.getState().applyEvents(events);
    store.getState().setTravel({ seq: 5, state: t.stateAt(5) as RunState, active: "b", event: t.eventAt(5), activation: t.activationAt(5) });
    expect(store.getState().view.routines.a?.activations).toBe(1);
    // Events arriving meanwhile move the run, not the travelled view.
    store.getState().reconcile({ status: "completed", error: null, routine_states: {}, last_seq: events.length, connection_counts: {} });
    expect(store.getState().view.lastSeq).toBe(5);
    store.getState().setTravel(null);
    expect(store.getState().view).toBe(store.getState().run);
  });
});
