import type { ErrorStrategy } from "./error-handler";
import type { Connection, Route } from "./flow";
import type { Activation, Job, LogEntry } from "./job";
import type { JobStatus, Payload } from "./types";

/** One `emit` call, as hooks see it before the payload is delivered. */
export interface EmitInfo {
  readonly job: Job;
  /** The activation whose handler emitted. */
  readonly source: Activation;
  readonly eventName: string;
  /** Mutable until delivery: a hook that holds may change it. */
  payload: Payload;
  /** The connections the payload will travel (built on first read). */
  readonly connections: readonly Connection[];
  /** The same, as the flow's resolved routes (no allocation); stable until the flow is edited. */
  readonly routes: readonly Route[];
  /** Source line of the emit call, when the job captures emit sites (debugging), else null. */
  readonly line: number | null;
}

/**
 * How monitoring plugs into the engine (Node-RED style runtime hooks). Hooks are attached to a
 * job when it starts; with none attached the hot path pays one null check.
 *
 * Any hook that returns a Promise holds the job there (and only that job): this is how a
 * breakpoint stops one job while the others run.
 */
export interface ExecutionHooks {
  onJobStart?(job: Job): void;
  /** After the final status is set (completed, failed or cancelled). */
  onJobEnd?(job: Job): void;
  /** paused ↔ running transitions, with the reason given. */
  onJobStatusChange?(job: Job, status: JobStatus, reason: string | null): void;
  /** Before the slot handler runs; `activation.payload` may still be changed here. */
  beforeActivation?(activation: Activation): void | Promise<void>;
  /**
   * An activation that beforeActivation held goes on to run: called right before its handler, in
   * the same synchronous step (not called when the job ended during the hold). What a hook records
   * here is never seen apart from the handler's start, as a record made when the hold's promise
   * settled could be (other microtasks run between that and the engine's continuation).
   */
  activationReleased?(activation: Activation): void;
  /** After the handler settled; `error` is undefined on success. */
  afterActivation?(activation: Activation, error: unknown): void;
  /** An emit, before its payload travels any connection. */
  onEmit?(emit: EmitInfo): void | Promise<void>;
  /** The job ended (cancelled or failed elsewhere) while this activation's handler was still running. */
  onActivationInterrupted?(activation: Activation): void;
  /** A handler threw, before the error strategy applies. */
  onActivationError?(activation: Activation, error: unknown, strategy: ErrorStrategy): void | Promise<void>;
  /** A `ctx.log(...)` entry was appended to the job's shared log. */
  onLog?(job: Job, entry: LogEntry): void;
}

/** Decides, per job at start, which hooks (if any) it gets. */
export type HooksProvider = (job: Job) => ExecutionHooks | null;

// Kept on globalThis: a bundler may load a second copy of this module (Next's route handlers),
// and both copies must see the one provider the server installed.
const PROVIDER_KEY = Symbol.for("routilux.engine.hooksProvider");
const slot = globalThis as { [PROVIDER_KEY]?: HooksProvider | null };

/** Installed by monitoring when it is enabled; `null` removes it (zero overhead for new jobs). */
export function setHooksProvider(next: HooksProvider | null): void {
  slot[PROVIDER_KEY] = next;
}

export function getHooksProvider(): HooksProvider | null {
  return slot[PROVIDER_KEY] ?? null;
}
