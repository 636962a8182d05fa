export { type ActivationContext, currentActivation } from "./context";
export { ERROR_STRATEGIES, ErrorHandler, type ErrorHandlerOptions, type ErrorStrategy } from "./error-handler";
export {
  BUDGET_NAMES,
  type BudgetName,
  checkBudgets,
  DEFAULT_JOB_BUDGETS,
  estimatePayloadBytes,
  type JobBudgets,
  type JobBudgetSettings,
} from "./budgets";
export { BudgetExceededError, CancelledError, DslError, errorMessage, errorType, FlowDefinitionError, RoutiluxError, TimeoutError } from "./errors";
export { type LongTimer, MAX_TIMEOUT_SECONDS, MAX_TIMER_MS, setLongTimeout } from "./timers";
export {
  type Connection,
  connectionId,
  Flow,
  type FlowExample,
  flowFromDsl,
  type FlowOptions,
  flowToDsl,
  type ResolvedFlowExample,
  type Route,
  type StartOptions,
  type ValidationIssue,
  type ValidationLevel,
} from "./flow";
export { type EmitInfo, type ExecutionHooks, getHooksProvider, type HooksProvider, setHooksProvider } from "./hooks";
export {
  Activation,
  type HistoryRecord,
  Job,
  type JobError,
  type JobState,
  type LogEntry,
  MAX_CAUSAL_CHAIN,
  MAX_HISTORY,
  MAX_SHARED_LOG,
  nextStartOrder,
  type RoutineStateSnapshot,
} from "./job";
export { RingQueue } from "./queue";
export {
  type EventDefinition,
  type MergeFunction,
  type MergeStrategy,
  Routine,
  type SlotDefinition,
  type SlotHandler,
} from "./routine";
export * from "./types";
export { Aggregator, Delay, Fail, Filter, Mapper, Passthrough, Router, registerBuiltins, Splitter } from "./builtins";
export { conditionScope, type ScopeContext } from "./condition-scope";
export { DSL_LIMITS, dslToText, type FlowDsl, FlowDslSchema, MAX_DSL_TEXT, parseDslText, precheckDslText, scanDslText, validateDsl } from "./dsl";
export {
  type RoutineClass,
  RoutineRegistry,
  type RoutineTypeInfo,
  type RoutineTypeMeta,
  registerRoutine,
  routineRegistry,
} from "./registry";
