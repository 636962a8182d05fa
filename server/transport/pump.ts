/**
 * Moves trace events from event-manager subscribers into one connection (a raw WebSocket or a
 * socket.io client), with back-pressure. Each subscriber has a bounded queue; the pump drains it
 * into the connection while the connection's send buffer is below its mark, and stops while it
 * is above, so a client that keeps up misses nothing and a slow one costs only its queue plus
 * that buffer (what it loses is reported by the subscriber's `dropped` items).
 *
 * Fan-out in slices: every pump of the process is flushed by one scheduler that works through
 * the pumps with something to send, round-robin, and yields to the event loop (setImmediate)
 * after {@link SLICE_MS} of sending. One job watched by 1,000 sockets therefore costs many short
 * turns, never one long one: HTTP requests and other jobs get the loop between slices. A pump
 * sends at most `perFlush` items per turn, so one busy connection cannot take a whole slice.
 *
 * A job publishes whole bursts without yielding (a splitter emitting thousands of items, an
 * 8 ms engine slice), more than a queue holds, so a flush deferred to the next turn alone would
 * drop events even for a client that keeps up: once a queue is half full it is moved into the
 * connection at once, right in `ready()` — within a budget of {@link SYNC_BUDGET_MS} per turn of
 * the loop for all pumps together; past it, the queues wait for the scheduler's slices.
 *
 * Back-pressure on the job: a subscriber with {@link BEHIND_AT} events waiting for a slice (its
 * client is not the slow one) says it is behind, and monitoring holds the job's next activation
 * until it has caught up, so the job cannot outrun its fan-out (which would overflow the queues of
 * clients that keep up) nor publish into a thousand queues for long in one turn.
 */
import type { Subscriber, SubscriberItem } from "../../lib";

export interface PumpSink {
  /** True while the connection's send buffer is too full to take more. */
  congested(): boolean;
  /** Sends what was drained from one subscriber, in order (the transport frames it). */
  send(items: SubscriberItem[], from: Subscriber): void;
  /** Wraps a flush: e.g. corks the TCP socket so its frames leave in one write. */
  batch?(flush: () => void): void;
  /** A subscriber that was closed (its job removed) has been drained: nothing more will come. */
  ended?(subscriber: Subscriber): void;
}

export interface PumpOptions {
  /** Items taken from one subscriber per drain call. */
  chunk?: number;
  /** Items sent per subscriber per flush before yielding to the other pumps. */
  perFlush?: number;
  /** How soon to look again after the connection was congested. */
  retryMs?: number;
}

/** Sending time after which the scheduler yields to the event loop. */
export const SLICE_MS = 8;
/** Sending time per turn of the loop that `ready()` may spend flushing half-full queues at once. */
export const SYNC_BUDGET_MS = 30;

/**
 * A subscriber with this many events waiting for a slice says it is behind (the job's next
 * activation waits); below {@link CAUGHT_UP_AT} it has caught up. Low, because with many sockets
 * every event the job publishes meanwhile costs one delivery per socket inside the job's own turn.
 */
export const BEHIND_AT = 64;
export const CAUGHT_UP_AT = 16;
/**
 * Subscriptions feeding a pump call `ready()` when their queue becomes non-empty and at each
 * multiple of this (not on every event: with a thousand sockets that call was most of what a job
 * spent publishing); a pump looks again by itself while items remain. It is BEHIND_AT, so the
 * behind mark and the half-full flush are still seen in time.
 */
export const NOTIFY_EVERY = BEHIND_AT;

/** The process's one fan-out scheduler: pumps with something to send, served in bounded slices. */
class FanoutScheduler {
  /** Insertion-ordered: a pump served and still busy goes to the back (round-robin). */
  private readonly waiting = new Set<Pump>();
  private scheduled = false;
  /** Time spent in synchronous flushes since the loop last came round. */
  private syncSpent = 0;
  private syncResetScheduled = false;

