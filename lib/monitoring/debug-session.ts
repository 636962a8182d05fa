import { randomUUID } from "node:crypto";
import { type Activation, conditionScope, type EmitInfo, errorMessage, errorType, type Job, MAX_CAUSAL_CHAIN, type Payload } from "../engine";
import { evaluateExpression, ExpressionError } from "../expression";
import { MonitoringError } from "./errors";
import { preview } from "./trace";
import type { CallFrame, PausedAt, SessionSnapshot, SessionStatus, StepMode, StopReason, Variables } from "../wire/model";
import { StepTracker, willRetry } from "./step";

export type { CallFrame, PausedAt, SessionSnapshot, SessionStatus, StepMode, StopReason } from "../wire/model";

export interface StopRequest {
  kind: PausedAt["kind"];
  activation: Activation;
  emit: EmitInfo | null;
  error: unknown;
  reason: StopReason;
  description: string;
  breakpointId: string | null;
}

interface Stop extends StopRequest {
  resolve: () => void;
  /** 1 for the job's first stop (numbered when it is shown). */
  number: number;
}

/** What a session tells the outside world (trace events, socket updates). */
export interface SessionObserver {
  onStop?(session: DebugSession, pausedAt: PausedAt): void;
  onChange?(session: DebugSession): void;
  /** A debug command used the session (an idle paused job is the one nobody looks at). */
  onActivity?(session: DebugSession): void;
  /** Why this session may not stop now (the cap on paused jobs), or null. */
  stopRefusal?(session: DebugSession): string | null;
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The debugger's view of one job: where it is stopped, how to step, what the data is.
 * Only this job stops; the engine holds it in a hook while the others run.
 */
export class DebugSession {
  readonly sessionId = `session_${randomUUID().slice(0, 8)}`;
  /** Where the live job stands for the debugger; `status` reports `ended` once the job finished. */
  private phase: Exclude<SessionStatus, "ended"> = "running";
  stepMode: StepMode | null = null;
  /** The step in progress (status "stepping"). */
  private step: StepTracker | null = null;
  /** Where the last step's item went when the job ended before the step stopped anywhere. */
  private stepOutcome: string | null = null;
  private stops = 0;
  private pauseRequest: StopReason | null = null;
  private current: Stop | null = null;
  private readonly waiting: Stop[] = [];

  constructor(
    readonly job: Job,
    private readonly observer: SessionObserver = {},
  ) {}

  get jobId(): string {
    return this.job.jobId;
  }

  /** `running`, `paused` or `stepping` while the job lives; `ended` once it has finished. */
  get status(): SessionStatus {
    return this.job.isFinished ? "ended" : this.phase;
  }

  get pausedAt(): PausedAt | null {
    return this.current ? describeStop(this.current) : null;
  }

  /** True when the next activation may have to stop (stepping or a pause was asked for). */
  get wantsStop(): boolean {
    return this.pauseRequest !== null || this.phase === "stepping";
  }

  toJSON(): SessionSnapshot {
    return { session_id: this.sessionId, job_id: this.jobId, status: this.status, paused_at: this.pausedAt, step_mode: this.stepMode, step_outcome: this.stepOutcome };
  }

  // ------------------------------------------------------------ commands

  // The moving commands take the stop they are meant for (`stopNumber`, see expectStop): a
  // doubled or late command then fails instead of releasing the stop after that one.

  /** Continue (alias resume): run until a breakpoint or the end. */
  continue(stopNumber?: number): SessionSnapshot {
    this.expectStop(stopNumber, "continue");
    this.requirePaused("continue");
    this.stepMode = null;
    this.release("running");
    return this.toJSON();
  }

  /** Stop at the very next activation of the job, whatever it is. */
  stepInto(stopNumber?: number): SessionSnapshot {
    return this.startStep("into", stopNumber);
  }

  /** Stop at the next hop of the item: the next activation the paused one causes (see step.ts). */
  stepOver(stopNumber?: number): SessionSnapshot {
    return this.startStep("over", stopNumber);
  }

  /** Run the paused activation's whole subtree, then stop at the next item of its parent (see step.ts). */
  stepOut(stopNumber?: number): SessionSnapshot {
    return this.startStep("out", stopNumber);
  }

