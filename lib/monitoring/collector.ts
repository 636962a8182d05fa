import type { Activation, Flow, Job, Route } from "../engine";
import type { ReplaySource } from "./event-manager";
import type { ErrorRecord, FlowDetail, JobIoPage, JobMetrics, JobSnapshot, PayloadRow, PayloadStats, RoutineMetrics } from "../wire/model";
import {
  DEFAULT_PAYLOAD_BUDGET_BYTES,
  eventOf,
  ioRow,
  ioRowFromEvent,
  type PayloadFilter,
  type PayloadKind,
  PayloadLog,
  type PayloadSource,
  previewFieldOf,
  type StoredPayload,
  sameAsLast,
  targetsOf,
  withPayload,
} from "./payloads";
import type { SharedChanges } from "./shared-changes";
import { preview, type TraceEvent, type TraceEventType, TraceRecord } from "./trace";

/** Who gets events as they are recorded (the event manager). */
export interface EventPublisher {
  /** Subscribers in all; 0 skips the per-job check (a field read on the hot path). */
  readonly subscriberTotal: number;
  /** Does anybody listen to this job or its flow? */
  hasSubscribers(jobId: string, flowId: string): boolean;
  publish(rec: TraceRecord): void;
}

/**
 * Told when a monitored job starts and when it ends (persistence listens). Called once per job,
 * never per event: whoever listens reads the job's record later, off the hot path.
 */
export interface CollectorObserver {
  jobStarted(rec: JobRecord): void;
  /** The job's final event is recorded right after this call, in the same synchronous step. */
  jobEnded(rec: JobRecord): void;
}

/**
 * A flow as a job started on it: routines (types, slots, events, config), connections, strategy.
 * Made by whoever serves the flow (the runtime, which knows the routine types' names); jobs that
 * started on the same structure share one.
 */
export interface FlowStructure {
  /** A digest of `json`: equal structures have equal keys. */
  readonly key: string;
  /** `detail` as JSON text (what history stores). */
  readonly json: string;
  readonly detail: FlowDetail;
}

/** Finished jobs kept outside memory (persistence): read only for jobs the collector does not hold. */
export interface JobArchive extends ReplaySource {
  getMetrics(jobId: string): JobMetrics | null;
  getExecutionTrace(jobId: string, limit?: number): TraceEvent[];
  traceInfo(jobId: string): { total: number; retained: number; dropped: number; last_seq: number } | null;
  /** One retained event of a job it holds. */
  eventAt(jobId: string, seq: number): TraceEvent | null;
  /** The flow of a job it holds. */
  flowOf(jobId: string): string | null;
  /**
   * The kept payloads the database holds for a job: a finished job of an earlier run, or one of this
   * process whose payloads were written and released from memory. Null when it holds none.
   */
  payloads(jobId: string): ArchivedPayloads | null;
}

/** A job's kept payloads in the database, with what the job kept as written at its end. */
export interface ArchivedPayloads extends PayloadSource {
  stats(): PayloadStats;
}

/** A page of a job's inputs and outputs (GET /api/jobs/{id}/io without the ids). */
export type IoPage = Omit<JobIoPage, "job_id" | "routine_id">;
/** One event with its full payload (GET /api/jobs/{id}/events/{seq}). */
export interface EventWithPayload {
  event: TraceEvent;
  truncated: boolean;
  payloads: PayloadStats;
}

/** performance.now() → epoch ms: one clock read serves both the duration and the timestamp. */
const ORIGIN = performance.timeOrigin;

export const DEFAULT_MAX_EVENTS_PER_JOB = 1000;
/** Error records kept per job (the count of errors is not capped). */
export const MAX_ERRORS_PER_JOB = 100;

export type { ErrorRecord, JobMetrics, JobSnapshot, RoutineMetrics } from "../wire/model";

/** What a Row's generic fields mean (see Row). */
const Shape = { Generic: 0, Start: 1, Complete: 2, Emit: 3 } as const;
type Shape = (typeof Shape)[keyof typeof Shape];

/**
 * One recorded event, as compact as the hot path allows: the `data` object and the ISO
 * timestamp are only built when somebody reads the event (most are overwritten unread).
 * Generic rows keep (type, status, data) in (s1, s2, o1).
 *
 * An `event_emit` row first holds the emitted payload itself (`n2 = 1`, the emitting activation's
 * id in `n1`) and turns it into a bounded preview when it is first read, and at the latest when
 * the job ends, so a running job pays one preview per activation (its routine_start) instead of
 * two, and a finished job keeps only previews. Its payload is captured (PayloadLog) before any read.
 */
