import { setHooksProvider } from "../engine";
import { BreakpointManager } from "./breakpoints";
import { MonitorCollector } from "./collector";
import { DebugSessionManager } from "./debug-session-manager";
import { JobEventManager } from "./event-manager";
import { JobStore } from "./job-store";
import { MonitoringHooks } from "./monitor-hooks";
import { checkBreakpointTarget } from "./schemas";

const INSTANCE_KEY = Symbol.for("routilux.monitoring.registry");
type Slot = { [INSTANCE_KEY]?: { instance: MonitoringRegistry; enabled: boolean } };
const slot = globalThis as Slot;

/**
 * The process-wide monitoring services. `enable()` attaches monitoring hooks to jobs started from
 * then on ("enable first, then execute"); `disable()` stops attaching them (jobs started while
 * disabled run with no hooks at all). The services stay available either way.
 */
export class MonitoringRegistry {
  readonly monitorCollector = new MonitorCollector();
  readonly jobStore = new JobStore();
  readonly breakpointManager: BreakpointManager;
  readonly debugSessionManager: DebugSessionManager;
  readonly eventManager: JobEventManager;
  /** The hooks object attached to monitored jobs. */
  readonly hooks: MonitoringHooks;

  private constructor() {
    const jobStore = this.jobStore;
    this.breakpointManager = new BreakpointManager({
      flowOfJob: (jobId) => jobStore.get(jobId)?.flowId ?? null,
      checkTarget: (flowId, bp) => {
        // Check against the flow of a known job of that flow (flows themselves live in the server).
        const flow = bp.job_id ? jobStore.get(bp.job_id)?.flow : undefined;
        if (flow && flow.flowId === flowId) checkBreakpointTarget(flow, bp);
      },
    });
    this.debugSessionManager = new DebugSessionManager(jobStore);
    this.eventManager = new JobEventManager(this.monitorCollector);
    this.monitorCollector.publisher = this.eventManager;
    this.hooks = new MonitoringHooks({
      collector: this.monitorCollector,
      breakpoints: this.breakpointManager,
      jobStore,
      sessionFor: (job) => this.debugSessionManager.forJob(job),
      stopRefusal: () => {
        const refusal = this.debugSessionManager.stopRefusal();
        if (refusal !== null) this.debugSessionManager.noteRefusedStop();
        return refusal;
      },
    });
    jobStore.onRemove((jobId) => {
      this.monitorCollector.clear(jobId);
      this.breakpointManager.clearBreakpoints(jobId);
      this.debugSessionManager.remove(jobId);
      this.eventManager.cleanup(jobId);
    });
  }

  /** The one instance (shared across module copies through globalThis). */
  static getInstance(): MonitoringRegistry {
    let s = slot[INSTANCE_KEY];
    if (!s) {
      s = { instance: new MonitoringRegistry(), enabled: false };
      slot[INSTANCE_KEY] = s;
    }
    return s.instance;
  }

  static enable(): void {
    const instance = MonitoringRegistry.getInstance();
    (slot[INSTANCE_KEY] as { enabled: boolean }).enabled = true;
    const hooks = instance.hooks;
    setHooksProvider(() => hooks);
  }

  static disable(): void {
    MonitoringRegistry.getInstance();
    (slot[INSTANCE_KEY] as { enabled: boolean }).enabled = false;
    setHooksProvider(null);
  }

  static isEnabled(): boolean {
    return slot[INSTANCE_KEY]?.enabled ?? false;
  }
}

/** The process's event manager (`get_event_manager()` in the Python original). */
export function getEventManager(): JobEventManager {
  return MonitoringRegistry.getInstance().eventManager;
}