  enqueue(pump: Pump): void {
    if (pump.enqueued) return;
    pump.enqueued = true;
    this.waiting.add(pump);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  dequeue(pump: Pump): void {
    pump.enqueued = false;
    this.waiting.delete(pump);
  }

  /** Whether a synchronous flush may run now; `spend` accounts for it afterwards. */
  get syncAllowed(): boolean {
    return this.syncSpent < SYNC_BUDGET_MS;
  }

  spend(ms: number): void {
    this.syncSpent += ms;
    if (!this.syncResetScheduled) {
      this.syncResetScheduled = true;
      setImmediate(this.resetSync);
    }
  }

  private readonly resetSync = (): void => {
    this.syncResetScheduled = false;
    this.syncSpent = 0;
  };

  private readonly run = (): void => {
    this.scheduled = false;
    const start = performance.now();
    for (const pump of this.waiting) {
      this.dequeue(pump);
      // A pump with more to send re-enqueues itself (at the back).
      pump.flushTurn();
      if (performance.now() - start >= SLICE_MS) break;
    }
    if (this.waiting.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  };
}

const scheduler = new FanoutScheduler();

export class Pump {
  private readonly subscribers = new Set<Subscriber>();
  private readonly chunk: number;
  private readonly perFlush: number;
  private readonly retryMs: number;
  private flushing = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** @internal Waiting for the scheduler (a field, not a Set lookup: ready() runs per event per socket). */
  enqueued = false;
  /** The subscriber, while there is exactly one (the usual socket). */
  private only: Subscriber | null = null;

  constructor(
    private readonly sink: PumpSink,
    options: PumpOptions = {},
  ) {
    this.chunk = options.chunk ?? 32;
    this.perFlush = options.perFlush ?? 256;
    this.retryMs = options.retryMs ?? 25;
  }

  /** Starts pumping a subscriber (its `onReadable` should call `ready`). */
  add(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
    this.only = this.subscribers.size === 1 ? subscriber : null;
    this.schedule();
  }

  /** Stops pumping a subscriber (the caller closes it). */
  remove(subscriber: Subscriber): void {
    subscriber.setBehind(false);
    this.subscribers.delete(subscriber);
    this.only = this.subscribers.size === 1 ? (this.subscribers.values().next().value ?? null) : null;
  }

  /**
   * The subscribers' onReadable: a half-full queue goes out now (within the budget); past the
   * budget it waits for a slice, and its subscriber says it is behind, which holds the job's next
   * activation until the slices have caught up (a client that does not read never holds it).
   */
  readonly ready = (): void => {
    // The common case (called for every event on every socket): queued and nothing half full.
    const only = this.only;
    if (this.enqueued && only !== null && (only.queueSize < BEHIND_AT || only.behind) && only.queueSize < only.maxQueueSize >> 1) return;
    if (!this.flushing && !this.stopped) {
      for (const s of this.subscribers) {
        if (s.queueSize < BEHIND_AT) continue;
        if (this.sink.congested()) break;
        s.setBehind(true);
        if (s.queueSize < s.maxQueueSize >> 1 || !scheduler.syncAllowed) continue;
        const t0 = performance.now();
        this.flush(this.perFlush);
        scheduler.spend(performance.now() - t0);
        return;
      }
    }
    this.schedule();
  };

  /** Looks again soon (the connection drained its buffer, or something was added). */
  readonly schedule = (): void => {
    if (this.stopped) return;
    scheduler.enqueue(this);
  };

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const s of this.subscribers) s.setBehind(false);
    this.subscribers.clear();
    this.only = null;
    scheduler.dequeue(this);
  }

  /** @internal The scheduler's turn for this pump. */
  flushTurn(): void {
    this.flush(this.perFlush);
  }

  /** Sends up to `budget` items per subscriber; enqueues the rest, or a retry while congested. */
  private flush(budget: number): void {
    if (this.flushing || this.stopped) return;
    this.flushing = true;
    let more = false;
    const run = (): void => {
      for (const s of this.subscribers) {
        let left = budget;
        while (left > 0 && !this.sink.congested()) {
          const items = s.drain(Math.min(this.chunk, left));
          if (items.length === 0) break;
          this.sink.send(items, s);
          left -= items.length;
        }
        // Behind while events are left for want of time; caught up when few are, or when the
        // client itself is what is slow.
        if (this.sink.congested()) s.setBehind(false);
        else if (s.queueSize >= BEHIND_AT) s.setBehind(true);
        else if (s.queueSize < CAUGHT_UP_AT) s.setBehind(false);
        if (s.queueSize > 0 || s.replayPending) more = true;
        else if (s.closed) {
          this.subscribers.delete(s);
          this.only = null;
          this.sink.ended?.(s);
        }
      }
    };
    try {
      if (this.sink.batch) this.sink.batch(run);
      else run();
    } finally {
      this.flushing = false;
    }
    if (!more || this.stopped) return;
    if (this.sink.congested()) {
      // The client is slow: leave the rest in its bounded queue and look again later.
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, this.retryMs);
    } else {
      this.schedule();
    }
  }
}