class Row {
  constructor(
    readonly shape: Shape,
    readonly routine: string | null,
    readonly time: number,
    readonly duration: number | null,
    readonly s1: string | null,
    readonly s2: string | null,
    readonly n1: number,
    public n2: number,
    public o1: unknown,
    /** Emit: the route list; Start/Complete: the shared-data changes recorded with it (or null). */
    readonly o2: unknown,
    /** Start/Complete: the activation's id. */
    readonly aid: number = -1,
  ) {}

  get type(): TraceEventType {
    switch (this.shape) {
      case Shape.Start:
        return "routine_start";
      case Shape.Complete:
        return "routine_complete";
      case Shape.Emit:
        return "event_emit";
      default:
        return this.s1 as TraceEventType;
    }
  }

  get status(): string | null {
    switch (this.shape) {
      case Shape.Start:
        return "running";
      case Shape.Complete:
        return "completed";
      case Shape.Emit:
        return null;
      default:
        return this.s2;
    }
  }

  /** An `event_emit` row still holding the emitted object (not yet a preview). */
  get holdsPayload(): boolean {
    return this.shape === Shape.Emit && this.n2 === 1;
  }

  /** Replaces a held payload by its preview (idempotent). */
  seal(): void {
    if (this.n2 === 1) {
      this.o1 = preview(this.o1);
      this.n2 = 0;
    }
  }

  data(): Record<string, unknown> {
    switch (this.shape) {
      case Shape.Start: {
        const d: Record<string, unknown> = { slot_name: this.s1, event_name: this.s2, depth: this.n1, attempt: this.n2, payload: this.o1, activation_id: this.aid };
        if (this.o2 !== null) d.shared_changes = this.o2;
        return d;
      }
      case Shape.Complete: {
        const d: Record<string, unknown> = { slot_name: this.s1, depth: this.n1, activation_id: this.aid };
        if (this.o2 !== null) d.shared_changes = this.o2;
        return d;
      }
      case Shape.Emit:
        this.seal();
        return { event_name: this.s1, targets: targetsOf(this.o2 as readonly Route[]), payload: this.o1, activation_id: this.n1 };
      default:
        return this.o1 as Record<string, unknown>;
    }
  }

  toRecord(seq: number, jobId: string, flowId: string): TraceRecord {
    return new TraceRecord(seq, jobId, flowId, this.routine, this.type, this.time, this.data(), this.duration, this.status);
  }
}

