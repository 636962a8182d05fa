import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  compileExpression,
  EXPRESSION_LIMITS,
  ExpressionError,
  evaluateExpression,
  isTruthy,
} from "../../lib/expression";

const scope = Object.freeze({
  data: { value: 150, name: "Widget", tags: ["a", "b", "c"], nested: { deep: [1, 2, { x: 3 }] }, zero: 0 },
  shared: { x: "y", count: 2 },
  value: 150,
  items: [10, 20, 30],
  text: "Hello World",
  empty: [],
  nothing: null,
  flag: false,
});

function run(source: string, s: Readonly<Record<string, unknown>> = scope): unknown {
  return evaluateExpression(source, s);
}

/** The ExpressionError thrown by `fn` (fails the test if it throws anything else or nothing). */
function errorOf(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error("expected an ExpressionError, nothing was thrown");
}

describe("documented examples", () => {
  it.each([
    ["data['value'] > 100", true],
    ["data.get('value', 0) > 100", true],
    ["True", true],
    ["value > 100 and shared.get('x') == 'y'", true],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });

  it("compiles once and evaluates many times against different scopes", () => {
    const compiled = compileExpression("data.get('value', 0) > 100");
    expect(compiled.source).toBe("data.get('value', 0) > 100");
    expect(compiled.evaluate({ data: { value: 101 } })).toBe(true);
    expect(compiled.evaluate({ data: { value: 99 } })).toBe(false);
    expect(compiled.evaluate({ data: {} })).toBe(false);
  });
});

describe("Python-flavoured syntax", () => {
  it.each([
    ["1 < 2 and 2 < 3", true],
    ["1 > 2 or 2 < 3", true],
    ["not flag", true],
    ["not (1 == 1)", false],
    ["not 1 == 2", true], // `not` binds looser than comparisons, as in Python
    ["not 'b' in data.tags", false],
    ["not not value", true],
    ["None is None", true],
    ["nothing is None", true],
    ["value is not None", true],
    ["False == flag", true],
    ["2 ** 10", 1024],
    ["2 ** 3 ** 2", 512],
    ["-2 ** 2", -4],
    ["(-2) ** 2", 4],
    ["7 // 2", 3],
    ["-7 // 2", -4],
    ["-7 % 3", 2],
    ["7 % -3", -2],
    ["1 < value < 200", true],
    ["1 < value < 100", false],
    ["'big' if value > 100 else 'small'", "big"],
    ["'a' if False else 'b' if False else 'c'", "c"],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });
});

describe("JS-flavoured syntax", () => {
  it.each([
    ["value > 100 && shared.x === 'y'", true],
    ["value < 100 || shared.count !== 2", false],
    ["!flag", true],
    ["!!value", true],
    ["value == 150", true],
    ["value != 150", false],
    ["value >= 150 && value <= 150", true],
    ["true && !false", true],
    ["null == undefined", true],
    ["null === undefined", false],
    ["value > 100 ? 'big' : 'small'", "big"],
    ["flag ? 1 : nothing ? 2 : 3", 3],
    ["nothing ?? 'fallback'", "fallback"],
    ["nothing?.missing", undefined],
    ["data?.value", 150],
    ["text.length", 11],
    ["items.length", 3],
    ["text.toLowerCase().startsWith('hello')", true],
    ["text.includes('World')", true],
    ["items.includes(20)", true],
    ["'  x '.trim().toUpperCase()", "X"],
    ["text.endsWith('World')", true],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });
});

