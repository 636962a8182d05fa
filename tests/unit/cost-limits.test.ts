/**
 * Nothing an expression, a set of breakpoints or a DSL asks for runs unbounded: the evaluator's
 * budget counts the work of string and list operations, the conditions and logpoints checked at
 * one location share a budget, breakpoints are found through an index, and DSL text is bounded
 * (size, entries, depth, aliases) before it is parsed. Behaviour only: no timing verdicts.
 */
import { describe, expect, it } from "vitest";
import { DSL_LIMITS, DslError, parseDslText, validateDsl } from "../../lib/engine";
import { compileExpression, ExpressionBudget, ExpressionError, evaluateExpression } from "../../lib/expression";
import { BreakpointManager, CHECK_BUDGET_STEPS } from "../../lib/monitoring";

function expressionError(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error("expected an ExpressionError");
}

function dslError(fn: () => unknown): DslError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DslError) return err;
    throw err;
  }
  throw new Error("expected a DslError");
}

describe("the expression budget counts string and list work", () => {
  it("refuses results over the size caps with EXPRESSION_TOO_LARGE", () => {
    expect(expressionError(() => evaluateExpression("[1] * 200000", {})).code).toBe("EXPRESSION_TOO_LARGE");
    expect(expressionError(() => evaluateExpression("'ab' * 60000", {})).code).toBe("EXPRESSION_TOO_LARGE");
    expect(expressionError(() => evaluateExpression("x + x", { x: "y".repeat(60_000) })).code).toBe("EXPRESSION_TOO_LARGE");
  });

  it("charges converting a long string: float(x) on 60 KB draws on a shared budget", () => {
    const budget = new ExpressionBudget(1_000);
    const error = expressionError(() => compileExpression("float(x) > 0").evaluate({ x: `${"1".repeat(60_000)}x` }, { budget }));
    expect(error.code).toBe("EXPRESSION_BUDGET_EXCEEDED");
    expect(budget.exhausted).toBe(true);
    // Within the expression's own budget it is a plain conversion error, not a stall.
    expect(expressionError(() => evaluateExpression("float('1' * 99999 + 'x')", {})).message).toMatch(/^Could not convert string to float/);
    expect(evaluateExpression("float(x)", { x: `${"1".repeat(300)}.5` })).toBeGreaterThan(1e299);
  });

  it("charges comparing long strings: searching a list of long strings runs out of budget", () => {
    const error = expressionError(() => evaluateExpression("('a' * 99999) in (['b' * 99999] * 1000)", {}));
    expect(error.code).toBe("EXPRESSION_BUDGET_EXCEEDED");
    expect(expressionError(() => evaluateExpression("sorted(['a' * 99999] * 200)", {})).code).toBe("EXPRESSION_BUDGET_EXCEEDED");
  });

  it("repeating an empty sequence a huge number of times is empty, at once", () => {
    expect(evaluateExpression("[] * 1000000000000", {})).toEqual([]);
    expect(evaluateExpression("'' * 1000000000000", {})).toBe("");
  });

  it("printing a list costs its length, not its length squared", () => {
    const text = evaluateExpression("str([1] * 3000)", {}) as string;
    expect(text.length).toBe(3000 * 3 - 2 + 2);
  });

  it("a shared budget is drawn down by each evaluation and then refuses at once", () => {
    const budget = new ExpressionBudget(185_000);
    const costly = compileExpression("sum([1] * 45000)");
    expect(costly.evaluate({}, { budget })).toBe(45_000);
    expect(costly.evaluate({}, { budget })).toBe(45_000);
    const error = expressionError(() => costly.evaluate({}, { budget }));
    expect(error.code).toBe("EXPRESSION_BUDGET_EXCEEDED");
    expect(error.message).toMatch(/shared/);
    expect(expressionError(() => compileExpression("1").evaluate({}, { budget })).code).toBe("EXPRESSION_BUDGET_EXCEEDED");
  });
});

const job = { job_id: "job", flow_id: "flow", start_order: Number.MAX_SAFE_INTEGER };
const atA = { kind: "activation", routine_id: "a", slot_name: "input", connection_id: null } as const;

