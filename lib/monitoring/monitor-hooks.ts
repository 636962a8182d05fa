import { type Activation, conditionScope, type EmitInfo, type ErrorStrategy, errorMessage, errorType, type ExecutionHooks, type Job, type JobStatus, type LogEntry } from "../engine";
import { type BreakpointLocation, type BreakpointManager, CHECK_BUDGET_STEPS, type JobRef } from "./breakpoints";
import type { JobRecord, MonitorCollector } from "./collector";
import type { DebugSession, StopReason, StopRequest } from "./debug-session";
import type { JobStore } from "./job-store";
import type { Breakpoint } from "./schemas";
import { SharedTracker } from "./shared-changes";
import { preview } from "./trace";

/** What monitoring keeps on each job it watches (`job.hookState`). */
export class JobMonitorState {
  readonly ref: JobRef;
  bpVersion = -1;
  hasBreakpoints = false;
  /**
   * The job epoch of the last clock reading (kept in `record.clock`), and how many emits reused
   * it. Clock reads are dear (60-90 ns here), so within one epoch of the job's synchronous loop
   * the end of one activation serves as the start of the next.
   */
  clockEpoch = -1;
  clockUses = 0;
  session: DebugSession | null = null;
  /** What the trace last recorded of the job's shared data (see shared-changes.ts); null: not recorded. */
  readonly shared: SharedTracker | null;
  /**
   * The job epoch of the last shared-data comparison: a routine_start in the same epoch follows
   * the previous activation's end with no other code run between them, so nothing to compare.
   */
  sharedEpoch = -1;

  constructor(
    readonly job: Job,
    readonly record: JobRecord,
  ) {
    this.ref = { job_id: job.jobId, flow_id: job.flowId, start_order: job.startOrder };
    this.shared = record.recordsShared ? new SharedTracker() : null;
  }
}

export interface MonitoringServices {
  collector: MonitorCollector;
  breakpoints: BreakpointManager;
  jobStore: JobStore;
  /** The job's debug session, created on demand. */
  sessionFor(job: Job): DebugSession;
  /** Why this session may not stop now (the cap on paused jobs), or null; counts the refusal. */
  stopRefusal(session: DebugSession): string | null;
  /** Live fan-out back-pressure: a promise while the job's subscribers are behind (event-manager.ts). */
  fanout?: { behindTotal: number; whenCaughtUp(jobId: string, flowId: string): Promise<void> | undefined };
}

const stateOf = (job: Job): JobMonitorState => job.hookState as JobMonitorState;

/**
 * The engine hooks monitoring attaches to each job: trace events and metrics, breakpoint
 * checks, and the holds that stop one job for the debugger. One shared object for all jobs.
 */
export class MonitoringHooks implements ExecutionHooks {
  // Direct fields: the hot path reads them several times per activation.
  private readonly collector: MonitorCollector;
  private readonly breakpoints: BreakpointManager;

  constructor(private readonly s: MonitoringServices) {
    this.collector = s.collector;
    this.breakpoints = s.breakpoints;
  }

  /**
   * Replaces what holds a job between activations while its events are not delivered yet (the
   * live fan-out by default; a cluster's worker adds its own writes to Redis).
   */
  setFanout(fanout: MonitoringServices["fanout"]): void {
    this.s.fanout = fanout;
  }

  onJobStart(job: Job): void {
    this.s.jobStore.add(job);
    const state = new JobMonitorState(job, this.s.collector.startJob(job));
    job.hookState = state;
    this.refresh(state);
    this.s.collector.record(state.record, "job_started", job.entryRoutineId, {
      entry_routine_id: job.entryRoutineId,
      entry_slot: job.entrySlot,
      params: preview(job.entryParams),
      // In full: the state at any seq is folded from it and the changes that follow.
      shared_data: state.shared === null ? {} : state.shared.initial(job.shared),
    }, null, "running");
    this.s.collector.keepEventPayload(state.record, "params", job.entryRoutineId, job.entrySlot, null, job.entryParams);
  }

