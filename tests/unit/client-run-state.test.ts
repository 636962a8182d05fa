import { afterEach, describe, expect, it, vi } from "vitest";
import { createJobLiveStore, EVENT_LOG_LIMIT, VIEW_REFRESH_MS } from "../../lib/client/live-store";
import { applyEvents, connectionId, emptyRunState, reconcileWithSnapshot } from "../../lib/client/run-state";
import type { TraceEvent, TraceEventType } from "../../lib/wire";

let seq = 0;
function ev(event_type: TraceEventType, routine_id: string | null, data: Record<string, unknown> = {}, extra: Partial<TraceEvent> = {}): TraceEvent {
  seq += 1;
  return { event_id: `evt_${seq}`, seq, job_id: "j1", flow_id: "f", routine_id, event_type, timestamp: new Date().toISOString(), data, duration: null, status: null, ...extra };
}

describe("run state from trace events", () => {
  it("counts activations, durations, edge crossings and follows the job status", () => {
    seq = 0;
    const events = [
      ev("job_started", "a"),
      ev("routine_start", "a"),
      ev("event_emit", "a", { event_name: "out", targets: [{ routine_id: "b", slot_name: "in" }, { routine_id: "c", slot_name: "in" }] }),
      ev("routine_complete", "a", {}, { duration: 2, status: "completed" }),
      ev("routine_start", "b"),
    ];
    const s = applyEvents(emptyRunState(), events, 1000);
    expect(s.status).toBe("running");
    expect(s.routines.a).toMatchObject({ status: "completed", activations: 1, running: 0, totalDurationMs: 2, timedRuns: 1 });
    expect(s.routines.b).toMatchObject({ status: "running", activations: 1, running: 1 });
    expect(s.edges[connectionId("a", "out", "b", "in")]).toEqual({ count: 1, lastAt: 1000 });
    expect(s.edges[connectionId("a", "out", "c", "in")]?.count).toBe(1);
    expect(s.lastSeq).toBe(5);

    const paused = applyEvents(s, [ev("job_paused", null, { paused_at: { routine_id: "c", slot_name: "in", kind: "activation" } })]);
    expect(paused.status).toBe("paused");
    expect(paused.pausedAt?.routine_id).toBe("c");
    const done = applyEvents(paused, [ev("job_resumed", null), ev("routine_complete", "b", {}, { duration: 4, status: "completed" }), ev("job_completed", null, { status: "completed", error: null })]);
    expect(done.status).toBe("completed");
    expect(done.pausedAt).toBeNull();
  });

  it("keeps the identity of untouched routines and edges, and of the state when nothing is new", () => {
    seq = 0;
    const s1 = applyEvents(emptyRunState(), [ev("routine_start", "a"), ev("routine_start", "b")]);
    const s2 = applyEvents(s1, [ev("routine_complete", "b", {}, { duration: 1 })]);
    expect(s2.routines.a).toBe(s1.routines.a);
    expect(s2.routines.b).not.toBe(s1.routines.b);
    expect(s2.edges).toBe(s1.edges);
    // A replay overlapping what was applied changes nothing.
    expect(applyEvents(s2, [{ ...ev("routine_start", "a"), seq: 2 }])).toBe(s2);
  });

  it("ignores duplicates (replays overlap) and counts a gap as missing", () => {
    seq = 0;
    const a = ev("routine_start", "a");
    const s1 = applyEvents(emptyRunState(), [a, a]);
    expect(s1.routines.a?.activations).toBe(1);
    seq = 10;
    const s2 = applyEvents(s1, [ev("routine_complete", "a")]);
    expect(s2.missing).toBe(9);
    expect(s2.lastSeq).toBe(11);
  });

  it("maps an error to what its strategy makes of the routine", () => {
    seq = 0;
    const s = applyEvents(emptyRunState(), [
      ev("routine_start", "stop"),
      ev("routine_error", "stop", { strategy: "stop", message: "boom" }),
      ev("routine_start", "cont"),
      ev("routine_error", "cont", { strategy: "continue", message: "meh" }),
      ev("routine_start", "retry"),
      ev("routine_error", "retry", { strategy: "retry", message: "again" }),
    ]);
    expect(s.routines.stop).toMatchObject({ status: "failed", errors: 1, lastError: "boom" });
    expect(s.routines.cont?.status).toBe("error_continued");
    expect(s.routines.retry?.status).toBe("running");
  });

  it("the job snapshot overrides counts the trace ring no longer holds, and only where they differ", () => {
    seq = 0;
    const s = applyEvents(emptyRunState(), [ev("routine_start", "a"), ev("routine_complete", "a", {}, { duration: 1 }), ev("routine_start", "b"), ev("routine_complete", "b")]);
    const r = reconcileWithSnapshot(s, {
      status: "completed",
      error: null,
      routine_states: { a: { status: "completed", activations: 5, errors: 0, last_error: null }, b: { status: "completed", activations: 1, errors: 0, last_error: null } },
    });
    expect(r.routines.a?.activations).toBe(5);
    expect(r.routines.b).toBe(s.routines.b);
    expect(r.status).toBe("completed");
    // A stale snapshot never takes a finished job back to running, nor moves a live one between
    // running and paused (the event stream and the session own that).
    const finished = applyEvents(s, [ev("job_completed", null, {})]);
    expect(reconcileWithSnapshot(finished, { status: "running", error: null, routine_states: {} }).status).toBe("completed");
    // The engine's error object becomes one readable line (it is rendered as text).
    const failed = reconcileWithSnapshot(s, { status: "failed", error: { message: "interrupted by restart", error_type: "Interrupted", routine_id: null }, routine_states: {} });
    expect(failed.error).toBe("Interrupted: interrupted by restart");
    const failedByEvent = applyEvents(s, [ev("job_failed", null, { error: { message: "boom", error_type: "ValueError", routine_id: "b" } })]);
    expect(failedByEvent.error).toBe("ValueError: boom (in b)");
    const live = applyEvents(emptyRunState(), [ev("job_started", null)]);
    expect(reconcileWithSnapshot(live, { status: "paused", error: null, routine_states: {} }).status).toBe("running");
  });
});

