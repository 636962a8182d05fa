/**
 * Full payloads, per job, within a byte budget: what each activation received (its input, after
 * any debugger edit) and what each emit sent (its output), plus the job's entry params and the
 * data of `ctx.log` calls. Beyond the budget only previews are left (the trace's, ≤ 2 KB each).
 *
 * Nothing here runs on the engine's per-event path. The trace ring already holds the activation
 * (whose `payload` is the input) and the emitted object until the event leaves the ring, so the
 * collector hands them to the job's PayloadLog in batches: before the ring overwrites entries not
 * captured yet, before anybody reads the job's events (a live subscriber, the API, persistence),
 * and at the job's end. docs/payloads.md says what that means for a payload mutated after the fact.
 */
import type { Route } from "../engine";
import type { PayloadRow, PayloadRowKind, PayloadStats, TraceEvent } from "../wire/model";
import { preview } from "./trace";

/**
 * 1 MiB: dozens of 10–20 KB payloads, or thousands of small ones, in full (the jobs one debugs);
 * kept small because a finished job's payloads are written to history at its end, and a bigger
 * default doubled the cost of history on a long job (see docs/payloads.md).
 */
export const DEFAULT_PAYLOAD_BUDGET_BYTES = 1024 * 1024;
/** What one kept payload costs besides its JSON (the row's fields), counted against the budget. */
export const PAYLOAD_ROW_OVERHEAD = 96;
/**
 * Payloads too large for what is left of the budget are kept as previews and the next ones are
 * still tried (a single huge entry payload does not end keeping); after this many, keeping stops.
 */
export const MAX_BUDGET_MISSES = 16;

/** input / output are a node's; params (job_started) and log (`ctx.log` data) serve single events. */
export type PayloadKind = PayloadRowKind | "params" | "log";

export type PayloadTarget = { routine_id: string; slot_name: string };

/** What a trace event carries besides the payload, for rebuilding it once the trace window lost it. */
export type PayloadMeta = { depth: number; attempt: number } | { targets: PayloadTarget[] } | { message: string } | Record<string, never>;

export function targetsOf(routes: readonly Route[]): PayloadTarget[] {
  return routes.map((r) => ({ routine_id: r.connection.targetRoutineId, slot_name: r.connection.targetSlot }));
}

/** One kept payload, in memory or read back from the database. */
export interface StoredPayload {
  readonly seq: number;
  readonly kind: PayloadKind;
  readonly routineId: string | null;
  readonly activationId: number | null;
  readonly slotName: string | null;
  readonly eventName: string | null;
  /** Epoch ms of its event. */
  readonly time: number;
  /** The payload's JSON text (a preview's when `truncated`). */
  readonly json: string;
  readonly truncated: boolean;
  /** The payload as a value (a fresh one on every call). */
  value(): unknown;
  meta(): PayloadMeta;
}

const KINDS: readonly PayloadKind[] = ["input", "output", "params", "log"];
const KIND_CODE: Record<PayloadKind, number> = { input: 0, output: 1, params: 2, log: 3 };

/**
 * A payload kept in memory, as read from a PayloadLog's columns: its JSON text, or for a flat
 * object (every value a primitive) the object rebuilt from the values taken at capture.
 */
export class KeptPayload implements StoredPayload {
  constructor(
    readonly seq: number,
    readonly kind: PayloadKind,
    readonly routineId: string | null,
    readonly activationId: number | null,
    readonly slotName: string | null,
    readonly eventName: string | null,
    readonly time: number,
    private readonly n1: number,
    private readonly n2: number,
    /** output: the flow's route list; log: the message. */
    private readonly extra: unknown,
    /** JSON text, or the flat object rebuilt. */
    private readonly body: string | Record<string, unknown>,
    readonly truncated: boolean,
  ) {}

  get json(): string {
    return typeof this.body === "string" ? this.body : JSON.stringify(this.body);
  }

  value(): unknown {
    return typeof this.body === "string" ? (JSON.parse(this.body) as unknown) : { ...this.body };
  }

