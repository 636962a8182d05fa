import { BUDGET_NAMES, checkBudgets, type JobBudgets, type JobBudgetSettings } from "./budgets";
import { type FlowDsl, parseDslText, parseEndpoint, validateDsl } from "./dsl";
import { ErrorHandler } from "./error-handler";
import { DslError, FlowDefinitionError } from "./errors";
import type { ExecutionHooks } from "./hooks";
import { Job } from "./job";
import { type RoutineRegistry, routineRegistry } from "./registry";
import type { Routine, SlotDefinition } from "./routine";
import { checkTimeoutSeconds } from "./timers";
import { isJsonValue, type ExecutionStrategy, type Payload } from "./types";
import { ID_PATTERN, NAME_PATTERN, RESERVED_KEYS, RESERVED_RULE } from "../wire/ids";
import { PayloadSchema } from "../wire/requests";

export interface Connection {
  /** `source.event:target.slot`, stable and URL-safe. */
  readonly id: string;
  readonly sourceRoutineId: string;
  readonly sourceEvent: string;
  readonly targetRoutineId: string;
  readonly targetSlot: string;
  /** `{eventKey: slotKey}`: mapped keys are renamed, the others pass through. */
  readonly paramMapping: Readonly<Record<string, string>> | null;
}

/** A connection resolved to the objects the hot path needs, so delivery does no lookups. */
export interface Route {
  readonly connection: Connection;
  readonly routine: Routine;
  readonly slot: SlotDefinition;
}

/**
 * An example run of a flow: where to enter and with what. The debugger's Run panel starts from it,
 * so a flow's first run from the UI works as is instead of sending empty params.
 */
export interface FlowExample {
  entryRoutineId: string;
  /** Default: `trigger` when the routine has that slot, else its only slot. */
  entrySlot?: string;
  /** A JSON object (it travels to the browser and back). */
  params: Payload;
}

/** An example checked against the flow, its entry slot decided. */
export interface ResolvedFlowExample {
  readonly entryRoutineId: string;
  readonly entrySlot: string;
  readonly params: Readonly<Payload>;
}

export interface FlowOptions {
  executionStrategy?: ExecutionStrategy;
  maxWorkers?: number;
  /** Job-level timeout in seconds (null = none). */
  timeout?: number | null;
  errorHandler?: ErrorHandler | null;
  /**
   * This flow's job budgets (queued activations, activations, queue bytes): each a whole number
   * ≥ 1, null for no limit, omitted to use the server's default (else the engine's). A flow's
   * value wins over the server's default, higher or lower.
   */
  budgets?: JobBudgetSettings;
  /**
   * An example run (entry routine, slot, params). Routines are added after the constructor, so it
   * is checked when used: `flow.example` is null and `validate()` says why while it does not fit.
   * `setExample` checks at once.
   */
  example?: FlowExample | null;
}

export interface StartOptions {
  entrySlot?: string;
  jobId?: string;
  /** Hooks for this job; when omitted, the installed hooks provider decides (monitoring). */
  hooks?: ExecutionHooks | null;
  /** Overrides the flow's job timeout (seconds, at most MAX_TIMEOUT_SECONDS). */
  timeout?: number | null;
  /**
   * Budgets for what the flow does not set itself: a server passes its defaults here. Omitted
   * budgets fall back to the engine's DEFAULT_JOB_BUDGETS.
   */
  defaultBudgets?: JobBudgetSettings;
  /**
   * The entry activation gets its own deep copy of `params` (structured clone), so `job.entryParams`
   * stays what was sent even when a handler changes its input in place. The server sets it: a job
   * can be run again with the same input. The params must be cloneable.
   */
  copyParams?: boolean;
  /**
   * The job's shared data at start (a fork's: the origin's as of the forked activation). Copied
   * (structured clone) before any hook sees the job.
   */
  shared?: Record<string, unknown>;
  /** A fork's origin: the job and the seq of the `routine_start` it re-runs. */
  forkedFrom?: { job_id: string; seq: number } | null;
}

