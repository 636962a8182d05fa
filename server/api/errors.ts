import type { z } from "zod";
import { formatZodError } from "../../lib";

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorResponse(status: number, code: string, message: string, details?: unknown): ApiResponse {
  return { status, body: { error: details === undefined ? { code, message } : { code, message, details } } };
}

export function badRequest(error: z.ZodError, where: string): HttpError {
  return new HttpError(400, "VALIDATION_ERROR", `Invalid ${where}: ${formatZodError(error)}`, { issues: error.issues.slice(0, 10).map((i) => ({ path: i.path.join("."), message: i.message })) });
}

const KIND_STATUS: Record<string, number> = { bad_request: 400, not_found: 404, conflict: 409 };

/**
 * Maps anything thrown by a handler to a response. Library errors are recognised by their
 * fields (`kind`, `code`), never by class: a bundler may load a second copy of the library.
 */
export function toErrorResponse(err: unknown): ApiResponse {
  if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.details);
  const e = err as { kind?: unknown; code?: unknown; message?: unknown; details?: unknown; name?: unknown };
  if (typeof e?.kind === "string" && KIND_STATUS[e.kind] !== undefined) {
    return errorResponse(KIND_STATUS[e.kind] as number, String(e.code ?? "ERROR"), String(e.message), e.details);
  }
  // Engine definition errors (unknown routine, slot, bad DSL) and expression errors are the caller's.
  if (typeof e?.code === "string" && (e.name === "FlowDefinitionError" || e.name === "DslError")) {
    const notFound = /NOT_FOUND$/.test(e.code);
    return errorResponse(notFound ? 404 : 400, e.code, String(e.message));
  }
  if (e?.name === "ExpressionError") return errorResponse(400, "INVALID_EXPRESSION", String(e.message));
  console.error("API handler failed", err);
  return errorResponse(500, "INTERNAL_ERROR", "Internal server error");
}
