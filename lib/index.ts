// The public API (`import { Flow, Routine, MonitoringRegistry, ... } from "routilux"`): the engine,
// monitoring and debugging, the runtime, the expression language, and the error family.
export * from "./engine";
export {
  type CompiledExpression,
  compileExpression,
  EXPRESSION_LIMITS,
  ExpressionError,
  type ExpressionErrorPhase,
  evaluateExpression,
  isTruthy,
} from "./expression";
export * from "./monitoring";
export * from "./runtime";
export { type ErrorKind, isRoutiluxError, STATUS_OF_KIND } from "./wire/errors";
// The zod the library validates routine configs with (`configSchema`), so a project needs no copy of its own.
export { z } from "zod";
