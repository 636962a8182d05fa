import type { z } from "zod";
import { formatZodError, isRoutiluxError, RoutiluxError, STATUS_OF_KIND } from "../../lib/wire";

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function errorResponse(status: number, code: string, message: string, details?: unknown): ApiResponse {
  return { status, body: { error: details === undefined ? { code, message } : { code, message, details } } };
}

export function badRequest(error: z.ZodError, where: string): RoutiluxError {
  return new RoutiluxError("VALIDATION_ERROR", `Invalid ${where}: ${formatZodError(error)}`, {
    kind: "bad_request",
    details: { issues: error.issues.slice(0, 10).map((i) => ({ path: i.path.join("."), message: i.message })) },
  });
}

/**
 * Maps anything thrown by a handler to a response. Errors of the family are recognised by their
 * brand (a bundler may load a second copy of the library, so never by class identity); their
 * `kind` decides the status. Anything else, and the family's `internal` errors, is a bug: 500,
 * logged, with no detail in the answer.
 */
export function toErrorResponse(err: unknown): ApiResponse {
  if (isRoutiluxError(err) && err.kind !== "internal") return errorResponse(STATUS_OF_KIND[err.kind], err.code, err.message, err.details);
  console.error("API handler failed", err);
  return errorResponse(500, "INTERNAL_ERROR", "Internal server error");
}
