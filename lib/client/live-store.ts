/**
 * One job's live debugger state (zustand, vanilla so it can be tested and fed outside React):
 * the run state per routine and edge, the debug session, the connection state and the event log.
 * The log is an append-only array outside React's state; `eventCount` is the reactive version.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import { applyEvents, emptyRunState, isFinal, reconcileWithSnapshot, type RunState, type SnapshotCounts } from "./run-state";
import type { ActivationSpan } from "./timeline";
import type { SessionSnapshot, TraceEvent } from "../wire";

export type ConnectionState = "connected" | "reconnecting" | "offline";

/** The log keeps the newest events up to this many (the server's trace keeps its own ring). */
export const EVENT_LOG_LIMIT = 50_000;

/**
 * How often the graph's view of the run follows the stream: a 300-routine graph repainting on
 * every animation frame costs a slow machine most of its main thread (layout, paint, layerize
 * each time); ten times a second still reads as live and keeps each redraw small. Stops and
 * resumes go out at once.
 */
export const VIEW_REFRESH_MS = 100;

export interface JobLiveState {
  jobId: string;
  run: RunState;
  /**
   * `run` as the graph and the routine panel show it: refreshed at most every VIEW_REFRESH_MS
   * while events stream, at once when the job stops or resumes.
   */
  view: RunState;
  session: SessionSnapshot | null;
  connection: ConnectionState;
  /** The log's version, bumped on every applied batch (the array grows in place; trimming replaces it). */
  eventCount: number;
  log: TraceEvent[];
  selectedRoutine: string | null;
  /**
   * Time travel: the job as it stood after event `seq`, shown in `view` instead of the live run
   * while set (null: live).
   */
  travel: Travel | null;
  /** Shows the job at a past seq (null: back to live, the view follows the run again). */
  setTravel(travel: Travel | null): void;
  /** Events of the job, in any order and with overlaps: each is logged and applied once. */
  applyEvents(events: readonly TraceEvent[]): void;
  /** A job snapshot (GET /api/jobs/{id}), whenever it arrives: see reconcileWithSnapshot. */
  reconcile(snapshot: SnapshotCounts): void;
  setSession(session: SessionSnapshot | null): void;
  setConnection(state: ConnectionState): void;
  select(routineId: string | null): void;
}

export type JobLiveStore = StoreApi<JobLiveState>;

/** Where the timeline is: what the graph shows instead of the live run, and what the panels read. */
export interface Travel {
  seq: number;
  /** The run state after event `seq` (folded from the trace, or the server's). */
  state: RunState;
  /** The routine whose event `seq` is (highlighted on the graph). */
  active: string | null;
  event: TraceEvent | null;
  /** The activation event `seq` belongs to, if any. */
  activation: ActivationSpan | null;
}

export function createJobLiveStore(jobId: string): JobLiveStore {
  let viewTimer: ReturnType<typeof setTimeout> | null = null;
  let viewAt = Number.NEGATIVE_INFINITY;
  const publishView = (): void => {
    if (viewTimer !== null) clearTimeout(viewTimer);
    viewTimer = null;
    viewAt = Date.now();
    const { run, view, travel } = store.getState();
    // While travelling the graph shows the past; the live run goes on underneath.
    if (travel) return;
    if (view !== run) store.setState({ view: run });
  };
  /** After `run` changed: the view follows now (a stop or a resume) or on the next refresh. */
  const followRun = (urgent: boolean): void => {
    if (urgent) publishView();
    // Even the leading edge goes through a timer: the graph redraws in its own task, not in the
    // frame that applied the events.
    else viewTimer ??= setTimeout(publishView, Math.max(0, viewAt + VIEW_REFRESH_MS - Date.now()));
  };
  // A stop or a resume shows at once (the user is waiting on it); the end goes with the next
  // refresh, in its own task: drawn in the same task as the job view's own re-render for the end,
  // a 300-node graph made that one task too long.
  const urgentChange = (a: RunState, b: RunState): boolean => a.pausedAt !== b.pausedAt || (a.status !== b.status && !isFinal(a.status));

  const store = createStore<JobLiveState>()((set, get) => ({
    jobId,
    run: emptyRunState(),
    view: emptyRunState(),
    session: null,
    connection: "offline",
    eventCount: 0,
    log: [],
    selectedRoutine: null,
    travel: null,
    setTravel(travel) {
      if (travel) {
        set({ travel, view: travel.state });
      } else if (get().travel) {
        set({ travel: null, view: get().run });
      }
    },
    applyEvents(batch) {
      const { run } = get();
      let log = get().log;
      const events = inSeqOrder(batch);
      const next = applyEvents(run, events);
      if (next === run) return;
      // Exactly the events the run state took: new, and each seq once.
      let last = run.lastSeq;
      for (const ev of events) {
        if (ev.seq <= last) continue;
        log.push(ev);
        last = ev.seq;
      }
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
        ...(pausedChanged && session ? { session: { ...session, status: isFinal(next.status) ? "ended" : next.pausedAt ? "paused" : "running", paused_at: next.pausedAt } } : {}),
      });
      followRun(urgentChange(next, get().view));
    },
    reconcile(snapshot) {
      const run = get().run;
      const next = reconcileWithSnapshot(run, snapshot, eventsAfter(get().log, snapshot.last_seq));
      if (next !== run) {
        set({ run: next });
        publishView();
      }
    },
    setSession(session) {
      const run = get().run;
      // The session is the authority on where the job stands while it is alive.
      if (session && !isFinal(run.status)) {
        set({ session, run: { ...run, pausedAt: session.paused_at, status: session.status === "paused" ? "paused" : run.status === "paused" ? "running" : run.status } });
        publishView();
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
  return store;
}

/** The batch sorted by seq (the same array when it already is). */
function inSeqOrder(events: readonly TraceEvent[]): readonly TraceEvent[] {
  for (let i = 1; i < events.length; i++) {
    if ((events[i] as TraceEvent).seq < (events[i - 1] as TraceEvent).seq) return [...events].sort((a, b) => a.seq - b.seq);
  }
  return events;
}

/** The log's events with seq above `seq` (the log is in seq order). */
export function eventsAfter(log: readonly TraceEvent[], seq: number): readonly TraceEvent[] {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid] as TraceEvent).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo === log.length ? [] : log.slice(lo);
}