  /**
   * Throws 409 STALE_STOP (details `{current_stop_number}`) unless the job is paused at stop
   * `stopNumber`; undefined checks nothing. Synchronous with the release that follows it, so of
   * two commands for the same stop exactly one gets through.
   */
  expectStop(stopNumber: number | undefined, command: string): void {
    if (stopNumber === undefined) return;
    const current = this.current?.number ?? null;
    if (current === stopNumber) return;
    const now = current === null ? `is not paused now (it is ${this.job.status})` : `is at stop ${current} now`;
    throw new MonitoringError("conflict", "STALE_STOP", `Job '${this.jobId}' ${now}, not at stop ${stopNumber}: ${command} was for that stop and changed nothing`, {
      current_stop_number: current,
    });
  }

  /** Stop at the next activation (the job's status turns `paused` when it actually stops). */
  pause(reason: StopReason = "pause"): SessionSnapshot {
    if (this.job.isFinished) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${this.jobId}' has already finished (${this.job.status})`);
    const refusal = this.phase === "paused" ? null : (this.observer.stopRefusal?.(this) ?? null);
    if (refusal !== null) throw new MonitoringError("conflict", "PAUSED_JOBS_LIMIT", refusal);
    if (this.phase !== "paused") {
      this.pauseRequest = reason;
      this.observer.onChange?.(this);
    }
    return this.toJSON();
  }

  /**
   * The paused activation's variables (frame 0: what its handler will receive, or the payload it
   * is emitting), or those of call-stack frame `frame` (the input that activation received;
   * read-only). Shared data is the job's, as it is now.
   */
  getVariables(frame = 0): Variables {
    const stop = this.requirePaused("get_variables");
    if (frame === 0) {
      return {
        variables: { local: localOf(stop), shared: this.job.shared },
        routine_id: stop.activation.routineId,
        slot_name: stop.activation.slotName,
        event_name: stop.emit ? stop.emit.eventName : stop.activation.eventName,
        frame: 0,
        activation_id: stop.activation.id,
        read_only: false,
      };
    }
    let act: Activation | null = stop.activation;
    for (let i = 0; i < frame && act !== null; i++) act = act.parent;
    if (act === null) throw new MonitoringError("not_found", "FRAME_NOT_FOUND", `The call stack has no frame ${frame}`);
    return {
      variables: { local: act.payload, shared: this.job.shared },
      routine_id: act.routineId,
      slot_name: act.slotName,
      event_name: act.eventName,
      frame,
      activation_id: act.id,
      read_only: true,
    };
  }

  /**
   * Changes what the handler will receive (`local`) or the job's shared data (`shared`).
   * `name` may be a dotted path (`items.0.price`). The value is copied (plain JSON).
   */
  setVariable(name: string, value: unknown, scope: "local" | "shared" = "local"): { variable: string; value: unknown; scope: "local" | "shared" } {
    const stop = this.requirePaused("set_variable");
    if (scope !== "local" && scope !== "shared") {
      throw new MonitoringError("bad_request", "INVALID_SCOPE", `Unknown scope '${String(scope)}' (local or shared)`);
    }
    const path = parsePath(name);
    const copy = value === undefined ? null : structuredCloneJson(value);
    if (scope === "shared") {
      setInPlace(this.job.shared, path, copy);
    } else if (stop.emit) {
      stop.emit.payload = setCopy(stop.emit.payload, path, copy);
    } else {
      stop.activation.payload = setCopy(stop.activation.payload, path, copy);
    }
    this.observer.onChange?.(this);
    return { variable: name, value: copy, scope };
  }

  /** The causal chain, current activation first, back to the entry activation. */
  getCallStack(): { frames: CallFrame[] } {
    const stop = this.requirePaused("get_call_stack");
    const frames: CallFrame[] = [];
    let act: Activation | null = stop.activation;
    let line: number | null = stop.emit ? stop.emit.line : null;
    let eventName: string | null = stop.emit ? stop.emit.eventName : stop.activation.eventName;
    while (act !== null && frames.length < MAX_CAUSAL_CHAIN) {
      frames.push({ routine_id: act.routineId, slot_name: act.slotName, event_name: eventName, depth: act.depth, line, activation_id: act.id });
      line = act.emitLine;
      act = act.parent;
      eventName = act ? act.eventName : null;
    }
    return { frames };
  }

