import { AsyncLocalStorage } from "node:async_hooks";
import type { Payload } from "./types";

/**
 * What a slot handler gets as its second argument. It is bound to one activation of one
 * job, so concurrent jobs running the same routine instance never see each other's data.
 */
export interface ActivationContext {
  readonly jobId: string;
  readonly flowId: string;
  readonly routineId: string;
  readonly slotName: string;
  /** Causal distance from the entry activation (entry = 0). */
  readonly depth: number;
  /** 0 on the first run, n on the n-th retry. */
  readonly attempt: number;
  /** The job's shared data (one object per job, visible to every routine of the job). */
  readonly shared: Record<string, unknown>;
  /** This routine's private state for this job. */
  readonly state: Record<string, unknown>;
  /** Fired when the job is cancelled or fails, or when this activation times out. */
  readonly signal: AbortSignal;
  /** Emit an event of the running routine into the running job. Call it as a method. */
  emit(eventName: string, payload?: Payload): void;
  /** Append to the job's shared log. */
  log(message: string, data?: unknown): void;
}

/** Internal: the running activation, as `Routine.emit` needs it. */
export interface ActiveActivation extends ActivationContext {
  readonly routine: object;
  /** Emits on behalf of `site`, the public emit the user called (its caller is the emit's line). */
  emitVia(site: (...args: never[]) => unknown, eventName: string, payload?: Payload): void;
}

/**
 * Carries the running activation through the handler, including across its awaits, so that
 * `this.emit(...)` inside a handler reaches the right job.
 */
export const activationStorage = new AsyncLocalStorage<ActiveActivation>();

export function currentActivation(): ActiveActivation | undefined {
  return activationStorage.getStore();
}
