import { MonitoringRegistry } from "./registry";

export { type BreakpointLocation, BreakpointManager, type BreakpointResolver, CHECK_BUDGET_STEPS, type CheckResult, type JobRef } from "./breakpoints";
export {
  type CollectorObserver,
  type ArchivedPayloads,
  DEFAULT_MAX_EVENTS_PER_JOB,
  type EventWithPayload,
  type FlowStructure,
  type IoPage,
  type JobArchive,
  type JobRecord,
  type ErrorRecord,
  type JobMetrics,
  type JobSnapshot,
  MAX_ERRORS_PER_JOB,
  MonitorCollector,
  type RoutineMetrics,
} from "./collector";
export {
  type CallFrame,
  DebugSession,
  type PausedAt,
  type SessionSnapshot,
  type SessionStatus,
  type StepMode,
  type StopReason,
} from "./debug-session";
export { DebugSessionManager } from "./debug-session-manager";
export { MonitoringError, type MonitoringErrorKind } from "./errors";
export * from "./event-manager";
export { type HitCondition, parseHitCondition } from "./hit-condition";
export { type JobListQuery, JobStore } from "./job-store";
export { LogTemplate } from "./log-message";
export { JobMonitorState, MonitoringHooks } from "./monitor-hooks";
export {
  DEFAULT_PAYLOAD_BUDGET_BYTES,
  eventOf,
  ioRow,
  MAX_BUDGET_MISSES,
  PAYLOAD_ROW_OVERHEAD,
  type PayloadFilter,
  type PayloadKind,
  PayloadLog,
  type PayloadMeta,
  type PayloadSource,
  type StoredPayload,
} from "./payloads";
export { getEventManager, MonitoringRegistry } from "./registry";
export * from "./schemas";
export { PREVIEW_BUDGET, preview, TRACE_EVENT_TYPES, type TraceEvent, type TraceEventType, TraceRecord } from "./trace";

/** The module-level job store (`job_store` in the Python original). */
export const jobStore = MonitoringRegistry.getInstance().jobStore;
export { applySharedChanges, type SharedChanges, SharedTracker } from "./shared-changes";
export { CHECKPOINT_EVERY, cloneFold, connectionCountsOf, type FoldActivation, type FoldEvent, type FoldState, foldEvent, foldEvents, initialFold, JobFold, openActivationOf, routineStatesOf, StateAtCache } from "./state-at";
