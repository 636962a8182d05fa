/**
 * Live fan-out of trace events to subscribers (WebSocket, socket.io, SSE, in-process consumers).
 *
 * Every subscriber has its OWN bounded queue: every subscriber receives every event of its job
 * (or flow); when its queue is full the oldest item is dropped and that subscriber alone is told
 * how many it lost. Publishing never waits for anybody, so a slow subscriber cannot slow the
 * engine or the other subscribers. (The Python original shared one queue per job between all
 * subscribers, which made them competing consumers; that is deliberately not reproduced.)
 *
 * A job subscriber may ask to start after a given `seq`: the events still retained by the
 * {@link ReplaySource} are replayed first (read lazily at drain time, so a replay is bounded by
 * the source's retention, not by the queue size), then live events. The live queue only accepts
 * events newer than what the source had recorded at subscribe time, so nothing is delivered twice
 * and nothing falls between replay and live.
 */
import { RingQueue } from "../engine";
import type { TraceRecord } from "./trace";

/** Default bound of each subscriber's live queue. */
export const DEFAULT_MAX_QUEUE_SIZE = 100;
/**
 * A subscriber that is behind (its consumer keeps up but has not had its turn) may queue this
 * many times its bound before it loses events: the job it watches is held between activations
 * meanwhile, so only one handler's burst can pile up, and the records are shared by every
 * subscriber (a queue holds references).
 */
export const BEHIND_ALLOWANCE = 8;
/**
 * A job with more subscribers than this has its events delivered in slices of
 * {@link DELIVERY_SLICE_MS} (in order, off the publisher's turn) rather than at once.
 */
export const DEFER_OVER_SUBSCRIBERS = 32;
export const DELIVERY_SLICE_MS = 5;
/**
 * The longest a job waits between two activations for subscribers that say they are behind.
 * Catching up takes a few slices (milliseconds); a second means the consumer is not catching up.
 */
export const MAX_HOLD_MS = 1000;

/** Where replayed events come from (the MonitorCollector's per-job ring buffer implements it). */
export interface ReplaySource {
  /**
   * Retained events of the job with seq > afterSeq, in seq order, and the newest seq recorded so
   * far (0 if none). The source must record an event before it is published to the manager.
   */
  eventsAfter(jobId: string, afterSeq: number): { events: TraceRecord[]; lastSeq: number };
}

export type SubscriberItem =
  | { kind: "event"; event: TraceRecord }
  | { kind: "dropped"; count: number; job_id: string; next_seq: number | null };

export interface SubscribeOptions {
  /** Replay retained events with seq > afterSeq first (0 = everything retained). Omitted = live events only. */
  afterSeq?: number;
  /** Bound of this subscriber's live queue; default: the manager's (100). */
  maxQueueSize?: number;
  /**
   * Called synchronously whenever new items become available (transports use it to schedule a
   * flush). Also called once when the subscriber is closed, so a transport can notice the end.
   * When a replay is pending at subscribe time it is called once from a microtask.
   * Exceptions thrown by it are caught and logged; they never reach the publisher.
   */
  onReadable?: () => void;
  /**
   * With many subscribers every call costs once per event per subscriber inside the publisher's
   * turn: with `notifyEvery` n, onReadable is called when the queue becomes non-empty and each
   * time its length reaches a multiple of n (the consumer must look again by itself while items
   * remain, as a pump does). Default 1: on every event.
   */
  notifyEvery?: number;
}

export interface JobQueueStatus {
  job_id: string;
  subscriber_count: number;
  queue_size: number;
  max_size: number;
  dropped: number;
}

export interface EventManagerStatus {
  total_jobs: number;
  total_subscribers: number;
  max_size: number;
  jobs: Record<string, JobQueueStatus>;
}

/** Module-private handles: the manager talks to subscribers through these, nobody else can. */
const DELIVER = Symbol("deliver");
const ANNOUNCE_REPLAY = Symbol("announceReplay");
const BEHIND = Symbol("behind");

/** @internal Constructor argument of {@link Subscriber}; use {@link JobEventManager.subscribe}. */
export interface SubscriberInit {
  id: string;
  jobId: string | null;
  flowId: string | null;
  maxQueueSize: number;
  onReadable: (() => void) | null;
  notifyEvery: number;
  source: ReplaySource | null;
  /** Replay covers seq in (afterSeq, replayEnd]; live events need seq > liveFloor. */
  afterSeq: number;
  replayEnd: number;
  liveFloor: number;
  detach: (subscriber: Subscriber) => void;
  /** Reports a change of the subscriber's "behind" flag to the manager. */
  behindChanged: (subscriber: Subscriber, behind: boolean) => void;
}

