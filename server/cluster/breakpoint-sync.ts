/**
 * Flow breakpoints shared by every process of a cluster (a HashSync: the hash holds them by id).
 * Each process keeps its own BreakpointManager (the engine's hot path never waits on Redis) and
 * applies the hash whenever its version moves; what changes locally (an API call on a server, a
 * one-shot breakpoint that fired on a worker) is written as a difference. Hit counts stay per
 * process.
 */
import type { Redis } from "ioredis";
import type { Breakpoint, BreakpointManager } from "../../lib/monitoring";
import { HashSync } from "./hash-sync";
import type { ClusterKeys } from "./redis";

/** A breakpoint's definition as compared between processes: its counters left out. */
function definition(bp: Breakpoint): string {
  const { hit_count: _h, error_count: _e, last_error: _l, ...rest } = bp;
  return JSON.stringify(rest);
}

export class BreakpointSync extends HashSync {
  /** What this process last read from, or wrote to, the hash: id → definition. */
  private known = new Map<string, string>();
  private applying = false;
  private offChange: (() => void) | null = null;

  constructor(
    private readonly manager: BreakpointManager,
    redis: Redis,
    sub: Redis,
    keys: ClusterKeys,
  ) {
    super(redis, sub, { hash: keys.breakpoints, version: keys.breakpointsVersion, channel: keys.breakpointsChanged }, "flow breakpoints");
  }

  async start(): Promise<void> {
    await this.listen();
    await this.pull();
    this.offChange = this.manager.onChange(() => {
      if (!this.applying) this.push();
    });
  }

  override stop(): void {
    this.offChange?.();
    super.stop();
  }

  protected apply(all: Record<string, string>): void {
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
      for (const bp of this.manager.getAllFlowBreakpoints()) {
        const there = remote.get(bp.breakpoint_id);
        if (!there || definition(there) !== definition(bp)) this.manager.removeBreakpoint(bp.breakpoint_id);
      }
      for (const [id, bp] of remote) {
        if (!this.manager.getBreakpoint(id)) this.manager.restoreBreakpoint({ ...bp, hit_count: 0, error_count: 0, last_error: null });
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
    this.write(set, del);
  }
}
