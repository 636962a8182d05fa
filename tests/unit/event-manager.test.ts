import { describe, expect, it, vi } from "vitest";
import {
  JobEventManager,
  MAX_HOLD_MS,
  type ReplaySource,
  type Subscriber,
  type SubscriberItem,
} from "../../lib/monitoring/event-manager";
import { TraceRecord } from "../../lib/monitoring/trace";

/** A fake collector: per-job ring of retained events (oldest evicted beyond `retention`). */
class FakeSource implements ReplaySource {
  readonly retained = new Map<string, TraceRecord[]>();
  readonly last = new Map<string, number>();
  calls = 0;

  constructor(private readonly retention = 1000) {}

  eventsAfter(jobId: string, afterSeq: number): { events: TraceRecord[]; lastSeq: number } {
    this.calls++;
    const events = (this.retained.get(jobId) ?? []).filter((e) => e.seq > afterSeq);
    return { events, lastSeq: this.last.get(jobId) ?? 0 };
  }

  /** Records the next event of the job (seq +1), without publishing it. */
  record(jobId: string, flowId = "flow_a"): TraceRecord {
    const seq = (this.last.get(jobId) ?? 0) + 1;
    this.last.set(jobId, seq);
    const event = new TraceRecord(seq, jobId, flowId, "r1", "log", Date.now(), { n: seq }, null, null);
    const ring = this.retained.get(jobId) ?? [];
    ring.push(event);
    while (ring.length > this.retention) ring.shift();
    this.retained.set(jobId, ring);
    return event;
  }

  /** Drops the oldest retained events so that only `keep` remain. */
  evict(jobId: string, keep: number): void {
    const ring = this.retained.get(jobId) ?? [];
    this.retained.set(jobId, ring.slice(Math.max(0, ring.length - keep)));
  }
}

/** A manager wired to a fake source; `emit` records then publishes, like the collector does. */
function setup(options?: { retention?: number; maxQueueSize?: number }) {
  const source = new FakeSource(options?.retention ?? 1000);
  const manager = new JobEventManager(
    source,
    options?.maxQueueSize === undefined ? undefined : { maxQueueSize: options.maxQueueSize },
  );
  const emit = (jobId: string, count = 1, flowId = "flow_a"): TraceRecord[] => {
    const out: TraceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const event = source.record(jobId, flowId);
      manager.publish(event);
      out.push(event);
    }
    return out;
  };
  return { source, manager, emit };
}

