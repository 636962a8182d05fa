/**
 * The floor under "enabled / disabled": hooks that do only what monitoring cannot skip — one
 * clock read per activation, three ring entries (start, emit, complete) and the per-routine
 * stats — and nothing else (no breakpoint or session checks, no publishing, no causal
 * bookkeeping), against no hooks at all, interleaved in one process. If this ratio is near the
 * target, the target cannot be met by trimming the real hooks: only by recording less.
 */
import type { Activation, EmitInfo, ExecutionHooks } from "../lib";
import { EventRing, Kind } from "../lib/monitoring/collector";
import { chainFlow, median } from "./engine-chain";

const CAPACITY = 1000;

class Stats {
  count = 0;
  total = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  last = 0;
}

function minimalHooks(readClock: boolean): ExecutionHooks {
  // The collector's own ring: the floor pays exactly its writes.
  const ring = new EventRing(CAPACITY);
  // The job's seq counter, as the collector keeps it.
  const record = { seq: 0 };
  const put = (kind: Kind, ref: unknown, time: number, num: number, ref2: unknown): void => {
    record.seq++;
    ring.push(kind, ref, time, num, ref2);
  };
  const stats = new Map<string, Stats>();
  let lastId = "";
  let last: Stats | undefined;
  let clock = 0;
  return {
    beforeActivation(act: Activation) {
      act.startedAt = clock;
      put(Kind.Start, act, clock, act.attempt, null);
      return undefined;
    },
    afterActivation(act: Activation) {
      const now = readClock ? performance.now() : clock + 0.001;
      clock = now;
      const d = now - act.startedAt;
      let s = lastId === act.routineId ? last : stats.get(act.routineId);
      if (s === undefined) {
        s = new Stats();
        stats.set(act.routineId, s);
      }
      lastId = act.routineId;
      last = s;
      s.count++;
      s.total += d;
      if (d < s.min) s.min = d;
      if (d > s.max) s.max = d;
      s.last = now;
      put(Kind.Complete, act, now, d, null);
    },
    onEmit(info: EmitInfo) {
      put(Kind.Emit, info.routes, clock, 0, info.payload);
      return undefined;
    },
  };
}

async function once(n: number, hooks: ExecutionHooks | null): Promise<number> {
  const flow = chainFlow();
  const t0 = performance.now();
  const job = flow.start("src", { n }, { hooks });
  await job.done;
  return ((performance.now() - t0) * 1e6) / (1 + 3 * n);
}

/** Median and best ratios of minimal hooks to no hooks (ABBA order, so neither pays for the other's garbage). */
export async function recordingFloor(n: number, readClock: boolean): Promise<{ median: number; best: number }> {
  for (let i = 0; i < 3; i++) {
    await once(50_000, null);
    await once(50_000, minimalHooks(readClock));
  }
  const none: number[] = [];
  const minimal: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (i % 2 === 0) {
      none.push(await once(n, null));
      minimal.push(await once(n, minimalHooks(readClock)));
    } else {
      minimal.push(await once(n, minimalHooks(readClock)));
      none.push(await once(n, null));
    }
  }
  return { median: median(minimal) / median(none), best: Math.min(...minimal) / Math.min(...none) };
}