/** What a ring entry holds: a Row, or an Activation standing for its own start or completion. @internal (exported for the bench) */
export const Kind = { Row: 0, Start: 1, Complete: 2, Emit: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * Fixed-capacity ring of a job's most recent events; seqs in it are contiguous.
 *
 * routine_start and routine_complete, two of the three events every activation produces, are
 * stored as the Activation itself plus two numbers (time; attempt or duration) in typed columns:
 * no object is allocated for them; an `event_emit` to connected slots is the route list, the
 * emitted payload and the emitting activation's id. Their data and payload preview are built when
 * somebody reads them, and `seal()` (at the end of the job) turns what is left into Rows so a
 * finished job keeps previews only. A live subscriber reads each event as it is recorded, so it sees payloads exactly
 * as they were; a later read of a running job shows them as they are then.
 *
 * @internal (exported for the bench)
 */
export class EventRing {
  private kind: Uint8Array;
  private ref: unknown[];
  /** Emit entries: the emitted payload (ref holds the route list). */
  private ref2: unknown[];
  private time: Float64Array;
  private num: Float64Array;
  /** Slot the next entry goes to (the oldest retained one once the ring is full). */
  private next = 0;
  count = 0;

  constructor(public capacity: number) {
    this.kind = new Uint8Array(capacity);
    this.ref = new Array(capacity).fill(null);
    this.ref2 = new Array(capacity).fill(null);
    this.time = new Float64Array(capacity);
    this.num = new Float64Array(capacity);
  }

  /** Writes an entry over the oldest when full; returns its slot index. */
  push(kind: Kind, ref: unknown, time: number, num: number, ref2: unknown): number {
    const i = this.next;
    this.kind[i] = kind;
    this.ref[i] = ref;
    this.ref2[i] = ref2;
    this.time[i] = time;
    this.num[i] = num;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.count < this.capacity) this.count++;
    return i;
  }

  /** The event at slot i as a record. */
  recordAt(i: number, seq: number, jobId: string, flowId: string): TraceRecord {
    const kind = this.kind[i];
    if (kind === Kind.Row) return (this.ref[i] as Row).toRecord(seq, jobId, flowId);
    return this.rowAt(i).toRecord(seq, jobId, flowId);
  }

  /** Slot of position k (0 = oldest retained). */
  slotOf(k: number): number {
    return (this.next - this.count + k + this.capacity) % this.capacity;
  }

  /**
   * Hands the payloads of events after `log.capturedSeq` up to `lastSeq` (all in the ring: the
   * collector captures before the ring overwrites anything not captured) to the job's PayloadLog:
   * inputs (routine_start: the activation's payload as it is now) and outputs (event_emit).
   */
  capture(log: PayloadLog, lastSeq: number): void {
    const first = lastSeq - this.count + 1;
    const from = Math.max(log.capturedSeq + 1, first);
    log.capturedSeq = lastSeq;
    // Once keeping stopped, the payloads past it are counted from the job's counters instead.
    if (from > lastSeq || log.closed) return;
    const same = sameAsLast();
    for (let s = from; s <= lastSeq; s++) {
      const i = this.slotOf(s - first);
      const kind = this.kind[i];
      const time = this.time[i] as number;
      if (kind === Kind.Start) {
        const act = this.ref[i] as Activation;
        log.add(s, "input", act.routineId, act.id, act.slotName, act.eventName, time, act.depth, this.num[i] as number, null, act.payload, same);
      } else if (kind === Kind.Emit) {
        const routes = this.ref[i] as readonly Route[];
        const c = (routes[0] as Route).connection;
        log.add(s, "output", c.sourceRoutineId, this.num[i] as number, null, c.sourceEvent, time, 0, 0, routes, this.ref2[i], same);
      } else if (kind === Kind.Row) {
        const row = this.ref[i] as Row;
        if (row.holdsPayload) log.add(s, "output", row.routine, row.n1, null, row.s1, time, 0, 0, row.o2, row.o1, same);
      }
    }
  }

  /** Replaces activation entries by Rows (with their previews), so nothing else stays referenced. */
  seal(): void {
    for (let k = 0; k < this.count; k++) {
      const i = this.slotOf(k);
      if (this.kind[i] === Kind.Row) (this.ref[i] as Row).seal();
      else {
        this.ref[i] = this.rowAt(i);
        this.ref2[i] = null;
        this.kind[i] = Kind.Row;
      }
    }
  }

  /** Keeps the newest `capacity` events (the others count as dropped: see JobRecord.dropped). */
  resize(capacity: number): void {
    const keep = Math.min(capacity, this.count);
    const entries: [Kind, unknown, number, number, unknown][] = [];
    for (let k = this.count - keep; k < this.count; k++) {
      const i = this.slotOf(k);
      entries.push([this.kind[i] as Kind, this.ref[i], this.time[i] as number, this.num[i] as number, this.ref2[i]]);
    }
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.ref = new Array(capacity).fill(null);
    this.ref2 = new Array(capacity).fill(null);
    this.time = new Float64Array(capacity);
    this.num = new Float64Array(capacity);
    this.next = 0;
    this.count = 0;
    for (const [kind, ref, time, num, ref2] of entries) this.push(kind, ref, time, num, ref2);
  }

  private rowAt(i: number): Row {
    const kind = this.kind[i];
    if (kind === Kind.Row) return this.ref[i] as Row;
    const time = this.time[i] as number;
    if (kind === Kind.Emit) {
      // The route list is the flow's for (source, event) and never empty here: it names both.
      const routes = this.ref[i] as readonly Route[];
      const c = (routes[0] as Route).connection;
      return new Row(Shape.Emit, c.sourceRoutineId, time, null, c.sourceEvent, null, this.num[i] as number, 0, preview(this.ref2[i]), routes);
    }
    const act = this.ref[i] as Activation;
    const num = this.num[i] as number;
    // ref2 of an activation entry: the shared-data changes recorded with it.
    if (kind === Kind.Start) return new Row(Shape.Start, act.routineId, time, null, act.slotName, act.eventName, act.depth, num, preview(act.payload), this.ref2[i] ?? null, act.id);
    return new Row(Shape.Complete, act.routineId, time, num, act.slotName, null, act.depth, 0, null, this.ref2[i] ?? null, act.id);
  }
}

