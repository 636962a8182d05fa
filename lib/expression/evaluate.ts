/**
 * The interpreter for the AST built by parse.ts. The tree is compiled once into closures, so
 * `evaluate` does no parsing and no dispatch on node types.
 *
 * Safety rules, enforced here whatever the parser let through:
 * - names are read only as own data properties of the scope object;
 * - member access reads only own data properties of plain objects (prototype Object.prototype or
 *   null), list indices / `length`, and string indices / `length`; never getters, never
 *   functions, class instances, Maps ...; `__*`, `constructor` and `prototype` are refused;
 * - only the allow-listed functions and methods below can be called, and they are this
 *   module's own implementations (a method is never looked up on the value it is called on);
 * - every evaluation has a step budget, strings and lists it builds are capped, and data
 *   structures are compared / printed only down to a bounded depth;
 * - the budget counts the real work: reading, comparing, converting or building a string costs
 *   a step per `charsPerStep` characters, copying or searching a list a step per item, so no
 *   operation runs for long on a step it was charged once for (a regex that backtracks is not
 *   used on user text for the same reason);
 * - several evaluations can share one ExpressionBudget (e.g. every breakpoint condition and
 *   logpoint of one activation), so many cheap-looking expressions cannot add up to a long stall.
 */
import {
  type BinaryOperator,
  type Callee,
  EXPRESSION_LIMITS,
  ExpressionError,
  type ExprNode,
  isForbiddenName,
  type LogicalOperator,
  parseExpression,
  type RelationalOperator,
  type UnaryOperator,
} from "./parse";

/**
 * Steps shared by several evaluations: each evaluation may spend at most its own `maxSteps` and
 * at most what is left here; what it spent (also when it failed) is taken off.
 */
export class ExpressionBudget {
  constructor(public remaining: number) {}
  get exhausted(): boolean {
    return this.remaining <= 0;
  }
}

export interface EvaluateOptions {
  /** A budget shared with other evaluations; running it out throws EXPRESSION_BUDGET_EXCEEDED. */
  budget?: ExpressionBudget;
}

export interface CompiledExpression {
  readonly source: string;
  /** Evaluates against `scope` (names are its own properties); throws ExpressionError (kind "eval"). */
  evaluate(scope: Readonly<Record<string, unknown>>, options?: EvaluateOptions): unknown;
}

const { maxSteps, maxStringLength, maxListLength, maxValueDepth, charsPerStep } = EXPRESSION_LIMITS;

interface Ctx {
  readonly scope: object;
  steps: number;
  /** min(maxSteps, what the shared budget has left). */
  readonly limit: number;
  /** The limit comes from a shared budget, not the expression's own. */
  readonly shared: boolean;
}
type Thunk = (ctx: Ctx) => unknown;

// ------------------------------------------------------------------ errors and budget

function evalError(message: string): ExpressionError {
  return new ExpressionError("eval", message);
}

function budgetExceeded(ctx: Ctx): ExpressionError {
  const message = ctx.shared
    ? "Expression stopped: the evaluation budget shared with the other conditions here is used up"
    : "Expression exceeded its evaluation budget";
  return new ExpressionError("eval", message, null, "EXPRESSION_BUDGET_EXCEEDED");
}

function tooLarge(message: string): ExpressionError {
  return new ExpressionError("eval", message, null, "EXPRESSION_TOO_LARGE");
}

function tick(ctx: Ctx): void {
  ctx.steps += 1;
  if (ctx.steps > ctx.limit) throw budgetExceeded(ctx);
}

function charge(ctx: Ctx, steps: number): void {
  ctx.steps += steps;
  if (ctx.steps > ctx.limit) throw budgetExceeded(ctx);
}

/** Reading, comparing or converting `length` characters. */
function chargeText(ctx: Ctx, length: number): void {
  charge(ctx, Math.ceil(length / charsPerStep));
}

/** Building a string costs as much as reading it, on top of the length cap. */
function chargeString(ctx: Ctx, length: number): void {
  if (length > maxStringLength) throw tooLarge(`String result exceeds ${maxStringLength} characters`);
  chargeText(ctx, length);
}

function chargeList(ctx: Ctx, length: number): void {
  if (length > maxListLength) throw tooLarge(`List result exceeds ${maxListLength} items`);
  charge(ctx, length);
}