  meta(): PayloadMeta {
    switch (this.kind) {
      case "input":
        return { depth: this.n1, attempt: this.n2 };
      case "output":
        return { targets: targetsOf(this.extra as readonly Route[]) };
      case "log":
        return { message: this.extra as string };
      default:
        return {};
    }
  }
}

export interface PayloadFilter {
  routineId?: string;
  kind?: PayloadRowKind;
}

/** Where a job's kept payloads are read from: its PayloadLog, or the database once written there. */
export interface PayloadSource {
  /** input/output rows with seq > afterSeq, oldest first, at most `limit`. */
  rowsAfter(afterSeq: number, filter: PayloadFilter, limit: number): StoredPayload[];
  /** The kept payload of event `seq` (any kind), if any. */
  rowAt(seq: number): StoredPayload | null;
}

/**
 * The previous payload of a capture batch: the same object, captured at the same instant, is taken
 * once (its row shares the body of the previous one).
 */
export interface SameAsLast {
  value: unknown;
  /** The previous row, or -1. */
  row: number;
  /** JSON size (estimated for a flat value); -1 when JSON cannot represent the value. */
  size: number;
  truncated: boolean;
}

export function sameAsLast(): SameAsLast {
  return { value: undefined, row: -1, size: -1, truncated: false };
}

/** JSON text of the whole value, or null when JSON cannot represent it (a cycle, a BigInt) or it is too large for one string. */
function fullJson(value: unknown): string | null {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : text;
  } catch {
    return null;
  }
}

function previewJson(value: unknown): string {
  try {
    return JSON.stringify(preview(value)) ?? "null";
  } catch {
    return "null";
  }
}

/** A growable typed column. */
function grown<T extends Float64Array | Int32Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/** Strings and objects a log's rows refer to (names, route lists, log messages), stored once each. */
class Interned {
  readonly values: unknown[] = [null];
  private readonly index = new Map<unknown, number>([[null, 0]]);
  private lastValue: unknown = null;
  private lastIndex = 0;

  /** The value's number (0 = null); consecutive rows mostly repeat theirs, so the last one is kept at hand. */
  of(value: unknown): number {
    if (value === this.lastValue) return this.lastIndex;
    let i = this.index.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.index.set(value, i);
    }
    this.lastValue = value;
    this.lastIndex = i;
    return i;
  }
}

const INITIAL_ROWS = 64;

/**
 * One job's kept payloads, in seq order. Each payload is kept in full while the budget allows; one
 * too large for what is left is kept as its preview, and keeping stops for good after
 * MAX_BUDGET_MISSES such payloads or once nothing fits any more (`closedAt`): later payloads are
 * only counted, and served from the trace window's previews. Memory stays within the budget plus at
 * most MAX_BUDGET_MISSES previews.
 *
 * A row is a position in typed columns (numbers, and the numbers of interned names). Its body is
 * either JSON text, or, for a flat object (every value a primitive: the common payload), its
 * values copied at capture into value columns under an interned list of keys: exact, a fraction
 * of the cost of serialising, and no object kept per row. Objects kept alive cost the garbage
 * collector at every collection, and tens of thousands of rows of small payloads are typical.
 */
