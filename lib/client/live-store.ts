/**
 * One job's live debugger state (zustand, vanilla so it can be tested and fed outside React):
 * the run state per routine and edge, the debug session, the connection state and the event log.
 * The log is an append-only array outside React's state; `eventCount` is the reactive version.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import { applyEvents, emptyRunState, reconcileWithSnapshot, type RunState } from "./run-state";
import type { JobSnapshot, SessionSnapshot, TraceEvent } from "./types";

export type ConnectionState = "connected" | "reconnecting" | "offline";

/** The log keeps the newest events up to this many (the server's trace keeps its own ring). */
export const EVENT_LOG_LIMIT = 50_000;

export interface JobLiveState {
  jobId: string;
  run: RunState;
  session: SessionSnapshot | null;
  connection: ConnectionState;
  /** The log's version, bumped on every applied batch (the array grows in place; trimming replaces it). */
  eventCount: number;
  log: TraceEvent[];
  selectedRoutine: string | null;
  applyEvents(events: readonly TraceEvent[]): void;
  reconcile(snapshot: Pick<JobSnapshot, "status" | "routine_states" | "error">): void;
  setSession(session: SessionSnapshot | null): void;
  setConnection(state: ConnectionState): void;
  select(routineId: string | null): void;
}

export type JobLiveStore = StoreApi<JobLiveState>;

export function createJobLiveStore(jobId: string): JobLiveStore {
  return createStore<JobLiveState>()((set, get) => ({
    jobId,
    run: emptyRunState(),
    session: null,
    connection: "offline",
    eventCount: 0,
    log: [],
    selectedRoutine: null,
    applyEvents(events) {
      const { run } = get();
      let log = get().log;
      const next = applyEvents(run, events);
      if (next === run) return;
      for (const ev of events) if (ev.seq > run.lastSeq) log.push(ev);
      // Trimmed into a new array (10% slack, so not on every batch): views that index the log
      // incrementally see a new identity and start over.
      if (log.length > EVENT_LOG_LIMIT * 1.1) log = log.slice(-EVENT_LOG_LIMIT);
      // A job_paused/resumed event carries the stop; the session message may come later.
      const session = get().session;
      const pausedChanged = next.pausedAt !== run.pausedAt;
      set({
        run: next,
        log,
        eventCount: get().eventCount + 1,
        ...(pausedChanged && session ? { session: { ...session, status: next.pausedAt ? "paused" : "running", paused_at: next.pausedAt } } : {}),
      });
    },
    reconcile(snapshot) {
      const run = get().run;
      const next = reconcileWithSnapshot(run, snapshot);
      if (next !== run) set({ run: next });
    },
    setSession(session) {
      const run = get().run;
      // The session is the authority on where the job stands while it is alive.
      if (session && run.status !== "completed" && run.status !== "failed" && run.status !== "cancelled") {
        set({ session, run: { ...run, pausedAt: session.paused_at, status: session.status === "paused" ? "paused" : run.status === "paused" ? "running" : run.status } });
      } else {
        set({ session });
      }
    },
    setConnection(connection) {
      if (get().connection !== connection) set({ connection });
    },
    select(routineId) {
      if (get().selectedRoutine !== routineId) set({ selectedRoutine: routineId });
    },
  }));
}