function seqs(items: SubscriberItem[]): number[] {
  return items.flatMap((item) => (item.kind === "event" ? [item.event.seq] : []));
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Drains in small chunks, as a transport would. */
function drainAll(subscriber: Subscriber, chunk = 7): SubscriberItem[] {
  const out: SubscriberItem[] = [];
  for (;;) {
    const items = subscriber.drain(chunk);
    if (items.length === 0) return out;
    out.push(...items);
  }
}

describe("JobEventManager fan-out", () => {
  it("delivers every event to each of three subscribers, in order, with contiguous seq", () => {
    const { manager, emit } = setup();
    const subs = [manager.subscribe("job_1"), manager.subscribe("job_1"), manager.subscribe("job_1")];
    expect(new Set(subs.map((s) => s.id)).size).toBe(3);
    for (const s of subs) expect(s.id).toMatch(/^sub_\d+$/);
    const sent = emit("job_1", 50);
    for (const s of subs) {
      const items = s.drain();
      expect(items.every((i) => i.kind === "event")).toBe(true);
      expect(seqs(items)).toEqual(range(1, 50));
      expect(items.map((i) => (i.kind === "event" ? i.event : null))).toEqual(sent);
      expect(s.droppedTotal).toBe(0);
      expect(s.queueSize).toBe(0);
    }
  });

  it("a subscriber that never reads loses only its own oldest events", () => {
    const { manager, emit } = setup();
    const slow = manager.subscribe("job_1");
    const fastA = manager.subscribe("job_1");
    const fastB = manager.subscribe("job_1");
    const gotA: SubscriberItem[] = [];
    const gotB: SubscriberItem[] = [];
    for (let i = 0; i < 150; i++) {
      emit("job_1");
      gotA.push(...fastA.drain());
      gotB.push(...fastB.drain());
    }
    expect(slow.queueSize).toBe(100);
    expect(slow.droppedTotal).toBe(50);
    const items = slow.drain();
    expect(items[0]).toEqual({ kind: "dropped", count: 50, job_id: "job_1", next_seq: 51 });
    expect(items).toHaveLength(101);
    expect(seqs(items.slice(1))).toEqual(range(51, 150));
    expect(slow.drain()).toEqual([]);

    for (const got of [gotA, gotB]) {
      expect(got.every((i) => i.kind === "event")).toBe(true);
      expect(seqs(got)).toEqual(range(1, 150));
    }
    expect(fastA.droppedTotal).toBe(0);
    expect(fastB.droppedTotal).toBe(0);
  });

  it("a subscriber that drains late sees fast subscribers unaffected (all 150 each)", () => {
    const { manager, emit } = setup();
    const slow = manager.subscribe("job_1");
    const others = [manager.subscribe("job_1", { maxQueueSize: 500 }), manager.subscribe("job_1", { maxQueueSize: 500 })];
    emit("job_1", 150);
    for (const s of others) {
      expect(seqs(s.drain())).toEqual(range(1, 150));
      expect(s.droppedTotal).toBe(0);
    }
    expect(slow.drain(1)).toEqual([{ kind: "dropped", count: 50, job_id: "job_1", next_seq: 51 }]);
    expect(seqs(slow.drain())).toEqual(range(51, 150));
  });

  it("reports repeated overflow with a fresh notice each time", () => {
    const { manager, emit } = setup({ maxQueueSize: 10 });
    const s = manager.subscribe("job_1");
    emit("job_1", 15);
    const first = s.drain(3);
    expect(first[0]).toEqual({ kind: "dropped", count: 5, job_id: "job_1", next_seq: 6 });
    expect(seqs(first)).toEqual([6, 7]);
    emit("job_1", 5); // queue holds 8..15 (8 items) + 5 → 3 more dropped (8, 9, 10)
    const second = s.drain();
    expect(second[0]).toEqual({ kind: "dropped", count: 3, job_id: "job_1", next_seq: 11 });
    expect(seqs(second)).toEqual(range(11, 20));
    expect(s.droppedTotal).toBe(8);
  });

  it("keeps jobs apart", () => {
    const { manager, emit } = setup();
    const one = manager.subscribe("job_1");
    const two = manager.subscribe("job_2");
    emit("job_1", 3);
    emit("job_2", 2);
    expect(one.drain().map((i) => (i.kind === "event" ? i.event.job_id : "?"))).toEqual(["job_1", "job_1", "job_1"]);
    expect(seqs(two.drain())).toEqual([1, 2]);
  });

  it("drain(max) takes at most max items and drain(0) takes none", () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_1");
    emit("job_1", 5);
    expect(s.drain(0)).toEqual([]);
    expect(seqs(s.drain(2))).toEqual([1, 2]);
    expect(s.queueSize).toBe(3);
    expect(seqs(s.drain())).toEqual([3, 4, 5]);
  });
});

