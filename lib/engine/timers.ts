/**
 * Timers for user-supplied durations. `setTimeout` keeps its delay in a signed 32-bit int: a delay
 * above 2^31-1 ms (~24.8 days) is silently replaced by 1 ms, so a long timeout would fire at once.
 * Configured timeouts are refused above `MAX_TIMEOUT_SECONDS`; computed delays (a retry's growing
 * backoff) and fields changed directly run through `setLongTimeout`, which chains timers.
 */
import { FlowDefinitionError } from "./errors";

/** The longest delay `setTimeout` honours (ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest timeout a flow, job, routine or retry delay accepts: 2,147,483 s (~24.8 days). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** A timer that may outlast `setTimeout`'s range; `clear()` cancels it. */
export interface LongTimer {
  clear(): void;
}

class ChainedTimer implements LongTimer {
  private handle: ReturnType<typeof setTimeout> | null = null;
  private readonly due: number;
  constructor(
    private readonly fn: () => void,
    ms: number,
  ) {
    this.due = Date.now() + ms;
    this.arm(ms);
  }
  private arm(ms: number): void {
    this.handle = setTimeout(() => {
      const left = this.due - Date.now();
      if (left > 0) this.arm(left);
      else {
        this.handle = null;
        this.fn();
      }
    }, Math.min(ms, MAX_TIMER_MS));
  }
  clear(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }
}

class PlainTimer implements LongTimer {
  private readonly handle: ReturnType<typeof setTimeout>;
  constructor(fn: () => void, ms: number) {
    this.handle = setTimeout(fn, ms);
  }
  clear(): void {
    clearTimeout(this.handle);
  }
}

/** `setTimeout` for any finite delay: above the 32-bit range it waits in several steps instead of firing at once. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  if (!(ms >= 0)) ms = 0;
  if (ms === Number.POSITIVE_INFINITY) return { clear() {} };
  return ms > MAX_TIMER_MS ? new ChainedTimer(fn, ms) : new PlainTimer(fn, ms);
}

/** Throws INVALID_TIMEOUT naming `field` unless `seconds` is a positive number of seconds within the timer's range. */
export function checkTimeoutSeconds(field: string, seconds: number, code = "INVALID_TIMEOUT"): void {
  if (typeof seconds !== "number" || !(seconds > 0) || seconds > MAX_TIMEOUT_SECONDS) {
    throw new FlowDefinitionError(code, `${field} must be a positive number of seconds up to ${MAX_TIMEOUT_SECONDS} (~24.8 days), got ${String(seconds)}`);
  }
}
