/**
 * Parsing for the project's one small, safe expression language (breakpoint conditions, watch
 * expressions, `filter`/`router` routines).
 *
 * jsep does the tokenising; a private subclass of its parser adds Python-flavoured syntax
 * (`and`, `or`, `not`, `in`, `not in`, `is`, `is not`, `x if c else y`, `//`), records source
 * positions, bounds the recursion and refuses anything that is not a pure expression
 * (assignment, `++`, arrow functions, `new`, `this`, template literals, sequences ...).
 * The jsep tree is then validated and converted into the small typed AST below, which is all
 * the evaluator ever sees.
 */
import jsep from "jsep";
import { branded, RoutiluxError } from "../wire/errors";

// ------------------------------------------------------------------ errors and limits

export type ExpressionErrorPhase = "parse" | "eval";

/**
 * The codes an ExpressionError carries: most failures are INVALID_EXPRESSION; running out of
 * steps (the expression's own budget or a budget shared by several evaluations) and building a
 * string or list over its cap have their own codes, so callers can tell "too costly" apart.
 */
export type ExpressionErrorCode = "INVALID_EXPRESSION" | "EXPRESSION_BUDGET_EXCEEDED" | "EXPRESSION_TOO_LARGE";

/** Every failure of this module, at compile time (`parse`) or at evaluation time (`eval`). */
export class ExpressionError extends RoutiluxError {
  readonly phase: ExpressionErrorPhase;
  /** 0-based character offset in the source for parse errors, else null. */
  readonly position: number | null;
  declare readonly code: ExpressionErrorCode;

  constructor(phase: ExpressionErrorPhase, message: string, position?: number | null, code: ExpressionErrorCode = "INVALID_EXPRESSION") {
    super(code, message, { kind: "bad_request", details: { position: position ?? null } });
    this.phase = phase;
    this.position = position ?? null;
  }
}
branded("ExpressionError", ExpressionError);

/** The bounds that keep compiling and evaluating an expression cheap, whatever its text. */
export const EXPRESSION_LIMITS = Object.freeze({
  /** Longest accepted source text, in characters. */
  maxSourceLength: 4096,
  /** Deepest accepted syntax tree (parentheses, brackets, calls, operators ...). */
  maxDepth: 64,
  /** Node visits plus element visits (equality, `in`, `sum`, `sorted`, copies ...) per evaluation. */
  maxSteps: 100_000,
  /** Steps per 16 characters of a string read, compared, converted or built. */
  charsPerStep: 16,
  /** Longest string an expression may build (`+`, `*`, `str()`). */
  maxStringLength: 100_000,
  /** Longest list an expression may build (`+`, `*`, `sorted()` ...). */
  maxListLength: 100_000,
  /** Deepest data structure compared, searched or printed. */
  maxValueDepth: 100,
});

function parseError(message: string, position: number): ExpressionError {
  return new ExpressionError("parse", `${message} at position ${position}`, position);
}

// ------------------------------------------------------------------ the AST

export type ArithmeticOperator = "+" | "-" | "*" | "/" | "//" | "%" | "**";
export type EqualityOperator = "==" | "!=" | "===" | "!==" | "is" | "is not";
export type RelationalOperator = "<" | "<=" | ">" | ">=";
export type MembershipOperator = "in" | "not in";
export type BinaryOperator = ArithmeticOperator | EqualityOperator | RelationalOperator | MembershipOperator;
export type LogicalOperator = "and" | "or" | "??";
export type UnaryOperator = "-" | "+" | "not";
export type LiteralValue = string | number | boolean | null | undefined;

