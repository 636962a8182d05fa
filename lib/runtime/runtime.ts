import { checkBudgets, DslError, type Flow, flowFromDsl, flowToDsl, type Job, type JobBudgetSettings, type JobStatus, type RoutineRegistry, routineRegistry } from "../engine";
import { parseDslTextOffThread } from "./dsl-off-thread";
import {
  type EventWithPayload,
  type FlowStructure,
  type FoldActivation,
  JobFold,
  type JobMetrics,
  type JobSnapshot,
  MonitoringError,
  MonitoringRegistry,
  openActivationOf,
  routineStatesOf,
  connectionCountsOf,
  type SessionSnapshot,
  StateAtCache,
  type FoldEvent,
  type TraceEvent,
  TraceRecord,
} from "../monitoring";
import type { ActivationAt, ForkedFrom, ForkRequest, JobStateAt } from "../wire/timetravel";
import { type JobSummary, Persistence, type PersistenceOptions } from "../persistence";
import type { DevStatus, Health, JobFlow, JobIoPage, PayloadRowKind } from "../wire/model";
import type { StartJobRequest } from "../wire/requests";
import type { FlowsReloaded, FlowsReloadFailed } from "../wire/sockets";
import { installedRuntime, setRuntime } from "./current";
import { FlowDescriber, structureText } from "./flow-detail";
import { type HealthCheck, LoopDelayMonitor } from "./health";
import { diffRuns } from "./run-diff";
import { readRun } from "./run-source";
import type { JobDiff } from "../wire/timetravel";
import type { JobRunning } from "../wire/sockets";
import type { RemoteJobs, StartedJob } from "./remote";

export type { JobSummary } from "../persistence";
export type { RelayedAnswer, RelayedRequest, RemoteJobs, StartedJob } from "./remote";
export type { StartJobRequest } from "../wire/requests";

export interface RuntimeOptions {
  registry?: RoutineRegistry;
  /** Flows available from the start (demo flows, the program's own). */
  flows?: Flow[];
  /**
   * Durable history in SQLite: flows created over HTTP, flow breakpoints, jobs, traces, metrics.
   * Off when omitted (a library user's runtime never touches the disk).
   */
  persistence?: PersistenceOptions;
  /**
   * Bytes of full payloads kept per job (inputs and outputs of every activation); beyond it,
   * previews only. Applies to jobs started afterwards. Default 1 MiB.
   */
  payloadBudgetBytes?: number;
  /**
   * Trace events kept per job (the ring; default 1,000). The state at a seq and forks are rebuilt
   * from them: a job's state before its oldest kept event cannot be.
   */
  maxEventsPerJob?: number;
  /** Jobs paused at once at most (default 100): a further stop is not made, and health says so. */
  maxPausedJobs?: number;
  /** Cancel a job paused this long with no debug command (ms); default: never. */
  pausedIdleExpiryMs?: number | null;
  /**
   * The server's default job budgets, for what a flow does not set itself (a flow's own budgets
   * win); omitted ones are the engine's DEFAULT_JOB_BUDGETS.
   */
  jobBudgets?: JobBudgetSettings;
}

/** What `replaceFlows` did, by flow id. */
export interface FlowsReplaced {
  /** The version now served (see `devStatus`). */
  version: number;
  added: string[];
  /** Flows of the same id whose definition (and code) was swapped for the new one. */
  changed: string[];
  removed: string[];
}

/** A reload of the program's flows, as the live channels announce it. */
export type FlowsReloadNotice = { kind: "reloaded"; info: FlowsReloaded } | { kind: "failed"; info: FlowsReloadFailed };

export interface JobIoRequest {
  routineId?: string;
  kind?: PayloadRowKind;
  afterSeq?: number;
  limit?: number;
}

export interface JobListRequest {
  flowId?: string;
  status?: JobStatus;
  limit?: number;
  offset?: number;
}