// ------------------------------------------------------------------ values

/** A plain data object: prototype Object.prototype or null (not an array, class instance, Map ...). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python truthiness: 0, "", [], {}, null, undefined, false and NaN are false; all else is true. */
export function isTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  switch (typeof value) {
    case "number":
      return value !== 0 && !Number.isNaN(value);
    case "string":
      return value.length > 0;
    case "bigint":
      return value !== 0n;
    case "object":
      if (Array.isArray(value)) return value.length > 0;
      if (isPlainObject(value)) {
        for (const key in value) if (Object.hasOwn(value, key)) return true;
        return false;
      }
      return true;
    default:
      return true;
  }
}

function typeName(value: unknown): string {
  if (value === null) return "None";
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "string":
      return "str";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    case "bigint":
      return "bigint";
    case "symbol":
      return "symbol";
    case "function":
      return "function";
    default:
      if (Array.isArray(value)) return "list";
      return isPlainObject(value) ? "dict" : "object";
  }
}

function describeKey(key: unknown): string {
  if (typeof key === "string") return `'${key.length > 40 ? `${key.slice(0, 40)}...` : key}'`;
  if (typeof key === "number") return String(key);
  return typeName(key);
}

const MISSING: unique symbol = Symbol("missing");

/** An own data property's value, MISSING if there is none; accessors (getters) are never run. */
function readOwn(target: object, key: string | number): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor === undefined) return MISSING;
  if (!Object.hasOwn(descriptor, "value")) {
    throw evalError(`Property ${describeKey(key)} is an accessor and cannot be read`);
  }
  return descriptor.value;
}

function lookupName(scope: object, name: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(scope, name);
  if (descriptor === undefined) throw evalError(`Name '${name}' is not defined`);
  if (!Object.hasOwn(descriptor, "value")) throw evalError(`Name '${name}' is an accessor and cannot be read`);
  return descriptor.value;
}

/** A list/string index (negative counts from the end), or -1 when out of range. */
function resolveIndex(length: number, index: unknown, what: string): number {
  if (typeof index !== "number" || !Number.isInteger(index)) {
    throw evalError(`${what} indices must be integers, not ${typeName(index)}`);
  }
  const i = index < 0 ? length + index : index;
  return i >= 0 && i < length ? i : -1;
}

function listItem(list: readonly unknown[], index: unknown, fallback: unknown): unknown {
  const i = resolveIndex(list.length, index, "list");
  if (i < 0) return fallback;
  const value = readOwn(list, i);
  return value === MISSING ? fallback : value;
}

function dictKey(key: unknown): string {
  if (typeof key === "string") {
    if (isForbiddenName(key)) throw evalError(`Property ${describeKey(key)} is not allowed`);
    return key;
  }
  if (typeof key === "number" && Number.isFinite(key)) return String(key);
  throw evalError(`dict keys must be strings or numbers, not ${typeName(key)}`);
}

function dictItem(dict: Record<string, unknown>, key: unknown, fallback: unknown): unknown {
  const value = readOwn(dict, dictKey(key));
  return value === MISSING ? fallback : value;
}

/** `object.key` / `object[key]`. Missing keys and out-of-range indices give undefined. */
function getMember(object: unknown, key: unknown): unknown {
  if (typeof key === "string" && isForbiddenName(key)) throw evalError(`Property ${describeKey(key)} is not allowed`);
  if (Array.isArray(object)) {
    if (key === "length") return object.length;
    if (typeof key === "number") return listItem(object, key, undefined);
    throw evalError(`list has no property ${describeKey(key)}`);
  }
  if (typeof object === "string") {
    if (key === "length") return object.length;
    if (typeof key === "number") {
      const i = resolveIndex(object.length, key, "string");
      return i < 0 ? undefined : object.charAt(i);
    }
    throw evalError(`str has no property ${describeKey(key)}`);
  }
  if (isPlainObject(object)) return dictItem(object, key, undefined);
  throw evalError(`Cannot read property ${describeKey(key)} of ${typeName(object)}`);
}

