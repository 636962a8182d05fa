import { randomUUID } from "node:crypto";
import { type ActiveActivation, activationStorage } from "./context";
import type { ErrorHandler, ErrorStrategy } from "./error-handler";
import { BUDGET_NAMES, estimatePayloadBytes, type JobBudgets, resolveBudgets } from "./budgets";
import { BudgetExceededError, CancelledError, errorMessage, errorType, FlowDefinitionError, isRoutiluxError, TimeoutError } from "./errors";
import type { Connection, Flow, Route, StartOptions } from "./flow";
import { type EmitInfo, type ExecutionHooks, getHooksProvider } from "./hooks";
import { setOwn } from "./object-utils";
import { ActivationQueue } from "./activation-queue";
import { RingQueue } from "./queue";
import { type LongTimer, setLongTimeout } from "./timers";
import { isBuiltinRoutine, type Routine, type SlotDefinition } from "./routine";
import type { HistoryRecord, JobError, JobState, LogEntry, RoutineStateSnapshot } from "../wire/model";
import type { JobStatus, Payload, RoutineStatus } from "./types";

/** How long a job runs before it lets other jobs and I/O in (ms), and how often it checks the clock. */
const SLICE_MS = 8;
const SLICE_CHECK_EVERY = 256;
/** Bounds on what a job keeps about its own past (long jobs must not grow without limit). */
export const MAX_HISTORY = 1000;
export const MAX_SHARED_LOG = 10_000;
/**
 * Causal links are cut every this many levels, so a routine that feeds itself a million times
 * does not keep a million ancestors alive; the call stack shows at most this many frames.
 */
export const MAX_CAUSAL_CHAIN = 256;

export type { HistoryRecord, JobError, JobState, LogEntry, RoutineStateSnapshot } from "../wire/model";

/** Per job, per routine: status, counters, private state and slot buffers. */
export class RoutineRun {
  status: RoutineStatus = "pending";
  activations = 0;
  errors = 0;
  inFlight = 0;
  lastError: string | null = null;
  readonly state: Record<string, unknown> = {};
  /** Merged data of `append`/function slots (override slots keep nothing). */
  slotData: Map<string, Payload> | null = null;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * One delivery of one payload to one slot of one routine in one job. It is also the handler's
 * `ctx` (one object per activation keeps the hot path lean).
 */
export class Activation implements ActiveActivation {
  /** 0 on the first run, n on the n-th retry. */
  attempt = 0;
  /** Set once the handler has settled; late emits from escaped callbacks are dropped. */
  settled = false;
  /** Merged input, computed on the first attempt and reused by retries. */
  merged: Payload | undefined = undefined;
  /** Only allocated when the routine has a timeout. */
  controller: AbortController | null = null;
  /** For hooks: when the handler started (performance.now()), set by whoever measures. */
  startedAt = 0;
  /** True only while the synchronous part of the handler runs (emits then happen "now"). */
  inSyncPart = false;
  /** Set while a retry of this activation waits for its timer (it will run again). */
  retryPending = false;
  /**
   * Time (ms) the current attempt spent in the debugger's own work inside the handler (capturing
   * emit lines, the emit hook) while the job is debugged: hooks leave it out of the duration, so
   * a routine's timing does not change because someone is watching.
   */
  debugOverheadMs = 0;

  constructor(
    readonly job: Job,
    readonly id: number,
    readonly routine: Routine,
    readonly routineId: string,
    readonly slot: SlotDefinition,
    /** What the handler will receive (before merging); hooks may change it before it runs. */
    public payload: Payload,
    /** The activation whose emit produced this one (null for the entry, or where the chain was cut). */
    readonly parent: Activation | null,
    readonly depth: number,
    /** The event and connection that carried the payload here (null for the entry activation). */
    readonly eventName: string | null,
    readonly connection: Connection | null,
    /** Source line of the emit that produced it, when the job captures emit sites. */
    readonly emitLine: number | null,
  ) {}

