/**
 * A flow as the wire describes it (`FlowDetail`: routines with their types, slots, events and
 * config; connections; strategy; the example run), and its structure as recorded with each job.
 */
import { createHash } from "node:crypto";
import type { Connection, Flow, RoutineRegistry } from "../engine";
import type { FlowStructure } from "../monitoring";
import type { ConnectionInfo, FlowDetail, RoutineInfo } from "../wire/model";

/** A routine of the flow as the wire shows it; null when the flow has no routine `id`. */
export function routineInfo(flow: Flow, id: string, registry: RoutineRegistry): RoutineInfo | null {
  const r = flow.getRoutine(id);
  if (!r) return null;
  return { routine_id: id, type: registry.nameOf(r) ?? r.constructor.name, slots: r.slotNames, events: r.eventNames, config: r.getConfigObject() };
}

export function connectionInfo(c: Connection): ConnectionInfo {
  return {
    id: c.id,
    source_routine: c.sourceRoutineId,
    source_event: c.sourceEvent,
    target_routine: c.targetRoutineId,
    target_slot: c.targetSlot,
    param_mapping: c.paramMapping === null ? null : { ...c.paramMapping },
  };
}

/** GET /api/flows/{id}: the flow as it is now. */
export function flowDetail(flow: Flow, registry: RoutineRegistry): FlowDetail {
  const routines: Record<string, RoutineInfo> = {};
  for (const id of flow.routines.keys()) routines[id] = routineInfo(flow, id, registry) as RoutineInfo;
  const ex = flow.example;
  return {
    flow_id: flow.flowId,
    execution_strategy: flow.executionStrategy,
    max_workers: flow.maxWorkers,
    timeout: flow.timeout,
    routines,
    connections: flow.connections.map(connectionInfo),
    example: ex ? { entry_routine_id: ex.entryRoutineId, entry_slot: ex.entrySlot, params: { ...ex.params } } : null,
  };
}

/** What decides whether a job ran the flow as it is served now: everything but the example run. */
export function structureText(detail: FlowDetail): string {
  const { example: _example, ...structure } = detail;
  return JSON.stringify(structure);
}

interface Cached {
  revision: number;
  strategy: string;
  maxWorkers: number;
  timeout: number | null;
  structure: FlowStructure;
}

/**
 * Describes flows for the jobs that start on them, once per change of the flow rather than once
 * per job: a 50-routine flow costs ~100 µs to describe and serialise, about what its whole job
 * costs. Equal structures share one object (and one row of history).
 */
export class FlowDescriber {
  private readonly cache = new WeakMap<Flow, Cached>();
  private readonly byKey = new Map<string, WeakRef<FlowStructure>>();

  constructor(private readonly registry: RoutineRegistry) {}

  describe(flow: Flow): FlowStructure {
    const revision = flow.revision;
    const hit = this.cache.get(flow);
    if (hit && hit.revision === revision && hit.strategy === flow.executionStrategy && hit.maxWorkers === flow.maxWorkers && hit.timeout === flow.timeout) return hit.structure;
    const detail = flowDetail(flow, this.registry);
    const json = JSON.stringify(detail);
    const key = createHash("sha256").update(json).digest("base64url");
    let structure = this.byKey.get(key)?.deref();
    if (!structure) {
      structure = Object.freeze({ key, json, detail });
      this.byKey.set(key, new WeakRef(structure));
      this.prune();
    }
    this.cache.set(flow, { revision, strategy: flow.executionStrategy, maxWorkers: flow.maxWorkers, timeout: flow.timeout, structure });
    return structure;
  }

  /** Forgets keys whose structure no job or flow holds any more (flows edited over and over). */
  private prune(): void {
    if (this.byKey.size < 64) return;
    for (const [key, ref] of this.byKey) if (ref.deref() === undefined) this.byKey.delete(key);
  }
}
