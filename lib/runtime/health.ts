/**
 * What `/api/health` reports: whether the server can do its job, and why not, plus how late its
 * event loop has been lately (a request or a socket that blocks it shows here first).
 */
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { Health } from "../wire/model";

/** How long one window of event-loop delay statistics lasts. */
const WINDOW_MS = 1_000;

/**
 * Event-loop delay over the last complete window and the current one, whichever is worse: a
 * client polling health sees a stall until a whole quiet window has passed.
 */
export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last = { p99: 0, max: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = this.current();
      this.histogram.reset();
    }, WINDOW_MS);
    this.timer.unref();
  }

  private current(): { p99: number; max: number } {
    // The histogram is in nanoseconds; an empty one reports huge/NaN values.
    if (this.histogram.count === 0) return { p99: 0, max: 0 };
    return { p99: this.histogram.percentile(99) / 1e6, max: this.histogram.max / 1e6 };
  }

  stats(): Health["event_loop"] {
    const now = this.current();
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    return { window_ms: WINDOW_MS, p99_ms: round(Math.max(now.p99, this.last.p99)), max_ms: round(Math.max(now.max, this.last.max)) };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

/** A reason the server is degraded (a failing database, ...), registered by the part that knows. */
export type HealthCheck = () => string | null;
