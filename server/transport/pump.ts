/**
 * Moves trace events from event-manager subscribers into one connection (a raw WebSocket or a
 * socket.io client), with back-pressure. Each subscriber has a bounded queue (100); the pump
 * drains it into the connection while the connection's send buffer is below its mark, and stops
 * while it is above, so a client that keeps up misses nothing and a slow one costs only its queue
 * plus that buffer (what it loses is reported by the subscriber's `dropped` items).
 *
 * A job publishes whole bursts without yielding (a splitter emitting thousands of items, an
 * 8 ms engine slice), far more than a queue holds, so a flush deferred to the next tick alone
 * would drop events even for a client that keeps up: once a queue is half full it is moved into
 * the connection at once, right in `ready()`.
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
  /** Items sent per subscriber per flush before yielding to the event loop. */
  perFlush?: number;
  /** How soon to look again after the connection was congested. */
  retryMs?: number;
}

export class Pump {
  private readonly subscribers = new Set<Subscriber>();
  private readonly chunk: number;
  private readonly perFlush: number;
  private readonly retryMs: number;
  private scheduled = false;
  private flushing = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

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
    this.schedule();
  }

  /** Stops pumping a subscriber (the caller closes it). */
  remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
  }

  /** The subscribers' onReadable: a half-full queue goes out now, the rest on the next tick. */
  readonly ready = (): void => {
    if (!this.flushing && !this.stopped && !this.sink.congested()) {
      for (const s of this.subscribers) {
        if (s.queueSize >= s.maxQueueSize >> 1) {
          this.flush(this.perFlush);
          break;
        }
      }
    }
    this.schedule();
  };

  /** Looks again soon (the connection drained its buffer, or something was added). */
  readonly schedule = (): void => {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush(this.perFlush);
    });
  };

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.subscribers.clear();
  }

  /** Sends up to `budget` items per subscriber; schedules the rest, or a retry while congested. */
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
        if (s.queueSize > 0 || s.replayPending) more = true;
        else if (s.closed) {
          this.subscribers.delete(s);
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