  /** Evaluates a watch expression against the paused scope. */
  evaluate(expression: string): { result: unknown } {
    const stop = this.requirePaused("evaluate");
    const act = stop.activation;
    const scope = conditionScope(localOf(stop), {
      routineId: act.routineId,
      slotName: act.slotName,
      eventName: stop.emit ? stop.emit.eventName : act.eventName,
      jobId: this.jobId,
      shared: this.job.shared,
      config: act.routine.getConfigObject(),
      extra: stop.kind === "error" ? { error: errorInfo(stop.error) } : undefined,
    });
    try {
      return { result: preview(evaluateExpression(expression, scope), 64 * 1024) };
    } catch (err) {
      // Too costly or too large keeps the evaluator's own code, so a client can tell it apart.
      const code = err instanceof ExpressionError && err.code !== "INVALID_EXPRESSION" ? err.code : "EVALUATION_FAILED";
      throw new MonitoringError("bad_request", code, (err as Error).message, {
        position: (err as { position?: number | null }).position ?? null,
      });
    }
  }

  // ------------------------------------------------------------ engine side

  /**
   * Called for every activation about to start while `wantsStop`: why it must stop because of a
   * step or a pause request, with the words for it, or null. A step sees every activation once.
   */
  stopFor(act: Activation): { reason: StopReason; description: string } | null {
    const stepStops = this.step?.stopsAt(act) ?? false;
    if (this.pauseRequest !== null) {
      const where = `${act.routineId}.${act.slotName}`;
      return { reason: this.pauseRequest, description: this.pauseRequest === "entry" ? `Paused on start, before ${where}` : `Paused (you asked), before ${where}` };
    }
    if (stepStops && this.step !== null) return { reason: "step", description: this.step.describeStop(act) };
    return null;
  }

  /** While a step runs: an emit of `source` is about to reach `targets` routines. */
  noteEmit(source: Activation, targets: number): void {
    this.step?.noteEmit(source, targets);
  }

  /** While a step runs: an attempt of `act` settled (`failed`: its handler threw). */
  noteFinished(act: Activation, failed: boolean): void {
    this.step?.noteFinished(act, failed && willRetry(act));
  }

  /** True while a step is in progress (the hooks then report emits and settles). */
  get stepping(): boolean {
    return this.step !== null;
  }

  /** Holds the job here until a command releases it. */
  hold(request: StopRequest): Promise<void> {
    return new Promise<void>((resolve) => {
      const stop: Stop = { ...request, resolve, number: 0 };
      if (this.current !== null) {
        // Another concurrent activation stopped meanwhile: it waits its turn.
        this.waiting.push(stop);
        return;
      }
      this.becomeCurrent(stop);
    });
  }

  /**
   * A stop this session asked for (a step, a pause) could not be made (the cap on paused jobs):
   * the job runs on as if continued, instead of trying again at every activation.
   */
  dropStopRequests(): void {
    if (this.current !== null || (this.step === null && this.pauseRequest === null)) return;
    this.step = null;
    this.stepMode = null;
    this.pauseRequest = null;
    this.phase = "running";
    this.observer.onChange?.(this);
  }

  /** The job ended (completed, failed, cancelled): let go of everything. */
  onJobEnd(): void {
    const stops = [...(this.current ? [this.current] : []), ...this.waiting];
    this.current = null;
    this.waiting.length = 0;
    if (this.step !== null) this.stepOutcome = this.step.describeEnd(this.job.status);
    this.step = null;
    this.phase = "running";
    this.stepMode = null;
    this.pauseRequest = null;
    for (const s of stops) s.resolve();
    this.observer.onChange?.(this);
  }

  private becomeCurrent(stop: Stop): void {
    stop.number = ++this.stops;
    this.current = stop;
    this.phase = "paused";
    this.stepMode = null;
    this.step = null;
    this.pauseRequest = null;
    this.job.debugging = true;
    const at = describeStop(stop);
    this.observer.onStop?.(this, at);
    this.job.pause(at.description);
    this.observer.onChange?.(this);
  }

