import type { Payload } from "./types";

export interface ScopeContext {
  routineId?: string | null;
  slotName?: string | null;
  eventName?: string | null;
  jobId?: string | null;
  shared?: Record<string, unknown>;
  config?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/**
 * The names a condition (breakpoint, watch, filter, router) can use: the payload's keys as
 * names; `data` = the payload's own `data` key if it has one, else the whole payload; `payload`;
 * and the activation's `routine_id`, `slot_name`, `event_name`, `job_id`, `shared`
 * (alias `shared_data`) and `config`. One definition shared by the engine and monitoring.
 */
export function conditionScope(payload: Payload, ctx: ScopeContext = {}): Record<string, unknown> {
  const scope: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(payload)) scope[key] = payload[key];
  scope.data = Object.hasOwn(payload, "data") ? payload.data : payload;
  scope.payload = payload;
  scope.routine_id = ctx.routineId ?? null;
  scope.slot_name = ctx.slotName ?? null;
  scope.event_name = ctx.eventName ?? null;
  scope.job_id = ctx.jobId ?? null;
  scope.shared = ctx.shared ?? {};
  scope.shared_data = scope.shared;
  scope.config = ctx.config ?? {};
  if (ctx.extra) for (const key of Object.keys(ctx.extra)) scope[key] = ctx.extra[key];
  return scope;
}
