/**
 * The project's one small, safe expression language: breakpoint conditions, watch expressions
 * and `filter`/`router` routines. Compile once with `compileExpression`, evaluate many times.
 */
export { type CompiledExpression, compileExpression, type EvaluateOptions, ExpressionBudget, evaluateExpression, isTruthy } from "./evaluate";
export { EXPRESSION_LIMITS, ExpressionError, type ExpressionErrorCode, type ExpressionErrorPhase } from "./parse";