export type ValidationLevel = "error" | "warning" | "info";
export interface ValidationIssue {
  level: ValidationLevel;
  code: string;
  message: string;
  routine_id?: string;
}

const ID_RE = ID_PATTERN;
const ROUTINE_ID_RE = NAME_PATTERN;

/** Where an example does not fit its flow: the field (as the DSL names it) and why. */
interface ExampleProblem {
  field: "entry_routine_id" | "entry_slot" | "params";
  message: string;
}

export function connectionId(src: string, event: string, dst: string, slot: string): string {
  return `${src}.${event}:${dst}.${slot}`;
}

/** A graph of routines (by id) and connections. It holds no run state: jobs do. */
export class Flow {
  readonly flowId: string;
  executionStrategy: ExecutionStrategy;
  maxWorkers: number;
  timeout: number | null;
  errorHandler: ErrorHandler | null;
  private budgetSettings: JobBudgetSettings = {};
  private readonly routineMap = new Map<string, Routine>();
  private readonly connectionList: Connection[] = [];
  private exampleSpec: FlowExample | null = null;
  /** routineId → event → routes, rebuilt on every edit. */
  private outgoing = new Map<string, Map<string, Route[]>>();
  /** Counts edits of the graph itself (routines added or removed, connections, the example). */
  private rev = 0;

  constructor(flowId: string, options: FlowOptions = {}) {
    if (typeof flowId !== "string" || !ID_RE.test(flowId)) {
      throw new FlowDefinitionError(
        "INVALID_ID",
        `Invalid flow id '${String(flowId)}' (1-128 of letters, digits, '_', '.', ':' or '-')`,
      );
    }
    this.flowId = flowId;
    this.executionStrategy = "sequential";
    this.maxWorkers = 5;
    if (options.timeout !== undefined && options.timeout !== null) checkTimeoutSeconds("timeout", options.timeout);
    this.timeout = options.timeout ?? null;
    if (options.budgets !== undefined) this.budgetSettings = checkBudgets(options.budgets);
    this.errorHandler = options.errorHandler ?? null;
    this.setExecutionStrategy(options.executionStrategy ?? "sequential", options.maxWorkers ?? 5);
    if (options.example) this.exampleSpec = copyExample(options.example);
  }

  /**
   * The example run, checked against the flow as it is now; null when there is none or it does not
   * fit (an unknown routine or slot: `validate()` reports it).
   */
  get example(): ResolvedFlowExample | null {
    if (!this.exampleSpec) return null;
    const r = this.resolveExample(this.exampleSpec);
    return "problem" in r ? null : r.example;
  }

  /** Sets (or clears, with null) the example run; throws INVALID_EXAMPLE when it does not fit the flow. */
  setExample(example: FlowExample | null): this {
    this.rev++;
    if (example === null) {
      this.exampleSpec = null;
      return this;
    }
    const r = this.resolveExample(example);
    if ("problem" in r) throw new FlowDefinitionError("INVALID_EXAMPLE", `example.${r.problem.field}: ${r.problem.message}`);
    this.exampleSpec = copyExample(example);
    return this;
  }