describe("arithmetic", () => {
  it.each([
    ["1 + 2 * 3", 7],
    ["(1 + 2) * 3", 9],
    ["10 / 4", 2.5],
    ["10 - 4 - 3", 3],
    ["-value", -150],
    ["+value", 150],
    ["1.5e2", 150],
    ["'ab' + 'cd'", "abcd"],
    ["'ab' * 3", "ababab"],
    ["3 * 'ab'", "ababab"],
    ["'ab' * 0", ""],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });

  it("concatenates and repeats lists", () => {
    expect(run("[1, 2] + [3]")).toEqual([1, 2, 3]);
    expect(run("[0] * 3")).toEqual([0, 0, 0]);
    expect(run("items + []")).toEqual([10, 20, 30]);
    expect(run("items + []")).not.toBe(scope.items);
  });

  it.each([
    ["'a' + 1", "Operator '+' is not supported between str and number"],
    ["1 + True", "Operator '+' is not supported between number and bool"],
    ["[1] + 'a'", "Operator '+' is not supported between list and str"],
    ["1 - 'a'", "Operator '-' is not supported between number and str"],
    ["1 / 0", "Division by zero"],
    ["1 % 0", "Modulo by zero"],
    ["1 // 0", "Integer division by zero"],
    ["-'a'", "Bad operand type for unary -: str"],
    ["'a' < 1", "Operator '<' is not supported between str and number"],
    ["nothing > 1", "Operator '>' is not supported between None and number"],
    ["data.missing > 100", "Operator '>' is not supported between undefined and number"],
  ])("%s is an eval error", (source, message) => {
    const error = errorOf(() => run(source));
    expect(error.phase).toBe("eval");
    expect(error.position).toBeNull();
    expect(error.message).toBe(message);
  });

  it("compares strings and numbers only with their own kind", () => {
    expect(run("'apple' < 'banana'")).toBe(true);
    expect(run("2 <= 2")).toBe(true);
    expect(errorOf(() => run("[1] < [2]")).phase).toBe("eval");
  });
});

describe("equality", () => {
  it("is structural for lists and dicts, like Python", () => {
    expect(run("[1, [2, 3]] == [1, [2, 3]]")).toBe(true);
    expect(run("data.nested == other", { data: scope.data, other: { deep: [1, 2, { x: 3 }] } })).toBe(true);
    expect(run("data.nested != other", { data: scope.data, other: { deep: [1, 2, { x: 4 }] } })).toBe(true);
    expect(run("a == b", { a: { k: 1 }, b: { k: 1, j: 2 } })).toBe(false);
    expect(run("items === [10, 20, 30]")).toBe(true);
    expect(run("1 == '1'")).toBe(false);
    expect(run("[1] is [1]")).toBe(false);
  });

  it("handles cyclic data without overflowing", () => {
    const a: unknown[] = [];
    a.push(a);
    const b: unknown[] = [];
    b.push(b);
    const error = errorOf(() => run("a == b", { a, b }));
    expect(error.phase).toBe("eval");
  });
});

describe("truthiness and short-circuit", () => {
  it.each([
    [0, false],
    ["", false],
    [[], false],
    [{}, false],
    [Object.create(null), false],
    [null, false],
    [undefined, false],
    [false, false],
    [Number.NaN, false],
    [1, true],
    [-1, true],
    ["0", true],
    [[0], true],
    [{ a: 0 }, true],
    [true, true],
    [new Map(), true],
  ])("isTruthy(%j) is %s", (value, expected) => {
    expect(isTruthy(value)).toBe(expected);
  });

  it.each([
    ["0 or 'default'", "default"],
    ["'' or [] or 'last'", "last"],
    ["'first' or 'second'", "first"],
    ["items and 'has items'", "has items"],
    ["empty and 'never'", []],
    ["nothing || 5", 5],
    ["value && data.name", "Widget"],
    ["data.zero && 1", 0],
    ["bool(empty)", false],
    ["bool(items)", true],
    ["not empty", true],
  ])("%s", (source, expected) => {
    expect(run(source)).toEqual(expected);
  });

  it("does not evaluate the operand it skips", () => {
    expect(run("True or undefined_name")).toBe(true);
    expect(run("False and undefined_name")).toBe(false);
    expect(run("1 if True else undefined_name")).toBe(1);
    expect(run("nothing ?? 2")).toBe(2);
    expect(() => run("False or undefined_name")).toThrow("Name 'undefined_name' is not defined");
  });
});

describe("membership", () => {
  it.each([
    ["'b' in data.tags", true],
    ["'z' in data.tags", false],
    ["'z' not in data.tags", true],
    ["'b' not in data.tags", false],
    ["'z' not    in data.tags", true],
    ["[1, 2] in [[1, 2], [3]]", true],
    ["'World' in text", true],
    ["'world' in text", false],
    ["'value' in data", true],
    ["'missing' in data", false],
    ["'missing' not in data", true],
    ["'toString' in data", false], // own keys only
    ["'__proto__' in data", false],
    ["20 in items", true],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });

  it("refuses values that are not containers", () => {
    expect(errorOf(() => run("1 in 5")).phase).toBe("eval");
    expect(errorOf(() => run("1 in text")).message).toContain("requires a string");
  });
});