type Waiter = (item: SubscriberItem | null) => void;

export class Subscriber {
  readonly id: string;
  /** null for flow subscribers. */
  readonly jobId: string | null;
  /** Set for flow subscribers. */
  readonly flowId: string | null;
  readonly maxQueueSize: number;
  onReadable: (() => void) | null;

  private readonly queue: RingQueue<TraceRecord>;
  private readonly notifyEvery: number;
  private readonly source: ReplaySource | null;
  private readonly liveFloor: number;
  private readonly replayEnd: number;
  /** Highest seq the replay has accounted for (delivered or reported lost). */
  private replayCursor: number;
  private replayBatch: TraceRecord[] | null = null;
  private replayIndex = 0;
  /** Items lost (overflow, or replay tail evicted) not yet reported by a `dropped` notice. */
  private lostPending = 0;
  private lastLostJobId: string | null = null;
  private lostTotal = 0;
  private isClosed = false;
  private waiters: Waiter[] = [];
  private detach: ((subscriber: Subscriber) => void) | null;
  private readonly behindChanged: (subscriber: Subscriber, behind: boolean) => void;
  /** @internal Whether the consumer says it is behind (see {@link Subscriber.setBehind}). */
  [BEHIND] = false;

  /** @internal Created by {@link JobEventManager}. */
  constructor(init: SubscriberInit) {
    this.id = init.id;
    this.jobId = init.jobId;
    this.flowId = init.flowId;
    this.maxQueueSize = init.maxQueueSize;
    this.onReadable = init.onReadable;
    this.notifyEvery = init.notifyEvery;
    this.source = init.source;
    this.replayCursor = init.afterSeq;
    this.replayEnd = init.replayEnd;
    this.liveFloor = init.liveFloor;
    this.detach = init.detach;
    this.behindChanged = init.behindChanged;
    this.queue = new RingQueue<TraceRecord>(16, init.maxQueueSize * BEHIND_ALLOWANCE);
  }

  /** Live items waiting (not counting pending replay). */
  get queueSize(): number {
    return this.queue.length;
  }