  onJobEnd(job: Job): void {
    const state = stateOf(job);
    const { collector } = this.s;
    collector.endJob(state.record);
    const type = job.status === "completed" ? "job_completed" : job.status === "cancelled" ? "job_cancelled" : "job_failed";
    const duration = job.finishedAt && job.startedAt ? job.finishedAt.getTime() - job.startedAt.getTime() : null;
    collector.record(state.record, type, null, { status: job.status, error: job.error, cancel_reason: job.cancelReason, duration_ms: duration }, duration, job.status);
    state.session?.onJobEnd();
  }

  onJobStatusChange(job: Job, status: JobStatus, reason: string | null): void {
    const state = stateOf(job);
    if (status === "paused") {
      this.s.collector.record(state.record, "job_paused", null, { reason, paused_at: state.session?.pausedAt ?? null }, null, "paused");
    } else if (status === "running") {
      this.s.collector.record(state.record, "job_resumed", null, { reason }, null, "running");
    }
  }

  beforeActivation(act: Activation): Promise<void> | undefined {
    const fanout = this.s.fanout;
    if (fanout !== undefined && fanout.behindTotal !== 0) {
      // Sockets watching this job have not been served yet: it waits for them between
      // activations (the engine records its start through activationReleased).
      const wait = fanout.whenCaughtUp(act.job.jobId, act.job.flowId);
      if (wait !== undefined) return wait.then(() => this.checkActivation(act, false));
    }
    return this.checkActivation(act, true);
  }

  /** Breakpoints and steps before an activation; `record`: record its start now (not held before). */
  private checkActivation(act: Activation, record: boolean): Promise<void> | undefined {
    const state = stateOf(act.job);
    if (state.bpVersion !== this.breakpoints.version) this.refresh(state);
    if (state.hasBreakpoints || state.session?.wantsStop) {
      const location: BreakpointLocation = { kind: "activation", routine_id: act.routineId, slot_name: act.slotName, connection_id: act.connection?.id ?? null };
      const hit = this.checkBreakpoints(state, act, location, act.payload);
      // A step sees every activation start (it counts what it follows), even one a breakpoint stops.
      const other = state.session?.wantsStop ? state.session.stopFor(act) : null;
      const stop: { reason: StopReason; description: string } | null = hit ? { reason: "breakpoint", description: describeHit(hit, act) } : other;
      if (stop !== null) {
        const { reason, description } = stop;
        // Its routine_start is recorded by activationReleased, when the engine runs it.
        const held = this.stop(state, { kind: "activation", activation: act, emit: null, error: undefined, reason, description, breakpointId: hit?.breakpoint_id ?? null }, hit);
        if (held !== undefined) return held;
      }
    }
    if (record) this.recordStart(state, act);
    return undefined;
  }

  /**
   * A held activation runs now (never after a cancel or a failure that ended the job: nothing may
   * follow the job's final event). Recorded in the engine's own step, right before it counts the
   * activation, so no job snapshot can see one without the other.
   */
  activationReleased(act: Activation): void {
    const state = stateOf(act.job);
    // The clock read before the hold is stale: the handler's time starts now, not when the
    // debugger stopped it.
    state.clockEpoch = -1;
    // The debugger may have edited the shared data while it held the job.
    state.sharedEpoch = -1;
    this.recordStart(state, act);
  }

  afterActivation(act: Activation, error: unknown): void {
    const state = stateOf(act.job);
    state.record.clock = performance.now();
    state.clockEpoch = act.job.epoch;
    // A failure records its shared-data changes on its routine_error (onActivationError).
    const ok = error === undefined;
    state.sharedEpoch = act.job.epoch;
    this.collector.activationFinished(state.record, act, ok, ok && state.shared !== null ? state.shared.diff(act.job.shared) : null);
    const session = state.session;
    if (session?.stepping) session.noteFinished(act, error !== undefined);
  }

  onActivationInterrupted(act: Activation): void {
    // Only an activation whose start was recorded has an open entry to close.
    if (act.startedAt <= 0) return;
    const state = stateOf(act.job);
    const duration = performance.now() - act.startedAt - act.debugOverheadMs;
    const data: Record<string, unknown> = { slot_name: act.slotName, interrupted: true, reason: act.job.cancelReason ?? act.job.error?.message ?? null, activation_id: act.id };
    const shared = state.shared?.diff(act.job.shared) ?? null;
    if (shared !== null) data.shared_changes = shared;
    this.s.collector.record(state.record, "routine_complete", act.routineId, data, duration, "cancelled");
  }