describe("member access, .get and indices", () => {
  it("reads own properties, list indices and string indices", () => {
    expect(run("data.name")).toBe("Widget");
    expect(run("data['name']")).toBe("Widget");
    expect(run("data.nested.deep[2].x")).toBe(3);
    expect(run("items[0]")).toBe(10);
    expect(run("text[0]")).toBe("H");
    expect(run("data.missing")).toBeUndefined();
    expect(run("items[10]")).toBeUndefined();
    expect(run("d[1]", { d: { "1": "one" } })).toBe("one");
  });

  it("supports negative indices like Python", () => {
    expect(run("items[-1]")).toBe(30);
    expect(run("items[-3]")).toBe(10);
    expect(run("items[-4]")).toBeUndefined();
    expect(run("text[-1]")).toBe("d");
    expect(run("items.get(-2)")).toBe(20);
  });

  it("supports .get with and without a default", () => {
    expect(run("data.get('name')")).toBe("Widget");
    expect(run("data.get('missing')")).toBeNull();
    expect(run("data.get('missing', 0)")).toBe(0);
    expect(run("data.get('zero', 5)")).toBe(0);
    expect(run("items.get(1)")).toBe(20);
    expect(run("items.get(9, 'none')")).toBe("none");
    expect(run("shared.get('x') == 'y'")).toBe(true);
  });

  it("supports .keys(), .values() and .items() on dicts", () => {
    expect(run("shared.keys()")).toEqual(["x", "count"]);
    expect(run("shared.values()")).toEqual(["y", 2]);
    expect(run("shared.items()")).toEqual([
      ["x", "y"],
      ["count", 2],
    ]);
    expect(run("'x' in shared.keys()")).toBe(true);
  });

  it("refuses reading from None, functions, class instances and Maps", () => {
    class Point {
      x = 1;
    }
    const s = { nothing: null, fn: () => 1, point: new Point(), map: new Map([["a", 1]]), date: new Date() };
    for (const source of ["nothing.x", "fn.name", "fn.length", "point.x", "map.size", "map.get('a')", "date.getTime()"]) {
      const error = errorOf(() => run(source, s));
      expect(error.phase, source).toBe("eval");
    }
  });

  it("refuses list properties other than indices and length", () => {
    expect(errorOf(() => run("items.map")).message).toBe("list has no property 'map'");
    expect(errorOf(() => run("items[0.5]")).message).toBe("list indices must be integers, not number");
    expect(errorOf(() => run("items['0']")).phase).toBe("eval");
  });
});

describe("allow-listed functions", () => {
  it.each([
    ["len(text)", 11],
    ["len(items)", 3],
    ["len(shared)", 2],
    ["len([])", 0],
    ["abs(-3)", 3],
    ["min(3, 1, 2)", 1],
    ["max(items)", 30],
    ["max('a', 'c', 'b')", "c"],
    ["str(5) + str(True) + str(None)", "5TrueNone"],
    ["str(items)", "[10, 20, 30]"],
    ["str(shared)", "{'x': 'y', 'count': 2}"],
    ["int('42') + 1", 43],
    ["int(3.9)", 3],
    ["int(-3.9)", -3],
    ["float('1.5') * 2", 3],
    ["bool('')", false],
    ["round(2.5)", 2],
    ["round(3.5)", 4],
    ["round(1.2345, 2)", 1.23],
    ["sum(items)", 60],
    ["sum(items, 40)", 100],
    ["any([0, '', 1])", true],
    ["all([1, 'x', []])", false],
    ["all([])", true],
  ])("%s", (source, expected) => {
    expect(run(source)).toBe(expected);
  });

  it("sorted returns a new sorted list", () => {
    expect(run("sorted([3, 1, 2])")).toEqual([1, 2, 3]);
    expect(run("sorted(['b', 'a'])")).toEqual(["a", "b"]);
    expect(run("sorted(shared)")).toEqual(["count", "x"]);
    expect(errorOf(() => run("sorted([1, 'a'])")).phase).toBe("eval");
  });

  it("checks arguments", () => {
    expect(errorOf(() => run("len(5)")).message).toBe("Object of type 'number' has no len()");
    expect(errorOf(() => run("len()")).message).toBe("len() takes 1 argument (0 given)");
    expect(errorOf(() => run("max([])")).message).toBe("max() arg is an empty sequence");
    expect(errorOf(() => run("int('x')")).message).toBe("Invalid literal for int(): 'x'");
    expect(errorOf(() => run("sum(['a'])")).phase).toBe("eval");
  });

  it("names a function or method that is not allowed", () => {
    expect(errorOf(() => run("eval('1')")).message).toBe("Function 'eval' is not allowed");
    expect(errorOf(() => run("print(1)")).message).toBe("Function 'print' is not allowed");
    expect(errorOf(() => run("text.split(' ')")).message).toBe("Method 'split' is not allowed");
    expect(errorOf(() => run("items.get")).message).toBe("list has no property 'get'");
    expect(errorOf(() => run("text.get('x')")).message).toBe("Method 'get' is not available on str");
    expect(errorOf(() => run("items.lower()")).message).toBe("Method 'lower' is not available on list");
  });
});