export class PayloadLog implements PayloadSource {
  private n = 0;
  private seqs = new Float64Array(INITIAL_ROWS);
  private times = new Float64Array(INITIAL_ROWS);
  /** Kind code, +4 when the row holds a preview. */
  private kinds = new Uint8Array(INITIAL_ROWS);
  /** Activation id, -1 for none. */
  private acts = new Int32Array(INITIAL_ROWS);
  /** Meta numbers (input: depth, attempt). */
  private n1s = new Int32Array(INITIAL_ROWS);
  private n2s = new Int32Array(INITIAL_ROWS);
  private routines = new Int32Array(INITIAL_ROWS);
  private slots = new Int32Array(INITIAL_ROWS);
  private events = new Int32Array(INITIAL_ROWS);
  private extras = new Int32Array(INITIAL_ROWS);
  /** The row's key list (index into `shapes`), or -1 when its body is text. */
  private shapeOf = new Int32Array(INITIAL_ROWS);
  /** Flat rows: where its values start in the value columns; text rows: index into `texts`. */
  private bodyAt = new Int32Array(INITIAL_ROWS);
  private texts: string[] = [];
  private shapes: string[][] = [];
  /** Up to four recent shapes, most recent first (rows mostly repeat one of a few). */
  private recentShapes: number[] = [];
  private scratchKeys: string[] = [];
  /** Value columns: a number, or a tag (and `vStr` index for strings). */
  private vNum = new Float64Array(INITIAL_ROWS);
  private vTag = new Uint8Array(INITIAL_ROWS);
  private vN = 0;
  private vStr: string[] = [];
  /** Where the strings of the last flat body start in `vStr` (to undo it). */
  private lastStrStart = 0;
  private names = new Interned();
  private refs = new Interned();
  used = 0;
  kept = 0;
  /** Rows kept as previews, and payloads counted after keeping stopped (ctx.log data; inputs and outputs are counted by the caller). */
  private previewRows = 0;
  private ioRows = 0;
  private skipped = 0;
  private misses = 0;
  /** Every payload event up to this seq went through the log. */
  capturedSeq = 0;
  /** Seq of the event at which keeping stopped; null while it goes on. */
  closedAt: number | null = null;
  /** The rows were written to the database and dropped from memory (reads go there). */
  released = false;

  constructor(readonly budget: number) {}

  get closed(): boolean {
    return this.closedAt !== null;
  }

  /** Rows held in memory. */
  get size(): number {
    return this.n;
  }

  /**
   * Keeps one payload (in full while the budget allows). `same`: what the previous call of this
   * batch took; a batch captures everything at one instant, so the same object is the same payload
   * (one passed on unchanged is captured once).
   */
  add(
    seq: number,
    kind: PayloadKind,
    routineId: string | null,
    activationId: number | null,
    slotName: string | null,
    eventName: string | null,
    time: number,
    n1: number,
    n2: number,
    extra: unknown,
    value: unknown,
    same: SameAsLast | null,
  ): void {
    if (this.closedAt !== null || this.released) {
      if (kind === "params" || kind === "log") this.skipped++;
      return;
    }
    if (this.n === this.seqs.length) this.grow();
    const i = this.n;
    let size: number;
    let truncated = false;
    if (same !== null && same.value === value && same.row >= 0) {
      // The same object as the previous row of this batch: the same body.
      const prev = same.row;
      this.shapeOf[i] = this.shapeOf[prev] as number;
      this.bodyAt[i] = this.bodyAt[prev] as number;
      size = same.size;
      truncated = same.truncated;
      if (!truncated && this.used + size + PAYLOAD_ROW_OVERHEAD > this.budget) {
        this.misses++;
        size = this.putText(i, previewJson(value));
        truncated = true;
      }
    } else {
      size = this.putFlat(i, value);
      if (size < 0) {
        const text = fullJson(value);
        if (text === null) {
          size = this.putText(i, previewJson(value));
          truncated = true;
        } else size = this.putText(i, text);
      }
      if (!truncated && this.used + size + PAYLOAD_ROW_OVERHEAD > this.budget) {
        this.misses++;
        this.dropBody(i);
        size = this.putText(i, previewJson(value));
        truncated = true;
      }
    }
    if (same !== null) {
      same.value = value;
      same.row = i;
      same.size = size;
      same.truncated = truncated;
    }
    this.n++;
    const code = KIND_CODE[kind];
    this.seqs[i] = seq;
    this.times[i] = time;
    this.kinds[i] = truncated ? code + 4 : code;
    this.acts[i] = activationId ?? -1;
    this.n1s[i] = n1;
    this.n2s[i] = n2;
    this.routines[i] = this.names.of(routineId);
    this.slots[i] = this.names.of(slotName);
    this.events[i] = this.names.of(eventName);
    this.extras[i] = this.refs.of(extra);
    this.used += size + PAYLOAD_ROW_OVERHEAD;
    if (code < 2) this.ioRows++;
    if (truncated) this.previewRows++;
    else this.kept++;
    if (this.misses >= MAX_BUDGET_MISSES || this.budget - this.used < PAYLOAD_ROW_OVERHEAD + 16) this.closedAt = seq;
  }