/** Emits of one route list (see JobRecord.emitCounts). */
class EmitCount {
  n = 0;
}

class RoutineStats {
  count = 0;
  errors = 0;
  timed = 0;
  total = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  last = 0;
}

/** What the collector keeps per job. */
export class JobRecord {
  seq = 0;
  /**
   * The monitoring hooks' last clock reading (performance.now(), ms), which the hot-path recorders
   * read from here instead of taking it as an argument: a float passed through a call V8 does not
   * inline, or typed `number | null`, is boxed (a heap allocation per event).
   */
  clock = 0;
  activations = 0;
  /** routine_start events (attempts included): with `emits`, the events that carry a payload. */
  starts = 0;
  emits = 0;
  errorCount = 0;
  readonly errors: ErrorRecord[] = [];
  readonly routines = new Map<string, RoutineStats>();
  lastStatsId: string | null = null;
  lastStats: RoutineStats | null = null;
  /**
   * Emits per route list (the flow's list for one source event): each one crossed every
   * connection of its list. Counted per list, not per connection, so an emit costs one lookup
   * (none when the same event emits again) however many connections it fans out to.
   */
  readonly emitCounts = new Map<readonly Route[], EmitCount>();
  lastRoutes: readonly Route[] | null = null;
  lastEmitCount: EmitCount | null = null;
  readonly startTime: number;
  endTime: number | null = null;
  readonly ring: EventRing;
  /** Full payloads within the job's budget (captured from the ring off the hot path). */
  readonly payloads: PayloadLog;
  /** Its shared data is recorded (MonitorCollector.recordSharedData when it started). */
  recordsShared = true;
  /** Its flow as it was when the job started (null when nobody describes flows: a bare library). */
  flow: FlowStructure | null = null;

  constructor(
    readonly job: Job,
    capacity: number,
    payloadBudget: number = DEFAULT_PAYLOAD_BUDGET_BYTES,
  ) {
    this.startTime = job.startedAt?.getTime() ?? Date.now();
    this.ring = new EventRing(capacity);
    this.payloads = new PayloadLog(payloadBudget);
  }

  /** What the job kept of its payloads so far. */
  payloadStats(): PayloadStats {
    return this.payloads.stats(this.starts + this.emits);
  }

  /** Events recorded but no longer retained (evicted by the ring or trimmed by a resize). */
  get dropped(): number {
    return this.seq - this.ring.count;
  }

  get jobId(): string {
    return this.job.jobId;
  }
  get flowId(): string {
    return this.job.flowId;
  }
}

/**
 * Collects trace events (a bounded ring per job) and metrics (counters over every event, not only
 * the retained ones). It is also the replay source of the event manager.
 */
export class MonitorCollector implements ReplaySource {
  private maxEvents = DEFAULT_MAX_EVENTS_PER_JOB;
  private payloadBudget = DEFAULT_PAYLOAD_BUDGET_BYTES;
  private readonly jobs = new Map<string, JobRecord>();
  /** Where new events go (the event manager): asked first whether anybody listens, so unread events cost no object. */
  publisher: EventPublisher | null = null;
  /** Notified at job start and end (persistence). */
  observer: CollectorObserver | null = null;
  /** Consulted for jobs not held in memory (finished jobs restored from a database). */
  archive: JobArchive | null = null;
  /**
   * Describes a job's flow when the job starts (the runtime sets it), so the job keeps the picture
   * of the flow it ran even after the flow is edited or deleted. Called once per job.
   */
  describeFlow: ((flow: Flow) => FlowStructure) | null = null;
  /**
   * Record monitored jobs' shared data (job_started.data.shared_data, shared_changes): on by
   * default; states at a seq and forks need it. Applies to jobs started from then on (the bench
   * turns it off to measure what it costs).
   */
  recordSharedData = true;

  /** Applies to new and existing jobs; existing rings keep their newest `n` events. */
  setMaxEventsPerJob(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError("max_events must be a whole number greater than 0");
    this.maxEvents = n;
    for (const rec of this.jobs.values()) {
      // What the resize drops must be captured first.
      this.capturePayloads(rec);
      rec.ring.resize(n);
    }
  }