describe("names", () => {
  it("reads own properties of the scope only", () => {
    expect(errorOf(() => run("missing")).message).toBe("Name 'missing' is not defined");
    expect(errorOf(() => run("toString")).message).toBe("Name 'toString' is not defined");
    expect(errorOf(() => run("hasOwnProperty")).message).toBe("Name 'hasOwnProperty' is not defined");
    expect(run("a", Object.assign(Object.create(null), { a: 1 }))).toBe(1);
    const inherited = Object.create({ secret: 1 });
    expect(errorOf(() => run("secret", inherited)).message).toBe("Name 'secret' is not defined");
  });

  it("never runs getters", () => {
    let ran = false;
    const s = {
      get trap() {
        ran = true;
        return 1;
      },
      data: {
        get trap() {
          ran = true;
          return 1;
        },
      },
    };
    expect(errorOf(() => run("trap", s)).message).toBe("Name 'trap' is an accessor and cannot be read");
    expect(errorOf(() => run("data.trap", s)).message).toBe("Property 'trap' is an accessor and cannot be read");
    expect(errorOf(() => run("data.trap", s)).phase).toBe("eval");
    expect(errorOf(() => run("data.get('trap')", s)).phase).toBe("eval");
    expect(errorOf(() => run("str(data)", s)).phase).toBe("eval");
    expect(ran).toBe(false);
  });

  it("never calls a function from the scope", () => {
    let called = false;
    const s = {
      fn: () => {
        called = true;
      },
      data: {
        fn: () => {
          called = true;
        },
        toString: () => {
          called = true;
          return "x";
        },
      },
    };
    expect(errorOf(() => run("fn()", s)).message).toBe("Function 'fn' is not allowed");
    expect(errorOf(() => run("data.fn()", s)).message).toBe("Method 'fn' is not allowed");
    expect(errorOf(() => run("data['fn']()", s)).phase).toBe("eval");
    expect(errorOf(() => run("(data.fn)()", s)).phase).toBe("eval");
    expect(run("str(data)", s)).toBe("{'fn': <function>, 'toString': <function>}");
    expect(errorOf(() => run("data + 'x'", s)).phase).toBe("eval");
    expect(called).toBe(false);
  });
});

describe("parse errors", () => {
  it.each([
    ["1 +", 3, "Expected expression after '+' at position 3"],
    ["data[", 5, "Unexpected end of expression at position 5"],
    ["", 0, "Empty expression at position 0"],
    ["(1 + 2", 6, "Expected ')' at position 6"],
    ["foo(1, 2", 8, "Expected ')' at position 8"],
    ["[1 2]", 3, "Expected ',' or ']' at position 3"],
    ["a b", 2, "Unexpected 'b' at position 2"],
    ["a and", 5, "Expected expression after 'and' at position 5"],
    ["not", 3, "Expected expression after 'not' at position 3"],
    ["x if y", 6, "Expected 'else' at position 6"],
    ["'abc", 4, "Unclosed quote after \"abc\" at position 4"],
    ["value > 1 ? 2", 13, "Expected ':' at position 13"],
    ["x = 1", 2, "Assignment ('=') is not allowed at position 2"],
    ["data.__proto__", 5, "Property '__proto__' is not allowed at position 5"],
  ])("%j", (source, position, message) => {
    const error = errorOf(() => compileExpression(source));
    expect(error.phase).toBe("parse");
    expect(error.position).toBe(position);
    expect(error.message).toBe(message);
  });
});

