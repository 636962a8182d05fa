/**
 * Flows created over HTTP, shared by every process of a cluster (a HashSync: the hash holds their
 * DSL by flow id). A flow a user makes (or edits, or deletes) through one server is served by every
 * server and built by every worker from the same DSL, so its jobs can run anywhere. Flows of the
 * program's code are each process's own (they come with the project) and win over a shared flow
 * of the same id.
 */
import type { Redis } from "ioredis";
import type { Runtime } from "../../lib/runtime/runtime";
import { HashSync } from "./hash-sync";
import type { ClusterKeys } from "./redis";

export class FlowSync extends HashSync {
  /** What this process last read from, or wrote to, the hash: flow id → DSL JSON. */
  private known = new Map<string, string>();
  private applying = false;
  private off: (() => void) | null = null;

  constructor(
    private readonly runtime: Runtime,
    redis: Redis,
    sub: Redis,
    keys: ClusterKeys,
  ) {
    super(redis, sub, { hash: keys.flows, version: keys.flowsVersion, channel: keys.flowsChanged }, "shared flows");
  }

  /** `offerOwn`: a server offers the flows of its history that the cluster does not have yet. */
  async start(offerOwn: boolean): Promise<void> {
    await this.listen();
    if (offerOwn) {
      this.write(
        this.runtime.sharedFlows().flatMap(({ flowId, dsl }) => [flowId, JSON.stringify(dsl)]),
        [],
        true,
      );
      await this.flushed();
    }
    await this.pull();
    this.off = this.runtime.onSharedFlowChange((flowId, dsl) => {
      if (this.applying) return;
      if (dsl === null) {
        this.known.delete(flowId);
        this.write([], [flowId]);
      } else {
        const json = JSON.stringify(dsl);
        this.known.set(flowId, json);
        this.write([flowId, json], []);
      }
    });
  }

  override stop(): void {
    this.off?.();
    super.stop();
  }

  protected apply(all: Record<string, string>): void {
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
}