export type ExprNode =
  | { readonly type: "Literal"; readonly pos: number; readonly value: LiteralValue }
  | { readonly type: "Name"; readonly pos: number; readonly name: string }
  | { readonly type: "List"; readonly pos: number; readonly elements: readonly ExprNode[] }
  | {
      readonly type: "Member";
      readonly pos: number;
      readonly object: ExprNode;
      /** A `Literal` for `a.b` and `a['b']`, any node for a computed key. */
      readonly property: ExprNode;
      readonly optional: boolean;
    }
  | { readonly type: "Call"; readonly pos: number; readonly callee: Callee; readonly args: readonly ExprNode[] }
  | {
      readonly type: "Unary";
      readonly pos: number;
      readonly operator: UnaryOperator;
      readonly argument: ExprNode;
      /** Written as the keyword `not` (Python precedence) rather than `!`. */
      readonly keyword: boolean;
      /** Written inside its own parentheses. */
      readonly parenthesized: boolean;
    }
  | {
      readonly type: "Binary";
      readonly pos: number;
      readonly operator: BinaryOperator;
      readonly left: ExprNode;
      readonly right: ExprNode;
    }
  | {
      /** A Python comparison chain `a < b <= c`: each operand is evaluated at most once. */
      readonly type: "Compare";
      readonly pos: number;
      readonly operators: readonly RelationalOperator[];
      readonly operands: readonly ExprNode[];
    }
  | {
      readonly type: "Logical";
      readonly pos: number;
      readonly operator: LogicalOperator;
      readonly left: ExprNode;
      readonly right: ExprNode;
    }
  | {
      readonly type: "Conditional";
      readonly pos: number;
      readonly test: ExprNode;
      readonly consequent: ExprNode;
      readonly alternate: ExprNode;
    };

/** What a call calls. Only allow-listed functions and methods are ever run (see evaluate.ts). */
export type Callee =
  | { readonly kind: "function"; readonly name: string }
  | { readonly kind: "method"; readonly object: ExprNode; readonly name: string; readonly optional: boolean }
  | { readonly kind: "other" };

// ------------------------------------------------------------------ names

/** Property and variable names that are never readable, whatever object they are read from. */
export function isForbiddenName(name: string): boolean {
  return name.startsWith("__") || name === "constructor" || name === "prototype";
}

/**
 * Words that can never start an operand: the word operators (`not` is the unary operator) and the
 * JS/Python words that introduce code. Kept short on purpose, since payload keys are names too
 * (a field called `from` or `class` stays usable); properties (`data.in`) are never restricted.
 */
const KEYWORDS: ReadonlySet<string> = new Set([
  "and",
  "or",
  "in",
  "is",
  "if",
  "else",
  "not",
  "this",
  "new",
  "function",
  "typeof",
  "void",
  "delete",
  "instanceof",
  "await",
  "yield",
  "import",
  "super",
  "lambda",
]);

// ------------------------------------------------------------------ jsep configuration

type JsepNode = jsep.Expression;

/** The part of jsep's (untyped) parser class that the subclass below uses. */
interface JsepParser {
  index: number;
  readonly expr: string;
  readonly code: number;
  readonly char: string;
  gobbleSpaces(): void;
  gobbleExpression(): JsepNode | false | undefined;
  gobbleBinaryOp(): string | false;
  gobbleToken(): JsepNode | false | undefined;
  gobbleIdentifier(): JsepNode;
  gobbleGroup(): JsepNode | false | undefined;
  gobbleArguments(termination: number): JsepNode[];
  throwError(message: string): never;
}
type JsepParserClass = new (expr: string) => JsepParser;

const JsepBase: JsepParserClass = (jsep as unknown as { Jsep: JsepParserClass }).Jsep;
if (typeof JsepBase !== "function") throw new Error("jsep does not export its parser class");

// jsep keeps its operator tables in module state; this module is their only user.
for (const op of ["|", "^", "&", "<<", ">>", ">>>"]) jsep.removeBinaryOp(op);
jsep.removeUnaryOp("~");
jsep.addUnaryOp("not");
jsep.addBinaryOp("or", 1);
jsep.addBinaryOp("and", 2);
jsep.addBinaryOp("is", 6);
jsep.addBinaryOp("is not", 6);
jsep.addBinaryOp("in", 7);
jsep.addBinaryOp("not in", 7);
jsep.addBinaryOp("//", 10);
jsep.addLiteral("True", true);
jsep.addLiteral("False", false);
jsep.addLiteral("None", null);
jsep.addLiteral("undefined", undefined);

const OPAREN = 40; // (
const CPAREN = 41; // )
const COMMA = 44; // ,