  getMaxEventsPerJob(): number {
    return this.maxEvents;
  }

  /**
   * Bytes of full payloads kept per job (JSON length plus a fixed cost per payload); beyond it,
   * previews only. 0 keeps none. Applies to jobs started from then on.
   */
  setPayloadBudget(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError("payload budget must be a whole number of bytes ≥ 0");
    this.payloadBudget = bytes;
  }

  getPayloadBudget(): number {
    return this.payloadBudget;
  }

  /** @internal Called when a monitored job starts. */
  startJob(job: Job): JobRecord {
    const rec = new JobRecord(job, this.maxEvents, this.payloadBudget);
    rec.recordsShared = this.recordSharedData;
    if (this.describeFlow !== null) {
      try {
        rec.flow = this.describeFlow(job.flow);
      } catch (err) {
        // The job runs all the same; only its picture of the flow is missing.
        console.warn(`[monitoring] flow '${job.flowId}' could not be described: ${(err as Error).message}`);
      }
    }
    this.jobs.set(job.jobId, rec);
    this.observer?.jobStarted(rec);
    return rec;
  }

  /** @internal Records one event with a data object, updates counters, publishes it. */
  record(
    job: JobRecord,
    type: TraceEventType,
    routineId: string | null,
    data: Record<string, unknown>,
    duration: number | null = null,
    status: string | null = null,
    /** Epoch ms, when the caller already read the clock. */
    time: number = Date.now(),
  ): void {
    this.put(job, new Row(Shape.Generic, routineId, time, duration, type, status, 0, 0, data, null));
  }

  /**
   * @internal `routine_start` of an activation at `job.clock` (hot path: nothing is allocated);
   * `shared`: the shared-data changes since the last recording point, if any.
   */
  recordStart(job: JobRecord, act: Activation, shared: SharedChanges | null = null): void {
    job.starts++;
    this.putEntry(job, Kind.Start, act, ORIGIN + job.clock, act.attempt, shared);
  }

  /**
   * @internal An activation finished (ok or not) at `job.clock`: the routine's stats, and its
   * `routine_complete` when it succeeded (a failure records `routine_error` instead).
   */
  activationFinished(job: JobRecord, act: Activation, ok: boolean, shared: SharedChanges | null = null): void {
    const now = job.clock;
    const time = ORIGIN + now;
    // startedAt stays 0 if no routine_start was recorded for the activation: then it is not timed.
    const timed = act.startedAt > 0;
    // The debugger's own work inside the handler (emit lines, emit hooks) is not the routine's time.
    const duration = timed ? now - act.startedAt - act.debugOverheadMs : 0;
    const routineId = act.routineId;
    // Runs of one routine are common (breadth-first order): a one-entry cache skips the Map.
    let s = job.lastStatsId === routineId ? job.lastStats : job.routines.get(routineId);
    if (s === undefined || s === null) {
      s = new RoutineStats();
      job.routines.set(routineId, s);
    }
    job.lastStatsId = routineId;
    job.lastStats = s;
    s.count++;
    job.activations++;
    if (!ok) s.errors++;
    if (timed) {
      s.timed++;
      s.total += duration;
      if (duration < s.min) s.min = duration;
      if (duration > s.max) s.max = duration;
    }
    s.last = time;
    if (ok) this.putEntry(job, Kind.Complete, act, time, duration, shared);
  }

  /**
   * @internal `event_emit` at `job.clock`; `routes` are the flow's (immutable) route list, turned
   * into targets when read; the payload is previewed when first read (see Row).
   */
  recordEmit(job: JobRecord, routineId: string, activationId: number, eventName: string, routes: readonly Route[], payload: unknown): void {
    job.emits++;
    const time = ORIGIN + job.clock;
    if (routes.length > 0) {
      let c = job.lastRoutes === routes ? job.lastEmitCount : job.emitCounts.get(routes);
      if (c === undefined || c === null) {
        c = new EmitCount();
        job.emitCounts.set(routes, c);
      }
      job.lastRoutes = routes;
      job.lastEmitCount = c;
      c.n++;
      this.putEntry(job, Kind.Emit, routes, time, activationId, payload);
    } else this.put(job, new Row(Shape.Emit, routineId, time, null, eventName, null, activationId, 1, payload, routes));
  }