describe("JobEventManager status", () => {
  it("reports per-job status and a summary, and returns to zero after unsubscribe/cleanup", () => {
    const { manager, emit } = setup();
    expect(manager.maxQueueSize).toBe(100);
    expect(manager.getStatus("job_1")).toEqual({
      job_id: "job_1",
      subscriber_count: 0,
      queue_size: 0,
      max_size: 100,
      dropped: 0,
    });
    const a = manager.subscribe("job_1");
    const b = manager.subscribe("job_1");
    manager.subscribe("job_2");
    emit("job_1", 120);
    b.drain(30); // b: 1 notice + 29 events taken → 71 left
    expect(manager.getStatus("job_1")).toEqual({
      job_id: "job_1",
      subscriber_count: 2,
      queue_size: 100,
      max_size: 100,
      dropped: 40,
    });
    expect(a.queueSize).toBe(100);
    expect(b.queueSize).toBe(71);
    expect(manager.getSubscriberCount("job_1")).toBe(2);
    expect(manager.hasSubscribers("job_1")).toBe(true);

    const summary = manager.getStatus();
    expect(summary.total_jobs).toBe(2);
    expect(summary.total_subscribers).toBe(3);
    expect(summary.max_size).toBe(100);
    expect(Object.keys(summary.jobs).sort()).toEqual(["job_1", "job_2"]);
    expect(summary.jobs.job_1?.dropped).toBe(40);
    expect(summary.jobs.job_2).toEqual({ job_id: "job_2", subscriber_count: 1, queue_size: 0, max_size: 100, dropped: 0 });

    expect(manager.unsubscribe(a)).toBe(true);
    expect(a.closed).toBe(true);
    expect(manager.unsubscribe(a)).toBe(false);
    expect(manager.getSubscriberCount("job_1")).toBe(1);
    expect(manager.unsubscribe(b.id)).toBe(true);
    expect(manager.unsubscribe("sub_999")).toBe(false);
    expect(manager.getStatus("job_1")).toEqual({
      job_id: "job_1",
      subscriber_count: 0,
      queue_size: 0,
      max_size: 100,
      dropped: 0,
    });
    expect(manager.hasSubscribers("job_1")).toBe(false);

    manager.cleanup("job_2");
    expect(manager.getSubscriberCount("job_2")).toBe(0);
    expect(manager.getStatus()).toEqual({ total_jobs: 0, total_subscribers: 0, max_size: 100, jobs: {} });
  });

  it("honours a custom default queue size and rejects bad sizes", () => {
    const source = new FakeSource();
    const manager = new JobEventManager(source, { maxQueueSize: 5 });
    expect(manager.maxQueueSize).toBe(5);
    expect(manager.subscribe("job_1").maxQueueSize).toBe(5);
    expect(manager.subscribe("job_1", { maxQueueSize: 7 }).maxQueueSize).toBe(7);
    expect(manager.getStatus("job_1").max_size).toBe(7);
    expect(() => new JobEventManager(source, { maxQueueSize: 0 })).toThrow(RangeError);
    expect(() => manager.subscribe("job_1", { maxQueueSize: 1.5 })).toThrow(RangeError);
    expect(() => manager.subscribe("job_1", { afterSeq: -1 })).toThrow(RangeError);
    expect(() => manager.subscribe("job_1", { afterSeq: Number.NaN })).toThrow(RangeError);
  });

  it("shutdown closes every subscriber, job and flow", async () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_1");
    const f = manager.subscribeFlow("flow_a");
    const pending = s.next();
    manager.shutdown();
    await expect(pending).resolves.toBeNull();
    expect(s.closed).toBe(true);
    expect(f.closed).toBe(true);
    expect(manager.getStatus().total_subscribers).toBe(0);
    expect(manager.hasSubscribers("job_1", "flow_a")).toBe(false);
    emit("job_1", 3);
    expect(s.drain()).toEqual([]);
    expect(f.drain()).toEqual([]);
  });
});