  onActivationError(act: Activation, error: unknown, strategy: ErrorStrategy): Promise<void> | undefined {
    const state = stateOf(act.job);
    const type = errorType(error);
    const message = errorMessage(error);
    const duration = act.startedAt > 0 ? performance.now() - act.startedAt - act.debugOverheadMs : null;
    this.s.collector.recordError(state.record, act.routineId, type, message, strategy);
    const data: Record<string, unknown> = {
      slot_name: act.slot.name,
      error_type: type,
      message,
      strategy,
      attempt: act.attempt,
      depth: act.depth,
      activation_id: act.id,
      outcome: outcomeOf(act, strategy),
    };
    const shared = state.shared?.diff(act.job.shared) ?? null;
    if (shared !== null) data.shared_changes = shared;
    this.s.collector.record(state.record, "routine_error", act.routineId, data, duration, "failed");
    if (state.bpVersion !== this.s.breakpoints.version) this.refresh(state);
    if (!state.hasBreakpoints) return undefined;
    const location: BreakpointLocation = { kind: "error", routine_id: act.routineId, slot_name: act.slotName };
    const hit = this.checkBreakpoints(state, act, location, act.payload, { error: { error_type: type, message } });
    if (!hit) return undefined;
    return this.stop(state, { kind: "error", activation: act, emit: null, error, reason: "exception", description: describeHit(hit, act, { error_type: type, message }), breakpointId: hit.breakpoint_id }, hit);
  }

  onEmit(info: EmitInfo): Promise<void> | undefined {
    const state = stateOf(info.job);
    const source = info.source;
    // An emit from the synchronous part of a handler reuses the reading taken when the handler
    // started (refreshed every 64 emits); a later emit (after an await) reads the clock.
    if (!source.inSyncPart || state.clockEpoch !== info.job.epoch || ++state.clockUses > 64) {
      state.record.clock = performance.now();
      state.clockEpoch = info.job.epoch;
      state.clockUses = 0;
    }
    this.collector.recordEmit(state.record, source.routineId, source.id, info.eventName, info.routes, info.payload);
    const session = state.session;
    if (session?.stepping) session.noteEmit(source, info.routes.length);
    if (state.bpVersion !== this.s.breakpoints.version) this.refresh(state);
    if (!state.hasBreakpoints) return undefined;
    const location: BreakpointLocation = { kind: "emit", routine_id: source.routineId, event_name: info.eventName };
    const hit = this.checkBreakpoints(state, source, location, info.payload, undefined, info.eventName);
    if (!hit) return undefined;
    return this.stop(state, { kind: "emit", activation: source, emit: info, error: undefined, reason: "breakpoint", description: describeHit(hit, source, undefined, info.eventName), breakpointId: hit.breakpoint_id }, hit);
  }

  onLog(job: Job, entry: LogEntry): void {
    const state = stateOf(job);
    this.s.collector.record(state.record, "log", entry.routine_id, { message: entry.message, data: preview(entry.data), source: "ctx.log" });
    if (entry.data !== undefined) this.s.collector.keepEventPayload(state.record, "log", entry.routine_id, null, entry.message, entry.data);
  }

  /** Recomputes whether any breakpoint applies to this job (after a breakpoint change). */
  refresh(state: JobMonitorState): void {
    state.bpVersion = this.s.breakpoints.version;
    state.hasBreakpoints = this.s.breakpoints.hasBreakpointsFor(state.ref);
    // Causal parents and emit lines cost: only kept while someone is debugging this job.
    if (state.hasBreakpoints) state.job.debugging = true;
  }

  private recordStart(state: JobMonitorState, act: Activation): void {
    const rec = state.record;
    const epoch = act.job.epoch;
    if (state.clockEpoch !== epoch) {
      rec.clock = performance.now();
      state.clockEpoch = epoch;
    }
    state.clockUses = 0;
    act.startedAt = rec.clock;
    // Changes made since the last point (a concurrent handler, a debugger edit while held).
    const shared = state.shared === null || state.sharedEpoch === epoch ? null : state.shared.diff(act.job.shared);
    state.sharedEpoch = epoch;
    this.collector.recordStart(rec, act, shared);
  }