  private resolveExample(spec: FlowExample): { example: ResolvedFlowExample } | { problem: ExampleProblem } {
    const routine = typeof spec.entryRoutineId === "string" ? this.routineMap.get(spec.entryRoutineId) : undefined;
    if (!routine) return { problem: { field: "entry_routine_id", message: `routine '${String(spec.entryRoutineId)}' is not in flow '${this.flowId}'` } };
    const slots = routine.slotNames;
    let slot = spec.entrySlot;
    if (slot === undefined) {
      slot = routine.getSlot("trigger") ? "trigger" : slots.length === 1 ? slots[0] : undefined;
      if (slot === undefined) {
        const has = slots.length ? `its slots are ${slots.join(", ")}` : "it has no slots";
        return { problem: { field: "entry_slot", message: `needed for routine '${spec.entryRoutineId}' (${has}, none is 'trigger')` } };
      }
    } else if (!routine.getSlot(slot)) {
      return { problem: { field: "entry_slot", message: `routine '${spec.entryRoutineId}' has no slot '${slot}' (slots: ${slots.join(", ") || "none"})` } };
    }
    const params = paramsProblem(spec.params);
    if (params) return { problem: { field: "params", message: params } };
    return { example: { entryRoutineId: spec.entryRoutineId, entrySlot: slot, params: spec.params } };
  }