describe("breakpoint conditions and logpoints share one budget per location", () => {
  // Each condition spends about 90,000 steps (a 45,000-item list built, then summed).
  const costly = "sum([1] * 45000) < 0";

  it("past the budget the remaining conditions are not evaluated: no stop, an error that says why", () => {
    const bpm = new BreakpointManager();
    const ids = Array.from({ length: 6 }, () => bpm.setBreakpoint({ job_id: "job", routine_id: "a", condition: costly }).breakpoint_id);
    const stopper = bpm.setBreakpoint({ job_id: "job", routine_id: "a", condition: "True" }).breakpoint_id;
    const result = bpm.check(job, atA, () => ({}));
    expect(CHECK_BUDGET_STEPS).toBeLessThan(3 * 90_000);
    // Two fit, the third runs out part-way, the rest are skipped, the cheap one too.
    expect(result.stop).toBeNull();
    expect(result.skipped.map((bp) => bp.breakpoint_id)).toEqual([...ids.slice(3), stopper]);
    const third = bpm.getBreakpoint(ids[2] as string);
    expect(third?.error_count).toBe(1);
    expect(third?.last_error).toMatch(/shared/);
    const skipped = bpm.getBreakpoint(stopper);
    expect(skipped?.error_count).toBe(1);
    expect(skipped?.last_error).toMatch(/^Not evaluated: .*shared budget of 200000 steps/);
    expect(skipped?.hit_count).toBe(0);
    // A condition-free breakpoint costs nothing and still stops after the budget is gone.
    const plain = bpm.setBreakpoint({ job_id: "job", routine_id: "a" }).breakpoint_id;
    expect(bpm.check(job, atA, () => ({})).stop?.breakpoint_id).toBe(plain);
  });

  it("a logpoint with many costly parts stops rendering when the budget is gone", () => {
    const bpm = new BreakpointManager();
    const parts = Array.from({ length: 10 }, (_, i) => `${i}={sum([1] * 45000)}`).join(" ");
    bpm.setBreakpoint({ job_id: "job", routine_id: "a", log_message: parts });
    const { logs } = bpm.check(job, atA, () => ({}));
    expect(logs).toHaveLength(1);
    expect(logs[0]?.message.startsWith("0=45000 1=45000 2=<error: ")).toBe(true);
    expect(logs[0]?.message.endsWith("<not evaluated: budget used up>")).toBe(true);
  });
});

describe("breakpoints are indexed by where they can stop", () => {
  it("a check looks only at the breakpoints of that routine, of 10,000", () => {
    const bpm = new BreakpointManager();
    for (let i = 0; i < 10_000; i++) bpm.setBreakpoint({ flow_id: "flow", routine_id: `r${i % 100}`, condition: "False" });
    expect(bpm.getFlowBreakpoints("flow")).toHaveLength(10_000);
    const atR7 = { kind: "activation", routine_id: "r7", slot_name: "input", connection_id: null } as const;
    expect(bpm.candidateCount(job, atR7)).toBe(100);
    const stop = bpm.setBreakpoint({ flow_id: "flow", routine_id: "r7" });
    expect(bpm.check({ ...job, start_order: Number.MAX_SAFE_INTEGER }, atR7, () => ({})).stop?.breakpoint_id).toBe(stop.breakpoint_id);
    expect(bpm.getBreakpoint(stop.breakpoint_id)?.hit_count).toBe(1);
    // The other routines' conditions were not evaluated.
    expect(bpm.getFlowBreakpoints("flow").filter((bp) => bp.routine_id === "r8").every((bp) => bp.error_count === 0 && bp.hit_count === 0)).toBe(true);
  });

  it("keeps creation order across index keys and scopes: the first matching breakpoint stops", () => {
    const bpm = new BreakpointManager();
    const onConnection = bpm.setBreakpoint({ flow_id: "flow", connection: "x.out:a.input" });
    const onRoutine = bpm.setBreakpoint({ flow_id: "flow", routine_id: "a" });
    const ref = { job_id: "j2", flow_id: "flow", start_order: Number.MAX_SAFE_INTEGER };
    const loc = { kind: "activation", routine_id: "a", slot_name: "input", connection_id: "x.out:a.input" } as const;
    expect(bpm.check(ref, loc, () => ({})).stop?.breakpoint_id).toBe(onConnection.breakpoint_id);
    bpm.removeBreakpoint(onConnection.breakpoint_id);
    expect(bpm.check(ref, loc, () => ({})).stop?.breakpoint_id).toBe(onRoutine.breakpoint_id);
    // The job's own breakpoints come before the flow's.
    const own = bpm.setBreakpoint({ job_id: "j2", routine_id: "a", slot_name: "input" });
    expect(bpm.check(ref, loc, () => ({})).stop?.breakpoint_id).toBe(own.breakpoint_id);
    // Errors: one on the routine and one on any routine both match.
    const anyError = bpm.setBreakpoint({ flow_id: "flow", type: "error" });
    const aError = bpm.setBreakpoint({ flow_id: "flow", type: "error", routine_id: "a" });
    const errAt = { kind: "error", routine_id: "a", slot_name: "input" } as const;
    expect(bpm.check(ref, errAt, () => ({})).stop?.breakpoint_id).toBe(anyError.breakpoint_id);
    expect(bpm.getBreakpoint(aError.breakpoint_id)?.hit_count).toBe(1);
    // Emits match by routine and event.
    const onEmit = bpm.setBreakpoint({ flow_id: "flow", routine_id: "a", event_name: "out" });
    expect(bpm.check(ref, { kind: "emit", routine_id: "a", event_name: "out" }, () => ({})).stop?.breakpoint_id).toBe(onEmit.breakpoint_id);
    expect(bpm.check(ref, { kind: "emit", routine_id: "a", event_name: "other" }, () => ({})).stop).toBeNull();
  });
});

