/**
 * Flow breakpoints shared by every process of a cluster: a Redis hash holds them by id, with a
 * version bumped on every change and announced on a channel. Each process keeps its own
 * BreakpointManager (the engine's hot path never waits on Redis) and applies the hash whenever the
 * version moves; what changes locally (an API call on a server, a one-shot breakpoint that fired
 * on a worker) is written to the hash as a difference, so two processes changing different
 * breakpoints at once lose neither. Hit counts stay per process.
 */
import type { Redis } from "ioredis";
import type { Breakpoint, BreakpointManager } from "../../lib/monitoring";
import type { ClusterKeys } from "./redis";

/** A breakpoint's definition as compared between processes: its counters left out. */
function definition(bp: Breakpoint): string {
  const { hit_count: _h, error_count: _e, last_error: _l, ...rest } = bp;
  return JSON.stringify(rest);
}

export class BreakpointSync {
  /** What this process last read from, or wrote to, the hash: id → definition. */
  private known = new Map<string, string>();
  private applying = false;
  private version = -1;
  private offChange: (() => void) | null = null;
  private readonly onMessage = (channel: string): void => {
    if (channel === this.keys.breakpointsChanged) void this.pull();
  };
  /** Pulls run one at a time; a change announced meanwhile pulls again after. */
  private pulling: Promise<void> | null = null;
  private pullAgain = false;
  private pushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly manager: BreakpointManager,
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: ClusterKeys,
  ) {}

  async start(): Promise<void> {
    this.sub.on("message", this.onMessage);
    await this.sub.subscribe(this.keys.breakpointsChanged);
    await this.pull();
    this.offChange = this.manager.onChange(() => {
      if (!this.applying) this.push();
    });
  }

  stop(): void {
    this.offChange?.();
    this.sub.off("message", this.onMessage);
  }

  /** Reads the hash and makes the local flow breakpoints equal to it. */
  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          // One transaction: the hash read is exactly the version read.
          const res = await this.redis.multi().get(this.keys.breakpointsVersion).hgetall(this.keys.breakpoints).exec();
          const version = (res?.[0]?.[1] as string | null) ?? "0";
          this.apply((res?.[1]?.[1] as Record<string, string> | null) ?? {});
          this.version = Number(version);
        } while (this.pullAgain);
      } catch (err) {
        console.warn(`[cluster] flow breakpoints not read: ${(err as Error).message}`);
      } finally {
        this.pulling = null;
      }
    })();
    return this.pulling;
  }

  /** The version last applied (tests and health read it). */
  get appliedVersion(): number {
    return this.version;
  }

  private apply(all: Record<string, string>): void {
    const remote = new Map<string, Breakpoint>();
    for (const [id, json] of Object.entries(all)) {
      try {
        remote.set(id, JSON.parse(json) as Breakpoint);
      } catch {
        // A damaged entry is skipped, not fatal: the others still apply.
      }
    }
    this.applying = true;
    try {
      const local = new Map(this.manager.getAllFlowBreakpoints().map((bp) => [bp.breakpoint_id, bp]));
      for (const [id, bp] of local) {
        const there = remote.get(id);
        if (!there || definition(there) !== definition(bp)) this.manager.removeBreakpoint(id);
      }
      for (const [id, bp] of remote) {
        const here = this.manager.getBreakpoint(id);
        if (!here) this.manager.restoreBreakpoint({ ...bp, hit_count: 0, error_count: 0, last_error: null });
      }
    } finally {
      this.applying = false;
    }
    this.known = new Map([...remote].map(([id, bp]) => [id, definition(bp)]));
  }

  /** Writes what changed locally since the hash was last read or written. */
  private push(): void {
    const local = new Map(this.manager.getAllFlowBreakpoints().map((bp) => [bp.breakpoint_id, bp]));
    const set: string[] = [];
    const del: string[] = [];
    for (const [id, bp] of local) {
      const def = definition(bp);
      if (this.known.get(id) !== def) {
        set.push(id, JSON.stringify(bp));
        this.known.set(id, def);
      }
    }
    for (const id of [...this.known.keys()]) {
      if (!local.has(id)) {
        del.push(id);
        this.known.delete(id);
      }
    }
    if (set.length === 0 && del.length === 0) return;
    // In order: two quick changes of one process reach the hash as made.
    this.pushing = this.pushing.then(async () => {
      try {
        const m = this.redis.multi();
        if (set.length) m.hset(this.keys.breakpoints, ...set);
        if (del.length) m.hdel(this.keys.breakpoints, ...del);
        m.incr(this.keys.breakpointsVersion);
        const res = await m.exec();
        const written = Number(res?.at(-1)?.[1] ?? 0);
        // This process has its own change: it is at that version (unless a pull saw a later one).
        if (written > this.version) this.version = written;
        await this.redis.publish(this.keys.breakpointsChanged, "1");
      } catch (err) {
        console.warn(`[cluster] flow breakpoints not written: ${(err as Error).message}`);
      }
    });
  }

  /** Resolves once local changes made so far are in Redis (tests). */
  flushed(): Promise<void> {
    return this.pushing;
  }
}