  get jobId(): string {
    return this.job.jobId;
  }
  get flowId(): string {
    return this.job.flowId;
  }
  get slotName(): string {
    return this.slot.name;
  }
  get shared(): Record<string, unknown> {
    return this.job.shared;
  }
  get state(): Record<string, unknown> {
    return this.job.routineRun(this.routineId).state;
  }
  get signal(): AbortSignal {
    return this.controller !== null ? this.controller.signal : this.job.signal;
  }
  emit(eventName: string, payload?: Payload): void {
    this.job.emitFrom(this, eventName, payload, Activation.prototype.emit);
  }
  emitVia(site: (...args: never[]) => unknown, eventName: string, payload?: Payload): void {
    this.job.emitFrom(this, eventName, payload, site);
  }
  log(message: string, data?: unknown): void {
    this.job.appendLog(this.routineId, message, data);
  }
}

const NO_ROUTES: readonly Route[] = Object.freeze([]);

/** What `onEmit` hooks get; the connection list is only built if a hook reads it. */
class EmitRecord implements EmitInfo {
  private conns: readonly Connection[] | null = null;
  constructor(
    readonly job: Job,
    public source: Activation,
    public eventName: string,
    public payload: Payload,
    public routes: readonly Route[],
    public line: number | null,
  ) {}
  reset(source: Activation, eventName: string, payload: Payload, routes: readonly Route[], line: number | null): void {
    this.source = source;
    this.eventName = eventName;
    this.payload = payload;
    this.routes = routes;
    this.line = line;
    this.conns = null;
  }
  get connections(): readonly Connection[] {
    this.conns ??= this.routes.map((r) => r.connection);
    return this.conns;
  }
}

let startCounter = 0;
/** A process-wide order of job starts (and of anything else that needs to compare with them). */
export function nextStartOrder(): number {
  return ++startCounter;
}

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * The source line of the code that called `site` (the public emit the user called): the stack is
 * captured from just below it, so its first frame is the user's `emit(...)` call. Null when the
 * runtime gives no position.
 */
function callerLine(site: (...args: never[]) => unknown): number | null {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, site);
  const first = holder.stack?.split("\n", 2)[1];
  const m = first === undefined ? null : /:(\d+):\d+\)?$/.exec(first.trim());
  return m ? Number(m[1]) : null;
}

/**
 * One execution of a flow. It owns its queue, routine states, shared data and retry counts;
 * it shares nothing with other jobs but the flow's definition.
 */
export class Job {
  readonly jobId: string;
  readonly flowId: string;
  readonly flow: Flow;
  readonly entryRoutineId: string;
  readonly entrySlot: string;
  readonly entryParams: Payload;
  readonly createdAt = new Date();
  startedAt: Date | null = null;
  finishedAt: Date | null = null;
  updatedAt = new Date();
  status: JobStatus = "pending";
  error: JobError | null = null;
  cancelReason: string | null = null;
  readonly shared: Record<string, unknown> = {};
  /** A fork's origin (the job and the seq of the routine_start it re-runs), else null. */
  readonly forkedFrom: { job_id: string; seq: number } | null;
  readonly sharedLog: LogEntry[] = [];
  readonly pausePoints: { timestamp: string; reason: string }[] = [];
  /** Resolves with the job once it is completed, failed or cancelled. Never rejects. */
  readonly done: Promise<Job>;
  /**
   * Set by a debugger: activations then keep their causal parent (for call stacks) and emits
   * record their source line. Off otherwise, because both cost: a stack trace per emit, and
   * parents kept alive by queued children.
   */
  debugging = false;
  hooks: ExecutionHooks | null;
  /** Per-job data owned by the attached hooks (monitoring keeps its job record here). */
  hookState: unknown = undefined;
  /**
   * Changes whenever control may have left the job's synchronous run loop (an await, a yield,
   * concurrent activations): hooks may reuse a clock reading only within one epoch.
   */
  epoch = 0;
  /** Increases with every job started in this process: tells which jobs started after something. */
  readonly startOrder: number;
  /** What this job may queue, run and hold (the flow's, else the server's defaults, else the engine's). */
  readonly budgets: Readonly<JobBudgets>;
  /** Activations run so far (retries count again): checked against `maxActivations`. */
  activationCount = 0;

