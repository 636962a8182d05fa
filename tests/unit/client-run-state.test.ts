import { afterEach, describe, expect, it, vi } from "vitest";
import { createJobLiveStore, EVENT_LOG_LIMIT, eventsAfter, VIEW_REFRESH_MS } from "../../lib/client/live-store";
import { applyEvents, connectionId, emptyRunState, reconcileWithSnapshot, type RunState, type SnapshotCounts } from "../../lib/client/run-state";
import type { JobStatus, TraceEvent, TraceEventType } from "../../lib/wire";

let seq = 0;
/** A snapshot that counts nothing, as of `last_seq` 0. */
const snap = (over: Partial<SnapshotCounts>): SnapshotCounts => ({ status: "running", error: null, routine_states: {}, last_seq: 0, connection_counts: {}, ...over });

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
      last_seq: 4,
      connection_counts: {},
      routine_states: { a: { status: "completed", activations: 5, errors: 0, last_error: null }, b: { status: "completed", activations: 1, errors: 0, last_error: null } },
    });
    expect(r.routines.a?.activations).toBe(5);
    expect(r.routines.a?.timedRuns).toBe(1); // durations are the events' (a snapshot has none)
    expect(r.routines.b).toBe(s.routines.b);
    expect(r.status).toBe("completed");
    // A stale snapshot never takes a finished job back to running, nor moves a live one between
    // running and paused (the event stream and the session own that).
    const finished = applyEvents(s, [ev("job_completed", null, {})]);
    expect(reconcileWithSnapshot(finished, snap({ status: "running" })).status).toBe("completed");
    // The engine's error object becomes one readable line (it is rendered as text).
    const failed = reconcileWithSnapshot(s, snap({ status: "failed", error: { message: "interrupted by restart", error_type: "Interrupted", routine_id: null } }));
    expect(failed.error).toBe("Interrupted: interrupted by restart");
    const failedByEvent = applyEvents(s, [ev("job_failed", null, { error: { message: "boom", error_type: "ValueError", routine_id: "b" } })]);
    expect(failedByEvent.error).toBe("ValueError: boom (in b)");
    const live = applyEvents(emptyRunState(), [ev("job_started", null)]);
    expect(reconcileWithSnapshot(live, snap({ status: "paused" })).status).toBe("running");
  });
});

/** A run of a → b (one activation each, a crossing a.out:b.in), as events 1..7. */
function runOfAB(): TraceEvent[] {
  seq = 0;
  return [
    ev("job_started", null),
    ev("routine_start", "a"),
    ev("event_emit", "a", { event_name: "out", targets: [{ routine_id: "b", slot_name: "in" }] }),
    ev("routine_complete", "a", {}, { duration: 2, status: "completed" }),
    ev("routine_start", "b"),
    ev("routine_complete", "b", {}, { duration: 4, status: "completed" }),
    ev("job_completed", null, { status: "completed", error: null }),
  ];
}

/** The server's snapshot of that run as of `lastSeq`. */
function snapshotOfAB(lastSeq: number, status: JobStatus = lastSeq >= 7 ? "completed" : "running"): SnapshotCounts {
  const state = applyEvents(emptyRunState(), runOfAB().slice(0, lastSeq));
  const routine_states: SnapshotCounts["routine_states"] = {};
  for (const id of ["a", "b"]) {
    const r = state.routines[id];
    routine_states[id] = { status: r && r.status !== "paused" ? r.status : "pending", activations: r?.activations ?? 0, errors: r?.errors ?? 0, last_error: null };
  }
  const connection_counts: Record<string, number> = {};
  for (const [id, e] of Object.entries(state.edges)) connection_counts[id] = e.count;
  return { status, error: null, last_seq: lastSeq, routine_states, connection_counts };
}

const countsOf = (s: RunState) => ({
  a: s.routines.a?.activations ?? 0,
  b: s.routines.b?.activations ?? 0,
  aStatus: s.routines.a?.status ?? "pending",
  bStatus: s.routines.b?.status ?? "pending",
  edge: s.edges[connectionId("a", "out", "b", "in")]?.count ?? 0,
});