describe("JobEventManager replay", () => {
  it("replays the retained events after a seq, then live ones, with no duplicates or gaps", () => {
    const { manager, emit } = setup();
    emit("job_1", 20);
    const s = manager.subscribe("job_1", { afterSeq: 12 });
    expect(s.queueSize).toBe(0);
    emit("job_1", 5);
    expect(s.queueSize).toBe(5);
    const items = drainAll(s, 4);
    expect(items.every((i) => i.kind === "event")).toBe(true);
    expect(seqs(items)).toEqual(range(13, 25));
    emit("job_1", 2);
    expect(seqs(s.drain())).toEqual([26, 27]);
  });

  it("afterSeq 0 replays everything retained", () => {
    const { manager, emit } = setup();
    emit("job_1", 10);
    const s = manager.subscribe("job_1", { afterSeq: 0 });
    emit("job_1", 1);
    expect(seqs(s.drain())).toEqual(range(1, 11));
  });

  it("without afterSeq only live events are delivered", () => {
    const { manager, emit } = setup();
    emit("job_1", 10);
    const s = manager.subscribe("job_1");
    expect(s.drain()).toEqual([]);
    emit("job_1", 2);
    expect(seqs(s.drain())).toEqual([11, 12]);
  });

  it("a replay longer than the queue bound is not cut (500 retained, queue 100)", () => {
    const { source, manager, emit } = setup();
    emit("job_1", 500);
    const callsBefore = source.calls;
    const s = manager.subscribe("job_1", { afterSeq: 0 });
    emit("job_1", 80);
    expect(s.queueSize).toBe(80);
    const items = drainAll(s, 25);
    expect(items.every((i) => i.kind === "event")).toBe(true);
    expect(seqs(items)).toEqual(range(1, 580));
    expect(s.droppedTotal).toBe(0);
    // Replay is read lazily in batches, not once per item.
    expect(source.calls - callsBefore).toBeLessThan(5);
  });

  it("live overflow during a long replay is reported after the replay, before the live tail", () => {
    const { manager, emit } = setup({ maxQueueSize: 10 });
    emit("job_1", 30);
    const s = manager.subscribe("job_1", { afterSeq: 0 });
    emit("job_1", 15); // 31..45 live; 31..35 overflow
    const items = drainAll(s);
    expect(seqs(items.slice(0, 30))).toEqual(range(1, 30));
    expect(items[30]).toEqual({ kind: "dropped", count: 5, job_id: "job_1", next_seq: 36 });
    expect(seqs(items.slice(31))).toEqual(range(36, 45));
    expect(s.droppedTotal).toBe(5);
  });

  it("reports replay events evicted by the source before they were drained", () => {
    const { source, manager, emit } = setup();
    emit("job_1", 50);
    const s = manager.subscribe("job_1", { afterSeq: 10 });
    source.evict("job_1", 20); // only 31..50 remain retained
    emit("job_1", 3);
    const items = s.drain();
    expect(items[0]).toEqual({ kind: "dropped", count: 20, job_id: "job_1", next_seq: 31 });
    expect(seqs(items.slice(1))).toEqual(range(31, 53));
    expect(items).toHaveLength(24);
    expect(s.droppedTotal).toBe(20);
  });

  it("reports a fully evicted replay range with next_seq of the first live event", () => {
    const { source, manager, emit } = setup();
    emit("job_1", 40);
    const s = manager.subscribe("job_1", { afterSeq: 0 });
    source.evict("job_1", 0);
    expect(s.drain()).toEqual([{ kind: "dropped", count: 40, job_id: "job_1", next_seq: null }]);
    emit("job_1", 2);
    expect(seqs(s.drain())).toEqual([41, 42]);

    const t = manager.subscribe("job_1", { afterSeq: 0 });
    emit("job_1", 2); // 43, 44
    source.evict("job_1", 1); // only 44 retained
    const items = t.drain();
    expect(items[0]).toEqual({ kind: "dropped", count: 42, job_id: "job_1", next_seq: 43 });
    expect(seqs(items.slice(1))).toEqual([43, 44]);
  });

  it("a ring that evicts during publishing (retention 30) yields a single notice and no duplicates", () => {
    const { manager, emit } = setup({ retention: 30 });
    emit("job_1", 100); // 71..100 retained
    const s = manager.subscribe("job_1", { afterSeq: 50 });
    emit("job_1", 10); // the ring now holds 81..110: 71..80 were evicted before the drain
    const items = s.drain();
    expect(items[0]).toEqual({ kind: "dropped", count: 30, job_id: "job_1", next_seq: 81 });
    expect(items.filter((i) => i.kind === "dropped")).toHaveLength(1);
    expect(seqs(items.slice(1))).toEqual(range(81, 110));
    expect(s.droppedTotal).toBe(30);

    const early = manager.subscribe("job_1", { afterSeq: 50 }); // ring: 81..110
    const first = early.drain(2); // the replay batch is read now
    expect(first[0]).toEqual({ kind: "dropped", count: 30, job_id: "job_1", next_seq: 81 });
    emit("job_1", 10); // evicts 81..90 from the ring, but they were already read
    expect(seqs([...first, ...early.drain()])).toEqual(range(81, 120));
  });

  it("afterSeq at or beyond the newest seq means live events only after it", () => {
    const { manager, emit } = setup();
    emit("job_1", 10);
    const atEnd = manager.subscribe("job_1", { afterSeq: 10 });
    const beyond = manager.subscribe("job_1", { afterSeq: 12 });
    expect(atEnd.drain()).toEqual([]);
    emit("job_1", 4);
    expect(seqs(atEnd.drain())).toEqual([11, 12, 13, 14]);
    expect(seqs(beyond.drain())).toEqual([13, 14]);
  });

  it("replays a job that has not started yet as live-only", () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_new", { afterSeq: 0 });
    emit("job_new", 3);
    expect(seqs(s.drain())).toEqual([1, 2, 3]);
  });
});