/** The items of a list, the characters of a string or the keys of a dict (each costs a step). */
function iterate(value: unknown, ctx: Ctx, fn: string): readonly unknown[] {
  let items: readonly unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === "string") {
    charge(ctx, value.length);
    items = Array.from(value);
  } else if (isPlainObject(value)) items = Object.keys(value);
  else throw evalError(`${fn}() argument of type '${typeName(value)}' is not iterable`);
  charge(ctx, items.length);
  return items;
}

// ------------------------------------------------------------------ equality, ordering, membership

/** Structural equality (Python `==`); `nullish` makes null and undefined equal. */
function equals(a: unknown, b: unknown, ctx: Ctx, nullish: boolean, depth: number): boolean {
  tick(ctx);
  // Comparing two strings of the same length reads them (a === b included).
  if (typeof a === "string" && typeof b === "string" && a.length === b.length) chargeText(ctx, a.length);
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) {
    return nullish && (a === null || a === undefined) && (b === null || b === undefined);
  }
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (depth >= maxValueDepth) throw evalError("Values are nested too deeply to compare");
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) {
      if (!equals(a[i], b[i], ctx, nullish, depth + 1)) return false;
    }
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  charge(ctx, keys.length);
  for (const key of keys) {
    const other = readOwn(b, key);
    if (other === MISSING || !equals(readOwn(a, key), other, ctx, nullish, depth + 1)) return false;
  }
  return true;
}

function unsupported(op: string, a: unknown, b: unknown): ExpressionError {
  return evalError(`Operator '${op}' is not supported between ${typeName(a)} and ${typeName(b)}`);
}

function compare(op: RelationalOperator, a: unknown, b: unknown, ctx: Ctx): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  if (typeof a === "string" && typeof b === "string") {
    chargeText(ctx, Math.min(a.length, b.length));
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  throw unsupported(op, a, b);
}

/** `item in container`: list items (by ==), substrings, or own keys of a dict. */
function contains(container: unknown, item: unknown, ctx: Ctx): boolean {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i += 1) {
      if (equals(item, container[i], ctx, true, 0)) return true;
    }
    return false;
  }
  if (typeof container === "string") {
    if (typeof item !== "string") throw evalError(`'in <str>' requires a string on the left, not ${typeName(item)}`);
    chargeText(ctx, container.length + item.length);
    return container.includes(item);
  }
  if (isPlainObject(container)) {
    if (typeof item === "string") {
      chargeText(ctx, item.length);
      return Object.hasOwn(container, item);
    }
    if (typeof item === "number" && Number.isFinite(item)) return Object.hasOwn(container, String(item));
    throw evalError(`dict keys must be strings or numbers, not ${typeName(item)}`);
  }
  throw evalError(`Operator 'in' needs a list, str or dict on the right, not ${typeName(container)}`);
}

// ------------------------------------------------------------------ arithmetic

function add(a: unknown, b: unknown, ctx: Ctx): unknown {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (typeof a === "string" && typeof b === "string") {
    chargeString(ctx, a.length + b.length);
    return a + b;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    chargeList(ctx, a.length + b.length);
    const out: unknown[] = [];
    for (let i = 0; i < a.length; i += 1) out.push(a[i]);
    for (let i = 0; i < b.length; i += 1) out.push(b[i]);
    return out;
  }
  throw unsupported("+", a, b);
}

function repeat(sequence: string | readonly unknown[], times: number, ctx: Ctx): unknown {
  if (!Number.isInteger(times)) throw evalError("Can only repeat a str or list by an integer");
  // An empty sequence repeated is empty however many times: never loop `times` times for it.
  const n = sequence.length === 0 ? 0 : Math.max(0, times);
  if (typeof sequence === "string") {
    chargeString(ctx, sequence.length * n);
    return sequence.repeat(n);
  }
  chargeList(ctx, sequence.length * n);
  const out: unknown[] = [];
  for (let r = 0; r < n; r += 1) for (let i = 0; i < sequence.length; i += 1) out.push(sequence[i]);
  return out;
}

function multiply(a: unknown, b: unknown, ctx: Ctx): unknown {
  if (typeof a === "number" && typeof b === "number") return a * b;
  if ((typeof a === "string" || Array.isArray(a)) && typeof b === "number") return repeat(a, b, ctx);
  if (typeof a === "number" && (typeof b === "string" || Array.isArray(b))) return repeat(b, a, ctx);
  throw unsupported("*", a, b);
}