  /** Checks breakpoints at a location, records logpoint output; returns the breakpoint that stops, if any. */
  private checkBreakpoints(state: JobMonitorState, act: Activation, location: BreakpointLocation, payload: Record<string, unknown>, extra?: Record<string, unknown>, eventName?: string): Breakpoint | null {
    if (!state.hasBreakpoints) return null;
    const job = act.job;
    const result = this.s.breakpoints.check(state.ref, location, () =>
      conditionScope(payload, {
        routineId: act.routineId,
        slotName: act.slotName,
        eventName: eventName ?? act.eventName,
        jobId: job.jobId,
        shared: job.shared,
        config: act.routine.getConfigObject(),
        extra,
      }),
    );
    for (const log of result.logs) {
      this.s.collector.record(state.record, "log", act.routineId, { message: log.message, breakpoint_id: log.breakpoint.breakpoint_id, source: "logpoint" });
    }
    // Say once per location which breakpoints were not evaluated, so the user sees why they did not stop.
    if (result.skipped.length > 0) {
      const ids = result.skipped.map((bp) => bp.breakpoint_id);
      this.s.collector.record(state.record, "log", act.routineId, {
        message: `${ids.length} breakpoint(s) not evaluated here: the conditions and logpoints before them used up the shared budget of ${CHECK_BUDGET_STEPS} steps`,
        breakpoint_ids: ids.slice(0, 100),
        source: "breakpoint_budget",
      });
    }
    return result.stop;
  }

  private stop(state: JobMonitorState, request: StopRequest, hit: Breakpoint | null): Promise<void> | undefined {
    const session = state.session ?? this.s.sessionFor(state.job);
    const refusal = session.status === "paused" ? null : this.s.stopRefusal(session);
    if (refusal !== null) {
      // Not held: the job runs on, and its trace says which stop was not made and why.
      this.s.collector.record(state.record, "log", request.activation.routineId, { message: `Did not stop (${request.description}): ${refusal}`, source: "debugger" });
      session.dropStopRequests();
      return undefined;
    }
    if (hit) {
      this.s.collector.record(state.record, "breakpoint_hit", request.activation.routineId, {
        breakpoint_id: hit.breakpoint_id,
        type: hit.type,
        slot_name: hit.slot_name ?? request.activation.slotName,
        event_name: hit.event_name,
        connection: hit.connection,
        condition: hit.condition,
        hit_count: hit.hit_count,
        reason: request.description,
      });
    }
    return session.hold(request);
  }
}

/**
 * What the engine does after this error (Job.applyStrategy): a retry that has attempts left runs
 * again; one out of attempts stops the job when critical, else continues. Recorded so the state
 * at a seq gets the routine's status right without the flow's error handlers.
 */
function outcomeOf(act: Activation, strategy: ErrorStrategy): "retry" | "continue" | "skip" | "stop" {
  if (strategy !== "retry") return strategy;
  const handler = act.routine.getErrorHandler() ?? act.job.flow.errorHandler;
  if (handler === null) return "retry";
  if (act.attempt < handler.maxRetries) return "retry";
  return handler.isCritical ? "stop" : "continue";
}

/** A breakpoint stop in a user's words: what it is on, when it stops, and what it waited for. */
export function describeHit(bp: Breakpoint, act: Activation, error?: { error_type: string; message: string }, eventName?: string): string {
  let what: string;
  switch (bp.type) {
    case "routine":
      what = `Breakpoint on ${act.routineId} (before the handler)`;
      break;
    case "slot":
      what = `Breakpoint on ${act.routineId}.${act.slotName} (before the handler)`;
      break;
    case "connection":
      what = `Breakpoint on the connection ${(bp.connection ?? "").replace(":", " → ")} (the payload is about to arrive)`;
      break;
    case "event":
      what = `Breakpoint on ${act.routineId} emitting '${eventName ?? bp.event_name}' (before the payload travels)`;
      break;
    case "error":
      what = `${bp.routine_id === null ? "Break on any error" : "Break on error"}: ${error ? `${error.error_type} in ${act.routineId}.${act.slotName}: ${error.message}` : `in ${act.routineId}.${act.slotName}`}`;
      break;
  }
  if (bp.once) what = what.replace(/^Breakpoint on/, "Ran to");
  if (bp.condition) what += ` · when ${bp.condition}`;
  if (bp.hit_condition) what += ` · hit ${bp.hit_condition}`;
  return what;
}