  setExecutionStrategy(strategy: ExecutionStrategy, maxWorkers = this.maxWorkers): this {
    if (strategy !== "sequential" && strategy !== "concurrent") {
      throw new FlowDefinitionError(
        "INVALID_STRATEGY",
        `Unknown execution strategy '${String(strategy)}' (sequential or concurrent)`,
      );
    }
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1 || maxWorkers > 1024) {
      throw new FlowDefinitionError("INVALID_STRATEGY", "maxWorkers must be a whole number from 1 to 1024");
    }
    this.executionStrategy = strategy;
    this.maxWorkers = maxWorkers;
    return this;
  }

  setErrorHandler(handler: ErrorHandler | null): this {
    this.errorHandler = handler;
    return this;
  }

  /** This flow's own budgets (a copy); those not set come from the server or the engine. */
  get budgets(): JobBudgetSettings {
    return { ...this.budgetSettings };
  }

  /**
   * Sets budgets of this flow for jobs started afterwards: a number ≥ 1, null for no limit,
   * undefined to go back to the default. Throws INVALID_BUDGET naming a bad one.
   */
  setBudgets(budgets: JobBudgetSettings): this {
    const next: JobBudgetSettings = { ...this.budgetSettings, ...checkBudgets(budgets) };
    for (const k of Object.keys(budgets) as (keyof JobBudgets)[]) if (budgets[k] === undefined) delete next[k];
    this.budgetSettings = next;
    return this;
  }

  get routines(): ReadonlyMap<string, Routine> {
    return this.routineMap;
  }

  get connections(): readonly Connection[] {
    return this.connectionList;
  }

  /**
   * Changes whenever the graph changes: routines added or removed, their slots, events or config,
   * connections, the example (a sum of never-decreasing counters, so it only grows). The plain
   * fields `executionStrategy`, `maxWorkers` and `timeout` are not in it: read them directly. Lets
   * a description of the flow be cached until the flow changes.
   */
  get revision(): number {
    let r = this.rev;
    for (const routine of this.routineMap.values()) r += routine.revision;
    return r;
  }

  getRoutine(id: string): Routine | undefined {
    return this.routineMap.get(id);
  }

  addRoutine(routine: Routine, id: string): string {
    if (typeof id !== "string" || !ROUTINE_ID_RE.test(id)) {
      throw new FlowDefinitionError(
        "INVALID_ID",
        `Invalid routine id '${String(id)}' (1-128 of letters, digits, '_' or '-')`,
      );
    }
    if (RESERVED_KEYS.has(id)) {
      // The DSL keys routines by id: such a flow could not be exported and imported again.
      throw new FlowDefinitionError("INVALID_ID", `Invalid routine id '${id}': ${RESERVED_RULE}`);
    }
    if (this.routineMap.has(id)) {
      throw new FlowDefinitionError("DUPLICATE_ROUTINE", `Routine id '${id}' already exists in flow '${this.flowId}'`);
    }
    this.routineMap.set(id, routine);
    this.rev++;
    return id;
  }

  /** Removes the routine and every connection touching it: no data reaches or leaves it afterwards. */
  removeRoutine(id: string): void {
    if (!this.routineMap.has(id)) {
      throw new FlowDefinitionError("ROUTINE_NOT_FOUND", `Routine '${id}' not found in flow '${this.flowId}'`);
    }
    // The routine's own count leaves the sum: added here, so the revision still only grows.
    this.rev += (this.routineMap.get(id) as Routine).revision;
    this.routineMap.delete(id);
    // An example entering here cannot run any more (and would make the exported DSL invalid).
    if (this.exampleSpec?.entryRoutineId === id) this.exampleSpec = null;
    for (let i = this.connectionList.length - 1; i >= 0; i--) {
      const c = this.connectionList[i] as Connection;
      if (c.sourceRoutineId === id || c.targetRoutineId === id) this.connectionList.splice(i, 1);
    }
    this.reindex();
  }

  connect(
    sourceId: string,
    eventName: string,
    targetId: string,
    slotName: string,
    paramMapping?: Record<string, string> | null,
  ): Connection {
    const source = this.routineMap.get(sourceId);
    if (!source) {
      throw new FlowDefinitionError("ROUTINE_NOT_FOUND", `Source routine '${sourceId}' not found in flow '${this.flowId}'`);
    }
    const target = this.routineMap.get(targetId);
    if (!target) {
      throw new FlowDefinitionError("ROUTINE_NOT_FOUND", `Target routine '${targetId}' not found in flow '${this.flowId}'`);
    }
    if (!target.getSlot(slotName)) {
      throw new FlowDefinitionError(
        "SLOT_NOT_FOUND",
        `Slot '${slotName}' not found on routine '${targetId}' (slots: ${target.slotNames.join(", ") || "none"})`,
      );
    }
    let mapping: Record<string, string> | null = null;
    if (paramMapping) {
      mapping = {};
      for (const [from, to] of Object.entries(paramMapping)) {
        if (typeof to !== "string" || to === "" || RESERVED_KEYS.has(from) || RESERVED_KEYS.has(to)) {
          throw new FlowDefinitionError("INVALID_MAPPING", `Invalid param mapping '${from}' → '${String(to)}'`);
        }
        mapping[from] = to;
      }
      if (Object.keys(mapping).length === 0) mapping = null;
    }
    const id = connectionId(sourceId, eventName, targetId, slotName);
    if (this.connectionList.some((c) => c.id === id)) {
      throw new FlowDefinitionError("DUPLICATE_CONNECTION", `Connection '${id}' already exists`);
    }
    source.declareImplicitEvent(eventName);
    const connection: Connection = {
      id,
      sourceRoutineId: sourceId,
      sourceEvent: eventName,
      targetRoutineId: targetId,
      targetSlot: slotName,
      paramMapping: mapping ? Object.freeze(mapping) : null,
    };
    this.connectionList.push(Object.freeze(connection));
    this.reindex();
    return connection;
  }

  /** Removes connections matching the given parts (all given parts must match). Returns how many. */
  disconnect(sourceId: string, eventName?: string, targetId?: string, slotName?: string): number {
    const before = this.connectionList.length;
    for (let i = this.connectionList.length - 1; i >= 0; i--) {
      const c = this.connectionList[i] as Connection;
      if (
        c.sourceRoutineId === sourceId &&
        (eventName === undefined || c.sourceEvent === eventName) &&
        (targetId === undefined || c.targetRoutineId === targetId) &&
        (slotName === undefined || c.targetSlot === slotName)
      ) {
        this.connectionList.splice(i, 1);
      }
    }
    this.reindex();
    return before - this.connectionList.length;
  }

  getConnection(id: string): Connection | undefined {
    return this.connectionList.find((c) => c.id === id);
  }

  removeConnection(id: string): void {
    const i = this.connectionList.findIndex((c) => c.id === id);
    if (i < 0) {
      throw new FlowDefinitionError("CONNECTION_NOT_FOUND", `Connection '${id}' not found in flow '${this.flowId}'`);
    }
    this.connectionList.splice(i, 1);
    this.reindex();
  }

  /** @internal The routes an event of a routine travels (undefined when none). */
  routesFor(routineId: string, eventName: string): Route[] | undefined {
    return this.outgoing.get(routineId)?.get(eventName);
  }

  /** The id under which `routine` is registered in this flow. */
  idOf(routine: Routine): string | undefined {
    for (const [id, r] of this.routineMap) if (r === routine) return id;
    return undefined;
  }

  validate(): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const fed = new Set<string>();
    const used = new Set<string>();
    for (const c of this.connectionList) {
      const src = this.routineMap.get(c.sourceRoutineId);
      const dst = this.routineMap.get(c.targetRoutineId);
      if (!src || !dst?.getSlot(c.targetSlot)) {
        issues.push({ level: "error", code: "DANGLING_CONNECTION", message: `Connection '${c.id}' points at a missing routine or slot` });
        continue;
      }
      fed.add(`${c.targetRoutineId}.${c.targetSlot}`);
      used.add(`${c.sourceRoutineId}.${c.sourceEvent}`);
    }
    for (const [id, routine] of this.routineMap) {
      for (const ev of routine.eventNames) {
        if (!used.has(`${id}.${ev}`)) {
          issues.push({ level: "warning", code: "UNCONNECTED_EVENT", routine_id: id, message: `Event '${id}.${ev}' is not connected (its data goes nowhere)` });
        }
      }
      for (const slot of routine.slotNames) {
        // `trigger` is the conventional entry slot: being unconnected is its normal state.
        if (slot !== "trigger" && !fed.has(`${id}.${slot}`)) {
          issues.push({ level: "warning", code: "UNCONNECTED_SLOT", routine_id: id, message: `Slot '${id}.${slot}' is not connected (it only runs as an entry point)` });
        }
      }
    }
    if (this.exampleSpec) {
      const r = this.resolveExample(this.exampleSpec);
      if ("problem" in r) issues.push({ level: "error", code: "INVALID_EXAMPLE", message: `example.${r.problem.field}: ${r.problem.message}` });
    }
    for (const cycle of this.findCycles()) {
      issues.push({ level: "info", code: "CYCLE", message: `Cycle: ${cycle.join(" -> ")}` });
    }
    issues.push(...this.multiplyingCycles());
    return issues;
  }

  /**
   * Loads a flow from a DSL document (object, YAML or JSON text) whose `class` names registered
   * types. All-or-nothing: on any problem it throws a DslError naming it, and no flow exists.
   */
  static fromDSL(source: unknown, registry: RoutineRegistry = routineRegistry, options: { flowId?: string } = {}): Flow {
    const raw = typeof source === "string" ? parseDslText(source) : source;
    const spec = validateDsl(raw);
    const flowId = options.flowId ?? spec.flow_id;
    if (!flowId) throw new DslError("flow_id", "a flow id is required (in the DSL or given by the caller)");
    if (options.flowId && spec.flow_id && spec.flow_id !== options.flowId) {
      throw new DslError("flow_id", `DSL flow_id '${spec.flow_id}' differs from the requested '${options.flowId}'`);
    }
    let flow: Flow;
    try {
      flow = new Flow(flowId, {
        executionStrategy: spec.execution?.strategy ?? "sequential",
        maxWorkers: spec.execution?.max_workers ?? 5,
        timeout: spec.execution?.timeout ?? null,
        budgets: budgetsFromDsl(spec.execution?.budgets),
      });
    } catch (err) {
      throw new DslError("flow_id", (err as Error).message);
    }
    for (const [id, r] of Object.entries(spec.routines)) {
      const path = `routines.${id}`;
      if (!registry.has(r.class)) {
        throw new DslError(`${path}.class`, `unknown routine type '${r.class}' (registered: ${registry.names.join(", ") || "none"})`);
      }
      try {
        const routine = registry.create(r.class, r.config);
        if (r.error_handler) {
          const h = r.error_handler;
          routine.setErrorHandler(
            new ErrorHandler(h.strategy, {
              maxRetries: h.max_retries,
              retryDelay: h.retry_delay,
              retryBackoff: h.retry_backoff,
              isCritical: h.is_critical,
            }),
          );
        }
        flow.addRoutine(routine, id);
      } catch (err) {
        if (err instanceof FlowDefinitionError) throw new DslError(path, err.message);
        throw err;
      }
    }
    (spec.connections ?? []).forEach((c, i) => {
      const path = `connections[${i}]`;
      const from = parseEndpoint(c.from);
      if (!from) throw new DslError(`${path}.from`, `Invalid connection format '${c.from}' (expected 'routine.event')`);
      const to = parseEndpoint(c.to);
      if (!to) throw new DslError(`${path}.to`, `Invalid connection format '${c.to}' (expected 'routine.slot')`);
      try {
        flow.connect(from.routineId, from.name, to.routineId, to.name, c.param_mapping ?? null);
      } catch (err) {
        if (err instanceof FlowDefinitionError) throw new DslError(path, err.message);
        throw err;
      }
    });
    if (spec.example) {
      const ex = spec.example;
      const r = flow.resolveExample({ entryRoutineId: ex.entry_routine_id, entrySlot: ex.entry_slot, params: ex.params });
      if ("problem" in r) throw new DslError(`example.${r.problem.field}`, r.problem.message);
      flow.exampleSpec = copyExample(r.example);
      flow.rev++;
    }
    return flow;
  }

  /** The flow as a DSL object; routines whose class is not registered cannot be exported. */
  toDSL(registry: RoutineRegistry = routineRegistry): FlowDsl {
    const routines: FlowDsl["routines"] = {};
    for (const [id, routine] of this.routineMap) {
      const name = registry.nameOf(routine);
      if (!name) {
        throw new FlowDefinitionError(
          "UNREGISTERED_TYPE",
          `Routine '${id}' (${routine.constructor.name}) is not a registered type, so it cannot be exported to the DSL`,
        );
      }
      const entry: FlowDsl["routines"][string] = { class: name };
      const config = routine.getConfigObject();
      if (Object.keys(config).length > 0) entry.config = config;
      const h = routine.getErrorHandler();
      if (h) entry.error_handler = h.toJSON();
      routines[id] = entry;
    }
    const dsl: FlowDsl = {
      flow_id: this.flowId,
      routines,
      connections: this.connectionList.map((c) => {
        const out: { from: string; to: string; param_mapping?: Record<string, string> } = {
          from: `${c.sourceRoutineId}.${c.sourceEvent}`,
          to: `${c.targetRoutineId}.${c.targetSlot}`,
        };
        if (c.paramMapping) out.param_mapping = { ...c.paramMapping };
        return out;
      }),
      execution: { strategy: this.executionStrategy, max_workers: this.maxWorkers, timeout: this.timeout },
    };
    const budgets = budgetsToDsl(this.budgetSettings);
    if (budgets !== null && dsl.execution) dsl.execution.budgets = budgets;
    const ex = this.example;
    if (ex) dsl.example = { entry_routine_id: ex.entryRoutineId, entry_slot: ex.entrySlot, params: structuredClone(ex.params) };
    return dsl;
  }

  /** Starts a job and returns it at once; the job runs in the background. */
  start(entryId: string, params: Payload = {}, options: StartOptions = {}): Job {
    const entry = this.routineMap.get(entryId);
    if (!entry) {
      throw new FlowDefinitionError("ROUTINE_NOT_FOUND", `Entry routine '${entryId}' not found in flow '${this.flowId}'`);
    }
    const slotName = options.entrySlot ?? "trigger";
    const slot = entry.getSlot(slotName);
    if (!slot) {
      throw new FlowDefinitionError(
        "SLOT_NOT_FOUND",
        `Entry slot '${slotName}' not found on routine '${entryId}' (slots: ${entry.slotNames.join(", ") || "none"})`,
      );
    }
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw new FlowDefinitionError("INVALID_PARAMS", "Entry params must be an object");
    }
    if (options.timeout !== undefined && options.timeout !== null) checkTimeoutSeconds("timeout", options.timeout);
    if (options.defaultBudgets !== undefined) checkBudgets(options.defaultBudgets, "defaultBudgets");
    const job = new Job(this, entryId, entry, slot, params, options);
    job.start();
    return job;
  }

  /** start + wait: resolves with the finished job (completed, failed or cancelled). */
  execute(entryId: string, params: Payload = {}, options: StartOptions = {}): Promise<Job> {
    return this.start(entryId, params, options).done;
  }

  private reindex(): void {
    this.rev++;
    const next = new Map<string, Map<string, Route[]>>();
    for (const c of this.connectionList) {
      const routine = this.routineMap.get(c.targetRoutineId);
      const slot = routine?.getSlot(c.targetSlot);
      if (!routine || !slot) continue;
      const byEvent = next.get(c.sourceRoutineId) ?? new Map<string, Route[]>();
      next.set(c.sourceRoutineId, byEvent);
      const routes = byEvent.get(c.sourceEvent) ?? [];
      byEvent.set(c.sourceEvent, routes);
      routes.push({ connection: c, routine, slot });
    }
    this.outgoing = next;
  }

  /**
   * Cycles that multiply: a routine in a cycle with an event whose connections lead back into
   * that cycle more than once. Each pass through it then sends several payloads round again, so
   * the job's queue grows without bound (breadth-first, it doubles every lap) unless a routine
   * stops it or a budget ends the job. Found per strongly connected component (Tarjan).
   */
  private multiplyingCycles(): ValidationIssue[] {
    const component = this.components();
    const issues: ValidationIssue[] = [];
    const byEvent = new Map<string, Connection[]>();
    for (const c of this.connectionList) {
      const comp = component.get(c.sourceRoutineId);
      if (comp === undefined || comp !== component.get(c.targetRoutineId)) continue;
      const key = `${c.sourceRoutineId}.${c.sourceEvent}`;
      const list = byEvent.get(key) ?? [];
      list.push(c);
      byEvent.set(key, list);
    }
    for (const [key, conns] of byEvent) {
      if (conns.length < 2) continue;
      const first = conns[0] as Connection;
      const members = (component.get(first.sourceRoutineId) as string[]).join(", ");
      const targets = conns.map((c) => `${c.targetRoutineId}.${c.targetSlot}`).join(", ");
      issues.push({
        level: "warning",
        code: "MULTIPLYING_CYCLE",
        routine_id: first.sourceRoutineId,
        message:
          `Cycle through ${members} multiplies: every '${key}' sends ${conns.length} payloads back into it (to ${targets}), ` +
          "so a job grows without bound unless a routine stops it (a condition or a counter) — otherwise it ends on its budget",
      });
    }
    return issues;
  }

  /** Routine id → the routines of its strongly connected component, for components that hold a cycle. */
  private components(): Map<string, string[]> {
    const adj = new Map<string, string[]>();
    const selfLoop = new Set<string>();
    for (const c of this.connectionList) {
      if (!this.routineMap.has(c.sourceRoutineId) || !this.routineMap.has(c.targetRoutineId)) continue;
      const list = adj.get(c.sourceRoutineId) ?? [];
      list.push(c.targetRoutineId);
      adj.set(c.sourceRoutineId, list);
      if (c.sourceRoutineId === c.targetRoutineId) selfLoop.add(c.sourceRoutineId);
    }
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const out = new Map<string, string[]>();
    let next = 0;
    // Iterative, so a long chain of routines cannot overflow the call stack.
    for (const root of this.routineMap.keys()) {
      if (index.has(root)) continue;
      const work: { node: string; i: number }[] = [{ node: root, i: 0 }];
      index.set(root, next);
      low.set(root, next++);
      stack.push(root);
      onStack.add(root);
      while (work.length > 0) {
        const top = work[work.length - 1] as { node: string; i: number };
        const edges = adj.get(top.node) ?? [];
        if (top.i < edges.length) {
          const m = edges[top.i++] as string;
          if (!index.has(m)) {
            index.set(m, next);
            low.set(m, next++);
            stack.push(m);
            onStack.add(m);
            work.push({ node: m, i: 0 });
          } else if (onStack.has(m)) low.set(top.node, Math.min(low.get(top.node) as number, index.get(m) as number));
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
        if (low.get(top.node) === index.get(top.node)) {
          const members: string[] = [];
          let m: string;
          do {
            m = stack.pop() as string;
            onStack.delete(m);
            members.push(m);
          } while (m !== top.node);
          if (members.length > 1 || selfLoop.has(top.node)) {
            members.reverse();
            for (const id of members) out.set(id, members);
          }
        }
      }
    }
    return out;
  }

  private findCycles(): string[][] {
    const adj = new Map<string, string[]>();
    for (const c of this.connectionList) {
      const list = adj.get(c.sourceRoutineId) ?? [];
      if (!list.includes(c.targetRoutineId)) list.push(c.targetRoutineId);
      adj.set(c.sourceRoutineId, list);
    }
    const cycles: string[][] = [];
    const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 1);
      stack.push(n);
      for (const m of adj.get(n) ?? []) {
        const s = state.get(m);
        if (s === 1) cycles.push([...stack.slice(stack.indexOf(m)), m]);
        else if (s === undefined) visit(m);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const id of this.routineMap.keys()) if (!state.has(id)) visit(id);
    return cycles;
  }
}