function numbers(op: string, a: unknown, b: unknown): [number, number] {
  if (typeof a !== "number" || typeof b !== "number") throw unsupported(op, a, b);
  return [a, b];
}

function arithmetic(op: BinaryOperator, a: unknown, b: unknown): number {
  const [x, y] = numbers(op, a, b);
  switch (op) {
    case "-":
      return x - y;
    case "/":
      if (y === 0) throw evalError("Division by zero");
      return x / y;
    case "//":
      if (y === 0) throw evalError("Integer division by zero");
      return Math.floor(x / y);
    case "%": {
      if (y === 0) throw evalError("Modulo by zero");
      // Python semantics: the result has the sign of the divisor.
      const r = x % y;
      return r !== 0 && r < 0 !== y < 0 ? r + y : r;
    }
    case "**":
      if (x === 0 && y < 0) throw evalError("Zero cannot be raised to a negative power");
      return x ** y;
    default:
      throw unsupported(op, a, b);
  }
}

function unary(op: UnaryOperator, value: unknown): unknown {
  if (op === "not") return !isTruthy(value);
  if (typeof value !== "number") throw evalError(`Bad operand type for unary ${op}: ${typeName(value)}`);
  return op === "-" ? -value : value;
}

// ------------------------------------------------------------------ str()

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Number.POSITIVE_INFINITY) return "inf";
  if (n === Number.NEGATIVE_INFINITY) return "-inf";
  return String(n);
}

class StringBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  constructor(private readonly ctx: Ctx) {}
  push(text: string): void {
    this.length += text.length;
    // The cap is on the whole result; the cost is this part's (charging the running total on
    // every push would make printing a list quadratic in its length).
    if (this.length > maxStringLength) throw tooLarge(`String result exceeds ${maxStringLength} characters`);
    chargeText(this.ctx, text.length);
    this.parts.push(text);
  }
  toString(): string {
    return this.parts.join("");
  }
}

function quote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}'`;
}

/** The repr of a value that is not a list or dict, else null. */
function reprAtom(value: unknown): string | null {
  if (value === null || value === undefined) return "None";
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return formatNumber(value);
    case "boolean":
      return value ? "True" : "False";
    case "bigint":
      return value.toString();
    case "function":
      return "<function>";
    case "symbol":
      return "<symbol>";
    default:
      return Array.isArray(value) || isPlainObject(value) ? null : "<object>";
  }
}

/** Python-style repr, bounded in depth, length and steps; never calls toString/toJSON. */
function writeRepr(value: unknown, out: StringBuilder, ctx: Ctx, depth: number): void {
  tick(ctx);
  const atom = reprAtom(value);
  if (atom !== null) {
    out.push(atom);
    return;
  }
  if (depth >= maxValueDepth) throw evalError("Value is nested too deeply to convert to str");
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i += 1) {
      if (i > 0) out.push(", ");
      writeRepr(value[i], out, ctx, depth + 1);
    }
    out.push("]");
    return;
  }
  const dict = value as Record<string, unknown>;
  out.push("{");
  let first = true;
  for (const key of Object.keys(dict)) {
    if (!first) out.push(", ");
    first = false;
    out.push(quote(key));
    out.push(": ");
    writeRepr(readOwn(dict, key), out, ctx, depth + 1);
  }
  out.push("}");
}

function toStr(value: unknown, ctx: Ctx): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatNumber(value);
  const out = new StringBuilder(ctx);
  writeRepr(value, out, ctx, 0);
  return out.toString();
}

// ------------------------------------------------------------------ allow-listed functions

type FunctionImpl = (args: readonly unknown[], ctx: Ctx) => unknown;
type MethodImpl = (receiver: unknown, args: readonly unknown[], ctx: Ctx) => unknown;

function arity(name: string, args: readonly unknown[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw evalError(`${name}() takes ${expected} argument${max === 1 ? "" : "s"} (${args.length} given)`);
  }
}

function numberArg(name: string, value: unknown): number {
  if (typeof value !== "number") throw evalError(`${name}() needs a number, not ${typeName(value)}`);
  return value;
}

function lessThan(a: unknown, b: unknown, ctx: Ctx): boolean {
  return compare("<", a, b, ctx);
}