function summaryOf(job: Job): JobSummary {
  return {
    job_id: job.jobId,
    flow_id: job.flowId,
    status: job.status,
    entry_routine_id: job.entryRoutineId,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    duration_ms: job.startedAt && job.finishedAt ? job.finishedAt.getTime() - job.startedAt.getTime() : null,
    error: job.error,
    forked_from: job.forkedFrom,
  };
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
  private readonly flowListeners = new Set<(flowId: string, jobId: string) => void>();
  /** Durable history, when the runtime was given a database. */
  readonly persistence: Persistence | null = null;
  /** Flows created over HTTP (saved in the database); code flows are re-registered by their program. */
  private readonly savedFlows = new Set<string>();
  private readonly describer: FlowDescriber;
  private readonly reloadListeners = new Set<(notice: FlowsReloadNotice) => void>();
  private reload: DevStatus = { watching: false, version: 1, reloaded_at: null, flow_ids: [], error: null };
  private readonly loopDelay = new LoopDelayMonitor();
  private readonly healthChecks = new Set<HealthCheck>();
  /** Flow ids being created by a request between its build and its save. */
  private readonly creating = new Set<string>();
  /** Flows in the database that could not be rebuilt at start, with why (reported by health). */
  private readonly unrestored = new Map<string, string>();
  /** Default budgets of every job this runtime starts (see RuntimeOptions.jobBudgets). */
  readonly jobBudgets: Readonly<JobBudgetSettings>;
  /** Folds of recently scrubbed jobs (state at a seq, forks). */
  readonly stateAtCache = new StateAtCache();
  /** Jobs running on a cluster's workers (a server with Redis configured); null: everything runs here. */
  remote: RemoteJobs | null = null;
  private readonly remoteSessionListeners = new Set<(jobId: string, session: SessionSnapshot) => void>();
  private readonly sharedFlowListeners = new Set<(flowId: string, dsl: unknown) => void>();

  constructor(options: RuntimeOptions = {}) {
    this.registry = options.registry ?? routineRegistry;
    this.jobBudgets = Object.freeze(checkBudgets(options.jobBudgets ?? {}, "jobBudgets"));
    MonitoringRegistry.enable();
    this.monitoring = MonitoringRegistry.getInstance();
    this.monitoring.debugSessionManager.setLimits({
      ...(options.maxPausedJobs !== undefined ? { maxPaused: options.maxPausedJobs } : {}),
      ...(options.pausedIdleExpiryMs !== undefined ? { idleExpiryMs: options.pausedIdleExpiryMs } : {}),
    });
    // At the cap, breakpoints stop nothing: a user wondering why must be able to see it.
    this.addHealthCheck(() => this.monitoring.debugSessionManager.stopRefusal());
    this.describer = new FlowDescriber(this.registry);
    this.monitoring.jobStore.onRemove((jobId) => this.stateAtCache.drop(jobId));
    // Every job keeps the flow it started on (with its record, and in history).
    this.monitoring.monitorCollector.describeFlow = (flow) => this.describer.describe(flow);
    if (options.payloadBudgetBytes !== undefined) this.monitoring.monitorCollector.setPayloadBudget(options.payloadBudgetBytes);
    if (options.maxEventsPerJob !== undefined) this.monitoring.monitorCollector.setMaxEventsPerJob(options.maxEventsPerJob);
    for (const flow of options.flows ?? []) this.addFlow(flow);
    if (options.persistence) {
      const p = Persistence.open(options.persistence, this.monitoring);
      this.persistence = p;
      for (const saved of p.savedFlows()) {
        // A code flow of the same id wins: it is the program's current definition.
        if (this.flowMap.has(saved.flow_id)) continue;
        try {
          this.addFlow(flowFromDsl(JSON.parse(saved.dsl), this.registry, { flowId: saved.flow_id }));
          this.savedFlows.add(saved.flow_id);
        } catch (err) {
          console.warn(`[persistence] flow '${saved.flow_id}' could not be rebuilt: ${(err as Error).message}`);
          this.unrestored.set(saved.flow_id, (err as Error).message);
        }
      }
      p.attach((flowId) => this.flowMap.has(flowId));
      // Failing writes (and a read-only history) show in /api/health as degraded, with the reason.
      this.addHealthCheck(() => p.unavailableReason());
      this.addHealthCheck(() => {
        if (this.unrestored.size === 0) return null;
        const [id, why] = this.unrestored.entries().next().value as [string, string];
        const more = this.unrestored.size > 1 ? ` (and ${this.unrestored.size - 1} more)` : "";
        return `flow '${id}' stored in history could not be restored: ${why}${more}; it is not served (creating a flow of that id replaces it)`;
      });
    }
  }

  /**
   * Throws HistoryUnavailableError (503) while history cannot be written: requests that would
   * change it are refused rather than acknowledged and lost. No history, no check.
   */
  assertHistoryWritable(): void {
    this.persistence?.assertWritable();
  }

  /** Writes pending history and closes the database (graceful stop). */
  close(): void {
    this.loopDelay.stop();
    this.persistence?.close();
  }

  /** Adds a check to `/api/health`: it returns why the server is degraded, or null. */
  addHealthCheck(check: HealthCheck): () => void {
    this.healthChecks.add(check);
    return () => this.healthChecks.delete(check);
  }

  /** Healthy, or degraded with the reasons the checks give; and the event loop's recent delay. */
  health(): Health {
    const reasons: string[] = [];
    for (const check of this.healthChecks) {
      const reason = check();
      if (reason !== null) reasons.push(reason);
    }
    const paused = this.monitoring.debugSessionManager.stats();
    return { status: reasons.length === 0 ? "healthy" : "degraded", reasons, event_loop: this.loopDelay.stats(), paused_jobs: paused };
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
    return this.storeNewFlow(this.buildFlow(flowId, dsl));
  }

  /** Builds a new flow (not served yet): all checks but the save. */
  private buildFlow(flowId: string, dsl: unknown): Flow {
    if (this.flowMap.has(flowId) || this.creating.has(flowId)) throw new MonitoringError("conflict", "FLOW_EXISTS", `Flow '${flowId}' already exists`);
    this.assertHistoryWritable();
    let flow: Flow;
    try {
      flow = dsl === undefined || dsl === null ? flowFromDsl({ flow_id: flowId, routines: {} }, this.registry) : flowFromDsl(dsl, this.registry, { flowId });
    } catch (err) {
      // A DSL over a limit keeps its status (413 for size) and names the limit in its details.
      if (err instanceof DslError && err.code === "DSL_LIMIT_EXCEEDED") throw err;
      throw new MonitoringError("bad_request", (err as { code?: string }).code ?? "INVALID_DSL", (err as Error).message);
    }
    return flow;
  }

  /** Serves a freshly built flow, written to history before the 201 (one that cannot be saved is not created). */
  private storeNewFlow(flow: Flow): Flow {
    const flowId = flow.flowId;
    this.assertHistoryWritable();
    this.addFlow(flow);
    this.savedFlows.add(flowId);
    if (this.persistence) {
      // Written before the 201: a flow that cannot be saved is not created.
      try {
        this.persistence.saveFlow(flowId, flowToDsl(flow, this.registry));
      } catch (err) {
        this.flowMap.delete(flowId);
        this.savedFlows.delete(flowId);
        // A stored flow that could not be restored keeps its row; otherwise the queued save
        // becomes a delete (an older row of this id, deleted meanwhile, stays deleted).
        if (this.unrestored.has(flowId)) this.persistence.dropPendingFlow(flowId);
        else this.persistence.deleteFlow(flowId);
        throw err;
      }
    }
    this.unrestored.delete(flowId); // recreated: the stored one is replaced
    this.notifySharedFlow(flowId);
    return flow;
  }

  /**
   * Flows created over HTTP, as they change (created, edited: the DSL; deleted: null). A cluster
   * shares them, so every server and worker serves the flow a user made on one of them.
   */
  onSharedFlowChange(listener: (flowId: string, dsl: unknown) => void): () => void {
    this.sharedFlowListeners.add(listener);
    return () => this.sharedFlowListeners.delete(listener);
  }

  /** The flows created over HTTP, as DSL (a cluster's server offers them to the others when it joins). */
  sharedFlows(): { flowId: string; dsl: unknown }[] {
    return [...this.savedFlows].flatMap((id) => {
      const flow = this.flowMap.get(id);
      return flow ? [{ flowId: id, dsl: flowToDsl(flow, this.registry) }] : [];
    });
  }

  private notifySharedFlow(flowId: string): void {
    if (this.sharedFlowListeners.size === 0) return;
    const flow = this.flowMap.get(flowId);
    const dsl = flow && this.savedFlows.has(flowId) ? flowToDsl(flow, this.registry) : null;
    for (const listener of this.sharedFlowListeners) listener(flowId, dsl);
  }

  /**
   * A flow created over HTTP elsewhere in the cluster (its DSL), or deleted there (null): served
   * here from now on, or no more. A code flow of that id wins; nothing is written to this process's
   * history and its flow breakpoints are left alone (the cluster shares those itself). Jobs already
   * running keep the Flow they started with.
   */
  applySharedFlow(flowId: string, dsl: unknown): void {
    if (this.flowMap.has(flowId) && !this.savedFlows.has(flowId)) return;
    if (dsl === null) {
      if (this.savedFlows.delete(flowId)) this.flowMap.delete(flowId);
      return;
    }
    const flow = flowFromDsl(dsl, this.registry, { flowId });
    this.flowMap.set(flowId, flow);
    this.savedFlows.add(flowId);
  }

  /**
   * createFlow for a request: DSL text is parsed on a worker thread (dsl-off-thread.ts), so a
   * large or hostile document does not stall the event loop; an object goes straight through.
   */
  async createFlowFromRequest(flowId: string, dsl?: unknown): Promise<Flow> {
    if (typeof dsl !== "string") return this.createFlow(flowId, dsl);
    if (this.flowMap.has(flowId) || this.creating.has(flowId)) throw new MonitoringError("conflict", "FLOW_EXISTS", `Flow '${flowId}' already exists`);
    this.assertHistoryWritable();
    let parsed: unknown;
    try {
      parsed = await parseDslTextOffThread(dsl);
    } catch (err) {
      if (err instanceof DslError && err.code === "DSL_LIMIT_EXCEEDED") throw err;
      throw new MonitoringError("bad_request", (err as { code?: string }).code ?? "INVALID_DSL", (err as Error).message);
    }
    // A large document costs tens of milliseconds at each step on this thread: receiving it from
    // the worker, building the flow, saving it, describing it for the answer. One step per turn of
    // the event loop, so what waits (health, sockets, other requests) runs between them.
    await nextTurn();
    const flow = this.buildFlow(flowId, parsed);
    // Reserved while it waits: no other request can create this id, and it is not served until stored.
    this.creating.add(flowId);
    try {
      await nextTurn();
    } finally {
      this.creating.delete(flowId);
    }
    this.storeNewFlow(flow);
    await nextTurn();
    return flow;
  }

  /**
   * Edits a flow's graph with `edit`, keeping the edit only if the flow still follows the DSL's
   * rules (its exported DSL builds again): what is served is what comes back after a restart.
   * Otherwise `undo` reverts it and the caller gets a bad_request naming the rule. A flow created
   * over HTTP is saved with every edit: while history cannot be written the edit is refused (503)
   * before anything changes.
   */
  editFlow<T>(flowId: string, edit: (flow: Flow) => T, undo: (flow: Flow, done: T) => void): T {
    const flow = this.flowForEdit(flowId);
    const done = edit(flow);
    try {
      flowFromDsl(flowToDsl(flow, this.registry), this.registry, { flowId });
    } catch (err) {
      undo(flow, done);
      throw new MonitoringError("bad_request", "INVALID_DSL", `The edit would make flow '${flowId}' one its DSL cannot describe (it would not survive a restart): ${(err as Error).message}`);
    }
    this.flowChanged(flowId);
    return done;
  }

  /**
   * Call after editing a flow's graph (routines, connections): a flow created over HTTP is saved
   * again, now. The edit checked `assertHistoryWritable` first (`flowForEdit`); a write failing at
   * this very moment leaves the edit applied and queued for the retries.
   */
  flowChanged(flowId: string): void {
    const flow = this.flowMap.get(flowId);
    if (flow && this.savedFlows.has(flowId)) this.notifySharedFlow(flowId);
    if (!flow || !this.persistence || !this.savedFlows.has(flowId)) return;
    try {
      this.persistence.saveFlow(flowId, flowToDsl(flow, this.registry));
    } catch (err) {
      console.warn(`[persistence] flow '${flowId}' not saved yet: ${(err as Error).message}`);
    }
  }

  getFlow(flowId: string): Flow {
    const flow = this.flowMap.get(flowId);
    if (!flow) throw new MonitoringError("not_found", "FLOW_NOT_FOUND", `Flow '${flowId}' not found`);
    return flow;
  }

  /**
   * The flow, for a graph edit: a flow created over HTTP is saved with every edit, so while
   * history cannot be written the edit is refused (503) before anything changes.
   */
  flowForEdit(flowId: string): Flow {
    const flow = this.getFlow(flowId);
    if (this.savedFlows.has(flowId)) this.assertHistoryWritable();
    return flow;
  }

  hasFlow(flowId: string): boolean {
    return this.flowMap.has(flowId);
  }

  /**
   * Swaps the program's own flows (every flow not created over HTTP) for `flows`, by id: a flow
   * of a known id replaces the old one, a new id is added, a code flow missing from `flows` is
   * removed with its flow breakpoints. Jobs already running keep the Flow they started with; jobs
   * started afterwards get the new one. Flow breakpoints of kept ids stay (they name routines by
   * id). A flow created over HTTP is left alone unless `flows` has one of the same id: code wins,
   * as it does at start. All or nothing: two flows of one id are refused before anything changes.
   */
  replaceFlows(flows: readonly Flow[]): FlowsReplaced {
    const next = new Map<string, Flow>();
    for (const flow of flows) {
      if (next.has(flow.flowId)) throw new MonitoringError("conflict", "DUPLICATE_FLOW", `Two flows have the id '${flow.flowId}'`);
      next.set(flow.flowId, flow);
    }
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    for (const id of [...this.flowMap.keys()]) {
      if (this.savedFlows.has(id) || next.has(id)) continue;
      this.flowMap.delete(id);
      this.monitoring.breakpointManager.clearFlowBreakpoints(id);
      removed.push(id);
    }
    for (const [id, flow] of next) {
      const code = this.flowMap.has(id) && !this.savedFlows.has(id);
      // An HTTP flow of this id gives way (its stored DSL stays: at start, code wins again).
      this.savedFlows.delete(id);
      (code ? changed : added).push(id);
      this.flowMap.set(id, flow); // a kept id keeps its place in the listing
    }
    const at = new Date().toISOString();
    const flowIds = [...added, ...changed, ...removed];
    this.reload = { ...this.reload, version: this.reload.version + 1, reloaded_at: at, flow_ids: flowIds, error: null };
    this.notifyReload({ kind: "reloaded", info: { flow_ids: flowIds, version: this.reload.version, at } });
    return { version: this.reload.version, added, changed, removed };
  }

  /** A reload of the program's code failed: the flows served stay as they are; `devStatus` and the live channels say why. */
  reloadFailed(message: string): void {
    const at = new Date().toISOString();
    this.reload = { ...this.reload, error: { message, at } };
    this.notifyReload({ kind: "failed", info: { error: message, at } });
  }

  /** Whether the program reloads its flows when their files change (`routilux dev`). */
  setWatching(watching: boolean): void {
    this.reload = { ...this.reload, watching };
  }

  /** The version of the program's flows being served and how the last reload went. */
  devStatus(): DevStatus {
    return { ...this.reload, flow_ids: [...this.reload.flow_ids] };
  }

  /** Called on every reload of the program's flows, successful or not (socket.io announces them). */
  onFlowsReload(listener: (notice: FlowsReloadNotice) => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  private notifyReload(notice: FlowsReloadNotice): void {
    for (const listener of this.reloadListeners) {
      try {
        listener(notice);
      } catch (err) {
        console.warn(`[runtime] a reload listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Removes the flow and its flow-scoped breakpoints; its jobs stay in history. */
  deleteFlow(flowId: string): void {
    this.getFlow(flowId);
    if (this.savedFlows.has(flowId)) this.assertHistoryWritable();
    this.flowMap.delete(flowId);
    this.monitoring.breakpointManager.clearFlowBreakpoints(flowId);
    if (this.savedFlows.delete(flowId)) {
      this.persistence?.deleteFlow(flowId);
      for (const listener of this.sharedFlowListeners) listener(flowId, null);
    }
  }

  /**
   * A job of this process (running or finished). A finished job restored from history cannot be
   * changed or debugged: asking for it here answers 409.
   */
  getJob(jobId: string): Job {
    const job = this.monitoring.jobStore.get(jobId);
    if (job) return job;
    const archived = this.persistence?.archive.get(jobId);
    if (archived) throw new MonitoringError("conflict", "JOB_FINISHED", `Job '${jobId}' has already finished (${archived.summary.status}); it was restored from history and is read-only`);
    throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
  }

  /** Whether the job is known, live or restored from history. */
  hasJob(jobId: string): boolean {
    return this.monitoring.jobStore.has(jobId) || (this.persistence?.archive.has(jobId) ?? false) || this.remote?.summary(jobId) !== undefined;
  }

  /** The job's list entry (live or restored); unknown → not_found. */
  jobSummary(jobId: string): JobSummary {
    const job = this.monitoring.jobStore.get(jobId);
    if (job) return summaryOf(job);
    const archived = this.persistence?.archive.get(jobId);
    if (archived) return archived.summary;
    const remote = this.remote?.summary(jobId);
    if (remote) return remote;
    throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
  }

  /** Jobs newest first: this process's, the cluster's workers' (if any), then those in history. */
  listJobs(query: JobListRequest = {}): { jobs: JobSummary[]; total: number } {
    const filter = { flowId: query.flowId, status: query.status };
    let live = this.monitoring.jobStore.list(filter).jobs.map(summaryOf);
    if (this.remote) live = live.concat(this.remote.list(filter));
    const all = this.persistence ? live.concat(this.persistence.listArchived(filter)) : live;
    const offset = query.offset ?? 0;
    return { jobs: all.slice(offset, offset + (query.limit ?? all.length)), total: all.length };
  }

  /** The job snapshot (GET /api/jobs/{id}), live or restored, with the trace seq it is as of. */
  jobSnapshot(jobId: string): JobSnapshot {
    const job = this.monitoring.jobStore.get(jobId);
    if (job) return this.monitoring.monitorCollector.jobSnapshot(job);
    const snap = this.persistence?.archive.snapshot(jobId);
    if (snap) return snap;
    throw new MonitoringError("not_found", "JOB_NOT_FOUND", `Job '${jobId}' not found`);
  }

  /**
   * The flow as the job ran it (recorded when it started: a later edit, reload or deletion of the
   * flow does not change it), whether a flow of that id is served now, and whether it still has
   * that structure. A job stored before flows were recorded gets the served flow, if any.
   */
  jobFlow(jobId: string): JobFlow {
    const summary = this.jobSummary(jobId);
    const recorded: FlowStructure | null = this.monitoring.monitorCollector.jobRecord(jobId)?.flow ?? this.persistence?.recordedFlow(jobId) ?? null;
    const flow = this.flowMap.get(summary.flow_id);
    const current = flow ? this.describer.describe(flow) : null;
    let same: boolean | null = null;
    if (!current) same = false;
    else if (recorded) same = recorded.key === current.key || structureText(recorded.detail) === structureText(current.detail);
    return {
      job_id: jobId,
      flow_id: summary.flow_id,
      flow: recorded?.detail ?? current?.detail ?? null,
      recorded: recorded !== null,
      served: current !== null,
      same_structure: same,
    };
  }

  /** The collector's metrics (restored jobs: as they were when the job ended). */
  jobMetrics(jobId: string): JobMetrics {
    this.jobSummary(jobId);
    const m = this.monitoring.monitorCollector.getMetrics(jobId);
    if (!m) throw new MonitoringError("not_found", "METRICS_NOT_FOUND", `No metrics for job '${jobId}'`);
    return m;
  }

  /**
   * A job's inputs and outputs per activation, oldest first (live, finished or restored): in full
   * within its payload budget, previews beyond it (the answer says which).
   */
  jobIo(jobId: string, req: JobIoRequest = {}): JobIoPage {
    this.jobSummary(jobId);
    const page = this.monitoring.monitorCollector.jobIo(jobId, { routineId: req.routineId, kind: req.kind, afterSeq: req.afterSeq ?? 0, limit: req.limit ?? 100 });
    if (!page) throw new MonitoringError("not_found", "PAYLOADS_NOT_FOUND", `No payloads recorded for job '${jobId}'`);
    return { job_id: jobId, routine_id: req.routineId ?? null, ...page };
  }

  /** Trace event `seq` of a job with its payload in full (when it was kept). */
  jobEvent(jobId: string, seq: number): EventWithPayload {
    this.jobSummary(jobId);
    const found = this.monitoring.monitorCollector.eventWithPayload(jobId, seq);
    if (!found) throw new MonitoringError("not_found", "EVENT_NOT_FOUND", `Job '${jobId}' has no event ${seq} (it never happened, or the trace no longer holds it and its payload was not kept)`);
    return found;
  }

  /**
   * The difference between two runs of one flow (live, finished or restored): per routine, per
   * connection, and the first divergence. Unknown job → 404; jobs of different flows → 400.
   */
  jobDiff(baseId: string, otherId: string): JobDiff {
    const base = this.jobSummary(baseId);
    const other = this.jobSummary(otherId);
    if (base.flow_id !== other.flow_id) {
      throw new MonitoringError("bad_request", "DIFFERENT_FLOWS", `Jobs '${baseId}' (flow '${base.flow_id}') and '${otherId}' (flow '${other.flow_id}') are runs of different flows; a diff compares two runs of one flow`, {
        base_flow_id: base.flow_id,
        other_flow_id: other.flow_id,
      });
    }
    const baseRun = readRun(this, baseId);
    return diffRuns(baseRun, baseId === otherId ? baseRun : readRun(this, otherId));
  }

  /** The job's debug session; a restored job has no live session, so an idle one is described. */
  jobSession(jobId: string): SessionSnapshot {
    if (this.monitoring.jobStore.has(jobId)) return this.monitoring.debugSessionManager.getSession(jobId).toJSON();
    const remote = this.remote?.holds(jobId) ? this.remote.session(jobId) : null;
    if (remote) return remote;
    this.jobSummary(jobId);
    // Restored from history: not live, so nothing can move it.
    return { session_id: `session_${jobId.slice(-8)}`, job_id: jobId, status: "ended", paused_at: null, step_mode: null, step_outcome: null };
  }

  /**
   * Removes finished jobs that ended more than `maxAgeSeconds` ago, with all their data, from
   * memory and from the database. Returns how many.
   */
  removeOldJobs(maxAgeSeconds: number): number {
    this.assertHistoryWritable();
    const removed = this.monitoring.jobStore.removeOldJobs(maxAgeSeconds);
    return removed + (this.persistence?.removeOldArchived(maxAgeSeconds) ?? 0);
  }

  /**
   * Starts a job and returns it at once (status running); it runs in the background. Breakpoints
   * of the request and pause_on_start take effect before its first activation.
   */
  /**
   * POST /api/jobs: runs the job here, or, with a cluster configured, queues it for the workers
   * (it answers pending then).
   */
  async submitJob(req: StartJobRequest): Promise<StartedJob> {
    if (this.remote) {
      this.getFlow(req.flow_id);
      return this.remote.startJob(req);
    }
    const job = this.startJob(req);
    return { job_id: job.jobId, flow_id: job.flowId, status: job.status, created_at: job.createdAt.toISOString() };
  }

  startJob(req: StartJobRequest, fork?: { shared: Record<string, unknown>; forkedFrom: ForkedFrom } | null, options: { jobId?: string } = {}): Job {
    const flow = this.getFlow(req.flow_id);
    this.assertHistoryWritable();
    // Refused before anything starts: a job asked to pause at its start that could not.
    const refusal = req.pause_on_start ? this.monitoring.debugSessionManager.stopRefusal() : null;
    if (refusal !== null) throw new MonitoringError("conflict", "PAUSED_JOBS_LIMIT", refusal);
    let job: Job;
    try {
      // The entry activation works on a copy: the snapshot keeps the params as sent ("run again").
      job = flow.start(req.entry_routine_id, req.entry_params ?? {}, {
        entrySlot: req.entry_slot ?? "trigger",
        copyParams: true,
        defaultBudgets: this.jobBudgets,
        ...(fork ? { shared: fork.shared, forkedFrom: fork.forkedFrom } : {}),
        ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
      });
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
    if (this.persistence) {
      // The job's row is committed before it is acknowledged, so a crash right after the 201
      // cannot lose it. One small transaction (no fsync: WAL, synchronous=NORMAL survives a
      // process crash); its events follow on the writer's batched ticks as before.
      try {
        this.persistence.commitJob(job.jobId);
      } catch (err) {
        // Never acknowledged: it must not run, nor linger under an id nobody was told.
        for (const id of created) bpm.removeBreakpoint(id);
        job.cancel("History unavailable: the job was not started");
        this.monitoring.jobStore.remove(job.jobId);
        throw err;
      }
    }
    for (const listener of this.flowListeners) listener(flow.flowId, job.jobId);
    return job;
  }

  // ---------------------------------------------------------------- time travel

  /**
   * The job's fold up to at least seq `need`: its events are read once (a finished job's all at
   * once; a running job's as far as they go) and checkpointed. Events the trace no longer holds
   * (dropped from the ring and not in history) cannot be folded: not_found EVENTS_NOT_RETAINED.
   */
  private jobFold(jobId: string, need: number): JobFold {
    let fold = this.stateAtCache.get(jobId);
    if (fold === undefined) {
      const live = this.monitoring.jobStore.get(jobId);
      // The snapshot's routines: the flow's as the job started, plus any added while it ran.
      fold = new JobFold(Object.keys(live ? live.routineStates : this.jobSnapshot(jobId).routine_states));
      this.stateAtCache.set(jobId, fold);
    }
    if (fold.folded < need) {
      const { events } = this.monitoring.monitorCollector.eventsAfter(jobId, fold.folded);
      // The records as they are: the fold needs no formatted timestamps.
      const ok = fold.extend(events);
      this.stateAtCache.account();
      if (!ok || fold.folded < need) {
        const oldest = events[0]?.seq ?? need;
        throw new MonitoringError(
          "not_found",
          "EVENTS_NOT_RETAINED",
          `Job '${jobId}' no longer holds the events before seq ${oldest} (its trace keeps the last ${this.monitoring.monitorCollector.getMaxEventsPerJob().toLocaleString("en-US")}): its state at seq ${need} cannot be rebuilt`,
          { oldest_seq: oldest },
        );
      }
    }
    return fold;
  }

  private activationAt(jobId: string, fold: JobFold, a: FoldActivation, endSeq: number | null, upTo: number): ActivationAt {
    const collector = this.monitoring.monitorCollector;
    const kept = collector.payloadAt(jobId, a.startSeq);
    const start = fold.events[a.startSeq - 1] as FoldEvent | undefined;
    const hasInput = kept !== null && kept.kind === "input";
    return {
      activation_id: a.activationId ?? (hasInput ? kept.activationId : null),
      routine_id: a.routineId,
      slot_name: a.slotName,
      start_seq: a.startSeq,
      end_seq: endSeq,
      input: hasInput ? kept.value() : (start?.data.payload ?? null),
      input_truncated: hasInput ? kept.truncated : true,
      outputs: a.outputs
        .filter((o) => o.seq <= upTo)
        .map((o) => {
          const row = collector.payloadAt(jobId, o.seq);
          const ok = row !== null && row.kind === "output";
          return { seq: o.seq, event_name: o.event_name, payload: ok ? row.value() : (fold.events[o.seq - 1]?.data.payload ?? null), truncated: ok ? row.truncated : true };
        }),
    };
  }

  /** GET /api/jobs/{id}/state?at_seq=N: the job as it stood right after event N (docs/time-travel.md). */
  jobStateAt(jobId: string, atSeq: number): JobStateAt {
    const summary = this.jobSummary(jobId);
    const collector = this.monitoring.monitorCollector;
    const lastSeq = collector.traceInfo(jobId)?.last_seq ?? 0;
    if (!Number.isInteger(atSeq) || atSeq < 0) throw new MonitoringError("bad_request", "INVALID_SEQ", `Invalid at_seq ${atSeq} (a whole number ≥ 0)`);
    if (atSeq > lastSeq) throw new MonitoringError("bad_request", "SEQ_OUT_OF_RANGE", `Job '${jobId}' has no event ${atSeq} (its last seq is ${lastSeq})`, { last_seq: lastSeq });
    const fold = this.jobFold(jobId, atSeq);
    const { before, after } = fold.at(atSeq);
    const ev = atSeq > 0 ? (fold.events[atSeq - 1] as FoldEvent) : null;
    let activation: ActivationAt | null = null;
    if (ev !== null && ev.routine_id !== null) {
      const id = typeof ev.data.activation_id === "number" ? ev.data.activation_id : null;
      if (ev.event_type === "routine_start") {
        const a = after.open.find((x) => x.startSeq === atSeq);
        if (a) activation = this.activationAt(jobId, fold, a, null, atSeq);
      } else if (ev.event_type === "event_emit") {
        const a = openActivationOf(after, ev.routine_id, id);
        if (a) activation = this.activationAt(jobId, fold, a, null, atSeq);
      } else if (ev.event_type === "routine_complete" || ev.event_type === "routine_error") {
        const a = openActivationOf(before, ev.routine_id, id);
        if (a) activation = this.activationAt(jobId, fold, a, atSeq, atSeq);
      }
    }
    return {
      job_id: jobId,
      flow_id: summary.flow_id,
      at_seq: atSeq,
      last_seq: lastSeq,
      // With its payload in full when kept; else as the fold holds it (the trace may have dropped it since).
      event: ev === null ? null : (collector.eventWithPayload(jobId, atSeq)?.event ?? (ev instanceof TraceRecord ? ev.toJSON() : (ev as TraceEvent))),
      status: after.status,
      routine_states: routineStatesOf(after),
      connection_counts: connectionCountsOf(after),
      shared_data: { ...after.shared },
      activation,
      running: after.open.map((a) => this.activationAt(jobId, fold, a, null, atSeq)),
    };
  }

  /**
   * POST /api/jobs/{id}/fork: a new job of the same flow that begins with the chosen activation —
   * its recorded input (or `payload`) into its routine's slot, with the shared data as of its
   * routine_start (or `shared_data`). The origin job, its trace and its history are only read.
   */
  forkJob(jobId: string, req: ForkRequest): { job: Job; forkedFrom: ForkedFrom; entryRoutineId: string; entrySlot: string } {
    const { request, fork } = this.prepareFork(jobId, req);
    const job = this.startJob(request, fork);
    return { job, forkedFrom: fork.forkedFrom, entryRoutineId: request.entry_routine_id, entrySlot: request.entry_slot ?? "trigger" };
  }

  /** POST /api/jobs/{id}/fork: the fork runs here, or, with a cluster configured, is queued for the workers. */
  async submitFork(jobId: string, req: ForkRequest): Promise<StartedJob & { forked_from: ForkedFrom; entry_routine_id: string; entry_slot: string }> {
    if (!this.remote) {
      const { job, forkedFrom, entryRoutineId, entrySlot } = this.forkJob(jobId, req);
      return { job_id: job.jobId, flow_id: job.flowId, status: job.status, created_at: job.createdAt.toISOString(), forked_from: forkedFrom, entry_routine_id: entryRoutineId, entry_slot: entrySlot };
    }
    const { request, fork } = this.prepareFork(jobId, req);
    const started = await this.remote.startJob(request, fork);
    return { ...started, forked_from: fork.forkedFrom, entry_routine_id: request.entry_routine_id, entry_slot: request.entry_slot ?? "trigger" };
  }

  /** What a fork of the job starts with: the request, its shared data and its origin (read only). */
  private prepareFork(jobId: string, req: ForkRequest): { request: StartJobRequest & { entry_slot: string }; fork: { shared: Record<string, unknown>; forkedFrom: ForkedFrom } } {
    const summary = this.jobSummary(jobId);
    const lastSeq = this.monitoring.monitorCollector.traceInfo(jobId)?.last_seq ?? 0;
    let seq: number;
    let fold: JobFold;
    if (req.from_seq !== undefined) {
      if (req.from_seq > lastSeq) throw new MonitoringError("bad_request", "SEQ_OUT_OF_RANGE", `Job '${jobId}' has no event ${req.from_seq} (its last seq is ${lastSeq})`, { last_seq: lastSeq });
      seq = req.from_seq;
      fold = this.jobFold(jobId, seq);
    } else {
      fold = this.jobFold(jobId, lastSeq);
      const id = req.activation_id;
      const found = fold.events.find((e) => e.event_type === "routine_start" && e.data.activation_id === id);
      if (found === undefined) throw new MonitoringError("not_found", "ACTIVATION_NOT_FOUND", `Job '${jobId}' has no activation ${String(id)} in its trace`);
      seq = found.seq;
    }
    const ev = fold.events[seq - 1] as FoldEvent;
    if (ev.event_type !== "routine_start" || ev.routine_id === null) {
      throw new MonitoringError("bad_request", "NOT_A_ROUTINE_START", `Event ${seq} of job '${jobId}' is a ${ev.event_type}, not a routine_start: a fork begins with an activation`, { event_type: ev.event_type });
    }
    const slot = typeof ev.data.slot_name === "string" ? ev.data.slot_name : "trigger";
    let input: Record<string, unknown>;
    if (req.payload !== undefined) input = req.payload;
    else {
      const kept = this.monitoring.monitorCollector.payloadAt(jobId, seq);
      if (kept === null || kept.kind !== "input" || kept.truncated) {
        throw new MonitoringError("conflict", "INPUT_NOT_KEPT", `The input of event ${seq} of job '${jobId}' was not kept in full (past the job's payload budget): give the payload to fork with`);
      }
      input = kept.value() as Record<string, unknown>;
    }
    const shared = req.shared_data ?? fold.at(seq).after.shared;
    const forkedFrom: ForkedFrom = { job_id: jobId, seq };
    const request = {
      flow_id: summary.flow_id,
      entry_routine_id: ev.routine_id,
      entry_slot: slot,
      entry_params: input,
      ...(req.breakpoints !== undefined ? { breakpoints: req.breakpoints } : {}),
      ...(req.pause_on_start !== undefined ? { pause_on_start: req.pause_on_start } : {}),
    };
    return { request, fork: { shared, forkedFrom } };
  }

  /** Called with every job started through this runtime, or on the cluster's workers (flow monitors use it). */
  onJobStarted(listener: (flowId: string, jobId: string) => void): () => void {
    this.flowListeners.add(listener);
    return () => this.flowListeners.delete(listener);
  }

  /** A job of the cluster started on a worker (the cluster's transport calls it). */
  remoteJobStarted(flowId: string, jobId: string): void {
    for (const listener of this.flowListeners) listener(flowId, jobId);
  }

  /** Debug-session changes of this process's jobs and of the cluster's (sockets push them). */
  onSessionChange(listener: (jobId: string, session: () => SessionSnapshot) => void): () => void {
    const offLocal = this.monitoring.debugSessionManager.onSessionChange((session) => listener(session.jobId, () => session.toJSON()));
    const remote = (jobId: string, session: SessionSnapshot): void => listener(jobId, () => session);
    this.remoteSessionListeners.add(remote);
    return () => {
      offLocal();
      this.remoteSessionListeners.delete(remote);
    };
  }

  /** A worker reported a session change (the cluster's transport calls it). */
  remoteSessionChanged(jobId: string, session: SessionSnapshot): void {
    for (const listener of this.remoteSessionListeners) listener(jobId, session);
  }

  /** The flow's unfinished jobs here and on the cluster's workers, oldest first. */
  runningJobs(flowId: string): JobRunning[] {
    const { jobStore, monitorCollector } = this.monitoring;
    const out: JobRunning[] = [];
    // The store lists newest first.
    for (const job of jobStore.list({ flowId }).jobs.reverse()) {
      if (job.isFinished) continue;
      const info = monitorCollector.traceInfo(job.jobId);
      const last = info?.last_seq ?? 0;
      out.push({ job_id: job.jobId, flow_id: flowId, status: job.status, first_seq: Math.max(1, last - (info?.retained ?? 0) + 1), last_seq: last });
    }
    return this.remote ? out.concat(this.remote.running(flowId)) : out;
  }
}

/** Lets the event loop run whatever waits (timers, I/O, other requests) before going on. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The process's runtime; created empty on first use when no server installed one (a library user's own process). */
export function getRuntime(): Runtime {
  return installedRuntime() ?? setRuntime(new Runtime());
}
