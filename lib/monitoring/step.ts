/**
 * Stepping that follows the data. Let A be the activation the job is stopped at; its subtree is A
 * and every activation its emits caused, transitively (the causal chain, as in the call stack).
 *
 * - into: stop at the very next activation of the job, whatever it is.
 * - over ("next hop"): stop at the next activation caused by A. When A has finished and nothing
 *   it caused is still waiting to start, follow A's parent instead (the payload's nearest open
 *   branch), then the grandparent, up to the entry; when nothing is left, the job just runs on.
 * - out: run A's whole subtree, then stop at the next activation caused by A's parent that is not
 *   in it (else the grandparent's, and so on).
 *
 * Everything else keeps running while a step is in progress; breakpoints on the way still stop.
 * The tracker lives only while a step is in progress: counting costs nothing otherwise.
 */
import type { Activation, Job } from "../engine";
import type { StepMode } from "../wire/model";

function bump(map: Map<Activation, number>, key: Activation, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

/** True when a failed attempt of `act` will be retried (its error strategy and retries left say so). */
export function willRetry(act: Activation): boolean {
  const handler = act.routine.getErrorHandler() ?? act.job.flow.errorHandler;
  return handler !== null && handler.strategy === "retry" && act.attempt < handler.maxRetries;
}

export class StepTracker {
  /** Children created (by an emit) and not started yet, per parent, counted from the step's start. */
  private readonly waiting = new Map<Activation, number>();
  /** out: activations of A's subtree not finished for good (A itself, queued, running or retrying). */
  private open = 0;
  /** For the outcome: did A pass anything on; how many activations of A's subtree started. */
  private passedOn = false;
  private subtreeRan = 0;
  /** A stopped after its handler threw, and will run again: it is not finished yet. */
  private fromRetrying: boolean;

  constructor(
    readonly mode: StepMode,
    readonly from: Activation,
    job: Job,
    /** The step starts from a stop after A's handler threw. */
    afterError = false,
  ) {
    const outMode = mode === "out";
    this.fromRetrying = afterError && willRetry(from);
    if (outMode && !(from.settled && !from.retryPending && !this.fromRetrying)) this.open = 1;
    for (const parent of job.queuedParents()) {
      if (parent === null) continue;
      bump(this.waiting, parent, 1);
      if (parent === from) this.passedOn = true;
      if (outMode && this.inSubtree(parent)) this.open++;
    }
  }

  /** Whether `act` descends from A (or is A). Walks the causal chain up to A's depth only. */
  inSubtree(act: Activation): boolean {
    for (let a: Activation | null = act; a !== null; a = a.parent) {
      if (a === this.from) return true;
      if (a.depth <= this.from.depth) return false;
    }
    return false;
  }

  /** The activation whose next child the step waits for: `start`, or the nearest ancestor still open. */
  private followed(start: Activation | null): Activation | null {
    let f = start;
    while (f?.settled && !f.retryPending && !(f === this.from && this.fromRetrying) && !this.waiting.has(f)) f = f.parent;
    return f;
  }

  /** Called once for every activation about to start while the step runs: does the step stop there? */
  stopsAt(act: Activation): boolean {
    // A retry runs the same activation again: it is not a new hop of anything.
    const parent = act.attempt === 0 ? act.parent : null;
    if (act === this.from) this.fromRetrying = false;
    let stop: boolean;
    if (this.mode === "into") stop = true;
    else if (parent === null) stop = false;
    else if (this.mode === "over") stop = parent === this.followed(this.from);
    else stop = this.open === 0 && parent === this.followed(this.from.parent);
    if (parent !== null) bump(this.waiting, parent, -1);
    if (this.mode === "out" && act.attempt === 0 && this.inSubtree(act)) this.subtreeRan++;
    return stop;
  }

  /** An emit of `source` is about to reach `targets` routines. */
  noteEmit(source: Activation, targets: number): void {
    if (targets === 0) return;
    bump(this.waiting, source, targets);
    if (source === this.from) this.passedOn = true;
    if (this.mode === "out" && this.inSubtree(source)) this.open += targets;
  }

  /** An attempt of `act` settled; `again` when it will be retried. */
  noteFinished(act: Activation, again: boolean): void {
    if (this.mode === "out" && !again && this.inSubtree(act)) this.open--;
  }

  /** Why the step is stopping at `act`, in words. */
  describeStop(act: Activation): string {
    const target = `${act.routineId}.${act.slotName}`;
    if (this.mode === "into") return `Step into: the next activation, ${target}`;
    const parent = act.parent;
    if (this.mode === "over") {
      if (parent === this.from) return `Step over: next hop of the item that ${this.from.routineId} emitted, at ${target}`;
      return `Step over: ${this.from.routineId} passed nothing more on; next item from ${parent?.routineId ?? "the entry"}, at ${target}`;
    }
    return `Step out: ${this.from.routineId}'s subtree is done (${this.subtreeRan} more activation${this.subtreeRan === 1 ? "" : "s"}); next item from ${parent?.routineId ?? "the entry"}, at ${target}`;
  }

  /** What happened to the followed item when the job ended before the step stopped anywhere. */
  describeEnd(status: string): string {
    const from = `${this.from.routineId}.${this.from.slotName}`;
    const end = `nothing else was waiting on its path, and the job ${status}`;
    if (this.mode === "into") return `Step into from ${from}: no other activation came; the job ${status}`;
    if (this.mode === "over") {
      const went = this.passedOn ? `${this.from.routineId}'s output reached no routine that ran afterwards` : `the item ended at ${this.from.routineId} (it passed nothing on)`;
      return `Step over from ${from}: ${went}; ${end}`;
    }
    return `Step out from ${from}: its whole subtree ran (${this.subtreeRan} more activation${this.subtreeRan === 1 ? "" : "s"}); ${end}`;
  }
}