function extreme(name: "min" | "max", args: readonly unknown[], ctx: Ctx): unknown {
  if (args.length === 0) throw evalError(`${name}() expects at least 1 argument (0 given)`);
  const items = args.length === 1 ? iterate(args[0], ctx, name) : args;
  if (items.length === 0) throw evalError(`${name}() arg is an empty sequence`);
  let best = items[0];
  for (let i = 1; i < items.length; i += 1) {
    const item = items[i];
    if (name === "min" ? lessThan(item, best, ctx) : lessThan(best, item, ctx)) best = item;
  }
  return best;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

const INT_TEXT = /^[+-]?\d+$/;
// No two quantifiers may share the digits they match: `\d+\.?\d*` did, and on a long run of
// digits followed by a non-digit the regex engine tried every split (quadratic: 8 s for
// float('1' * 99999 + 'x')). Here each digit belongs to one quantifier only: linear.
const FLOAT_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

const FUNCTIONS: ReadonlyMap<string, FunctionImpl> = new Map<string, FunctionImpl>([
  [
    "len",
    (args, ctx) => {
      arity("len", args, 1, 1);
      const value = args[0];
      if (typeof value === "string" || Array.isArray(value)) return value.length;
      if (isPlainObject(value)) {
        const length = Object.keys(value).length;
        charge(ctx, length);
        return length;
      }
      throw evalError(`Object of type '${typeName(value)}' has no len()`);
    },
  ],
  [
    "abs",
    (args) => {
      arity("abs", args, 1, 1);
      return Math.abs(numberArg("abs", args[0]));
    },
  ],
  ["min", (args, ctx) => extreme("min", args, ctx)],
  ["max", (args, ctx) => extreme("max", args, ctx)],
  [
    "str",
    (args, ctx) => {
      arity("str", args, 0, 1);
      return args.length === 0 ? "" : toStr(args[0], ctx);
    },
  ],
  [
    "int",
    (args, ctx) => {
      arity("int", args, 0, 1);
      const value = args.length === 0 ? 0 : args[0];
      if (typeof value === "string") chargeText(ctx, value.length);
      if (typeof value === "boolean") return value ? 1 : 0;
      if (typeof value === "number") {
        if (!Number.isFinite(value)) throw evalError(`Cannot convert ${formatNumber(value)} to int`);
        return Math.trunc(value);
      }
      if (typeof value === "string" && INT_TEXT.test(value.trim())) return Number.parseInt(value.trim(), 10);
      if (typeof value === "string") throw evalError(`Invalid literal for int(): ${quote(value.slice(0, 40))}`);
      throw evalError(`int() argument must be a str or a number, not ${typeName(value)}`);
    },
  ],
  [
    "float",
    (args, ctx) => {
      arity("float", args, 0, 1);
      const value = args.length === 0 ? 0 : args[0];
      if (typeof value === "string") chargeText(ctx, value.length);
      if (typeof value === "boolean") return value ? 1 : 0;
      if (typeof value === "number") return value;
      if (typeof value === "string") {
        const text = value.trim();
        if (FLOAT_TEXT.test(text)) return Number(text);
        if (/^[+-]?(?:inf|infinity)$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
        if (/^[+-]?nan$/i.test(text)) return Number.NaN;
        throw evalError(`Could not convert string to float: ${quote(value.slice(0, 40))}`);
      }
      throw evalError(`float() argument must be a str or a number, not ${typeName(value)}`);
    },
  ],
  [
    "bool",
    (args) => {
      arity("bool", args, 0, 1);
      return args.length === 0 ? false : isTruthy(args[0]);
    },
  ],
  [
    "round",
    (args) => {
      arity("round", args, 1, 2);
      const x = numberArg("round", args[0]);
      const digits = args[1];
      if (digits === undefined || digits === null) return roundHalfEven(x);
      if (typeof digits !== "number" || !Number.isInteger(digits)) throw evalError("round() digits must be an integer");
      if (!Number.isFinite(x)) return x;
      const factor = 10 ** digits;
      return roundHalfEven(x * factor) / factor;
    },
  ],
  [
    "sum",
    (args, ctx) => {
      arity("sum", args, 1, 2);
      let total = args.length > 1 ? numberArg("sum", args[1]) : 0;
      for (const item of iterate(args[0], ctx, "sum")) total += numberArg("sum", item);
      return total;
    },
  ],
  [
    "any",
    (args, ctx) => {
      arity("any", args, 1, 1);
      return iterate(args[0], ctx, "any").some(isTruthy);
    },
  ],
  [
    "all",
    (args, ctx) => {
      arity("all", args, 1, 1);
      return iterate(args[0], ctx, "all").every(isTruthy);
    },
  ],
  [
    "sorted",
    (args, ctx) => {
      arity("sorted", args, 1, 1);
      const items = iterate(args[0], ctx, "sorted");
      chargeList(ctx, items.length);
      const copy = items.slice();
      if (copy.length < 2) return copy;
      const kind = typeof copy[0];
      if ((kind !== "number" && kind !== "string") || copy.some((item) => typeof item !== kind)) {
        throw evalError("sorted() needs a list of only numbers or only strings");
      }
      const comparisons = Math.ceil(copy.length * Math.log2(copy.length));
      charge(ctx, comparisons);
      // Each comparison of strings reads them: charge the characters up front, times log n.
      if (kind === "string") {
        let chars = 0;
        for (const item of copy) chars += (item as string).length;
        chargeText(ctx, chars * Math.ceil(Math.log2(copy.length)));
      }
      return copy.sort((a, b) => ((a as number) < (b as number) ? -1 : (b as number) < (a as number) ? 1 : 0));
    },
  ],
]);

// ------------------------------------------------------------------ allow-listed methods

function stringReceiver(name: string, receiver: unknown): string {
  if (typeof receiver !== "string") throw evalError(`Method '${name}' is not available on ${typeName(receiver)}`);
  return receiver;
}

function stringArg(name: string, value: unknown): string {
  if (typeof value !== "string") throw evalError(`${name}() needs a str argument, not ${typeName(value)}`);
  return value;
}

/** A string method with no argument that returns a new string. */
function stringTransform(name: string, fn: (s: string) => string): [string, MethodImpl] {
  return [
    name,
    (receiver, args, ctx) => {
      const s = stringReceiver(name, receiver);
      arity(name, args, 0, 0);
      chargeString(ctx, s.length);
      return fn(s);
    },
  ];
}

/** A string method with one string argument that returns a boolean. */
function stringTest(name: string, fn: (s: string, arg: string) => boolean): [string, MethodImpl] {
  return [
    name,
    (receiver, args, ctx) => {
      const s = stringReceiver(name, receiver);
      arity(name, args, 1, 1);
      const arg = stringArg(name, args[0]);
      chargeText(ctx, Math.min(s.length, arg.length));
      return fn(s, arg);
    },
  ];
}

function dictReceiver(name: string, receiver: unknown): Record<string, unknown> {
  if (!isPlainObject(receiver)) throw evalError(`Method '${name}' is not available on ${typeName(receiver)}`);
  return receiver;
}

const METHODS: ReadonlyMap<string, MethodImpl> = new Map<string, MethodImpl>([
  [
    "get",
    (receiver, args) => {
      arity("get", args, 1, 2);
      const fallback = args.length > 1 ? args[1] : null;
      if (Array.isArray(receiver)) return listItem(receiver, args[0], fallback);
      return dictItem(dictReceiver("get", receiver), args[0], fallback);
    },
  ],
  [
    "keys",
    (receiver, args, ctx) => {
      const dict = dictReceiver("keys", receiver);
      arity("keys", args, 0, 0);
      const keys = Object.keys(dict);
      chargeList(ctx, keys.length);
      return keys;
    },
  ],
  [
    "values",
    (receiver, args, ctx) => {
      const dict = dictReceiver("values", receiver);
      arity("values", args, 0, 0);
      const keys = Object.keys(dict);
      chargeList(ctx, keys.length);
      return keys.map((key) => readOwn(dict, key));
    },
  ],
  [
    "items",
    (receiver, args, ctx) => {
      const dict = dictReceiver("items", receiver);
      arity("items", args, 0, 0);
      const keys = Object.keys(dict);
      chargeList(ctx, keys.length * 2);
      return keys.map((key) => [key, readOwn(dict, key)]);
    },
  ],
  [
    "includes",
    (receiver, args, ctx) => {
      arity("includes", args, 1, 1);
      if (Array.isArray(receiver)) return contains(receiver, args[0], ctx);
      return contains(stringReceiver("includes", receiver), stringArg("includes", args[0]), ctx);
    },
  ],
  stringTest("startswith", (s, arg) => s.startsWith(arg)),
  stringTest("endswith", (s, arg) => s.endsWith(arg)),
  stringTest("startsWith", (s, arg) => s.startsWith(arg)),
  stringTest("endsWith", (s, arg) => s.endsWith(arg)),
  stringTransform("lower", (s) => s.toLowerCase()),
  stringTransform("upper", (s) => s.toUpperCase()),
  stringTransform("strip", (s) => s.trim()),
  stringTransform("toLowerCase", (s) => s.toLowerCase()),
  stringTransform("toUpperCase", (s) => s.toUpperCase()),
  stringTransform("trim", (s) => s.trim()),
]);

// ------------------------------------------------------------------ compilation to closures

function evalArgs(args: readonly Thunk[], ctx: Ctx): unknown[] {
  const values: unknown[] = [];
  for (const arg of args) values.push(arg(ctx));
  return values;
}

function failing(message: string): Thunk {
  return (ctx) => {
    tick(ctx);
    throw evalError(message);
  };
}

function compileCall(callee: Callee, args: readonly Thunk[]): Thunk {
  if (callee.kind === "function") {
    const impl = FUNCTIONS.get(callee.name);
    if (!impl) return failing(`Function '${callee.name}' is not allowed`);
    return (ctx) => {
      tick(ctx);
      return impl(evalArgs(args, ctx), ctx);
    };
  }
  if (callee.kind === "method") {
    const impl = METHODS.get(callee.name);
    if (!impl) return failing(`Method '${callee.name}' is not allowed`);
    const receiver = compileNode(callee.object);
    const optional = callee.optional;
    return (ctx) => {
      tick(ctx);
      const value = receiver(ctx);
      if (optional && (value === null || value === undefined)) return undefined;
      return impl(value, evalArgs(args, ctx), ctx);
    };
  }
  return failing("Only allow-listed functions and methods can be called");
}

function compileLogical(operator: LogicalOperator, left: Thunk, right: Thunk): Thunk {
  switch (operator) {
    case "and":
      return (ctx) => {
        tick(ctx);
        const value = left(ctx);
        return isTruthy(value) ? right(ctx) : value;
      };
    case "or":
      return (ctx) => {
        tick(ctx);
        const value = left(ctx);
        return isTruthy(value) ? value : right(ctx);
      };
    default:
      return (ctx) => {
        tick(ctx);
        const value = left(ctx);
        return value === null || value === undefined ? right(ctx) : value;
      };
  }
}

function compileBinary(operator: BinaryOperator, left: Thunk, right: Thunk): Thunk {
  let op: (a: unknown, b: unknown, ctx: Ctx) => unknown;
  switch (operator) {
    case "+":
      op = add;
      break;
    case "*":
      op = multiply;
      break;
    case "-":
    case "/":
    case "//":
    case "%":
    case "**":
      op = (a, b) => arithmetic(operator, a, b);
      break;
    case "==":
      op = (a, b, ctx) => equals(a, b, ctx, true, 0);
      break;
    case "!=":
      op = (a, b, ctx) => !equals(a, b, ctx, true, 0);
      break;
    case "===":
      op = (a, b, ctx) => equals(a, b, ctx, false, 0);
      break;
    case "!==":
      op = (a, b, ctx) => !equals(a, b, ctx, false, 0);
      break;
    case "is":
      op = (a, b) => a === b || ((a === null || a === undefined) && (b === null || b === undefined));
      break;
    case "is not":
      op = (a, b) => !(a === b || ((a === null || a === undefined) && (b === null || b === undefined)));
      break;
    case "<":
    case "<=":
    case ">":
    case ">=":
      op = (a, b, ctx) => compare(operator, a, b, ctx);
      break;
    case "in":
      op = (a, b, ctx) => contains(b, a, ctx);
      break;
    case "not in":
      op = (a, b, ctx) => !contains(b, a, ctx);
      break;
  }
  return (ctx) => {
    tick(ctx);
    const a = left(ctx);
    return op(a, right(ctx), ctx);
  };
}

function compileNode(node: ExprNode): Thunk {
  switch (node.type) {
    case "Literal": {
      const value = node.value;
      return (ctx) => {
        tick(ctx);
        return value;
      };
    }
    case "Name": {
      const name = node.name;
      return (ctx) => {
        tick(ctx);
        return lookupName(ctx.scope, name);
      };
    }
    case "List": {
      const elements = node.elements.map(compileNode);
      return (ctx) => {
        tick(ctx);
        return evalArgs(elements, ctx);
      };
    }
    case "Member": {
      const object = compileNode(node.object);
      const optional = node.optional;
      if (node.property.type === "Literal") {
        const key = node.property.value;
        return (ctx) => {
          tick(ctx);
          const value = object(ctx);
          if (optional && (value === null || value === undefined)) return undefined;
          return getMember(value, key);
        };
      }
      const property = compileNode(node.property);
      return (ctx) => {
        tick(ctx);
        const value = object(ctx);
        if (optional && (value === null || value === undefined)) return undefined;
        return getMember(value, property(ctx));
      };
    }
    case "Call":
      return compileCall(node.callee, node.args.map(compileNode));
    case "Unary": {
      const operator = node.operator;
      const argument = compileNode(node.argument);
      return (ctx) => {
        tick(ctx);
        return unary(operator, argument(ctx));
      };
    }
    case "Binary":
      return compileBinary(node.operator, compileNode(node.left), compileNode(node.right));
    case "Compare": {
      const operators = node.operators;
      const operands = node.operands.map(compileNode);
      return (ctx) => {
        tick(ctx);
        let left = operands[0]?.(ctx);
        for (let i = 0; i < operators.length; i += 1) {
          const operator = operators[i];
          const next = operands[i + 1];
          if (operator === undefined || next === undefined) break;
          const right = next(ctx);
          if (!compare(operator, left, right, ctx)) return false;
          left = right;
        }
        return true;
      };
    }
    case "Logical":
      return compileLogical(node.operator, compileNode(node.left), compileNode(node.right));
    case "Conditional": {
      const test = compileNode(node.test);
      const consequent = compileNode(node.consequent);
      const alternate = compileNode(node.alternate);
      return (ctx) => {
        tick(ctx);
        return isTruthy(test(ctx)) ? consequent(ctx) : alternate(ctx);
      };
    }
  }
}

// ------------------------------------------------------------------ public entry points

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : "unknown error";
  } catch {
    return "unknown error";
  }
}