describe("DSL text is bounded before it is parsed", () => {
  const routines = "routines:\n  a:\n    class: passthrough\n";

  it("refuses text over the size limit (413)", () => {
    const error = dslError(() => parseDslText(`${routines}#${"x".repeat(DSL_LIMITS.text)}`));
    expect(error.code).toBe("DSL_LIMIT_EXCEEDED");
    expect(error.status).toBe(413);
    expect(error.details).toEqual({ limit: "text", max: DSL_LIMITS.text });
  });

  it("refuses more keys than the entries limit, in YAML, JSON and as an object (400)", () => {
    const keys = Array.from({ length: DSL_LIMITS.entries + 1 }, (_, i) => `      k${i}: 1`).join("\n");
    const yaml = dslError(() => parseDslText(`${routines}    config:\n${keys}\n`));
    expect(yaml.code).toBe("DSL_LIMIT_EXCEEDED");
    expect(yaml.status).toBe(400);
    expect(yaml.details).toEqual({ limit: "entries", max: DSL_LIMITS.entries });
    const config = Object.fromEntries(Array.from({ length: DSL_LIMITS.entries + 1 }, (_, i) => [`k${i}`, 1]));
    const json = dslError(() => parseDslText(JSON.stringify({ routines: { a: { class: "passthrough", config } } })));
    expect(json.details).toEqual({ limit: "entries", max: DSL_LIMITS.entries });
    const object = dslError(() => validateDsl({ routines: { a: { class: "passthrough", config } } }));
    expect(object.details).toEqual({ limit: "entries", max: DSL_LIMITS.entries });
  });

  it("refuses nesting deeper than the limit before building it: flow lists, JSON, block maps, `- - -`", () => {
    const texts = [
      `${"[".repeat(400_000)}${"]".repeat(400_000)}`,
      `{"routines": {}, "x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
      Array.from({ length: 40 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n"),
      `${"- ".repeat(400_000)}x\n`,
    ];
    for (const text of texts) {
      const error = dslError(() => parseDslText(text));
      expect(error.code).toBe("DSL_LIMIT_EXCEEDED");
      expect(error.status).toBe(400);
      expect(error.details).toEqual({ limit: "depth", max: DSL_LIMITS.depth });
    }
  });

  it("bounds YAML aliases: their number, and the entries they stand for", () => {
    let chain = "a0: &a0 [x, x]\n";
    for (let i = 1; i < 200; i++) chain += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}]\n`;
    expect(dslError(() => parseDslText(`${chain}${routines}`)).details).toEqual({ limit: "aliases", max: DSL_LIMITS.aliases });
    const wide = `x: &x {${Array.from({ length: 200 }, (_, i) => `k${i}: 1`).join(", ")}}\ny: [${Array(99).fill("*x").join(", ")}]\n${routines}`;
    expect(dslError(() => parseDslText(wide)).details).toEqual({ limit: "entries", max: DSL_LIMITS.entries });
    // A few aliases of a small anchor are fine.
    expect(parseDslText(`x: &x [1, 2]\ny: [*x, *x]\n${routines}`)).toMatchObject({ y: [[1, 2], [1, 2]] });
  });

  it("still finds duplicate keys, in a map of 9,000 keys too", () => {
    const keys = Array.from({ length: 9_000 }, (_, i) => `      k${i}: 1`).join("\n");
    const error = dslError(() => parseDslText(`${routines}    config:\n${keys}\n      k4500: 2\n`));
    expect(error.code).toBe("INVALID_DSL");
    expect(error.message).toMatch(/duplicate key 'k4500'/);
    expect(dslError(() => parseDslText(`${routines}  a:\n    class: passthrough\n`)).message).toMatch(/duplicate key 'a'/);
    // Numbers and strings that print alike are different keys in YAML.
    expect(parseDslText(`m:\n  1: one\n  "1": also\n${routines}`)).toMatchObject({ m: { "1": "also" } });
  });

  it("accepts ordinary text the scan could misread: quotes, block scalars, brackets in strings, comments", () => {
    const text = [
      "flow_id: ok # a comment with [ and {",
      "routines:",
      "  a:",
      "    class: passthrough",
      "    config:",
      "      note: |",
      `        it's [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ not { a flow`,
      "        * nor an alias",
      `      quoted: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" ]"`,
      `      single: '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{ '' }'`,
      "      plain: don't [stop]",
      "connections: []",
    ].join("\n");
    expect(validateDsl(parseDslText(text))).toMatchObject({ flow_id: "ok" });
  });
});