/** Characters jsep treats as identifier parts (ASCII letters/digits, `_`, `$`, anything non-ASCII). */
const IDENT_PART = "[A-Za-z0-9_$\\u0080-\\uffff]";
const MULTIWORD_OP = new RegExp(`(not[ \\t\\r\\n]+in|is[ \\t\\r\\n]+not)(?!${IDENT_PART})`, "y");
const ASSIGNMENT_OP = /(?:\*\*|\/\/|>>>|<<|>>|&&|\|\||\?\?|[-+*/%&|^:])?=(?!=)/y;
const WORD_OPERATORS: ReadonlySet<string> = new Set(["and", "or", "in", "is"]);
const WORD = new RegExp(`[A-Za-z_$][A-Za-z0-9_$]*(?!${IDENT_PART})`, "y");

function quoteChar(ch: string): string {
  return ch === "'" ? `"'"` : `'${ch}'`;
}

/** Rewrites jsep's own error messages into this module's style. */
function rephrase(message: string, atEnd: boolean): string {
  const after = /^Expected expression after (.+)$/.exec(message);
  if (after) return `Expected expression after '${after[1]}'`;
  const unexpected = /^Unexpected "(.*)"$/.exec(message) ?? /^Unexpected (.?)$/.exec(message);
  if (unexpected) {
    const ch = unexpected[1] ?? "";
    return atEnd || ch === "" ? "Unexpected end of expression" : `Unexpected ${quoteChar(ch)}`;
  }
  if (message === "Unclosed [") return "Expected ']'";
  if (message === "Expected :") return "Expected ':'";
  if (message === "missing unaryOp argument") return "Expected expression after unary operator";
  return message;
}

/**
 * jsep's parser with positions, recursion bounds and the Python/JS extras. Every node it returns
 * carries `start` (offset of its first character) and, for `( ... )`, `parenthesized`.
 */
class Parser extends JsepBase {
  /** Current recursion depth of gobbleToken/gobbleExpression, bounded to keep the stack small. */
  private nesting = 0;

  private enter(): void {
    this.nesting += 1;
    if (this.nesting > EXPRESSION_LIMITS.maxDepth * 4) {
      throw parseError(`Expression is nested too deeply (maximum depth is ${EXPRESSION_LIMITS.maxDepth})`, this.index);
    }
  }

  private fail(message: string, position: number = this.index): never {
    throw parseError(message, position);
  }

  override throwError(message: string): never {
    throw parseError(rephrase(message, this.index >= this.expr.length), this.index);
  }

  /** The identifier-like word at the current position, if any. */
  private peekWord(): string | null {
    WORD.lastIndex = this.index;
    const m = WORD.exec(this.expr);
    return m ? m[0] : null;
  }

  override gobbleExpression(): JsepNode | false | undefined {
    this.enter();
    try {
      this.gobbleSpaces();
      const start = this.index;
      let node = super.gobbleExpression();
      if (node && this.peekWord() === "if") {
        // Python conditional expression: `consequent if test else alternate`.
        this.index += 2;
        const test = this.gobbleExpression();
        if (!test) this.fail("Expected expression after 'if'");
        this.gobbleSpaces();
        if (this.peekWord() !== "else") this.fail("Expected 'else'");
        this.index += 4;
        const alternate = this.gobbleExpression();
        if (!alternate) this.fail("Expected expression after 'else'");
        node = { type: "ConditionalExpression", test, consequent: node, alternate, start };
      }
      if (node && typeof node.start !== "number") node.start = start;
      return node;
    } finally {
      this.nesting -= 1;
    }
  }

  override gobbleToken(): JsepNode | false | undefined {
    this.enter();
    try {
      this.gobbleSpaces();
      const start = this.index;
      const rest = this.expr.slice(start, start + 2);
      if (rest === "++" || rest === "--") this.fail(`Operator '${rest}' is not allowed`);
      const ch = this.char;
      if (ch === "`") this.fail("Template literals are not allowed");
      if (ch === "{") this.fail("Object literals are not supported");
      const word = this.peekWord();
      if (word === "not") {
        // Handled here rather than by jsep, which takes a `not` at the very end for a name.
        this.index += 3;
        const argument = this.gobbleToken();
        if (!argument) this.fail("Expected expression after 'not'");
        return { type: "UnaryExpression", operator: "not", argument, prefix: true, start };
      }
      if (word !== null && KEYWORDS.has(word)) this.fail(`'${word}' is not allowed here`);
      const node = super.gobbleToken();
      if (node && typeof node.start !== "number") node.start = start;
      return node;
    } finally {
      this.nesting -= 1;
    }
  }