describe("the job's live store", () => {
  it("appends new events once to the log and bumps its version", () => {
    seq = 0;
    const store = createJobLiveStore("j1");
    const e1 = ev("job_started", null);
    const e2 = ev("routine_start", "a");
    store.getState().applyEvents([e1, e2]);
    store.getState().applyEvents([e2]);
    expect(store.getState().log.map((e) => e.seq)).toEqual([1, 2]);
    expect(store.getState().eventCount).toBe(1);
  });

  it("trims the log to its limit into a new array", () => {
    seq = 0;
    const store = createJobLiveStore("j1");
    const first = store.getState().log;
    const batch = Array.from({ length: Math.ceil(EVENT_LOG_LIMIT * 1.1) + 1 }, () => ev("log", "a"));
    store.getState().applyEvents(batch);
    const log = store.getState().log;
    expect(log).not.toBe(first);
    expect(log.length).toBe(EVENT_LOG_LIMIT);
    expect(log[log.length - 1]?.seq).toBe(batch.length);
  });

  it("a session update is the authority on where a live job stands", () => {
    const store = createJobLiveStore("j1");
    store.getState().applyEvents([{ ...ev("job_started", null), seq: 1 }]);
    const pausedAt = { routine_id: "b", slot_name: "in", event_name: null, reason: "step", description: "Step", breakpoint_id: null, depth: 1, kind: "activation", activation_id: 3, stop_number: 1, error: null } as const;
    store.getState().setSession({ session_id: "s", job_id: "j1", status: "paused", paused_at: pausedAt, step_mode: null, step_outcome: null });
    expect(store.getState().run.status).toBe("paused");
    expect(store.getState().run.pausedAt?.routine_id).toBe("b");
    store.getState().setSession({ session_id: "s", job_id: "j1", status: "running", paused_at: null, step_mode: null, step_outcome: null });
    expect(store.getState().run.status).toBe("running");
    expect(store.getState().run.pausedAt).toBeNull();
  });

  describe("the graph's view of the run", () => {
    afterEach(() => vi.useRealTimers());

    it("follows a stream of events at most every VIEW_REFRESH_MS, with nothing left behind", () => {
      vi.useFakeTimers();
      seq = 0;
      const store = createJobLiveStore("j1");
      store.getState().applyEvents([ev("job_started", null)]);
      expect(store.getState().view.status).toBe("running"); // a status change goes out at once
      let viewChanges = 0;
      store.subscribe((s, prev) => {
        if (s.view !== prev.view) viewChanges++;
      });
      // 60 frames of events in one second: the run follows every frame, the view at most 1000 / VIEW_REFRESH_MS times.
      for (let frame = 0; frame < 60; frame++) {
        store.getState().applyEvents([ev("routine_start", "a"), ev("routine_complete", "a", {}, { duration: 1, status: "completed" })]);
        expect(store.getState().run.routines.a?.activations).toBe(frame + 1);
        vi.advanceTimersByTime(1000 / 60);
      }
      expect(viewChanges).toBeGreaterThanOrEqual(4);
      expect(viewChanges).toBeLessThanOrEqual(1000 / VIEW_REFRESH_MS + 1);
      vi.advanceTimersByTime(VIEW_REFRESH_MS);
      expect(store.getState().view).toBe(store.getState().run);
      expect(store.getState().view.routines.a?.activations).toBe(60);
    });

    it("shows a stop and a resume at once, with everything before them; the end with the next refresh", () => {
      vi.useFakeTimers();
      seq = 0;
      const store = createJobLiveStore("j1");
      store.getState().applyEvents([ev("job_started", null)]);
      store.getState().applyEvents([ev("routine_start", "a")]);
      store.getState().applyEvents([ev("routine_complete", "a", {}, { duration: 1, status: "completed" }), ev("job_paused", null, { reason: "breakpoint", paused_at: { routine_id: "b", slot_name: "in", reason: "breakpoint" } })]);
      expect(store.getState().view).toBe(store.getState().run);
      expect(store.getState().view.status).toBe("paused");
      expect(store.getState().view.routines.a?.activations).toBe(1);
      store.getState().applyEvents([ev("job_resumed", null)]);
      expect(store.getState().view.status).toBe("running");
      // The end is not a stop: it goes with the next refresh, in a task of its own.
      store.getState().applyEvents([ev("job_completed", null)]);
      expect(store.getState().run.status).toBe("completed");
      vi.advanceTimersByTime(VIEW_REFRESH_MS);
      expect(store.getState().view.status).toBe("completed");
    });
  });
});