/** Why `params` cannot be an example's params (not a JSON object, or refused as a job payload), or null. */
function paramsProblem(params: unknown): string | null {
  if (typeof params !== "object" || params === null || Array.isArray(params) || !isJsonValue(params)) return "must be a JSON object (the params a job is started with)";
  const r = PayloadSchema.safeParse(params);
  return r.success ? null : (r.error.issues[0]?.message ?? "is not a valid job payload");
}

/** A private copy: later changes to the caller's object do not change the example. */
function copyExample(e: FlowExample): FlowExample {
  const params = typeof e.params === "object" && e.params !== null && isJsonValue(e.params) ? structuredClone(e.params) : e.params;
  return e.entrySlot === undefined ? { entryRoutineId: e.entryRoutineId, params } : { entryRoutineId: e.entryRoutineId, entrySlot: e.entrySlot, params };
}

type DslBudgets = NonNullable<NonNullable<FlowDsl["execution"]>["budgets"]>;

function budgetsFromDsl(b: DslBudgets | undefined): JobBudgetSettings | undefined {
  if (b === undefined) return undefined;
  const out: JobBudgetSettings = {};
  for (const [k, name] of Object.entries(BUDGET_NAMES) as [keyof JobBudgets, string][]) {
    const v = b[name as keyof DslBudgets];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function budgetsToDsl(b: JobBudgetSettings): DslBudgets | null {
  const out: DslBudgets = {};
  for (const [k, name] of Object.entries(BUDGET_NAMES) as [keyof JobBudgets, keyof DslBudgets][]) {
    const v = b[k];
    if (v !== undefined) out[name] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** Function spelling of `Flow.fromDSL`. */
export function flowFromDsl(source: unknown, registry?: RoutineRegistry, options?: { flowId?: string }): Flow {
  return Flow.fromDSL(source, registry, options);
}

/** Function spelling of `flow.toDSL`. */
export function flowToDsl(flow: Flow, registry?: RoutineRegistry): FlowDsl {
  return flow.toDSL(registry);
}
