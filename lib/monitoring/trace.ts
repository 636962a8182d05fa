/** Trace events: one record shape everywhere (REST trace, WebSocket, socket.io, the UI). */

import type { TraceEvent, TraceEventType } from "../wire/model";

export { TRACE_EVENT_TYPES, type TraceEvent, type TraceEventType } from "../wire/model";

/**
 * A recorded event. The timestamp is kept as epoch milliseconds and formatted only when the
 * record is serialised: formatting dates on every activation would double the cost of monitoring.
 */
export class TraceRecord {
  constructor(
    readonly seq: number,
    readonly job_id: string,
    readonly flow_id: string,
    readonly routine_id: string | null,
    readonly event_type: TraceEventType,
    readonly time: number,
    readonly data: Record<string, unknown>,
    readonly duration: number | null,
    readonly status: string | null,
  ) {}

  get event_id(): string {
    return `evt_${this.seq}`;
  }

  get timestamp(): string {
    return new Date(this.time).toISOString();
  }

  toJSON(): TraceEvent {
    return {
      event_id: this.event_id,
      seq: this.seq,
      job_id: this.job_id,
      flow_id: this.flow_id,
      routine_id: this.routine_id,
      event_type: this.event_type,
      timestamp: this.timestamp,
      data: this.data,
      duration: this.duration,
      status: this.status,
    };
  }
}

/** Bound on the JSON size of one preview. */
export const PREVIEW_BUDGET = 2048;

const TRUNC = "…";

/**
 * A JSON-safe copy of `value` whose JSON text stays within `budget` characters (approximately,
 * always on the safe side): long strings are cut, long lists and objects are shortened with a
 * marker, deep nesting is elided. The cost is bounded by the budget, not by the value's size,
 * so a huge payload cannot blow up memory or a socket.
 */
export function preview(value: unknown, budget = PREVIEW_BUDGET): unknown {
  let flat: Record<string, unknown> | undefined;
  try {
    flat = flatPreview(value, budget);
  } catch {
    // A getter or proxy that throws: the walk reads key by key and marks what it cannot read.
    flat = undefined;
  }
  if (flat !== undefined) return flat;
  const state = { left: budget };
  return walk(value, state, 0);
}

/**
 * The common case on the hot path, a small plain object of numbers, booleans, nulls and short
 * strings, copied in one pass; anything else (undefined result) goes through the full walk.
 */
function flatPreview(value: unknown, budget: number): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  // A spread copy is V8's fast clone; then only check that every value is a small primitive.
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  let size = 2;
  let count = 0;
  for (const key in out) {
    if (++count > 32) return undefined;
    const v = out[key];
    const t = typeof v;
    if (t === "number") {
      if (!Number.isFinite(v as number)) return undefined;
      size += 12;
    } else if (t === "boolean" || v === null) {
      size += 5;
    } else if (t === "string" && (v as string).length <= 256) {
      size += (v as string).length + 2;
    } else {
      return undefined;
    }
    size += key.length + 4;
    if (size > budget) return undefined;
  }
  return out;
}

function walk(value: unknown, state: { left: number }, depth: number): unknown {
  if (state.left <= 0) return TRUNC;
  switch (typeof value) {
    case "string": {
      const max = Math.max(0, state.left - 2);
      if (value.length <= max) {
        state.left -= value.length + 2;
        return value;
      }
      state.left = 0;
      return `${value.slice(0, Math.max(0, max - 1))}${TRUNC}`;
    }
    case "number":
      state.left -= 12;
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      state.left -= 5;
      return value;
    case "undefined":
      state.left -= 4;
      return null;
    case "bigint":
      state.left -= 12;
      return `${value.toString()}n`;
    case "function":
      state.left -= 12;
      return "[function]";
    case "symbol":
      state.left -= 12;
      return value.toString();
    default:
      break;
  }
  if (value === null) {
    state.left -= 4;
    return null;
  }
  if (depth >= 8) {
    state.left -= 3;
    return TRUNC;
  }
  if (Array.isArray(value)) {
    state.left -= 2;
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (state.left <= 8) {
        out.push(`${TRUNC} ${value.length - i} more`);
        state.left = 0;
        break;
      }
      state.left -= 1;
      out.push(walk(value[i], state, depth + 1));
    }
    return out;
  }
  if (value instanceof Date) {
    state.left -= 26;
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (value instanceof Error) {
    return walk({ error_type: value.name, message: value.message }, state, depth);
  }
  let keys: string[];
  try {
    keys = Object.keys(value as object);
  } catch {
    state.left -= 14;
    return "[unreadable]";
  }
  state.left -= 2;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (state.left <= key.length + 8) {
      out[TRUNC] = `${keys.length - i} more keys`;
      state.left = 0;
      break;
    }
    state.left -= key.length + 4;
    let v: unknown;
    try {
      v = (value as Record<string, unknown>)[key];
    } catch {
      v = "[unreadable]";
    }
    const safeKey = key === "__proto__" ? "[__proto__]" : key;
    out[safeKey] = walk(v, state, depth + 1);
  }
  return out;
}