function asEvalError(error: unknown): ExpressionError {
  if (error instanceof ExpressionError) return error;
  if (error instanceof RangeError) return evalError(`Expression is too complex to evaluate (${messageOf(error)})`);
  return evalError(`Evaluation failed: ${messageOf(error)}`);
}

/** Parses and prepares `source` once; throws ExpressionError (kind "parse", with a position). */
export function compileExpression(source: string): CompiledExpression {
  const ast = parseExpression(source);
  let root: Thunk;
  try {
    root = compileNode(ast);
  } catch (error) {
    if (error instanceof ExpressionError) throw error;
    throw new ExpressionError("parse", `Expression is too complex at position 0`, 0);
  }
  return Object.freeze({
    source,
    evaluate(scope: Readonly<Record<string, unknown>>, options?: EvaluateOptions): unknown {
      if (typeof scope !== "object" || scope === null) throw evalError("The scope must be an object");
      const budget = options?.budget;
      const shared = budget !== undefined && budget.remaining < maxSteps;
      const ctx: Ctx = { scope, steps: 0, limit: shared ? Math.max(0, budget.remaining) : maxSteps, shared };
      try {
        return root(ctx);
      } catch (error) {
        throw asEvalError(error);
      } finally {
        if (budget !== undefined) budget.remaining -= Math.min(ctx.steps, ctx.limit + 1);
      }
    },
  });
}

const CACHE_SIZE = 256;
const cache = new Map<string, CompiledExpression>();

/** Compiles (cached) and evaluates in one go. */
export function evaluateExpression(source: string, scope: Readonly<Record<string, unknown>>, options?: EvaluateOptions): unknown {
  let compiled = cache.get(source);
  if (compiled) {
    cache.delete(source);
  } else {
    compiled = compileExpression(source);
    if (cache.size >= CACHE_SIZE) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
  }
  cache.set(source, compiled);
  return compiled.evaluate(scope, options);
}
