import { type Flow, flowFromDsl, type Job, type Payload, type RoutineRegistry, routineRegistry } from "../engine";
import { MonitoringError, MonitoringRegistry } from "../monitoring";

export interface StartJobRequest {
  flow_id: string;
  entry_routine_id: string;
  entry_slot?: string;
  entry_params?: Payload;
  /** Job-scoped breakpoints set before the first activation runs. */
  breakpoints?: Record<string, unknown>[];
  pause_on_start?: boolean;
}

export interface RuntimeOptions {
  registry?: RoutineRegistry;
  /** Flows available from the start (demo flows, the program's own). */
  flows?: Flow[];
}

/**
 * The one engine + monitoring instance of a server process: the flows it serves, the routine
 * registry DSL flows are built from, and the monitoring services (always enabled here). Wire
 * adapters (HTTP routes, WebSockets, socket.io) only call this object's methods, so a bundler's
 * second copy of the library never holds state of its own.
 */
export class Runtime {
  readonly registry: RoutineRegistry;
  readonly monitoring: MonitoringRegistry;
  private readonly flowMap = new Map<string, Flow>();
  private readonly flowListeners = new Set<(flowId: string, job: Job) => void>();

  constructor(options: RuntimeOptions = {}) {
    this.registry = options.registry ?? routineRegistry;
    MonitoringRegistry.enable();
    this.monitoring = MonitoringRegistry.getInstance();
    for (const flow of options.flows ?? []) this.addFlow(flow);
  }

  get flows(): Flow[] {
    return [...this.flowMap.values()];
  }

  addFlow(flow: Flow): Flow {
    if (this.flowMap.has(flow.flowId)) throw new MonitoringError("conflict", "FLOW_EXISTS", `Flow '${flow.flowId}' already exists`);
    this.flowMap.set(flow.flowId, flow);
    return flow;
  }

  /** A new flow from a DSL document (object or YAML/JSON text), or an empty one. All or nothing. */
  createFlow(flowId: string, dsl?: unknown): Flow {
    if (this.flowMap.has(flowId)) throw new MonitoringError("conflict", "FLOW_EXISTS", `Flow '${flowId}' already exists`);
    let flow: Flow;
    try {
      flow = dsl === undefined || dsl === null ? flowFromDsl({ flow_id: flowId, routines: {} }, this.registry) : flowFromDsl(dsl, this.registry, { flowId });
    } catch (err) {
      throw new MonitoringError("bad_request", (err as { code?: string }).code ?? "INVALID_DSL", (err as Error).message);
    }
    return this.addFlow(flow);
  }

  getFlow(flowId: string): Flow {
    const flow = this.flowMap.get(flowId);
    if (!flow) throw new MonitoringError("not_found", "FLOW_NOT_FOUND", `Flow '${flowId}' not found`);
    return flow;
  }

  hasFlow(flowId: string): boolean {
    return this.flowMap.has(flowId);
  }

  /** Removes the flow and its flow-scoped breakpoints; its jobs stay in history. */
  deleteFlow(flowId: string): void {
    this.getFlow(flowId);
    this.flowMap.delete(flowId);
    this.monitoring.breakpointManager.clearFlowBreakpoints(flowId);
  }

  getJob(jobId: string): Job {
    const job = this.monitoring.jobStore.get(jobId);
    if (!job) throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
    return job;
  }

  /**
   * Starts a job and returns it at once (status running); it runs in the background. Breakpoints
   * of the request and pause_on_start take effect before its first activation.
   */
  startJob(req: StartJobRequest): Job {
    const flow = this.getFlow(req.flow_id);
    let job: Job;
    try {
      job = flow.start(req.entry_routine_id, req.entry_params ?? {}, { entrySlot: req.entry_slot ?? "trigger" });
    } catch (err) {
      throw new MonitoringError("bad_request", (err as { code?: string }).code ?? "INVALID_START", (err as Error).message);
    }
    // The first activation runs on a microtask: everything below happens before it.
    const bpm = this.monitoring.breakpointManager;
    const created: string[] = [];
    try {
      for (const bp of req.breakpoints ?? []) created.push(bpm.setBreakpoint({ ...bp, job_id: job.jobId }).breakpoint_id);
    } catch (err) {
      for (const id of created) bpm.removeBreakpoint(id);
      job.cancel("Invalid breakpoint in the start request");
      throw err;
    }
    if (req.pause_on_start) this.monitoring.debugSessionManager.getSession(job.jobId).pause("entry");
    for (const listener of this.flowListeners) listener(flow.flowId, job);
    return job;
  }

  /** Called with every job started through this runtime (flow monitors use it). */
  onJobStarted(listener: (flowId: string, job: Job) => void): () => void {
    this.flowListeners.add(listener);
    return () => this.flowListeners.delete(listener);
  }
}

const RUNTIME_KEY = Symbol.for("routilux.runtime");
type Slot = { [RUNTIME_KEY]?: Runtime };

/** Installs the process's runtime (the custom server does it before Next prepares). */
export function setRuntime(runtime: Runtime): Runtime {
  (globalThis as Slot)[RUNTIME_KEY] = runtime;
  return runtime;
}

/** The process's runtime; created empty on first use when no server installed one (e.g. `next dev`). */
export function getRuntime(): Runtime {
  const slot = globalThis as Slot;
  slot[RUNTIME_KEY] ??= new Runtime();
  return slot[RUNTIME_KEY];
}