  /**
   * @internal Keeps the full value behind the preview of the event just recorded (a job's entry
   * params, a log entry's data): not per activation, so serialised at once.
   */
  keepEventPayload(job: JobRecord, kind: PayloadKind, routineId: string | null, slotName: string | null, message: string | null, value: unknown): void {
    // Rows stay in seq order: what the ring holds uncaptured goes first.
    this.capturePayloads(job);
    job.payloads.add(job.seq, kind, routineId, null, slotName, null, Date.now(), 0, 0, message, value, null);
  }

  /** @internal Hands the payloads the ring holds but the job's PayloadLog has not seen yet to it. */
  capturePayloads(job: JobRecord): void {
    if (job.payloads.capturedSeq < job.seq) job.ring.capture(job.payloads, job.seq);
  }

  private put(job: JobRecord, row: Row): void {
    this.putEntry(job, Kind.Row, row, row.time, 0, null);
  }

  private putEntry(job: JobRecord, kind: Kind, ref: unknown, time: number, num: number, ref2: unknown): void {
    const seq = ++job.seq;
    const ring = job.ring;
    const i = ring.push(kind, ref, time, num, ref2);
    // The next entry overwrites the oldest: payloads the ring holds are captured before (in
    // batches of the ring's size, off the per-event path).
    if (i === ring.capacity - 1) this.capturePayloads(job);
    // Recorded before it is published, so a subscriber joining meanwhile replays it from the ring.
    const publisher = this.publisher;
    if (publisher !== null && publisher.subscriberTotal !== 0 && publisher.hasSubscribers(job.jobId, job.flowId)) {
      // Somebody watches: the payload is kept as it is now, as the preview they get is.
      this.capturePayloads(job);
      publisher.publish(ring.recordAt(i, seq, job.jobId, job.flowId));
    }
  }

  /** @internal */
  recordError(job: JobRecord, routineId: string | null, errorType: string, message: string, strategy: string | null): void {
    job.errorCount++;
    job.errors.push({
      error_id: `error_${job.errorCount}`,
      job_id: job.jobId,
      routine_id: routineId,
      timestamp: new Date().toISOString(),
      error_type: errorType,
      error_message: message,
      strategy,
    });
    if (job.errors.length > MAX_ERRORS_PER_JOB) job.errors.shift();
  }

  /** @internal */
  endJob(job: JobRecord): void {
    job.endTime = job.job.finishedAt?.getTime() ?? Date.now();
    this.capturePayloads(job);
    // A finished job's ring keeps previews only, never the payloads or activations themselves.
    job.ring.seal();
    this.observer?.jobEnded(job);
  }

