/** Errors thrown by the engine. Each names the thing that is wrong so a caller can show it as is. */
import { branded, isRoutiluxError, RoutiluxError } from "../wire/errors";

export { isRoutiluxError, RoutiluxError };

/** Bad wiring or a bad argument to a Flow/Routine method (unknown routine, slot, duplicate id...). */
export class FlowDefinitionError extends RoutiluxError {
  constructor(code: string, message: string) {
    super(code, message, { kind: code.endsWith("NOT_FOUND") ? "not_found" : "bad_request" });
  }
}
branded("FlowDefinitionError", FlowDefinitionError);

/** A DSL document that cannot be loaded; `path` says where (e.g. `routines.ingest.class`). */
export class DslError extends RoutiluxError {
  readonly path: string;
  /** `limit`: a DSL over one of DSL_LIMITS (code DSL_LIMIT_EXCEEDED; 413 for its size, 400 for its shape). */
  constructor(path: string, message: string, limit?: { name: "text" | "entries" | "depth" | "aliases"; max: number }) {
    super(limit ? "DSL_LIMIT_EXCEEDED" : "INVALID_DSL", path ? `${path}: ${message}` : message, {
      kind: limit?.name === "text" ? "too_large" : "bad_request",
      details: limit ? { limit: limit.name, max: limit.max } : undefined,
    });
    this.path = path;
  }
}
branded("DslError", DslError);

/** An activation or job that ran longer than its configured limit. */
export class TimeoutError extends RoutiluxError {
  constructor(message: string) {
    super("TIMEOUT", message);
  }
}
branded("TimeoutError", TimeoutError);

/**
 * A job that went over one of its budgets (queued activations, activations, queue bytes). It
 * names the budget (as the DSL spells it), its limit and the routine that crossed it.
 */
export class BudgetExceededError extends RoutiluxError {
  constructor(
    readonly budget: string,
    readonly limit: number,
    readonly routineId: string,
    detail: string,
  ) {
    super("BUDGET_EXCEEDED", `Job exceeded its budget ${budget} = ${limit.toLocaleString("en-US")} (${detail}) at routine '${routineId}'`);
  }
}
branded("BudgetExceededError", BudgetExceededError);

/** Errors a job ends with when it is cancelled. */
export class CancelledError extends RoutiluxError {
  constructor(reason: string) {
    super("CANCELLED", reason);
  }
}
branded("CancelledError", CancelledError);

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function errorType(err: unknown): string {
  if (err instanceof Error) return err.name || "Error";
  return typeof err;
}