describe("Subscriber waiting", () => {
  it("next() waits for an event and resolves null after close", async () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_1");
    const first = s.next();
    const second = s.next();
    let settled = false;
    void first.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    emit("job_1", 2);
    const a = await first;
    const b = await second;
    expect(a?.kind === "event" ? a.event.seq : null).toBe(1);
    expect(b?.kind === "event" ? b.event.seq : null).toBe(2);
    const third = s.next();
    s.close();
    await expect(third).resolves.toBeNull();
    await expect(s.next()).resolves.toBeNull();
    expect(manager.getSubscriberCount("job_1")).toBe(0);
  });

  it("items buffered before close can still be drained, then next() resolves null", async () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_1");
    emit("job_1", 2);
    manager.cleanup("job_1");
    expect(s.closed).toBe(true);
    emit("job_1", 1); // after close: ignored
    const a = await s.next();
    const b = await s.next();
    expect([a, b].map((i) => (i?.kind === "event" ? i.event.seq : null))).toEqual([1, 2]);
    await expect(s.next()).resolves.toBeNull();
  });

  it("async iteration yields replay and live events and ends after cleanup", async () => {
    const { manager, emit } = setup();
    emit("job_1", 3);
    const s = manager.subscribe("job_1", { afterSeq: 1 });
    const seen: number[] = [];
    const done = (async () => {
      for await (const item of s) {
        if (item.kind === "event") seen.push(item.event.seq);
        if (item.kind === "event" && item.event.seq === 5) manager.cleanup("job_1");
      }
    })();
    await Promise.resolve();
    emit("job_1", 2);
    await done;
    expect(seen).toEqual([2, 3, 4, 5]);
    expect(s.closed).toBe(true);
  });

  it("breaking out of for-await closes and unsubscribes", async () => {
    const { manager, emit } = setup();
    const s = manager.subscribe("job_1");
    emit("job_1", 3);
    for await (const item of s) {
      expect(item.kind).toBe("event");
      break;
    }
    expect(s.closed).toBe(true);
    expect(manager.getSubscriberCount("job_1")).toBe(0);
  });

  it("calls onReadable when items arrive, on pending replay and on close; a throwing callback harms nobody", async () => {
    const { manager, emit } = setup();
    emit("job_1", 4);
    const onReadable = vi.fn();
    const s = manager.subscribe("job_1", { onReadable });
    expect(onReadable).not.toHaveBeenCalled();
    emit("job_1", 2);
    expect(onReadable).toHaveBeenCalledTimes(2);

    const replayReady = vi.fn();
    const r = manager.subscribe("job_1", { afterSeq: 0, onReadable: replayReady });
    expect(replayReady).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(replayReady).toHaveBeenCalledTimes(1);
    expect(seqs(r.drain())).toEqual(range(1, 6));

    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const thrower = manager.subscribe("job_1", {
      onReadable: () => {
        throw new Error("boom");
      },
    });
    emit("job_1", 1);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
    expect(seqs(thrower.drain())).toEqual([7]);
    expect(seqs(s.drain())).toEqual([5, 6, 7]);

    const closedCallback = vi.fn();
    s.onReadable = closedCallback;
    s.close();
    expect(closedCallback).toHaveBeenCalledTimes(1);
  });
});