describe("hostile inputs", () => {
  let prototypeNamesBefore: string[] = [];
  let arrayPrototypeNamesBefore: string[] = [];
  let functionPrototypeNamesBefore: string[] = [];

  beforeAll(() => {
    prototypeNamesBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    arrayPrototypeNamesBefore = Object.getOwnPropertyNames(Array.prototype).sort();
    functionPrototypeNamesBefore = Object.getOwnPropertyNames(Function.prototype).sort();
  });

  const hostileScope = Object.freeze({
    data: { value: 1, list: [1, 2] },
    fn: () => "ran",
    text: "x".repeat(60_000),
    big: Array.from({ length: 200_000 }, (_, i) => i),
  });

  const hostile: ReadonlyArray<[string, "parse" | "eval"]> = [
    ["({}).constructor", "parse"],
    ["data.__proto__", "parse"],
    ["data['__proto__']", "parse"],
    ['data["__proto__"]', "parse"],
    ["data['constru' + 'ctor']", "eval"],
    ["data['__pro' + 'to__']['polluted']", "eval"],
    ["data.get('__proto__')", "eval"],
    ["data.get('constructor')", "eval"],
    ["data[['__proto__']]", "eval"],
    ["len.constructor", "parse"],
    ["data.constructor.constructor('return process')()", "parse"],
    ["''.constructor", "parse"],
    ["[].constructor", "parse"],
    ["data.list.prototype", "parse"],
    ["data.__defineGetter__('x', fn)", "parse"],
    ["data.__lookupGetter__", "parse"],
    ["__import__('os')", "parse"],
    ["this", "parse"],
    ["this.constructor", "parse"],
    ["process", "eval"],
    ["process.exit()", "eval"],
    ["process.env", "eval"],
    ["globalThis", "eval"],
    ["globalThis.process", "eval"],
    ["global", "eval"],
    ["require", "eval"],
    ["require('fs')", "eval"],
    ["require('child_process').execSync('id')", "eval"],
    ["import('fs')", "parse"],
    ["eval('1')", "eval"],
    ["Function('return process')()", "eval"],
    ["fn()", "eval"],
    ["fn.call()", "eval"],
    ["fn.apply", "eval"],
    ["data.list.map(fn)", "eval"],
    ["data.hasOwnProperty('value')", "eval"],
    ["data['hasOwnProperty']('value')", "eval"],
    ["x = 1", "parse"],
    ["data.value = 1", "parse"],
    ["data.value += 1", "parse"],
    ["data['polluted'] = 1", "parse"],
    ["x := 1", "parse"],
    ["data.value++", "parse"],
    ["++data.value", "parse"],
    ["--data.value", "parse"],
    ["(() => 1)()", "parse"],
    ["x => x", "parse"],
    ["new Date()", "parse"],
    ["new Function('return 1')", "parse"],
    ["function() { return 1 }", "parse"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal is the hostile input
    ["`${process}`", "parse"],
    ["/a+/.test('a')", "parse"],
    ["1, 2", "parse"],
    ["(1, 2)", "parse"],
    ["1; 2", "parse"],
    ["typeof data", "parse"],
    ["delete data.value", "parse"],
    ["void 0", "parse"],
    ["lambda: 1", "parse"],
    ["{}", "parse"],
    ["~1", "parse"],
    ["1 | 2", "parse"],
    ["1 << 2", "parse"],
    [`${"(".repeat(10_000)}1${")".repeat(10_000)}`, "parse"],
    [`${"(".repeat(1_000)}1${")".repeat(1_000)}`, "parse"],
    ["[".repeat(2_000) + "]".repeat(2_000), "parse"],
    ["[".repeat(65) + "]".repeat(65), "parse"],
    [`${"- ".repeat(2_000)}1`, "parse"],
    [`${"not ".repeat(1_000)}1`, "parse"],
    [`2${" ** 2".repeat(800)}`, "parse"],
    [`1${" + 1".repeat(1_000)}`, "parse"],
    [`${"1 ? 1 : ".repeat(500)}1`, "parse"],
    [`${"1 if 1 else ".repeat(300)}1`, "parse"],
    ["f(".repeat(1_000) + ")".repeat(1_000), "parse"],
    [`a${".b".repeat(1_000)}`, "parse"],
    ["x".repeat(EXPRESSION_LIMITS.maxSourceLength + 1), "parse"],
    ["'a' * 100000000", "eval"],
    ["[1] * 100000000", "eval"],
    ["text + text", "eval"],
    ["str(big)", "eval"],
    ["sum(big)", "eval"],
    ["sorted(big)", "eval"],
    ["-1 in big", "eval"],
    ["big == big + []", "eval"],
    ["len(str(data)) > 0 and data.nope.nope", "eval"],
  ];

  it("has a table of at least 20 hostile inputs", () => {
    expect(hostile.length).toBeGreaterThanOrEqual(20);
  });

  it.each(hostile)("%s is refused (%s)", (source, kind) => {
    const error = errorOf(() => evaluateExpression(source, hostileScope));
    expect(error.phase).toBe(kind);
    if (kind === "parse") {
      expect(typeof error.position).toBe("number");
      expect(error.message).toMatch(/ at position \d+$/);
    } else {
      expect(error.position).toBeNull();
    }
  });

  it("reports deep nesting and huge sources cleanly, with positions", () => {
    const deep = errorOf(() => compileExpression("[".repeat(65) + "]".repeat(65)));
    expect(deep.message).toBe("Expression is nested too deeply (maximum depth is 64) at position 64");
    expect(compileExpression("[".repeat(64) + "]".repeat(64)).evaluate({})).toBeInstanceOf(Array);
    const long = errorOf(() => compileExpression(`${"1+".repeat(3_000)}1`));
    expect(long.phase).toBe("parse");
    expect(long.position).toBe(EXPRESSION_LIMITS.maxSourceLength);
  });

  it("stops runaway work with the evaluation budget", () => {
    expect(errorOf(() => run("sum(big)", hostileScope)).message).toBe("Expression exceeded its evaluation budget");
    expect(run("sum(small)", { small: Array.from({ length: 1_000 }, () => 1) })).toBe(1_000);
  });

  it("caps strings", () => {
    expect(errorOf(() => run("'a' * 100000000")).message).toBe(
      `String result exceeds ${EXPRESSION_LIMITS.maxStringLength} characters`,
    );
    expect(errorOf(() => run("text + text", hostileScope)).message).toContain("String result exceeds");
    expect((run("'ab' * 1000") as string).length).toBe(2_000);
  });

  it("does not leak globals even if they exist on globalThis", () => {
    const g = globalThis as Record<string, unknown>;
    g.leakedGlobal = "leak";
    try {
      expect(errorOf(() => run("leakedGlobal")).message).toBe("Name 'leakedGlobal' is not defined");
    } finally {
      delete g.leakedGlobal;
    }
    for (const name of ["process", "globalThis", "require", "global", "Function", "eval", "module", "exports"]) {
      expect(errorOf(() => run(name)).message).toBe(`Name '${name}' is not defined`);
    }
  });

  it("ignores a polluted Object.prototype", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = "bad";
    try {
      expect(errorOf(() => run("injected")).phase).toBe("eval");
      expect(run("data.injected")).toBeUndefined();
      expect(run("'injected' in data")).toBe(false);
      expect(run("data.get('injected', 'clean')")).toBe("clean");
    } finally {
      delete proto.injected;
    }
  });

  it("wraps any other failure in an ExpressionError", () => {
    const throwing = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new TypeError("boom");
        },
      },
    );
    const error = errorOf(() => run("x", throwing));
    expect(error.phase).toBe("eval");
    expect(error.message).toBe("Evaluation failed: boom");
    expect(errorOf(() => compileExpression("1").evaluate(null as unknown as Record<string, unknown>)).phase).toBe(
      "eval",
    );
  });

  afterAll(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNamesBefore);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayPrototypeNamesBefore);
    expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(functionPrototypeNamesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(hostileScope.data)).toBe(Object.prototype);
    expect(hostileScope.data).toEqual({ value: 1, list: [1, 2] });
  });
});