  private startStep(mode: StepMode, stopNumber: number | undefined): SessionSnapshot {
    this.expectStop(stopNumber, `step_${mode}`);
    const stop = this.requirePaused(`step_${mode}`);
    this.stepMode = mode;
    this.stepOutcome = null;
    // Counted before the release: what is queued now is part of what the step follows.
    this.step = new StepTracker(mode, stop.activation, this.job, stop.kind === "error");
    this.release("stepping");
    return this.toJSON();
  }

  private release(next: "running" | "stepping"): void {
    const stop = this.current as Stop;
    this.current = null;
    if (next !== "stepping") {
      this.step = null;
      this.stepOutcome = null;
    }
    const waiting = this.waiting.shift();
    if (waiting) {
      // Stay paused, now at the activation that was waiting.
      this.becomeCurrent(waiting);
    } else {
      this.phase = next;
      this.job.resume(next === "stepping" ? `step ${this.stepMode}` : "continue");
      this.observer.onChange?.(this);
    }
    stop.resolve();
  }

  private requirePaused(command: string): Stop {
    if (this.current === null) {
      throw new MonitoringError("conflict", "JOB_NOT_PAUSED", `Job '${this.jobId}' is not paused (${command} needs a paused job; it is ${this.job.status})`);
    }
    this.observer.onActivity?.(this);
    return this.current;
  }
}

function describeStop(stop: Stop): PausedAt {
  const act = stop.activation;
  return {
    routine_id: act.routineId,
    slot_name: act.slotName,
    event_name: stop.emit ? stop.emit.eventName : act.eventName,
    reason: stop.reason,
    description: stop.description,
    breakpoint_id: stop.breakpointId,
    depth: act.depth,
    kind: stop.kind,
    activation_id: act.id,
    stop_number: stop.number,
    error: stop.kind === "error" ? errorInfo(stop.error) : null,
  };
}

function localOf(stop: StopRequest): Payload {
  return stop.emit ? stop.emit.payload : stop.activation.payload;
}

function errorInfo(err: unknown): { error_type: string; message: string } {
  return { error_type: errorType(err), message: errorMessage(err) };
}

function parsePath(name: string): string[] {
  if (typeof name !== "string" || name === "") throw new MonitoringError("bad_request", "INVALID_VARIABLE", "Variable name must be a non-empty string");
  const parts = name.split(".");
  for (const p of parts) {
    if (p === "") throw new MonitoringError("bad_request", "INVALID_VARIABLE", `Invalid variable path '${name}'`);
    if (FORBIDDEN.has(p)) throw new MonitoringError("bad_request", "INVALID_VARIABLE", `Variable path segment '${p}' is not allowed`);
  }
  return parts;
}

function structuredCloneJson(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value));
  } catch {
    throw new MonitoringError("bad_request", "INVALID_VALUE", "Value must be plain JSON");
  }
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}

function setOn(target: Record<string, unknown> | unknown[], key: string, value: unknown): void {
  if (Array.isArray(target)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i > target.length) throw new MonitoringError("bad_request", "INVALID_VARIABLE", `'${key}' is not a valid index`);
    target[i] = value;
  } else {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

function getOn(target: Record<string, unknown> | unknown[], key: string): unknown {
  return Object.hasOwn(target, key) ? (target as Record<string, unknown>)[key] : undefined;
}

/** Copy-on-write update along the path, so objects shared with the emitter are never mutated. */
function setCopy(root: Payload, path: string[], value: unknown): Payload {
  const copyOf = (v: unknown): Record<string, unknown> | unknown[] => (Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) });
  const top = copyOf(root) as Payload;
  let node: Record<string, unknown> | unknown[] = top;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const child = getOn(node, key);
    const next = isContainer(child) ? copyOf(child) : {};
    setOn(node, key, next);
    node = next;
  }
  setOn(node, path[path.length - 1] as string, value);
  return top;
}

function setInPlace(root: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    let child = getOn(node, key);
    if (!isContainer(child)) {
      child = {};
      setOn(node, key, child);
    }
    node = child as Record<string, unknown> | unknown[];
  }
  setOn(node, path[path.length - 1] as string, value);
}