describe("flow subscribers", () => {
  it("receive events of several jobs of the flow, including a job first published after subscribing", () => {
    const { manager, emit } = setup();
    emit("job_1", 2, "flow_a"); // before subscribing: not delivered
    const f = manager.subscribeFlow("flow_a");
    expect(f.jobId).toBeNull();
    expect(f.flowId).toBe("flow_a");
    expect(manager.hasSubscribers("job_1")).toBe(false);
    expect(manager.hasSubscribers("job_1", "flow_a")).toBe(true);
    emit("job_1", 2, "flow_a");
    emit("job_other", 3, "flow_b");
    emit("job_2", 2, "flow_a"); // a job that did not exist at subscribe time
    const items = f.drain();
    expect(items.map((i) => (i.kind === "event" ? `${i.event.job_id}#${i.event.seq}` : "?"))).toEqual([
      "job_1#3",
      "job_1#4",
      "job_2#1",
      "job_2#2",
    ]);
    expect(manager.getSubscriberCount("job_1")).toBe(0);
  });

  it("job and flow subscribers both get the event; flow overflow names the next job", () => {
    const { manager, emit } = setup();
    const j = manager.subscribe("job_1");
    const f = manager.subscribeFlow("flow_a", { maxQueueSize: 3 });
    emit("job_1", 3);
    emit("job_2", 2);
    expect(seqs(j.drain())).toEqual([1, 2, 3]);
    const items = f.drain();
    expect(items[0]).toEqual({ kind: "dropped", count: 2, job_id: "job_1", next_seq: 3 });
    expect(items.slice(1).map((i) => (i.kind === "event" ? `${i.event.job_id}#${i.event.seq}` : "?"))).toEqual([
      "job_1#3",
      "job_2#1",
      "job_2#2",
    ]);
    expect(manager.unsubscribe(f)).toBe(true);
    expect(manager.hasSubscribers("job_2", "flow_a")).toBe(false);
  });

  it("cleanup of a job leaves flow subscribers alone", () => {
    const { manager, emit } = setup();
    const f = manager.subscribeFlow("flow_a");
    manager.subscribe("job_1");
    manager.cleanup("job_1");
    expect(f.closed).toBe(false);
    emit("job_1", 1);
    expect(seqs(f.drain())).toEqual([1]);
  });
});

describe("validation and the idle hot path", () => {
  it("rejects non-string and blank ids", () => {
    const { manager } = setup();
    const bad: unknown[] = [undefined, null, 42, {}, ["job"]];
    for (const id of bad) {
      expect(() => manager.subscribe(id as string)).toThrow(TypeError);
      expect(() => manager.subscribeFlow(id as string)).toThrow(TypeError);
    }
    for (const id of ["", "   ", "\t\n"]) {
      expect(() => manager.subscribe(id)).toThrow(Error);
      expect(() => manager.subscribeFlow(id)).toThrow(Error);
    }
    expect(manager.getStatus().total_subscribers).toBe(0);
  });

  it("publishing with nobody subscribed does nothing and never reads the source", () => {
    const { source, manager, emit } = setup();
    const event = new TraceRecord(1, "job_x", "flow_x", null, "job_started", Date.now(), {}, null, null);
    expect(() => manager.publish(event)).not.toThrow();
    const callsBefore = source.calls;
    emit("job_1", 10);
    expect(source.calls).toBe(callsBefore);
    expect(manager.getStatus()).toEqual({ total_jobs: 0, total_subscribers: 0, max_size: 100, jobs: {} });
    // Subscribed elsewhere: still no delivery to unrelated jobs or flows.
    const other = manager.subscribe("job_2");
    const otherFlow = manager.subscribeFlow("flow_z");
    emit("job_1", 5);
    expect(other.drain()).toEqual([]);
    expect(otherFlow.drain()).toEqual([]);
    expect(manager.getStatus("job_1").subscriber_count).toBe(0);
  });

  it("a subscriber unsubscribing from inside onReadable does not disturb the others", () => {
    const { manager, emit } = setup();
    const received: number[] = [];
    const first: Subscriber = manager.subscribe("job_1", {
      onReadable: () => {
        manager.unsubscribe(first);
      },
    });
    const second = manager.subscribe("job_1", {
      onReadable: () => {
        for (const item of second.drain()) if (item.kind === "event") received.push(item.event.seq);
      },
    });
    emit("job_1", 3);
    expect(first.closed).toBe(true);
    expect(seqs(first.drain())).toEqual([1]);
    expect(received).toEqual([1, 2, 3]);
  });
});