describe("counts with snapshots: each event counted once, whichever arrives first", () => {
  const done = { a: 1, b: 1, aStatus: "completed", bStatus: "completed", edge: 1 };

  it("a finished job opened late: the snapshot comes before the replay of the events it covers", () => {
    let s = reconcileWithSnapshot(emptyRunState(), snapshotOfAB(7));
    expect(countsOf(s)).toEqual(done);
    s = applyEvents(s, runOfAB());
    expect(countsOf(s)).toEqual(done); // not ▶ 2: the replayed events were already in the snapshot
    expect(s.lastSeq).toBe(7);
    expect(s.routines.a).toMatchObject({ totalDurationMs: 2, timedRuns: 1 }); // timed once, from the events
    expect(s.status).toBe("completed");
  });

  it("a stop: the snapshot comes between events it covers and events after it", () => {
    const events = runOfAB();
    let s = applyEvents(emptyRunState(), events.slice(0, 2));
    s = reconcileWithSnapshot(s, snapshotOfAB(5), [], 1);
    expect(countsOf(s)).toMatchObject({ a: 1, b: 1, edge: 1 });
    s = applyEvents(s, events.slice(2));
    expect(countsOf(s)).toEqual(done);
    expect(s.missing).toBe(0);
  });

  it("a snapshot that arrives after events beyond it: its counts plus those later events, not the later events twice", () => {
    const events = runOfAB();
    const received = events.slice(0, 6);
    let s = applyEvents(emptyRunState(), received);
    s = reconcileWithSnapshot(s, snapshotOfAB(3), received.slice(3));
    expect(countsOf(s)).toEqual(done);
    expect(s.countedSeq).toBe(6);
    s = applyEvents(s, events);
    expect(countsOf(s)).toEqual(done);
  });

  it("a snapshot older than the one applied changes nothing (its answer came late)", () => {
    let s = reconcileWithSnapshot(emptyRunState(), snapshotOfAB(6));
    const before = s;
    s = reconcileWithSnapshot(s, snapshotOfAB(2));
    expect(s).toBe(before);
    s = applyEvents(s, runOfAB());
    expect(countsOf(s)).toEqual(done);
  });

  it("repairs counts that lost events (a trace ring that no longer holds a prefix) and says how many are missing", () => {
    const events = runOfAB();
    let s = applyEvents(emptyRunState(), events.slice(4)); // seqs 1..4 are gone
    expect(s.missing).toBe(4);
    expect(countsOf(s)).toMatchObject({ a: 0, b: 1, edge: 0 });
    s = reconcileWithSnapshot(s, snapshotOfAB(7), []);
    expect(countsOf(s)).toEqual(done);
    expect(s.missing).toBe(4);
  });

  it("keeps the identity of what the snapshot does not change", () => {
    const s = applyEvents(emptyRunState(), runOfAB());
    const r = reconcileWithSnapshot(s, snapshotOfAB(7));
    expect(r.routines).toBe(s.routines);
    expect(r.edges).toBe(s.edges);
    expect(r.baseSeq).toBe(7);
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

  it("logs each event once when a replay overlaps events in the same batch (a reconnect before the frame was flushed), in seq order", () => {
    seq = 0;
    const store = createJobLiveStore("j1");
    const [e1, e2, e3, e4] = [ev("job_started", null), ev("routine_start", "a"), ev("routine_complete", "a"), ev("routine_start", "b")];
    store.getState().applyEvents([e1]);
    store.getState().applyEvents([e3, e2, e2, e3, e4] as TraceEvent[]);
    expect(store.getState().log.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(store.getState().run.routines.a?.activations).toBe(1);
    expect(store.getState().run.missing).toBe(0);
  });

  it("a snapshot applied before or after the events it covers gives the same counts, and the log every event once", () => {
    const events = runOfAB();
    const early = createJobLiveStore("j1");
    early.getState().reconcile(snapshotOfAB(7));
    early.getState().applyEvents(events);
    const late = createJobLiveStore("j1");
    late.getState().applyEvents(events.slice(0, 5));
    late.getState().reconcile(snapshotOfAB(3)); // rebased on the log's events 4 and 5
    late.getState().applyEvents(events);
    for (const store of [early, late]) {
      expect(countsOf(store.getState().run)).toEqual({ a: 1, b: 1, aStatus: "completed", bStatus: "completed", edge: 1 });
      expect(store.getState().log.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(store.getState().view.routines.a?.activations).toBe(1);
    }
  });

  it("the log's events after a seq", () => {
    const log = runOfAB();
    expect(eventsAfter(log, 0)).toEqual(log);
    expect(eventsAfter(log, 5).map((e) => e.seq)).toEqual([6, 7]);
    expect(eventsAfter(log, 7)).toEqual([]);
    expect(eventsAfter([], 3)).toEqual([]);
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