  override gobbleIdentifier(): JsepNode {
    const start = this.index;
    const node = super.gobbleIdentifier();
    node.start = start;
    return node;
  }

  override gobbleBinaryOp(): string | false {
    this.gobbleSpaces();
    const start = this.index;
    MULTIWORD_OP.lastIndex = start;
    const multi = MULTIWORD_OP.exec(this.expr);
    if (multi) {
      this.index = start + multi[0].length;
      return multi[0].startsWith("not") ? "not in" : "is not";
    }
    const word = this.peekWord();
    if (word !== null && WORD_OPERATORS.has(word)) {
      // jsep misses a word operator at the very end of the input (`a and`).
      this.index = start + word.length;
      return word;
    }
    if (this.expr.startsWith("=>", start)) this.fail("Arrow functions are not allowed");
    ASSIGNMENT_OP.lastIndex = start;
    const assign = ASSIGNMENT_OP.exec(this.expr);
    if (assign) this.fail(`Assignment ('${assign[0]}') is not allowed`);
    const rest = this.expr.slice(start, start + 2);
    if (rest === "++" || rest === "--") this.fail(`Operator '${rest}' is not allowed`);
    return super.gobbleBinaryOp();
  }

  /** `( expression )`: exactly one expression, no sequences or tuples. */
  override gobbleGroup(): JsepNode | false | undefined {
    this.index += 1;
    const node = this.gobbleExpression();
    if (!node) {
      if (this.code === CPAREN) this.fail("Empty parentheses are not allowed");
      this.throwError(`Unexpected "${this.char}"`);
    }
    this.gobbleSpaces();
    if (this.code === COMMA) this.fail("Sequences and tuples are not allowed");
    if (this.code !== CPAREN) {
      if (this.index >= this.expr.length) this.fail("Expected ')'");
      this.throwError(`Unexpected "${this.char}"`);
    }
    this.index += 1;
    node.parenthesized = true;
    return node;
  }

  /** Call arguments / list elements: comma-separated, optional trailing comma, no holes. */
  override gobbleArguments(termination: number): JsepNode[] {
    const closer = termination === CPAREN ? ")" : "]";
    const args: JsepNode[] = [];
    for (;;) {
      this.gobbleSpaces();
      if (this.index >= this.expr.length) this.fail(`Expected '${closer}'`);
      if (this.code === termination) {
        this.index += 1;
        return args;
      }
      if (args.length > 0) {
        if (this.code !== COMMA) this.fail(`Expected ',' or '${closer}'`);
        this.index += 1;
        this.gobbleSpaces();
        if (this.code === termination) {
          this.index += 1;
          return args;
        }
      }
      const node = this.gobbleExpression();
      if (!node) this.throwError(`Unexpected "${this.char}"`);
      args.push(node);
    }
  }

  /** The whole source as exactly one expression. */
  parseAll(): JsepNode {
    const node = this.gobbleExpression();
    this.gobbleSpaces();
    if (!node) {
      if (this.index >= this.expr.length) this.fail("Empty expression", 0);
      this.throwError(`Unexpected "${this.char}"`);
    }
    if (this.index < this.expr.length) {
      const word = this.peekWord();
      if (word !== null) this.fail(`Unexpected '${word}'`);
      const ch = this.char;
      if (ch === "," || ch === ";") this.fail("Only a single expression is allowed");
      if (this.code === OPAREN) this.fail("Unexpected '('");
      this.throwError(`Unexpected "${ch}"`);
    }
    return node;
  }
}

// ------------------------------------------------------------------ conversion to the AST

const RELATIONAL: ReadonlySet<string> = new Set(["<", "<=", ">", ">="]);
const BINARY: ReadonlySet<string> = new Set([
  "+",
  "-",
  "*",
  "/",
  "//",
  "%",
  "**",
  "==",
  "!=",
  "===",
  "!==",
  "is",
  "is not",
  "in",
  "not in",
]);
const LOGICAL: ReadonlyMap<string, LogicalOperator> = new Map([
  ["and", "and"],
  ["&&", "and"],
  ["or", "or"],
  ["||", "or"],
  ["??", "??"],
]);

function startOf(node: JsepNode): number {
  let current: JsepNode = node;
  for (let guard = 0; guard < 10_000; guard += 1) {
    if (typeof current.start === "number") return current.start;
    const next: unknown = current.left ?? current.object ?? current.callee ?? current.test;
    if (!isJsepNode(next)) break;
    current = next;
  }
  return 0;
}