  hasJob(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** @internal */
  jobRecord(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  /**
   * The job snapshot as served: the job's state, the seq it is as of and the payloads per
   * connection, all read in this one synchronous step, so the events up to `last_seq` are exactly
   * those its counts include. A job without monitoring has neither: last_seq 0, no counts.
   */
  jobSnapshot(job: Job): JobSnapshot {
    const rec = this.jobs.get(job.jobId);
    const state = job.toJSON();
    if (rec === undefined || rec.job !== job) return { ...state, last_seq: 0, connection_counts: {} };
    const counts: Record<string, number> = {};
    for (const [routes, c] of rec.emitCounts) {
      for (const r of routes) {
        const id = r.connection.id;
        counts[id] = (counts[id] ?? 0) + c.n;
      }
    }
    return { ...state, last_seq: rec.seq, connection_counts: counts };
  }

  getMetrics(jobId: string): JobMetrics | null {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.getMetrics(jobId) ?? null;
    const job = rec.job;
    const states = job.routineStates;
    const stateList = Object.values(states);
    const routineMetrics: Record<string, RoutineMetrics> = {};
    // Every routine of the flow, run or not (not yet run: zero counts, null timings), so a table of
    // them is complete from the start; plus any that ran and has since left the flow.
    for (const id of rec.job.flow.routines.keys()) routineMetrics[id] = this.routineMetricsOf(rec, id) as RoutineMetrics;
    for (const id of rec.routines.keys()) routineMetrics[id] ??= this.routineMetricsOf(rec, id) as RoutineMetrics;
    const end = rec.endTime;
    return {
      job_id: rec.jobId,
      flow_id: rec.flowId,
      status: job.status,
      start_time: new Date(rec.startTime).toISOString(),
      end_time: end === null ? null : new Date(end).toISOString(),
      duration_ms: (end ?? Date.now()) - rec.startTime,
      total_routines: stateList.length,
      completed_routines: stateList.filter((s) => s.status === "completed").length,
      failed_routines: stateList.filter((s) => s.status === "failed").length,
      total_events: rec.seq,
      retained_events: rec.ring.count,
      dropped_events: rec.dropped,
      total_activations: rec.activations,
      total_event_emits: rec.emits,
      total_errors: rec.errorCount,
      routine_metrics: routineMetrics,
      errors: [...rec.errors],
    };
  }

  getRoutineMetrics(jobId: string, routineId: string): RoutineMetrics | null {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.getMetrics(jobId)?.routine_metrics[routineId] ?? null;
    return this.routineMetricsOf(rec, routineId);
  }

  /** The last `limit` retained events (all when omitted), oldest first, as plain JSON. */
  getExecutionTrace(jobId: string, limit?: number): TraceEvent[] {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.getExecutionTrace(jobId, limit) ?? [];
    this.capturePayloads(rec);
    const n = Math.min(rec.ring.count, limit === undefined ? rec.ring.count : Math.max(0, Math.floor(limit)));
    const out: TraceEvent[] = [];
    const firstSeq = rec.seq - rec.ring.count + 1;
    for (let k = rec.ring.count - n; k < rec.ring.count; k++) out.push(rec.ring.recordAt(rec.ring.slotOf(k), firstSeq + k, rec.jobId, rec.flowId).toJSON());
    return out;
  }

  /** Retained events with seq > afterSeq (for replay and `?after_seq=`). */
  eventsAfter(jobId: string, afterSeq: number): { events: TraceRecord[]; lastSeq: number } {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.eventsAfter(jobId, afterSeq) ?? { events: [], lastSeq: 0 };
    this.capturePayloads(rec);
    const oldest = rec.seq - rec.ring.count + 1;
    const from = Math.max(afterSeq + 1, oldest);
    const events: TraceRecord[] = [];
    for (let s = from; s <= rec.seq; s++) events.push(rec.ring.recordAt(rec.ring.slotOf(s - oldest), s, rec.jobId, rec.flowId));
    return { events, lastSeq: rec.seq };
  }

  /** Counts for a trace listing: `{total, retained, dropped, last_seq}`. */
  traceInfo(jobId: string): { total: number; retained: number; dropped: number; last_seq: number } | null {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.traceInfo(jobId) ?? null;
    return { total: rec.seq, retained: rec.ring.count, dropped: rec.dropped, last_seq: rec.seq };
  }

  /** One retained event (null when the ring, or the archive, no longer holds it). */
  eventAt(jobId: string, seq: number): TraceEvent | null {
    const rec = this.jobs.get(jobId);
    if (!rec) return this.archive?.eventAt(jobId, seq) ?? null;
    this.capturePayloads(rec);
    const oldest = rec.seq - rec.ring.count + 1;
    if (seq < oldest || seq > rec.seq) return null;
    return rec.ring.recordAt(rec.ring.slotOf(seq - oldest), seq, rec.jobId, rec.flowId).toJSON();
  }

  /** What the job kept of its payloads (null for an unknown job). */
  payloadStats(jobId: string): PayloadStats | null {
    const rec = this.jobs.get(jobId);
    if (rec) {
      this.capturePayloads(rec);
      return rec.payloadStats();
    }
    return this.archive?.payloads(jobId)?.stats() ?? null;
  }

  /**
   * A job's inputs and outputs after `afterSeq`, oldest first: kept payloads in full (or their
   * previews when over the budget), then, past the point where keeping stopped, the trace
   * window's previews. Null for an unknown job.
   */
  jobIo(jobId: string, q: PayloadFilter & { afterSeq: number; limit: number }): IoPage | null {
    const found = this.payloadSourceOf(jobId);
    if (!found) return null;
    const { rows: source, stats } = found;
    const rows: PayloadRow[] = (source?.rowsAfter(q.afterSeq, q, q.limit) ?? []).map(ioRow);
    const from = stats.previews_after_seq;
    if (rows.length < q.limit && from !== null) {
      const after = Math.max(q.afterSeq, from, rows.at(-1)?.seq ?? 0);
      for (const e of this.eventsAfter(jobId, after).events) {
        const row = ioRowFromEvent(e.toJSON());
        if (row === null || (q.routineId !== undefined && row.routine_id !== q.routineId) || (q.kind !== undefined && row.kind !== q.kind)) continue;
        rows.push(row);
        if (rows.length === q.limit) break;
      }
    }
    return { rows, has_more: rows.length === q.limit, payloads: stats };
  }

  /**
   * The kept input/output payloads after `afterSeq` (at most `limit`, oldest first) and what the
   * job kept: jobIo's rows as stored, for readers of a whole job (the run diff) that need no
   * answer rows. Past `stats.previews_after_seq` only jobIo's previews are left. Null for an unknown job.
   */
  keptIo(jobId: string, afterSeq: number, limit: number): { rows: StoredPayload[]; stats: PayloadStats } | null {
    const found = this.payloadSourceOf(jobId);
    if (!found) return null;
    return { rows: found.rows?.rowsAfter(afterSeq, {}, limit) ?? [], stats: found.stats };
  }

  /**
   * Trace event `seq` with its payload in full when it was kept (rebuilt from the kept payload
   * when the trace window no longer holds the event). Null for an unknown job or seq.
   */
  eventWithPayload(jobId: string, seq: number): EventWithPayload | null {
    const found = this.payloadSourceOf(jobId);
    if (!found) return null;
    const { rows: source, stats, flowId } = found;
    const event = this.eventAt(jobId, seq);
    const kept = source?.rowAt(seq) ?? null;
    if (kept !== null) return { event: event ? withPayload(event, kept) : eventOf(jobId, flowId, kept), truncated: kept.truncated, payloads: stats };
    if (event === null) return null;
    return { event, truncated: previewFieldOf(event) !== null, payloads: stats };
  }

  /** The kept payload of event `seq` of a job (live, released or restored); null when none was kept. */
  payloadAt(jobId: string, seq: number): StoredPayload | null {
    return this.payloadSourceOf(jobId)?.rows?.rowAt(seq) ?? null;
  }

  /**
   * @internal The job's payloads are in the database now (persistence wrote them): memory keeps
   * only the counters, reads go to the archive.
   */
  releasePayloads(jobId: string): void {
    const rec = this.jobs.get(jobId);
    if (rec !== undefined && rec.endTime !== null && this.archive !== null) rec.payloads.release();
  }

  /** Where a job's kept payloads are read: its log, or the archive (released or restored jobs). */
  private payloadSourceOf(jobId: string): { rows: PayloadSource | null; stats: PayloadStats; flowId: string } | null {
    const rec = this.jobs.get(jobId);
    if (rec) {
      this.capturePayloads(rec);
      const log = rec.payloads;
      return { rows: log.released ? (this.archive?.payloads(jobId) ?? null) : log, stats: rec.payloadStats(), flowId: rec.flowId };
    }
    const archived = this.archive?.payloads(jobId);
    const flowId = this.archive?.flowOf(jobId);
    if (!archived || !flowId) return null;
    return { rows: archived, stats: archived.stats(), flowId };
  }

  /** Drops everything kept for the job. */
  clear(jobId: string): void {
    this.jobs.delete(jobId);
  }

  private routineMetricsOf(rec: JobRecord, routineId: string): RoutineMetrics | null {
    const s = rec.routines.get(routineId);
    if (!s && !rec.job.flow.getRoutine(routineId)) return null;
    return routineMetrics(routineId, s, s?.last ? new Date(s.last).toISOString() : null);
  }
}

/** A routine's activations, errors and handler times, as counted (by the collector, or folded from a trace). */
export interface RoutineTally {
  count: number;
  errors: number;
  /** Activations whose duration is known. */
  timed: number;
  total: number;
  min: number;
  max: number;
}

/** A routine's metrics from its tally (none: it never ran). */
export function routineMetrics(routineId: string, s: RoutineTally | undefined, lastExecution: string | null): RoutineMetrics {
  if (s === undefined) return { routine_id: routineId, execution_count: 0, error_count: 0, duration_ms: 0, avg_duration_ms: null, min_duration_ms: null, max_duration_ms: null, last_execution: null };
  return {
    routine_id: routineId,
    execution_count: s.count,
    error_count: s.errors,
    duration_ms: round(s.total),
    avg_duration_ms: s.timed ? round(s.total / s.timed) : null,
    min_duration_ms: s.timed ? round(s.min) : null,
    max_duration_ms: s.timed ? round(s.max) : null,
    last_execution: lastExecution,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