  private readonly strategy: "sequential" | "concurrent";
  private readonly maxWorkers: number;
  private readonly queue = new ActivationQueue<Activation>(
    (item): item is Activation => item instanceof Activation,
    (route, payload, parent, depth) =>
      new Activation(this, this.nextActivationId++, route.routine, route.connection.targetRoutineId, route.slot, payload, parent, depth, route.connection.sourceEvent, route.connection, null),
    64,
    (act) => (act.attempt === 0 ? act.parent : undefined),
  );
  private readonly runs = new Map<string, RoutineRun>();
  private readonly history = new RingQueue<HistoryRecord>(64, MAX_HISTORY);
  private readonly controller = new AbortController();
  private readonly retryTimers = new Set<LongTimer>();
  private readonly entry: { routine: Routine; slot: SlotDefinition };
  private readonly copyParams: boolean;
  private jobTimer: LongTimer | null = null;
  // The budgets as plain numbers (no limit = Infinity): one comparison each on the hot path.
  private readonly maxQueued: number;
  private readonly maxActivations: number;
  private readonly maxQueueBytes: number;
  private readonly timeoutSeconds: number | null;
  private resolveDone!: (job: Job) => void;
  private nextActivationId = 1;
  private draining = false;
  private busy = 0; // concurrent mode: activations taken from the queue and not yet settled
  private holds = 0; // emits held by a hook (their payloads are not delivered yet)
  private holdWaiters: (() => void)[] = [];
  private pauseRequested = false;
  private finalized = false;
  private sliceStart = 0;
  private sliceCount = 0;
  private pumpScheduled = false;
  private emitScratch: EmitRecord | null = null;
  /** The activation being run (sequential), and those in flight (concurrent): a cancel interrupts them. */
  private running: Activation | null = null;
  private runningSet: Set<Activation> | null = null;

