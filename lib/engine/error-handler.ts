import { FlowDefinitionError } from "./errors";
import { MAX_TIMEOUT_SECONDS } from "./timers";

export const ERROR_STRATEGIES = ["stop", "continue", "skip", "retry"] as const;
export type ErrorStrategy = (typeof ERROR_STRATEGIES)[number];

export interface ErrorHandlerOptions {
  maxRetries?: number;
  /** Seconds before the first retry. */
  retryDelay?: number;
  /** Multiplier applied to the delay for each further retry. */
  retryBackoff?: number;
  /**
   * What happens when retries run out: critical (default) fails the job like `stop`,
   * non-critical records the error and goes on like `continue`.
   */
  isCritical?: boolean;
}

/**
 * How a routine's (or a flow's) errors are handled. It is configuration only: retry
 * counts live on each job's activation, never here, so jobs cannot use up each other's retries.
 */
export class ErrorHandler {
  readonly strategy: ErrorStrategy;
  readonly maxRetries: number;
  readonly retryDelay: number;
  readonly retryBackoff: number;
  readonly isCritical: boolean;

  constructor(strategy: ErrorStrategy = "stop", options: ErrorHandlerOptions = {}) {
    if (!ERROR_STRATEGIES.includes(strategy)) {
      throw new FlowDefinitionError(
        "INVALID_ERROR_STRATEGY",
        `Unknown error strategy '${String(strategy)}' (expected one of ${ERROR_STRATEGIES.join(", ")})`,
      );
    }
    this.strategy = strategy;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryDelay = options.retryDelay ?? 1;
    this.retryBackoff = options.retryBackoff ?? 2;
    this.isCritical = options.isCritical ?? true;
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) {
      throw new FlowDefinitionError("INVALID_ERROR_HANDLER", "maxRetries must be a whole number ≥ 0");
    }
    if (!(this.retryDelay >= 0) || !(this.retryBackoff >= 1) || !Number.isFinite(this.retryBackoff)) {
      throw new FlowDefinitionError("INVALID_ERROR_HANDLER", "retryDelay must be ≥ 0 and retryBackoff a finite number ≥ 1");
    }
    if (this.retryDelay > MAX_TIMEOUT_SECONDS) {
      throw new FlowDefinitionError("INVALID_ERROR_HANDLER", `retryDelay must be at most ${MAX_TIMEOUT_SECONDS} seconds (~24.8 days), got ${this.retryDelay}`);
    }
  }

  /**
   * Milliseconds to wait before retry number `n` (1-based): retryDelay · retryBackoff^(n-1). It can
   * pass setTimeout's range as the backoff grows: the job waits for it with chained timers.
   */
  retryDelayMs(n: number): number {
    return this.retryDelay * this.retryBackoff ** (n - 1) * 1000;
  }

  toJSON(): {
    strategy: ErrorStrategy;
    max_retries: number;
    retry_delay: number;
    retry_backoff: number;
    is_critical: boolean;
  } {
    return {
      strategy: this.strategy,
      max_retries: this.maxRetries,
      retry_delay: this.retryDelay,
      retry_backoff: this.retryBackoff,
      is_critical: this.isCritical,
    };
  }
}
