/**
 * Shared-data recording for monitored jobs: what changed in `job.shared` since the last recording
 * point (routine_start, routine_complete, routine_error), as `{set, deleted}` on that event.
 *
 * Compared per top-level key: a primitive by value, anything else by its JSON text (nested
 * mutation — `shared.list.push(x)` — changes no reference, so only the text tells). A job whose
 * shared data stays empty pays one size check and an empty `for…in` per point.
 */
export interface SharedChanges {
  set: Record<string, unknown>;
  deleted: string[];
}

/** The JSON text last recorded for an object value (a primitive is kept as itself). */
class Text {
  constructor(readonly text: string) {}
}

/** A value as JSON text; undefined when JSON has no representation (function, undefined) — the key then counts as absent. */
function jsonText(v: unknown): string | undefined {
  try {
    return JSON.stringify(v) as string | undefined;
  } catch (err) {
    // A cycle or a BigInt: recorded as a marker, so the key is still seen as set.
    return JSON.stringify(`[unserialisable: ${(err as Error).message}]`);
  }
}

/** Shared by every change with no deletion (never mutated): one allocation less per change. */
const NONE_DELETED: string[] = Object.freeze([]) as unknown as string[];

export class SharedTracker {
  /** key → the primitive, or the Text of the object, as last recorded. */
  private readonly last = new Map<string, unknown>();

  /** Records the shared data as it is now; returns it as a JSON-safe copy (job_started.data.shared_data). */
  initial(shared: Record<string, unknown>): Record<string, unknown> {
    return this.diff(shared)?.set ?? {};
  }

  /** What changed since the last call (null: nothing); the values are copies. */
  diff(shared: Record<string, unknown>): SharedChanges | null {
    const last = this.last;
    if (last.size === 0) {
      // The common case: no shared data at all.
      let any = false;
      for (const _ in shared) {
        any = true;
        break;
      }
      if (!any) return null;
    }
    let set: Record<string, unknown> | null = null;
    let present = 0;
    for (const key in shared) {
      if (!Object.hasOwn(shared, key)) continue;
      const v = shared[key];
      const prev = last.get(key);
      if (typeof v === "object" && v !== null) {
        const text = jsonText(v);
        if (text === undefined) continue;
        present++;
        if (prev instanceof Text && prev.text === text) continue;
        last.set(key, new Text(text));
        set ??= {};
        set[key] = JSON.parse(text);
      } else if (v === undefined || typeof v === "function" || typeof v === "symbol") {
        // Not JSON: absent (a deletion below if it was recorded).
      } else {
        present++;
        if (prev !== undefined && !(prev instanceof Text) && Object.is(prev, v)) continue;
        last.set(key, v);
        set ??= {};
        // As JSON would carry it.
        set[key] = typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? null : v;
      }
    }
    let deleted: string[] | null = null;
    if (last.size !== present) {
      for (const key of last.keys()) {
        const v = Object.hasOwn(shared, key) ? shared[key] : undefined;
        if (v === undefined || typeof v === "function" || typeof v === "symbol") {
          deleted ??= [];
          deleted.push(key);
        }
      }
      if (deleted !== null) for (const key of deleted) last.delete(key);
    }
    if (set === null && deleted === null) return null;
    return { set: set ?? {}, deleted: deleted ?? NONE_DELETED };
  }
}

/** Applies recorded changes to a shared-data object (in place); used by the state-at-seq fold. */
export function applySharedChanges(target: Record<string, unknown>, changes: unknown): void {
  if (typeof changes !== "object" || changes === null) return;
  const c = changes as { set?: unknown; deleted?: unknown };
  if (typeof c.set === "object" && c.set !== null) for (const [k, v] of Object.entries(c.set)) Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (Array.isArray(c.deleted)) for (const k of c.deleted) if (typeof k === "string") delete target[k];
}