  constructor(flow: Flow, entryRoutineId: string, entry: Routine, slot: SlotDefinition, params: Payload, options: StartOptions) {
    this.flow = flow;
    this.flowId = flow.flowId;
    this.jobId = options.jobId ?? `job_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
    this.entryRoutineId = entryRoutineId;
    this.entrySlot = slot.name;
    this.entryParams = params;
    this.entry = { routine: entry, slot };
    this.copyParams = options.copyParams === true;
    this.forkedFrom = options.forkedFrom ?? null;
    if (options.shared !== undefined) {
      // Before any hook runs: monitoring records it as the job's initial shared data.
      const initial = structuredClone(options.shared);
      for (const key of Object.keys(initial)) setOwn(this.shared, key, initial[key]);
    }
    this.startOrder = nextStartOrder();
    this.strategy = flow.executionStrategy;
    this.maxWorkers = flow.executionStrategy === "sequential" ? 1 : flow.maxWorkers;
    this.timeoutSeconds = options.timeout !== undefined ? options.timeout : flow.timeout;
    this.budgets = Object.freeze(resolveBudgets(flow.budgets, options.defaultBudgets));
    this.maxQueued = this.budgets.maxQueuedActivations ?? Number.POSITIVE_INFINITY;
    this.maxActivations = this.budgets.maxActivations ?? Number.POSITIVE_INFINITY;
    this.maxQueueBytes = this.budgets.maxQueueBytes ?? Number.POSITIVE_INFINITY;
    const provider = getHooksProvider();
    this.hooks = options.hooks !== undefined ? options.hooks : provider !== null ? provider(this) : null;
    this.done = new Promise<Job>((resolve) => {
      this.resolveDone = resolve;
    });
    for (const id of flow.routines.keys()) this.runs.set(id, new RoutineRun());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isFinished(): boolean {
    return this.finalized;
  }

  /** Activations waiting in this job's queue. */
  get pendingCount(): number {
    return this.queue.length;
  }

  /** @internal Called by Flow.start. */
  start(): void {
    if (this.status !== "pending") return;
    this.status = "running";
    this.startedAt = new Date();
    this.updatedAt = this.startedAt;
    this.record(null, "start", this.entryParams);
    if (this.timeoutSeconds !== null && this.timeoutSeconds > 0) {
      this.jobTimer = setLongTimeout(() => {
        this.fail(new TimeoutError(`Job exceeded its timeout of ${this.timeoutSeconds} s`), null);
      }, this.timeoutSeconds * 1000);
    }
    this.hooks?.onJobStart?.(this);
    const { routine, slot } = this.entry;
    const payload = this.copyParams ? structuredClone(this.entryParams) : this.entryParams;
    const entry = new Activation(this, this.nextActivationId++, routine, this.entryRoutineId, slot, payload, null, 0, null, null, null);
    this.queue.pushActivation(entry, estimatePayloadBytes(payload));
    // Begin on a microtask: `start()` returns first, so callers can subscribe before anything runs.
    queueMicrotask(() => this.kick());
  }

  routineRun(routineId: string): RoutineRun {
    let run = this.runs.get(routineId);
    if (run === undefined) {
      // A routine added to the flow after this job started.
      run = new RoutineRun();
      this.runs.set(routineId, run);
    }
    return run;
  }

  /** Current routine states as plain data. */
  get routineStates(): Record<string, RoutineStateSnapshot> {
    const out: Record<string, RoutineStateSnapshot> = {};
    for (const [id, r] of this.runs) {
      out[id] = { status: r.status, activations: r.activations, errors: r.errors, last_error: r.lastError };
    }
    return out;
  }

  /** The last MAX_HISTORY records (start, errors, retries, pauses, the end). */
  get executionHistory(): HistoryRecord[] {
    return this.history.toArray();
  }

  /** The causal parent of every queued activation (null where none is kept), in FIFO order; retries queued again are skipped. */
  queuedParents(): (Activation | null)[] {
    return this.queue.parentsOf().filter((p): p is Activation | null => p !== undefined);
  }

  /** What waits in the queue, in FIFO order (a copy, for inspection). */
  pendingActivations(): { routineId: string; slotName: string; eventName: string | null; payload: Payload; depth: number }[] {
    return this.queue.peekAll().map((q) =>
      q.activation
        ? { routineId: q.activation.routineId, slotName: q.activation.slotName, eventName: q.activation.eventName, payload: q.payload, depth: q.activation.depth }
        : { routineId: q.route?.connection.targetRoutineId ?? "", slotName: q.route?.slot.name ?? "", eventName: q.route?.connection.sourceEvent ?? null, payload: q.payload, depth: q.depth },
    );
  }

  /** Hold at the next activation boundary: in-flight activations finish, queued ones wait. */
  pause(reason = "Paused by user"): boolean {
    if (this.status !== "running") return false;
    this.pauseRequested = true;
    this.pausePoints.push({ timestamp: nowIso(), reason });
    if (this.pausePoints.length > MAX_HISTORY) this.pausePoints.shift();
    this.setStatus("paused", reason);
    return true;
  }

  /** Continue exactly where the job stopped: nothing lost, nothing run twice. */
  resume(reason: string | null = null): boolean {
    if (this.status !== "paused") return false;
    this.pauseRequested = false;
    this.setStatus("running", reason);
    this.kick();
    return true;
  }

  /** Drops queued activations, aborts in-flight ones' signals; status `cancelled`. */
  cancel(reason = "Cancelled by user"): boolean {
    if (this.finalized) return false;
    this.cancelReason = reason;
    this.record(null, "cancelled", { reason });
    this.finalize("cancelled", new CancelledError(reason));
    return true;
  }

  /**
   * @internal Called by Activation.emit and Routine.emit; `site` is the one the user called (its
   * caller's line is the emit's line, for call stacks).
   */
  emitFrom(source: Activation, eventName: string, payload: Payload | undefined, site: (...args: never[]) => unknown): void {
    if (this.finalized || source.settled) return;
    if (payload !== undefined && (typeof payload !== "object" || payload === null || Array.isArray(payload))) {
      throw new FlowDefinitionError("INVALID_PAYLOAD", `emit('${eventName}') expects an object payload`);
    }
    const routes = this.flow.routesFor(source.routineId, eventName);
    if (routes === undefined && !source.routine.hasEvent(eventName)) {
      throw new FlowDefinitionError(
        "EVENT_NOT_FOUND",
        `Routine '${source.routineId}' has no event '${eventName}' (events: ${source.routine.eventNames.join(", ") || "none"})`,
      );
    }
    const data = payload ?? {};
    let line: number | null = null;
    let t0 = 0;
    if (this.debugging) {
      t0 = performance.now();
      // A built-in routine's emit is the engine's own code: no line of the user's to show.
      if (!isBuiltinRoutine(source.routine)) line = callerLine(site);
    }
    const hooks = this.hooks;
    if (hooks !== null && hooks.onEmit !== undefined) {
      // One record per job is reused while hooks only read it; a hook that holds keeps it.
      let info = this.emitScratch;
      if (info === null) info = new EmitRecord(this, source, eventName, data, routes ?? NO_ROUTES, line);
      else info.reset(source, eventName, data, routes ?? NO_ROUTES, line);
      this.emitScratch = null;
      const hold = hooks.onEmit(info);
      if (t0 !== 0) source.debugOverheadMs += performance.now() - t0;
      if (hold === undefined) this.emitScratch = info;
      else {
        this.holds++;
        hold.then(
          () => this.releaseHold(source, eventName, info.payload, line),
          () => this.releaseHold(source, eventName, info.payload, line),
        );
        return;
      }
      if (routes !== undefined) this.deliver(source, eventName, info.payload, routes, line);
      return;
    }
    if (t0 !== 0) source.debugOverheadMs += performance.now() - t0;
    if (routes !== undefined) this.deliver(source, eventName, data, routes, line);
  }

  /** @internal */
  appendLog(routineId: string | null, message: string, data?: unknown): void {
    const entry: LogEntry = { timestamp: nowIso(), routine_id: routineId, message: String(message) };
    if (data !== undefined) entry.data = data;
    this.sharedLog.push(entry);
    if (this.sharedLog.length > MAX_SHARED_LOG) this.sharedLog.splice(0, this.sharedLog.length - MAX_SHARED_LOG);
    this.hooks?.onLog?.(this, entry);
  }

  toJSON(): JobState {
    const end = this.finishedAt ?? null;
    return {
      job_id: this.jobId,
      flow_id: this.flowId,
      status: this.status,
      entry_routine_id: this.entryRoutineId,
      entry_slot: this.entrySlot,
      entry_params: this.entryParams,
      created_at: this.createdAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      finished_at: end?.toISOString() ?? null,
      updated_at: this.updatedAt.toISOString(),
      duration_ms: this.startedAt && end ? end.getTime() - this.startedAt.getTime() : null,
      routine_states: this.routineStates,
      shared_data: this.shared,
      shared_log: this.sharedLog,
      error: this.error,
      cancel_reason: this.cancelReason,
      pause_points: this.pausePoints,
      execution_history: this.executionHistory,
      pending_activations: this.queue.length,
      forked_from: this.forkedFrom,
    };
  }

  // ---------------------------------------------------------------- scheduling

  private kick(): void {
    if (this.finalized || this.pauseRequested) return;
    if (this.strategy === "sequential") {
      if (!this.draining) {
        this.draining = true;
        // Control comes back from outside the loop (a retry timer, a resume): a new epoch, so no
        // hook reuses a clock reading taken before the wait.
        this.epoch++;
        void this.drainSequential();
      }
    } else {
      this.pump();
    }
  }

  /** One activation at a time, global FIFO: breadth-first order. */
  private async drainSequential(): Promise<void> {
    const queue = this.queue;
    let count = SLICE_CHECK_EVERY;
    let sliceStart = performance.now();
    try {
      while (!this.finalized && !this.pauseRequested) {
        if (this.holds > 0) {
          await this.holdsReleased();
          this.epoch++;
          continue;
        }
        const act = queue.shift();
        if (act === undefined) break;
        const hooks = this.hooks;
        if (hooks !== null && hooks.beforeActivation !== undefined) {
          const hold = hooks.beforeActivation(act);
          if (hold !== undefined) {
            await hold;
            this.epoch++;
            if (this.finalized) break;
            hooks.activationReleased?.(act);
          }
        }
        this.running = act;
        const pending = this.invoke(act);
        if (pending !== undefined) {
          await pending;
          this.epoch++;
        }
        this.running = null;
        if (--count === 0) {
          count = SLICE_CHECK_EVERY;
          if (performance.now() - sliceStart > SLICE_MS) {
            await yieldToEventLoop();
            this.epoch++;
            sliceStart = performance.now();
          }
        }
      }
    } finally {
      this.draining = false;
    }
    this.checkComplete();
  }

  /** Up to maxWorkers activations in flight, started in FIFO order. */
  private pump(): void {
    if (this.pumpScheduled) return;
    while (!this.finalized && !this.pauseRequested && this.holds === 0 && this.busy < this.maxWorkers) {
      const act = this.queue.shift();
      if (act === undefined) break;
      this.busy++;
      this.runConcurrent(act).then(this.onConcurrentSettled, this.onConcurrentSettled);
      // Sync handlers settle through microtasks only: give timers and other jobs a turn now and then.
      if (++this.sliceCount >= SLICE_CHECK_EVERY) {
        this.sliceCount = 0;
        const now = performance.now();
        if (now - this.sliceStart > SLICE_MS) {
          this.pumpScheduled = true;
          setImmediate(() => {
            this.pumpScheduled = false;
            this.sliceStart = performance.now();
            this.kick();
          });
          return;
        }
      }
    }
    this.checkComplete();
  }

  private readonly onConcurrentSettled = (): void => {
    this.busy--;
    this.kick();
    this.checkComplete();
  };

  private async runConcurrent(act: Activation): Promise<void> {
    this.epoch++;
    const hooks = this.hooks;
    if (hooks !== null && hooks.beforeActivation !== undefined) {
      const hold = hooks.beforeActivation(act);
      if (hold !== undefined) {
        await hold;
        this.epoch++;
        if (this.finalized) return;
        hooks.activationReleased?.(act);
      } else this.epoch++;
    }
    if (this.finalized) return;
    this.runningSet ??= new Set();
    const running = this.runningSet;
    running.add(act);
    const pending = this.invoke(act);
    if (pending !== undefined) await pending;
    running.delete(act);
  }

  private checkComplete(): void {
    if (
      this.status === "running" &&
      !this.finalized &&
      !this.draining &&
      this.busy === 0 &&
      this.holds === 0 &&
      this.queue.length === 0 &&
      this.retryTimers.size === 0
    ) {
      this.record(null, "completed", undefined);
      this.finalize("completed", null);
    }
  }

  private holdsReleased(): Promise<void> {
    return new Promise((resolve) => this.holdWaiters.push(resolve));
  }

  private releaseHold(source: Activation, eventName: string, payload: Payload, line: number | null): void {
    this.holds--;
    if (!this.finalized) {
      // Routes are looked up again: the flow may have been edited while the job was held.
      const routes = this.flow.routesFor(source.routineId, eventName);
      if (routes !== undefined) this.deliver(source, eventName, payload, routes, line);
    }
    if (this.holds === 0) {
      const waiters = this.holdWaiters;
      this.holdWaiters = [];
      for (const w of waiters) w();
      if (this.strategy === "concurrent") this.kick();
      this.checkComplete();
    }
  }

  private deliver(source: Activation, eventName: string, data: Payload, routes: Route[], line: number | null): void {
    const n = routes.length;
    const depth = source.depth + 1;
    const parent = !this.debugging || depth % MAX_CAUSAL_CHAIN === 0 ? null : source;
    const queue = this.queue;
    // Estimated once per emit: every target's payload holds the same values.
    const bytes = estimatePayloadBytes(data);
    for (let i = 0; i < n; i++) {
      const route = routes[i] as Route;
      const mapping = route.connection.paramMapping;
      // Each target gets its own top-level object when the payload fans out, so one handler
      // mutating its input cannot change what a sibling receives.
      let payload: Payload = data;
      if (mapping !== null) payload = applyMapping(data, mapping);
      else if (n > 1) payload = { ...data };
      if (line === null) queue.pushRoute(route, payload, parent, depth, bytes);
      else queue.pushActivation(new Activation(this, this.nextActivationId++, route.routine, route.connection.targetRoutineId, route.slot, payload, parent, depth, eventName, route.connection, line), bytes);
    }
    if (queue.length > this.maxQueued) {
      this.exceedBudget("maxQueuedActivations", source.routineId, `${queue.length.toLocaleString("en-US")} activations queued after its event '${eventName}'`);
      return;
    }
    if (queue.bytes > this.maxQueueBytes) {
      this.exceedBudget("maxQueueBytes", source.routineId, `~${queue.bytes.toLocaleString("en-US")} bytes of payloads queued after its event '${eventName}'`);
      return;
    }
    // An in-flight async activation may emit at any time: free workers must pick its payloads up
    // now, not when some activation settles. On a microtask, so handlers never nest.
    if (this.strategy === "concurrent" && !this.pumpKickPending) {
      this.pumpKickPending = true;
      queueMicrotask(this.kickFromEmit);
    }
  }

  private pumpKickPending = false;
  private readonly kickFromEmit = (): void => {
    this.pumpKickPending = false;
    this.kick();
  };

  // ---------------------------------------------------------------- running one activation

  /** Runs the handler; returns a promise only when something asynchronous is pending. */
  private invoke(act: Activation): Promise<void> | undefined {
    if (++this.activationCount > this.maxActivations) {
      this.exceedBudget("maxActivations", act.routineId, `activation ${this.activationCount.toLocaleString("en-US")} of the job`);
      return undefined;
    }
    const run = this.routineRun(act.routineId);
    act.debugOverheadMs = 0;
    run.inFlight++;
    run.activations++;
    if (run.status === "pending" || run.status === "completed") run.status = "running";
    const slot = act.slot;
    let input = act.payload;
    if (slot.mergeStrategy !== "override") {
      if (act.merged === undefined) act.merged = this.merge(run, slot, input);
      input = act.merged;
    }
    const timeoutMs = act.routine.timeoutMs;
    let started = 0;
    if (timeoutMs !== null) {
      act.controller = new AbortController();
      started = performance.now();
    }
    let result: unknown;
    act.inSyncPart = true;
    try {
      result = activationStorage.run(act, slot.handler, input, act);
    } catch (err) {
      act.inSyncPart = false;
      return this.settle(act, run, err === undefined ? new Error("Handler threw undefined") : err);
    }
    act.inSyncPart = false;
    if (result !== undefined && result !== null && typeof (result as PromiseLike<unknown>).then === "function") {
      return this.settleAsync(act, run, result as PromiseLike<unknown>, timeoutMs);
    }
    if (timeoutMs !== null && performance.now() - started > timeoutMs) {
      return this.settle(act, run, new TimeoutError(`Routine '${act.routineId}' exceeded its timeout of ${timeoutMs / 1000} s`));
    }
    return this.settle(act, run, undefined);
  }

  private async settleAsync(act: Activation, run: RoutineRun, promise: PromiseLike<unknown>, timeoutMs: number | null): Promise<void> {
    let error: unknown;
    let timer: LongTimer | null = null;
    try {
      if (timeoutMs === null) {
        await promise;
      } else {
        await Promise.race([
          promise,
          new Promise<never>((_, reject) => {
            timer = setLongTimeout(() => {
              const err = new TimeoutError(`Routine '${act.routineId}' exceeded its timeout of ${timeoutMs / 1000} s`);
              act.controller?.abort(err);
              reject(err);
            }, timeoutMs);
          }),
        ]);
      }
    } catch (err) {
      error = err === undefined ? new Error("Handler rejected with undefined") : err;
    } finally {
      if (timer !== null) (timer as LongTimer).clear();
    }
    const pending = this.settle(act, run, error);
    if (pending !== undefined) await pending;
  }

  private settle(act: Activation, run: RoutineRun, error: unknown): Promise<void> | undefined {
    act.settled = true;
    run.inFlight--;
    if (this.finalized) return undefined;
    const hooks = this.hooks;
    if (hooks !== null && hooks.afterActivation !== undefined) hooks.afterActivation(act, error);
    if (error === undefined) {
      if (run.status === "running" && run.inFlight === 0) run.status = "completed";
      return undefined;
    }
    run.errors++;
    run.lastError = errorMessage(error);
    const handler = act.routine.getErrorHandler() ?? this.flow.errorHandler;
    const strategy: ErrorStrategy = handler?.strategy ?? "stop";
    if (hooks !== null && hooks.onActivationError !== undefined) {
      const hold = hooks.onActivationError(act, error, strategy);
      if (hold !== undefined) return hold.then(() => this.applyStrategy(act, run, error, handler, strategy));
    }
    this.applyStrategy(act, run, error, handler, strategy);
    return undefined;
  }

  private applyStrategy(act: Activation, run: RoutineRun, error: unknown, handler: ErrorHandler | null, strategy: ErrorStrategy): void {
    if (this.finalized) return;
    const info = { slot: act.slot.name, error: errorMessage(error), error_type: errorType(error), strategy, attempt: act.attempt };
    let effective = strategy;
    if (strategy === "retry" && handler !== null) {
      if (act.attempt < handler.maxRetries) {
        this.scheduleRetry(act, handler);
        this.record(act.routineId, "retry_scheduled", info);
        return;
      }
      effective = handler.isCritical ? "stop" : "continue";
    }
    this.record(act.routineId, "error", info);
    switch (effective) {
      case "continue":
        run.status = "error_continued";
        return;
      case "skip":
        run.status = "skipped";
        return;
      default:
        run.status = "failed";
        this.fail(error, act.routineId);
    }
  }

  private scheduleRetry(act: Activation, handler: ErrorHandler): void {
    act.attempt++;
    act.retryPending = true;
    // A growing backoff can pass setTimeout's 32-bit range: chained, so it never fires early.
    const timer = setLongTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.finalized) return;
      act.retryPending = false;
      act.settled = false;
      act.controller = null;
      this.queue.pushActivation(act, estimatePayloadBytes(act.payload));
      this.kick();
    }, handler.retryDelayMs(act.attempt));
    this.retryTimers.add(timer);
  }

  private merge(run: RoutineRun, slot: SlotDefinition, incoming: Payload): Payload {
    if (run.slotData === null) run.slotData = new Map();
    const previous = run.slotData.get(slot.name);
    let merged: Payload;
    if (slot.mergeStrategy === "append") {
      const acc: Payload = previous ? { ...previous } : {};
      const out: Payload = {};
      for (const key of Object.keys(incoming)) {
        const prior = acc[key];
        const list = Array.isArray(prior) ? [...prior] : prior === undefined ? [] : [prior];
        list.push(incoming[key]);
        setOwn(acc, key, list);
        setOwn(out, key, list);
      }
      run.slotData.set(slot.name, acc);
      merged = out;
    } else if (typeof slot.mergeStrategy === "function") {
      merged = slot.mergeStrategy(previous, incoming);
      run.slotData.set(slot.name, merged);
    } else {
      merged = incoming;
    }
    return merged;
  }

  // ---------------------------------------------------------------- status

  /**
   * Fails the job on a budget: the routine that crossed it is marked failed (not cancelled like
   * the other interrupted ones), the queue is dropped at once, and the error names the budget.
   */
  private exceedBudget(budget: keyof JobBudgets, routineId: string, detail: string): void {
    if (this.finalized) return;
    const error = new BudgetExceededError(BUDGET_NAMES[budget], this.budgets[budget] as number, routineId, detail);
    const run = this.routineRun(routineId);
    run.status = "failed";
    run.errors++;
    run.lastError = error.message;
    this.record(routineId, "error", { error: error.message, error_type: errorType(error), budget: BUDGET_NAMES[budget] });
    this.fail(error, routineId);
  }

  private fail(error: unknown, routineId: string | null): void {
    if (this.finalized) return;
    this.error = { message: errorMessage(error), error_type: errorType(error), routine_id: routineId };
    if (isRoutiluxError(error)) this.error.code = error.code;
    this.record(routineId, "failed", this.error);
    this.finalize("failed", error);
  }

  private finalize(status: JobStatus, reason: unknown): void {
    if (this.finalized) return;
    this.finalized = true;
    this.pauseRequested = false;
    this.status = status;
    this.finishedAt = new Date();
    this.updatedAt = this.finishedAt;
    this.queue.clear();
    for (const t of this.retryTimers) t.clear();
    this.retryTimers.clear();
    if (this.jobTimer !== null) this.jobTimer.clear();
    this.jobTimer = null;
    if (status !== "completed") this.controller.abort(reason);
    // Handlers still running are interrupted (their signal is aborted): they end `cancelled`, not
    // failed, and hooks close what they opened for them (before the job's final event).
    const interrupted = [...(this.running !== null ? [this.running] : []), ...(this.runningSet ?? [])].filter((a) => !a.settled);
    for (const act of interrupted) {
      act.settled = true;
      const run = this.routineRun(act.routineId);
      // A routine that crossed a budget stays `failed`: it is the one the job's error names.
      if (run.status !== "failed") run.status = "cancelled";
      this.hooks?.onActivationInterrupted?.(act);
    }
    for (const run of this.runs.values()) if (run.status === "running") run.status = status === "completed" ? "completed" : "cancelled";
    const waiters = this.holdWaiters;
    this.holdWaiters = [];
    for (const w of waiters) w();
    this.hooks?.onJobEnd?.(this);
    this.resolveDone(this);
  }

  private setStatus(status: JobStatus, reason: string | null): void {
    this.status = status;
    this.updatedAt = new Date();
    this.record(null, status === "paused" ? "paused" : "resumed", reason === null ? undefined : { reason });
    this.hooks?.onJobStatusChange?.(this, status, reason);
  }

  private record(routineId: string | null, event: string, data: unknown): void {
    const rec: HistoryRecord = { timestamp: nowIso(), routine_id: routineId, event };
    if (data !== undefined) rec.data = data;
    this.history.push(rec);
  }
}

function applyMapping(data: Payload, mapping: Readonly<Record<string, string>>): Payload {
  const out: Payload = {};
  for (const key of Object.keys(data)) {
    const renamed = mapping[key];
    setOwn(out, renamed !== undefined && Object.hasOwn(mapping, key) ? renamed : key, data[key]);
  }
  return out;
}
