/**
 * Errors of the monitoring layer. `kind` says what the caller did wrong, so a wire adapter can
 * map it to a status without parsing messages: bad_request → 400, not_found → 404, conflict → 409.
 */
export type MonitoringErrorKind = "bad_request" | "not_found" | "conflict";

export class MonitoringError extends Error {
  constructor(
    readonly kind: MonitoringErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "MonitoringError";
  }
}
