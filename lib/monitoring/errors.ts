/**
 * Errors of the monitoring layer. `kind` says what the caller did wrong, so a wire adapter maps
 * it to a status without parsing messages.
 */
import { branded, type ErrorKind, RoutiluxError } from "../wire/errors";

export type MonitoringErrorKind = Extract<ErrorKind, "bad_request" | "not_found" | "conflict">;

export class MonitoringError extends RoutiluxError {
  declare readonly details: Record<string, unknown> | undefined;
  constructor(kind: MonitoringErrorKind, code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, { kind, details });
  }
}
branded("MonitoringError", MonitoringError);
