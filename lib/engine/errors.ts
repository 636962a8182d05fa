/** Errors thrown by the engine. Each names the thing that is wrong so a caller can show it as is. */
export class RoutiluxError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad wiring or a bad argument to a Flow/Routine method (unknown routine, slot, duplicate id...). */
export class FlowDefinitionError extends RoutiluxError {}

/** A DSL document that cannot be loaded; `path` says where (e.g. `routines.ingest.class`). */
export class DslError extends RoutiluxError {
  readonly path: string;
  constructor(path: string, message: string) {
    super("INVALID_DSL", path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/** An activation or job that ran longer than its configured limit. */
export class TimeoutError extends RoutiluxError {
  constructor(message: string) {
    super("TIMEOUT", message);
  }
}

/** Errors a job ends with when it is cancelled. */
export class CancelledError extends RoutiluxError {
  constructor(reason: string) {
    super("CANCELLED", reason);
  }
}

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