describe("behind: back-pressure from a consumer that has not had its turn", () => {
  it("whenCaughtUp waits while a subscriber of the job or of its flow is behind, and not for other jobs", async () => {
    const manager = new JobEventManager(new FakeSource());
    expect(manager.whenCaughtUp("job_a", "flow_a")).toBeUndefined();
    const jobSub = manager.subscribe("job_a");
    const flowSub = manager.subscribeFlow("flow_a");
    jobSub.setBehind(true);
    flowSub.setBehind(true);
    expect(manager.behindTotal).toBe(2);
    expect(manager.whenCaughtUp("job_b", "flow_b")).toBeUndefined();
    let released = false;
    const wait = manager.whenCaughtUp("job_a", "flow_a");
    expect(wait).toBeInstanceOf(Promise);
    void wait?.then(() => {
      released = true;
    });
    jobSub.setBehind(false);
    await new Promise((r) => setTimeout(r, 0));
    // Still waiting for the flow's subscriber.
    expect(released).toBe(false);
    flowSub.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(released).toBe(true);
    expect(manager.behindTotal).toBe(0);
  });

  it("the hold is bounded: a subscriber that stays behind holds the job at most MAX_HOLD_MS", async () => {
    vi.useFakeTimers();
    try {
      const manager = new JobEventManager(new FakeSource());
      const stuck = manager.subscribe("job_a");
      stuck.setBehind(true);
      let released = false;
      void manager.whenCaughtUp("job_a", "flow_a")?.then(() => {
        released = true;
      });
      await vi.advanceTimersByTimeAsync(MAX_HOLD_MS - 10);
      expect(released).toBe(false);
      await vi.advanceTimersByTimeAsync(20);
      // Still behind, but the job goes on.
      expect(stuck.behind).toBe(true);
      expect(released).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a closed subscriber cannot be behind", () => {
    const manager = new JobEventManager(new FakeSource());
    const sub = manager.subscribe("job_a");
    sub.close();
    sub.setBehind(true);
    expect(sub.behind).toBe(false);
    expect(manager.behindTotal).toBe(0);
    expect(manager.whenCaughtUp("job_a", "flow_a")).toBeUndefined();
  });
});

describe("behind: the queue's allowance", () => {
  it("a behind subscriber queues past its bound (up to 8×) and loses nothing; once caught up the bound holds again", () => {
    const source = new FakeSource(10_000);
    const manager = new JobEventManager(source, { maxQueueSize: 10 });
    const sub = manager.subscribe("job_a");
    sub.setBehind(true);
    for (let i = 0; i < 50; i++) manager.publish(source.record("job_a"));
    expect(sub.queueSize).toBe(50);
    expect(sub.droppedTotal).toBe(0);
    for (let i = 0; i < 50; i++) manager.publish(source.record("job_a"));
    // 8 × 10 at most: the oldest 20 are lost.
    expect(sub.queueSize).toBe(80);
    expect(sub.droppedTotal).toBe(20);
    sub.setBehind(false);
    manager.publish(source.record("job_a"));
    expect(sub.queueSize).toBe(10);
    expect(sub.droppedTotal).toBe(20 + 71);
  });
});

describe("notifyEvery", () => {
  it("calls onReadable when the queue becomes non-empty and at each multiple of n, not on every event", () => {
    const source = new FakeSource();
    const manager = new JobEventManager(source);
    const onReadable = vi.fn();
    const sub = manager.subscribe("job_a", { notifyEvery: 4, onReadable });
    for (let i = 0; i < 9; i++) manager.publish(source.record("job_a"));
    // lengths 1, 4 and 8
    expect(onReadable).toHaveBeenCalledTimes(3);
    sub.drain();
    manager.publish(source.record("job_a"));
    expect(onReadable).toHaveBeenCalledTimes(4);
    expect(() => manager.subscribe("job_a", { notifyEvery: 0 })).toThrow(RangeError);
  });
});

describe("many subscribers: delivery in slices", () => {
  it("past 32 subscribers a job's events are delivered after publish returns, in order, to every subscriber; the job is behind meanwhile", async () => {
    const source = new FakeSource();
    const manager = new JobEventManager(source, { maxQueueSize: 1000 });
    const subs = Array.from({ length: 40 }, () => manager.subscribe("job_a"));
    for (let i = 0; i < 100; i++) manager.publish(source.record("job_a"));
    // Nothing delivered inside publish: the job waits for its delivery.
    expect(subs[0]?.queueSize).toBe(0);
    const wait = manager.whenCaughtUp("job_a", "flow_a");
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    for (const sub of subs) {
      const seqs = sub.drain().map((item) => (item.kind === "event" ? item.event.seq : -1));
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
    expect(manager.behindTotal).toBe(0);
  });
});
