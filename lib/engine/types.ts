/** Plain JSON values: what config, DSL and snapshots are made of. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What a slot handler receives and what `emit` sends: a plain object of named values. */
export type Payload = Record<string, unknown>;

export {
  EXECUTION_STRATEGIES,
  type ExecutionStrategy,
  FINAL_JOB_STATUSES,
  isFinalStatus,
  JOB_STATUSES,
  type JobStatus,
  ROUTINE_STATUSES,
  type RoutineStatus,
} from "../wire/model";

/** True for values JSON can carry unchanged (no functions, symbols, class instances, cycles). */
export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 100) return false;
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      return Object.values(value).every((v) => isJsonValue(v, depth + 1));
    }
    default:
      return false;
  }
}