  /** Row i's body is this text; returns its size. */
  private putText(i: number, text: string): number {
    this.shapeOf[i] = -1;
    this.bodyAt[i] = this.texts.length;
    this.texts.push(text);
    return text.length;
  }

  /** Undoes the body just put for row i (the last one): it did not fit. */
  private dropBody(i: number): void {
    if ((this.shapeOf[i] as number) < 0) this.texts.pop();
    else {
      this.vN = this.bodyAt[i] as number;
      this.vStr.length = this.lastStrStart;
    }
  }

  /**
   * Copies a flat object's values into the value columns as row i's body; returns its estimated
   * JSON size, or -1 (nothing kept) when the value is not a plain object of primitives or cannot
   * be read (a getter that throws, a proxy): capture never fails the job.
   */
  private putFlat(i: number, value: unknown): number {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return -1;
    const start = this.vN;
    const strStart = this.vStr.length;
    this.lastStrStart = strStart;
    let flat = true;
    try {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return -1;
      const keys = this.scratchKeys;
      let size = 2;
      let count = 0;
      for (const key in value) {
        if (count === 64) {
          flat = false;
          break;
        }
        const v = (value as Record<string, unknown>)[key];
        if (this.vN === this.vNum.length) {
          this.vNum = grown(this.vNum, this.vNum.length * 2);
          this.vTag = grown(this.vTag, this.vTag.length * 2);
        }
        const at = this.vN++;
        switch (typeof v) {
          case "number":
            this.vNum[at] = v;
            this.vTag[at] = 0;
            size += 24; // the longest a JSON number gets
            break;
          case "string":
            this.vNum[at] = this.vStr.length;
            this.vTag[at] = 1;
            this.vStr.push(v);
            size += v.length + 2;
            break;
          case "boolean":
            this.vTag[at] = v ? 2 : 3;
            size += 5;
            break;
          case "undefined":
            this.vTag[at] = 5;
            break;
          default:
            this.vTag[at] = 4;
            size += 4;
            if (v !== null) flat = false;
        }
        if (!flat) break;
        keys[count++] = key;
        size += key.length + 4;
      }
      if (flat) {
        this.shapeOf[i] = this.shapeFor(keys, count);
        this.bodyAt[i] = start;
        return size;
      }
    } catch {
      // A getter or proxy that throws: serialised (or previewed) instead.
    }
    this.vN = start;
    this.vStr.length = strStart;
    return -1;
  }

  /** The index of this key list among the shapes (a new shape when none of the recent ones is it). */
  private shapeFor(keys: string[], count: number): number {
    const recent = this.recentShapes;
    for (let r = 0; r < recent.length; r++) {
      const idx = recent[r] as number;
      const shape = this.shapes[idx] as string[];
      if (shape.length !== count) continue;
      let same = true;
      for (let k = 0; k < count && same; k++) same = shape[k] === keys[k];
      if (same) {
        if (r > 0) {
          recent.splice(r, 1);
          recent.unshift(idx);
        }
        return idx;
      }
    }
    const idx = this.shapes.length;
    this.shapes.push(keys.slice(0, count));
    recent.unshift(idx);
    if (recent.length > 4) recent.pop();
    return idx;
  }