  /** Everything this subscriber ever lost (queue overflow and replay events evicted from the source). */
  get droppedTotal(): number {
    return this.lostTotal;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True while retained events remain to be replayed. */
  get replayPending(): boolean {
    return this.replayCursor < this.replayEnd;
  }

  /**
   * Takes up to `max` items without waiting, in delivery order: pending replay (with a `dropped`
   * notice where the source had already evicted part of it), then a `dropped` notice if live
   * items were lost since the last drain, then the live queue. Items still buffered when the
   * subscriber is closed remain drainable.
   */
  drain(max = Number.POSITIVE_INFINITY): SubscriberItem[] {
    const out: SubscriberItem[] = [];
    if (!(max >= 1)) return out;
    while (out.length < max) {
      const item = this.takeOne();
      if (item === null) break;
      out.push(item);
    }
    return out;
  }

  /** Next item, waiting if none; resolves null once closed and empty. */
  next(): Promise<SubscriberItem | null> {
    const item = this.takeOne();
    if (item !== null) return Promise.resolve(item);
    if (this.isClosed) return Promise.resolve(null);
    return new Promise<SubscriberItem | null>((resolve) => {
      this.waiters.push(resolve);
    });
  }

  /** Iterates until the subscriber is closed and empty; leaving the loop early closes it. */
  [Symbol.asyncIterator](): AsyncIterator<SubscriberItem> {
    return {
      next: (): Promise<IteratorResult<SubscriberItem>> =>
        this.next().then(
          (item): IteratorResult<SubscriberItem> =>
            item === null ? { done: true, value: undefined } : { done: false, value: item },
        ),
      return: (): Promise<IteratorResult<SubscriberItem>> => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /**
   * Back-pressure from a consumer that keeps up but has not been given its turn yet (a transport
   * whose fan-out to many sockets works in slices): while any subscriber of a job (or of its flow)
   * is behind, the job's next activations wait (monitoring's hooks ask {@link JobEventManager.whenCaughtUp}).
   * A consumer that is slow itself (a client that does not read) must not set it: a slow client
   * loses events (`dropped`), it never slows the job.
   */
  get behind(): boolean {
    return this[BEHIND];
  }

  setBehind(behind: boolean): void {
    if (this[BEHIND] === behind || (behind && this.isClosed)) return;
    this[BEHIND] = behind;
    this.behindChanged(this, behind);
  }

  /** Stops receiving events and unsubscribes from the manager; pending next() calls resolve null. */
  close(): void {
    if (this.isClosed) return;
    this.setBehind(false);
    this.isClosed = true;
    const detach = this.detach;
    this.detach = null;
    detach?.(this);
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(this.takeOne());
    this.notify();
  }

  /** @internal Called by the manager for every event of the subscribed job or flow. */
  [DELIVER](event: TraceRecord): void {
    if (this.isClosed) return;
    if (event.seq <= this.liveFloor) return;
    // The bound holds unless the consumer is behind through no fault of its own (then up to the
    // ring's capacity, BEHIND_ALLOWANCE times the bound).
    if (!this[BEHIND]) {
      while (this.queue.length >= this.maxQueueSize) this.lose(this.queue.shift());
    }
    this.lose(this.queue.push(event));
    if (this.waiters.length > 0) this.feedWaiters();
    const n = this.queue.length;
    if (n === 1 || (n > 0 && n % this.notifyEvery === 0)) this.notify();
  }

  /** @internal Announces a replay pending at subscribe time. */
  [ANNOUNCE_REPLAY](): void {
    if (!this.isClosed && this.replayPending) this.notify();
  }

  private lose(evicted: TraceRecord | undefined): void {
    if (evicted === undefined) return;
    this.lostPending++;
    this.lostTotal++;
    this.lastLostJobId = evicted.job_id;
  }

  private feedWaiters(): void {
    let served = 0;
    while (served < this.waiters.length) {
      const item = this.takeOne();
      if (item === null) break;
      const resolve = this.waiters[served++];
      resolve?.(item);
    }
    if (served > 0) this.waiters.splice(0, served);
  }

  private notify(): void {
    const callback = this.onReadable;
    if (callback === null) return;
    try {
      callback();
    } catch (error) {
      console.error(`[event-manager] onReadable of ${this.id} threw:`, error);
    }
  }

  private takeOne(): SubscriberItem | null {
    if (this.replayCursor < this.replayEnd) {
      const replayed = this.takeReplay();
      if (replayed !== null) return replayed;
    }
    if (this.lostPending > 0) {
      const head = this.queue.peek();
      const count = this.lostPending;
      this.lostPending = 0;
      return {
        kind: "dropped",
        count,
        job_id: this.jobId ?? head?.job_id ?? this.lastLostJobId ?? "",
        next_seq: head === undefined ? null : head.seq,
      };
    }
    const event = this.queue.shift();
    return event === undefined ? null : { kind: "event", event };
  }

  /** Next replay item, or null once the replay range (afterSeq, replayEnd] is exhausted. */
  private takeReplay(): SubscriberItem | null {
    const jobId = this.jobId;
    const source = this.source;
    if (jobId === null || source === null) {
      this.finishReplay(0);
      return null;
    }
    let batch = this.replayBatch;
    if (batch === null || this.replayIndex >= batch.length) {
      batch = source.eventsAfter(jobId, this.replayCursor).events;
      this.replayBatch = batch;
      this.replayIndex = 0;
    }
    while (this.replayIndex < batch.length && (batch[this.replayIndex]?.seq ?? 0) <= this.replayCursor) {
      this.replayIndex++;
    }
    const event = batch[this.replayIndex];
    if (event === undefined || event.seq > this.replayEnd) {
      // The rest of the range is gone from the source: report it with the live notice, whose
      // next_seq is the first live event.
      this.finishReplay(this.replayEnd - this.replayCursor);
      return null;
    }
    if (event.seq > this.replayCursor + 1) {
      const count = event.seq - this.replayCursor - 1;
      this.replayCursor = event.seq - 1;
      this.lostTotal += count;
      return { kind: "dropped", count, job_id: jobId, next_seq: event.seq };
    }
    this.replayIndex++;
    this.replayCursor = event.seq;
    if (this.replayCursor >= this.replayEnd) this.finishReplay(0);
    return { kind: "event", event };
  }

  private finishReplay(lost: number): void {
    if (lost > 0) {
      this.lostPending += lost;
      this.lostTotal += lost;
    }
    this.replayCursor = this.replayEnd;
    this.replayBatch = null;
    this.replayIndex = 0;
  }
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string, got ${typeof value}`);
  if (value.trim() === "") throw new Error(`${what} must not be blank`);
  return value;
}

function checkQueueSize(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`maxQueueSize must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

function checkNotifyEvery(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`notifyEvery must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

function checkAfterSeq(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`afterSeq must be a finite number >= 0, got ${String(value)}`);
  }
  return Math.floor(value);
}

const NO_SUBSCRIBERS: readonly Subscriber[] = [];

export class JobEventManager {
  readonly maxQueueSize: number;

  private readonly source: ReplaySource;
  /** Copy-on-write arrays: publish iterates a snapshot even if a callback (un)subscribes. */
  private readonly byJob = new Map<string, readonly Subscriber[]>();
  private readonly byFlow = new Map<string, readonly Subscriber[]>();
  private readonly byId = new Map<string, Subscriber>();
  /** How many subscribers exist in all (a field read, for the publisher's hot path). */
  subscriberTotal = 0;
  private counter = 0;
  private readonly detach = (subscriber: Subscriber): void => this.remove(subscriber);
  /** Subscribers behind, in all (a field read, for the activation hot path). */
  behindTotal = 0;
  /** Per job id or `flow:<id>`: how many of its subscribers are behind, and who waits for none. */
  private readonly behind = new Map<string, { count: number; waiters: (() => void)[] }>();
  private readonly behindChanged = (subscriber: Subscriber, on: boolean): void => {
    this.adjustBehind(subscriber.jobId ?? `flow:${subscriber.flowId}`, on);
  };
  /** Jobs whose events wait to be delivered to their many subscribers (in publish order). */
  private readonly deferred = new Map<string, { events: TraceRecord[]; index: number; next: number; list: readonly Subscriber[] | null }>();
  private deliveryScheduled = false;

  private adjustBehind(key: string, on: boolean): void {
    let entry = this.behind.get(key);
    if (on) {
      if (entry === undefined) {
        entry = { count: 0, waiters: [] };
        this.behind.set(key, entry);
      }
      entry.count++;
      this.behindTotal++;
      return;
    }
    if (entry === undefined) return;
    entry.count--;
    this.behindTotal--;
    if (entry.count > 0) return;
    this.behind.delete(key);
    for (const resolve of entry.waiters) resolve();
  }

  /**
   * Delivers deferred events, oldest first, to each job's subscribers, and yields to the event
   * loop after {@link DELIVERY_SLICE_MS}; a job counts as behind until its events are delivered.
   */
  private readonly deliverDeferred = (): void => {
    this.deliveryScheduled = false;
    const start = performance.now();
    for (const [jobId, pending] of this.deferred) {
      while (pending.index < pending.events.length) {
        const event = pending.events[pending.index] as TraceRecord;
        // The subscribers as they were when this event's delivery began (copy-on-write arrays);
        // one that joined since replays it (its live floor is past it), one that left is closed.
        const list = pending.list ?? this.byJob.get(jobId) ?? NO_SUBSCRIBERS;
        pending.list = list;
        while (pending.next < list.length) {
          list[pending.next++]?.[DELIVER](event);
          if ((pending.next & 63) === 0 && performance.now() - start >= DELIVERY_SLICE_MS) {
            this.scheduleDelivery();
            return;
          }
        }
        pending.index++;
        pending.next = 0;
        pending.list = null;
      }
      this.deferred.delete(jobId);
      this.adjustBehind(jobId, false);
    }
  };

  private scheduleDelivery(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    setImmediate(this.deliverDeferred);
  }

  /** Drops a job's undelivered events (its subscribers are gone). */
  private dropDeferred(jobId: string): void {
    if (this.deferred.delete(jobId)) this.adjustBehind(jobId, false);
  }

  constructor(source: ReplaySource, options?: { maxQueueSize?: number }) {
    this.source = source;
    this.maxQueueSize = checkQueueSize(options?.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE);
  }

  /**
   * Subscribes to one job. With `afterSeq`, the retained events with seq > afterSeq are replayed
   * first, then live events; without it, live events only.
   */
  subscribe(jobId: string, options?: SubscribeOptions): Subscriber {
    checkId(jobId, "job id");
    const maxQueueSize = checkQueueSize(options?.maxQueueSize ?? this.maxQueueSize);
    let afterSeq = 0;
    let replayEnd = 0;
    let liveFloor = Number.NEGATIVE_INFINITY;
    if (options?.afterSeq !== undefined) {
      afterSeq = checkAfterSeq(options.afterSeq);
      // Only the newest seq is wanted here; the events themselves are read at drain time.
      replayEnd = this.source.eventsAfter(jobId, Number.MAX_SAFE_INTEGER).lastSeq;
      // Events up to lastSeq come from the replay (or were already seen by the client).
      liveFloor = Math.max(afterSeq, replayEnd);
    }
    const subscriber = this.add(jobId, null, maxQueueSize, options?.onReadable ?? null, checkNotifyEvery(options?.notifyEvery), {
      afterSeq,
      replayEnd,
      liveFloor,
    });
    if (subscriber.replayPending && subscriber.onReadable !== null) {
      queueMicrotask(() => subscriber[ANNOUNCE_REPLAY]());
    }
    return subscriber;
  }

  /** Every event of every job of the flow from now on (including jobs started later). No replay. */
  subscribeFlow(flowId: string, options?: Omit<SubscribeOptions, "afterSeq">): Subscriber {
    checkId(flowId, "flow id");
    const maxQueueSize = checkQueueSize(options?.maxQueueSize ?? this.maxQueueSize);
    return this.add(null, flowId, maxQueueSize, options?.onReadable ?? null, checkNotifyEvery(options?.notifyEvery), {
      afterSeq: 0,
      replayEnd: 0,
      liveFloor: Number.NEGATIVE_INFINITY,
    });
  }

  /** Closes and removes the subscriber (object or id); false if it is not subscribed here. */
  unsubscribe(subscriber: Subscriber | string): boolean {
    const id = typeof subscriber === "string" ? subscriber : subscriber?.id;
    if (typeof id !== "string") return false;
    const found = this.byId.get(id);
    if (found === undefined || (typeof subscriber !== "string" && found !== subscriber)) return false;
    found.close();
    return true;
  }

  /**
   * Hot path: called for every trace event of every monitored job. With nobody subscribed to
   * the job or its flow it costs at most one Map lookup (none when nobody is subscribed at all,
   * a second one only when some flow has subscribers) and allocates nothing.
   */
  publish(event: TraceRecord): void {
    if (this.byId.size === 0) return;
    const subscribers = this.byJob.get(event.job_id);
    if (subscribers !== undefined) {
      const pending = this.deferred.get(event.job_id);
      if (pending !== undefined) pending.events.push(event);
      else if (subscribers.length > DEFER_OVER_SUBSCRIBERS) {
        // Many subscribers: one handler's burst would cost a delivery per event per subscriber
        // inside the job's own turn. Delivered in slices instead; the job is behind meanwhile, so
        // monitoring holds its next activation until they are delivered.
        this.deferred.set(event.job_id, { events: [event], index: 0, next: 0, list: null });
        this.adjustBehind(event.job_id, true);
        this.scheduleDelivery();
      } else {
        for (let i = 0; i < subscribers.length; i++) subscribers[i]?.[DELIVER](event);
      }
    }
    if (this.byFlow.size !== 0) {
      const flowSubscribers = this.byFlow.get(event.flow_id);
      if (flowSubscribers !== undefined) {
        for (let i = 0; i < flowSubscribers.length; i++) flowSubscribers[i]?.[DELIVER](event);
      }
    }
  }

  /**
   * Undefined when no subscriber of the job or its flow is behind (the usual case: one field
   * read); otherwise a promise that settles once none is. Monitoring holds a job's next
   * activation on it, so a fan-out in slices is not outrun by the job it serves.
   */
  whenCaughtUp(jobId: string, flowId: string): Promise<void> | undefined {
    if (this.behindTotal === 0) return undefined;
    const entry = this.behind.get(jobId) ?? this.behind.get(`flow:${flowId}`);
    if (entry === undefined) return undefined;
    return this.holdUntilCaughtUp(jobId, flowId, entry, Date.now() + MAX_HOLD_MS);
  }

  /**
   * The hold is bounded: a consumer that says it is behind but never catches up (a transport
   * bug, a connection that died without closing) must not stop the job. Past the deadline the job
   * goes on and a consumer that really cannot keep up loses events, reported as `dropped`.
   */
  private holdUntilCaughtUp(jobId: string, flowId: string, entry: { waiters: (() => void)[] }, deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const left = deadline - Date.now();
      if (left <= 0) return resolve();
      const timer = setTimeout(resolve, left);
      entry.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => {
      if (Date.now() >= deadline || this.behindTotal === 0) return;
      const next = this.behind.get(jobId) ?? this.behind.get(`flow:${flowId}`);
      return next === undefined ? undefined : this.holdUntilCaughtUp(jobId, flowId, next, deadline);
    });
  }

  /** Whether anybody listens to the job (or, when `flowId` is given, to its flow). */
  hasSubscribers(jobId: string, flowId?: string): boolean {
    if (this.byId.size === 0) return false;
    return this.byJob.has(jobId) || (flowId !== undefined && this.byFlow.size !== 0 && this.byFlow.has(flowId));
  }

  /** Number of subscribers of the job itself (flow subscribers not included). */
  getSubscriberCount(jobId: string): number {
    return this.byJob.get(jobId)?.length ?? 0;
  }

  /**
   * `{job_id, subscriber_count, queue_size (the largest queue among the job's subscribers),
   * max_size, dropped (sum of droppedTotal over its subscribers)}`; unknown job → zero counts
   * (max_size is the manager's default).
   */
  getStatus(jobId: string): JobQueueStatus;
  /** A summary over the jobs with subscribers (flow subscribers are not counted). */
  getStatus(): EventManagerStatus;
  getStatus(jobId?: string): JobQueueStatus | EventManagerStatus {
    if (jobId !== undefined) return this.jobStatus(jobId, this.byJob.get(jobId) ?? NO_SUBSCRIBERS);
    const jobs: Record<string, JobQueueStatus> = {};
    let total = 0;
    for (const [id, subscribers] of this.byJob) {
      jobs[id] = this.jobStatus(id, subscribers);
      total += subscribers.length;
    }
    return {
      total_jobs: this.byJob.size,
      total_subscribers: total,
      max_size: this.maxQueueSize,
      jobs,
    };
  }

  /** Closes and removes every subscriber of the job (pending next() calls resolve null). */
  cleanup(jobId: string): void {
    const subscribers = this.byJob.get(jobId);
    if (subscribers === undefined) return;
    for (const subscriber of subscribers) subscriber.close();
    this.byJob.delete(jobId);
    this.dropDeferred(jobId);
  }

  /** Closes every subscriber (job and flow). The manager stays usable. */
  shutdown(): void {
    for (const subscriber of [...this.byId.values()]) subscriber.close();
    for (const jobId of [...this.deferred.keys()]) this.dropDeferred(jobId);
    this.byJob.clear();
    this.byFlow.clear();
    this.byId.clear();
  }

  private jobStatus(jobId: string, subscribers: readonly Subscriber[]): JobQueueStatus {
    let queueSize = 0;
    let maxSize = subscribers.length === 0 ? this.maxQueueSize : 0;
    let dropped = 0;
    for (const subscriber of subscribers) {
      queueSize = Math.max(queueSize, subscriber.queueSize);
      maxSize = Math.max(maxSize, subscriber.maxQueueSize);
      dropped += subscriber.droppedTotal;
    }
    return {
      job_id: jobId,
      subscriber_count: subscribers.length,
      queue_size: queueSize,
      max_size: maxSize,
      dropped,
    };
  }

  private add(
    jobId: string | null,
    flowId: string | null,
    maxQueueSize: number,
    onReadable: (() => void) | null,
    notifyEvery: number,
    range: { afterSeq: number; replayEnd: number; liveFloor: number },
  ): Subscriber {
    this.counter++;
    const subscriber = new Subscriber({
      id: `sub_${this.counter}`,
      jobId,
      flowId,
      maxQueueSize,
      onReadable,
      notifyEvery,
      source: jobId === null ? null : this.source,
      afterSeq: range.afterSeq,
      replayEnd: range.replayEnd,
      liveFloor: range.liveFloor,
      detach: this.detach,
      behindChanged: this.behindChanged,
    });
    this.byId.set(subscriber.id, subscriber);
    this.subscriberTotal = this.byId.size;
    if (jobId !== null) {
      this.byJob.set(jobId, [...(this.byJob.get(jobId) ?? NO_SUBSCRIBERS), subscriber]);
    } else if (flowId !== null) {
      this.byFlow.set(flowId, [...(this.byFlow.get(flowId) ?? NO_SUBSCRIBERS), subscriber]);
    }
    return subscriber;
  }

  private remove(subscriber: Subscriber): void {
    if (this.byId.get(subscriber.id) !== subscriber) return;
    this.byId.delete(subscriber.id);
    this.subscriberTotal = this.byId.size;
    const map = subscriber.jobId !== null ? this.byJob : this.byFlow;
    const key = subscriber.jobId ?? subscriber.flowId;
    if (key === null) return;
    const list = map.get(key);
    if (list === undefined) return;
    const rest = list.filter((s) => s !== subscriber);
    if (rest.length === 0) map.delete(key);
    else map.set(key, rest);
  }
}