function isJsepNode(value: unknown): value is JsepNode {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function child(node: JsepNode, key: string): JsepNode {
  const value = node[key];
  if (!isJsepNode(value)) throw parseError("Malformed expression", startOf(node));
  return value;
}

function checkName(name: string, pos: number, what: "Name" | "Property"): void {
  if (isForbiddenName(name)) throw parseError(`${what} '${name}' is not allowed`, pos);
}

/**
 * Python precedence for the keyword `not` (below comparisons and arithmetic) and for a sign in
 * front of `**` (`-2 ** 2 == -4`): jsep binds every prefix operator tightest, so an unparenthesized
 * prefix operator that ended up as the left operand is moved above the operation.
 */
function hoistPrefix(left: ExprNode, build: (left: ExprNode) => ExprNode, signsToo: boolean): ExprNode {
  if (left.type === "Unary" && !left.parenthesized && (left.keyword || (signsToo && left.operator !== "not"))) {
    return { ...left, argument: hoistPrefix(left.argument, build, signsToo) };
  }
  return build(left);
}

class Converter {
  convert(node: JsepNode, depth: number): ExprNode {
    const pos = startOf(node);
    if (depth > EXPRESSION_LIMITS.maxDepth) {
      throw parseError(`Expression is nested too deeply (maximum depth is ${EXPRESSION_LIMITS.maxDepth})`, pos);
    }
    const next = depth + 1;
    switch (node.type) {
      case "Literal": {
        const value = node.value;
        if (
          typeof value === "string" ||
          typeof value === "number" ||
          typeof value === "boolean" ||
          value === null ||
          value === undefined
        ) {
          return { type: "Literal", pos, value };
        }
        throw parseError("Unsupported literal", pos);
      }
      case "Identifier": {
        const name = String(node.name);
        if (KEYWORDS.has(name)) throw parseError(`'${name}' is not allowed here`, pos);
        checkName(name, pos, "Name");
        return { type: "Name", pos, name };
      }
      case "ThisExpression":
        throw parseError("'this' is not allowed", pos);
      case "ArrayExpression": {
        const elements = Array.isArray(node.elements) ? node.elements : [];
        return {
          type: "List",
          pos,
          elements: elements.map((el) => {
            if (!isJsepNode(el)) throw parseError("Empty list elements are not allowed", pos);
            return this.convert(el, next);
          }),
        };
      }
      case "MemberExpression":
        return {
          type: "Member",
          pos,
          object: this.convert(child(node, "object"), next),
          property: this.property(node, next),
          optional: node.optional === true,
        };
      case "CallExpression":
        return this.call(node, pos, next);
      case "UnaryExpression": {
        const op = String(node.operator);
        const operator: UnaryOperator | null = op === "-" || op === "+" ? op : op === "!" || op === "not" ? "not" : null;
        if (operator === null) throw parseError(`Operator '${op}' is not allowed`, pos);
        return {
          type: "Unary",
          pos,
          operator,
          argument: this.convert(child(node, "argument"), next),
          keyword: op === "not",
          parenthesized: node.parenthesized === true,
        };
      }
      case "BinaryExpression":
        return this.binary(node, pos, next);
      case "ConditionalExpression":
        return {
          type: "Conditional",
          pos,
          test: this.convert(child(node, "test"), next),
          consequent: this.convert(child(node, "consequent"), next),
          alternate: this.convert(child(node, "alternate"), next),
        };
      case "Compound":
      case "SequenceExpression":
        throw parseError("Only a single expression is allowed", pos);
      default:
        throw parseError(`Unsupported syntax (${node.type})`, pos);
    }
  }

  private property(node: JsepNode, depth: number): ExprNode {
    const prop = child(node, "property");
    const pos = startOf(prop);
    if (node.computed !== true) {
      if (prop.type !== "Identifier") throw parseError("Expected a property name", pos);
      const name = String(prop.name);
      checkName(name, pos, "Property");
      return { type: "Literal", pos, value: name };
    }
    const key = this.convert(prop, depth);
    if (key.type === "Literal" && typeof key.value === "string") checkName(key.value, pos, "Property");
    return key;
  }

  private call(node: JsepNode, pos: number, depth: number): ExprNode {
    if (node.optional === true) throw parseError("Optional calls are not supported", pos);
    const rawArgs = Array.isArray(node.arguments) ? node.arguments : [];
    const args = rawArgs.map((arg) => {
      if (!isJsepNode(arg)) throw parseError("Malformed call", pos);
      return this.convert(arg, depth);
    });
    const callee = child(node, "callee");
    if (callee.type === "Identifier") {
      const name = String(callee.name);
      const namePos = startOf(callee);
      if (KEYWORDS.has(name)) throw parseError(`'${name}' is not allowed here`, namePos);
      checkName(name, namePos, "Name");
      return { type: "Call", pos, callee: { kind: "function", name }, args };
    }
    if (callee.type === "MemberExpression" && callee.computed !== true) {
      const prop = child(callee, "property");
      const name = String(prop.name);
      checkName(name, startOf(prop), "Property");
      const object = this.convert(child(callee, "object"), depth);
      return { type: "Call", pos, callee: { kind: "method", object, name, optional: callee.optional === true }, args };
    }
    // Validate the callee anyway, so hostile text inside it is still refused at compile time.
    this.convert(callee, depth);
    return { type: "Call", pos, callee: { kind: "other" }, args };
  }

  private binary(node: JsepNode, pos: number, depth: number): ExprNode {
    const op = String(node.operator);
    const logical = LOGICAL.get(op);
    if (logical) {
      return {
        type: "Logical",
        pos,
        operator: logical,
        left: this.convert(child(node, "left"), depth),
        right: this.convert(child(node, "right"), depth),
      };
    }
    if (RELATIONAL.has(op)) {
      // Python comparison chains: `a < b < c` means `a < b and b < c`.
      const operators: RelationalOperator[] = [];
      const rights: JsepNode[] = [];
      let current: JsepNode = node;
      while (
        current.type === "BinaryExpression" &&
        RELATIONAL.has(String(current.operator)) &&
        (current === node || current.parenthesized !== true)
      ) {
        operators.unshift(String(current.operator) as RelationalOperator);
        rights.unshift(child(current, "right"));
        current = child(current, "left");
      }
      const first = this.convert(current, depth);
      const rest = rights.map((r) => this.convert(r, depth));
      const [onlyRight] = rest;
      const [onlyOp] = operators;
      return hoistPrefix(
        first,
        (left): ExprNode =>
          rest.length === 1 && onlyRight && onlyOp
            ? { type: "Binary", pos, operator: onlyOp, left, right: onlyRight }
            : { type: "Compare", pos, operators, operands: [left, ...rest] },
        false,
      );
    }
    if (!BINARY.has(op)) throw parseError(`Operator '${op}' is not allowed`, pos);
    const operator = op as BinaryOperator;
    const left = this.convert(child(node, "left"), depth);
    const right = this.convert(child(node, "right"), depth);
    return hoistPrefix(left, (l): ExprNode => ({ type: "Binary", pos, operator, left: l, right }), op === "**");
  }
}

// ------------------------------------------------------------------ entry point

/** Parses and validates `source`; throws ExpressionError (kind "parse", with a position). */
export function parseExpression(source: string): ExprNode {
  if (typeof source !== "string") throw parseError("Expression source must be a string", 0);
  if (source.length > EXPRESSION_LIMITS.maxSourceLength) {
    throw parseError(
      `Expression is too long (${source.length} characters, maximum is ${EXPRESSION_LIMITS.maxSourceLength})`,
      EXPRESSION_LIMITS.maxSourceLength,
    );
  }
  let raw: JsepNode;
  try {
    raw = new Parser(source).parseAll();
  } catch (error) {
    throw asParseError(error);
  }
  try {
    return new Converter().convert(raw, 1);
  } catch (error) {
    throw asParseError(error);
  }
}

function asParseError(error: unknown): ExpressionError {
  if (error instanceof ExpressionError) return error;
  if (error instanceof RangeError) return parseError("Expression is too complex", 0);
  const index = (error as { index?: unknown } | null)?.index;
  const position = typeof index === "number" ? index : 0;
  const message = error instanceof Error ? error.message.replace(/ at character \d+$/, "") : "Invalid expression";
  return parseError(message, position);
}