  /** Row i's body as a value (a flat object rebuilt) or its JSON text. */
  private body(i: number): string | Record<string, unknown> {
    const shape = this.shapeOf[i] as number;
    const at = this.bodyAt[i] as number;
    if (shape < 0) return this.texts[at] as string;
    const keys = this.shapes[shape] as string[];
    const out: Record<string, unknown> = {};
    for (let k = 0; k < keys.length; k++) {
      const tag = this.vTag[at + k] as number;
      const num = this.vNum[at + k] as number;
      // Own data properties, whatever the key (`__proto__` included), as the payload had them.
      Object.defineProperty(out, keys[k] as string, {
        value: tag === 0 ? num : tag === 1 ? this.vStr[num] : tag === 2 ? true : tag === 3 ? false : tag === 4 ? null : undefined,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  private grow(): void {
    const c = Math.max(INITIAL_ROWS, this.seqs.length * 2);
    this.seqs = grown(this.seqs, c);
    this.times = grown(this.times, c);
    this.kinds = grown(this.kinds, c);
    this.acts = grown(this.acts, c);
    this.n1s = grown(this.n1s, c);
    this.n2s = grown(this.n2s, c);
    this.routines = grown(this.routines, c);
    this.slots = grown(this.slots, c);
    this.events = grown(this.events, c);
    this.extras = grown(this.extras, c);
    this.shapeOf = grown(this.shapeOf, c);
    this.bodyAt = grown(this.bodyAt, c);
  }

  /**
   * What the job kept. `ioEvents`: the job's routine_start and event_emit events so far (each
   * carries a payload); those past the point where keeping stopped count as not kept.
   */
  stats(ioEvents: number): PayloadStats {
    const skippedIo = this.closedAt === null ? 0 : Math.max(0, ioEvents - this.ioRows);
    const truncatedCount = this.previewRows + this.skipped + skippedIo;
    return {
      budget_bytes: this.budget,
      used_bytes: this.used,
      kept: this.kept,
      truncated: truncatedCount > 0,
      truncated_count: truncatedCount,
      previews_after_seq: this.closedAt,
    };
  }

  private row(i: number): KeptPayload {
    const code = this.kinds[i] as number;
    const act = this.acts[i] as number;
    const name = (k: number): string | null => this.names.values[k] as string | null;
    return new KeptPayload(
      this.seqs[i] as number,
      KINDS[code & 3] as PayloadKind,
      name(this.routines[i] as number),
      act < 0 ? null : act,
      name(this.slots[i] as number),
      name(this.events[i] as number),
      this.times[i] as number,
      this.n1s[i] as number,
      this.n2s[i] as number,
      this.refs.values[this.extras[i] as number],
      this.body(i),
      code >= 4,
    );
  }

  /** Index of the first row with seq > afterSeq (binary search). */
  private firstAfter(afterSeq: number): number {
    const seqs = this.seqs;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((seqs[mid] as number) <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  rowsAfter(afterSeq: number, filter: PayloadFilter, limit: number): StoredPayload[] {
    const out: StoredPayload[] = [];
    const want = filter.kind === undefined ? -1 : KIND_CODE[filter.kind];
    const routine = filter.routineId;
    for (let i = this.firstAfter(afterSeq); i < this.n && out.length < limit; i++) {
      const code = (this.kinds[i] as number) & 3;
      if (code > 1 || (want >= 0 && code !== want)) continue;
      if (routine !== undefined && this.names.values[this.routines[i] as number] !== routine) continue;
      out.push(this.row(i));
    }
    return out;
  }

  rowAt(seq: number): StoredPayload | null {
    const i = this.firstAfter(seq - 1);
    return i < this.n && this.seqs[i] === seq ? this.row(i) : null;
  }

  /** Every kept row, oldest first (persistence writes them at the job's end). */
  *all(): IterableIterator<StoredPayload> {
    for (let i = 0; i < this.n; i++) yield this.row(i);
  }

  /** Drops the rows from memory once the database holds them; counters stay. */
  release(): void {
    this.n = 0;
    this.seqs = new Float64Array(0);
    this.times = new Float64Array(0);
    this.kinds = new Uint8Array(0);
    this.acts = new Int32Array(0);
    this.n1s = new Int32Array(0);
    this.n2s = new Int32Array(0);
    this.routines = new Int32Array(0);
    this.slots = new Int32Array(0);
    this.events = new Int32Array(0);
    this.extras = new Int32Array(0);
    this.shapeOf = new Int32Array(0);
    this.bodyAt = new Int32Array(0);
    this.texts = [];
    this.shapes = [];
    this.recentShapes = [];
    this.vNum = new Float64Array(0);
    this.vTag = new Uint8Array(0);
    this.vN = 0;
    this.vStr = [];
    this.names = new Interned();
    this.refs = new Interned();
    this.released = true;
  }
}

// ------------------------------------------------------------------ answers

/** The trace-event field that carries an event type's payload (a preview in the trace). */
export function payloadField(kind: PayloadKind): "payload" | "params" | "data" {
  return kind === "params" ? "params" : kind === "log" ? "data" : "payload";
}

/** The field of a trace event that holds a preview of a payload, if it has one. */
export function previewFieldOf(e: TraceEvent): "payload" | "params" | "data" | null {
  switch (e.event_type) {
    case "routine_start":
    case "event_emit":
      return "payload";
    case "job_started":
      return "params";
    case "log":
      // A log without data records null; a logpoint has none.
      return e.data.data !== undefined && e.data.data !== null ? "data" : null;
    default:
      return null;
  }
}

export function ioRow(p: StoredPayload): PayloadRow {
  return {
    seq: p.seq,
    kind: p.kind as PayloadRowKind,
    routine_id: p.routineId ?? "",
    activation_id: p.activationId,
    slot_name: p.kind === "input" ? p.slotName : null,
    event_name: p.eventName,
    timestamp: new Date(p.time).toISOString(),
    payload: p.value(),
    truncated: p.truncated,
  };
}

/** An input/output row from a trace event's preview (payloads past the budget), or null for other events. */
export function ioRowFromEvent(e: TraceEvent): PayloadRow | null {
  if (e.event_type !== "routine_start" && e.event_type !== "event_emit") return null;
  const input = e.event_type === "routine_start";
  const d = e.data;
  return {
    seq: e.seq,
    kind: input ? "input" : "output",
    routine_id: e.routine_id ?? "",
    activation_id: null,
    slot_name: input ? ((d.slot_name as string | undefined) ?? null) : null,
    event_name: (d.event_name as string | null | undefined) ?? null,
    timestamp: e.timestamp,
    payload: d.payload,
    truncated: true,
  };
}

/** The event with its kept payload in place of the preview. */
export function withPayload(e: TraceEvent, p: StoredPayload): TraceEvent {
  return { ...e, data: { ...e.data, [payloadField(p.kind)]: p.value() } };
}

/** The trace event of a kept payload whose event the trace window no longer holds. */
export function eventOf(jobId: string, flowId: string, p: StoredPayload): TraceEvent {
  const payload = p.value();
  const base = { event_id: `evt_${p.seq}`, seq: p.seq, job_id: jobId, flow_id: flowId, routine_id: p.routineId, timestamp: new Date(p.time).toISOString() };
  const meta = p.meta() as Record<string, unknown>;
  switch (p.kind) {
    case "input":
      return {
        ...base,
        event_type: "routine_start",
        data: { slot_name: p.slotName, event_name: p.eventName, depth: meta.depth ?? 0, attempt: meta.attempt ?? 0, payload, activation_id: p.activationId },
        duration: null,
        status: "running",
      };
    case "output":
      return { ...base, event_type: "event_emit", data: { event_name: p.eventName, targets: meta.targets ?? [], payload, activation_id: p.activationId }, duration: null, status: null };
    case "params":
      return { ...base, event_type: "job_started", data: { entry_routine_id: p.routineId, entry_slot: p.slotName, params: payload }, duration: null, status: "running" };
    case "log":
      return { ...base, event_type: "log", data: { message: meta.message ?? "", data: payload, source: "ctx.log" }, duration: null, status: null };
  }
}
