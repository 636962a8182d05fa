/**
 * Flows created over HTTP, shared by every process of a cluster: a Redis hash holds their DSL by
 * flow id, with a version bumped on every change and announced on a channel. A flow a user makes
 * (or edits, or deletes) through one server is served by every server and built by every worker
 * from the same DSL, so its jobs can run anywhere. Flows of the program's code are each process's
 * own (they come with the project) and win over a shared flow of the same id.
 */
import type { Redis } from "ioredis";
import type { Runtime } from "../../lib/runtime/runtime";
import type { ClusterKeys } from "./redis";

export class FlowSync {
  /** What this process last read from, or wrote to, the hash: flow id → DSL JSON. */
  private known = new Map<string, string>();
  private applying = false;
  private version = 0;
  private off: (() => void) | null = null;
  private readonly onMessage = (channel: string): void => {
    if (channel === this.keys.flowsChanged) void this.pull();
  };
  private pulling: Promise<void> | null = null;
  private pullAgain = false;
  private pushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly runtime: Runtime,
    private readonly redis: Redis,
    private readonly sub: Redis,
    private readonly keys: ClusterKeys,
  ) {}

  /** `offerOwn`: a server offers the flows of its history that the cluster does not have yet. */
  async start(offerOwn: boolean): Promise<void> {
    this.sub.on("message", this.onMessage);
    await this.sub.subscribe(this.keys.flowsChanged);
    if (offerOwn) {
      const own = this.runtime.sharedFlows();
      if (own.length > 0) {
        const m = this.redis.multi();
        for (const { flowId, dsl } of own) m.hsetnx(this.keys.flows, flowId, JSON.stringify(dsl));
        m.incr(this.keys.flowsVersion);
        await m.exec();
        await this.redis.publish(this.keys.flowsChanged, "1");
      }
    }
    await this.pull();
    this.off = this.runtime.onSharedFlowChange((flowId, dsl) => {
      if (!this.applying) this.push(flowId, dsl);
    });
  }

  stop(): void {
    this.off?.();
    this.sub.off("message", this.onMessage);
  }

  get appliedVersion(): number {
    return this.version;
  }

  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          const res = await this.redis.multi().get(this.keys.flowsVersion).hgetall(this.keys.flows).exec();
          this.apply((res?.[1]?.[1] as Record<string, string> | null) ?? {});
          this.version = Number((res?.[0]?.[1] as string | null) ?? 0);
        } while (this.pullAgain);
      } catch (err) {
        console.warn(`[cluster] shared flows not read: ${(err as Error).message}`);
      } finally {
        this.pulling = null;
      }
    })();
    return this.pulling;
  }

  private apply(all: Record<string, string>): void {
    this.applying = true;
    try {
      for (const [flowId, json] of Object.entries(all)) {
        if (this.known.get(flowId) === json) continue;
        try {
          this.runtime.applySharedFlow(flowId, JSON.parse(json));
          this.known.set(flowId, json);
        } catch (err) {
          // A flow this process cannot build (a routine type it lacks): its jobs fail here with the reason.
          console.warn(`[cluster] shared flow '${flowId}' not served here: ${(err as Error).message}`);
        }
      }
      for (const flowId of [...this.known.keys()]) {
        if (flowId in all) continue;
        this.runtime.applySharedFlow(flowId, null);
        this.known.delete(flowId);
      }
    } finally {
      this.applying = false;
    }
  }

  private push(flowId: string, dsl: unknown): void {
    const json = dsl === null ? null : JSON.stringify(dsl);
    if (json === null) this.known.delete(flowId);
    else this.known.set(flowId, json);
    this.pushing = this.pushing.then(async () => {
      try {
        const m = this.redis.multi();
        if (json === null) m.hdel(this.keys.flows, flowId);
        else m.hset(this.keys.flows, flowId, json);
        m.incr(this.keys.flowsVersion);
        const res = await m.exec();
        const written = Number(res?.at(-1)?.[1] ?? 0);
        if (written > this.version) this.version = written;
        await this.redis.publish(this.keys.flowsChanged, "1");
      } catch (err) {
        console.warn(`[cluster] flow '${flowId}' not shared: ${(err as Error).message}`);
      }
    });
  }

  /** Resolves once local changes made so far are in Redis. */
  flushed(): Promise<void> {
    return this.pushing;
  }
}
