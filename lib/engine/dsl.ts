// The DSL format only: building a Flow from it (and back) lives in flow.ts, which imports this.
import { isAlias, isMap, isScalar, isSeq, type Node as YamlNode, parseDocument, stringify as toYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { ERROR_STRATEGIES } from "./error-handler";
import { DslError } from "./errors";
import { MAX_TIMEOUT_SECONDS } from "./timers";
import { NAME_PATTERN, PORT_NAME_PATTERN, RESERVED_KEYS } from "../wire/ids";

/** `routine.port`: a routine id, a dot, a slot or event name. */
const ENDPOINT_RE = new RegExp(`^(${NAME_PATTERN.source.slice(1, -1)})\\.(${PORT_NAME_PATTERN.source.slice(1, -1)})$`);
/**
 * DSL documents are small; a bigger one is a mistake or an attack. Each bound is checked by a
 * linear scan of the text before the YAML/JSON parser builds anything (the parser's own costs
 * grow faster than the text on deep nesting, many keys in one map and aliases), and again
 * exactly on the parsed document.
 */
export const DSL_LIMITS = Object.freeze({
  /** Characters of DSL text. */
  text: 1_000_000,
  /** Keys and list items, all levels together, aliases counted as the entries they stand for. */
  entries: 10_000,
  /** Levels of nested mappings and lists. */
  depth: 32,
  /** YAML alias uses (`*name`). */
  aliases: 100,
});
export const MAX_DSL_TEXT = DSL_LIMITS.text;

const ErrorHandlerSpec = z
  .object({
    strategy: z.enum(ERROR_STRATEGIES),
    max_retries: z.number().int().min(0).max(100).optional(),
    retry_delay: z.number().min(0).max(3600).optional(),
    retry_backoff: z.number().min(1).max(100).optional(),
    is_critical: z.boolean().optional(),
  })
  .strict();

const RoutineSpec = z
  .object({
    class: z.string().min(1),
    config: z.record(z.string(), z.unknown()).optional(),
    error_handler: ErrorHandlerSpec.optional(),
  })
  .strict();

const ConnectionSpec = z
  .object({
    from: z.string(),
    to: z.string(),
    param_mapping: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** An example run: what the debugger's Run panel starts with (checked against the routines on load). */
const ExampleSpec = z
  .object({
    entry_routine_id: z.string().min(1),
    entry_slot: z.string().min(1).optional(),
    params: z.record(z.string(), z.unknown()),
  })
  .strict();

const Budget = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional();

export const FlowDslSchema = z
  .object({
    flow_id: z.string().optional(),
    routines: z.record(z.string(), RoutineSpec),
    connections: z.array(ConnectionSpec).optional(),
    execution: z
      .object({
        strategy: z.enum(["sequential", "concurrent"]).optional(),
        max_workers: z.number().int().min(1).max(1024).optional(),
        timeout: z.number().positive().max(MAX_TIMEOUT_SECONDS, `at most ${MAX_TIMEOUT_SECONDS} seconds (~24.8 days, the timer's range)`).nullable().optional(),
        /** Per-job budgets of this flow (null = no limit; omitted = the server's default). */
        budgets: z
          .object({
            max_queued_activations: Budget,
            max_activations: Budget,
            max_queue_bytes: Budget,
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    example: ExampleSpec.nullable().optional(),
  })
  .strict();

export type FlowDsl = z.infer<typeof FlowDslSchema>;

function tooMany(what: "entries" | "aliases"): DslError {
  const words = what === "entries" ? "keys and list items" : "YAML aliases";
  return new DslError("", `DSL has more than ${DSL_LIMITS[what]} ${words}`, { name: what, max: DSL_LIMITS[what] });
}

function tooDeep(path: string): DslError {
  return new DslError(path, `nesting is too deep (more than ${DSL_LIMITS.depth} levels)`, { name: "depth", max: DSL_LIMITS.depth });
}

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;

function isBlank(code: number | undefined): boolean {
  return code === undefined || code === SPACE || code === TAB || code === LF || code === CR;
}

/**
 * One linear pass over YAML or JSON text that bounds what the parser would build, before it
 * builds it: nesting depth (block indentation levels plus flow brackets), entries (`key:`,
 * `- item`, flow items) and alias uses. It errs on the side of counting more (a `:` in a plain
 * scalar, a block scalar's text as nested lines); the exact checks run on the parsed document.
 */
export function scanDslText(text: string): { depth: number; entries: number; aliases: number } {
  const { depth: maxDepth, entries: maxEntries, aliases: maxAliases } = DSL_LIMITS;
  const n = text.length;
  // Block columns open on the current line and above (a line at column c closes those >= c).
  const columns: number[] = [];
  let flow = 0;
  let depth = 0;
  let entries = 0;
  let aliases = 0;
  /** Inside a block scalar (`|`, `>`): lines indented deeper than this column are text. */
  let blockScalarColumn = -1;
  let i = 0;
  // Skipping to the end of a line with indexOf (native) keeps long comments and text cheap even
  // before the JIT has warmed this loop up.
  const endOfLine = (from: number): number => {
    const at = text.indexOf("\n", from);
    return at < 0 ? n : at;
  };
  const deeper = (level: number) => {
    if (level > depth) {
      depth = level;
      if (depth > maxDepth) throw tooDeep("");
    }
  };
  while (i < n) {
    // ---- a line starts at i
    let col = 0;
    while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) {
      i++;
      col++;
    }
    const first = text.charCodeAt(i);
    if (i >= n) break;
    if (first === LF || first === CR || first === 35 /* # */) {
      i = endOfLine(i) + 1;
      continue;
    }
    if (blockScalarColumn >= 0) {
      if (col > blockScalarColumn) {
        i = endOfLine(i) + 1;
        continue;
      }
      blockScalarColumn = -1;
    }
    const lineColumn = col;
    if (flow === 0) {
      while (columns.length > 0 && (columns[columns.length - 1] as number) >= col) columns.pop();
      // `- ` and `? ` indicators open a level each (`- - x` is a list in a list).
      while ((text.charCodeAt(i) === 45 /* - */ || text.charCodeAt(i) === 63) /* ? */ && isBlank(text.charCodeAt(i + 1))) {
        columns.push(col);
        deeper(columns.length);
        if (++entries > maxEntries) throw tooMany("entries");
        i++;
        col++;
        while (i < n && text.charCodeAt(i) === SPACE) {
          i++;
          col++;
        }
      }
      columns.push(col);
      deeper(columns.length);
    }
    // ---- the rest of the line (and of quoted scalars or flow collections spanning lines)
    let prev = SPACE;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === LF) break;
      const tokenStart = prev === SPACE || prev === TAB || prev === 91 || prev === 123 || prev === 44 || prev === 58;
      if ((c === 34 /* " */ || c === 39) /* ' */ && tokenStart) {
        // A quoted scalar, possibly over several lines: skip it whole.
        const quote = c === 34 ? '"' : "'";
        i++;
        while (i < n) {
          const close = text.indexOf(quote, i);
          if (close < 0) {
            i = n;
            break;
          }
          if (c === 34) {
            // Escaped when preceded by an odd number of backslashes.
            let slashes = 0;
            while (text.charCodeAt(close - 1 - slashes) === 92) slashes++;
            if (slashes % 2 === 1) {
              i = close + 1;
              continue;
            }
          } else if (text.charCodeAt(close + 1) === 39) {
            i = close + 2;
            continue;
          }
          i = close;
          break;
        }
        prev = c;
        i++;
        continue;
      }
      if (c === 35 /* # */ && (prev === SPACE || prev === TAB)) {
        i = endOfLine(i);
        break;
      }
      if (c === 91 /* [ */ || c === 123 /* { */) {
        flow++;
        entries++;
        deeper(columns.length + flow);
      } else if (c === 93 /* ] */ || c === 125 /* } */) {
        if (flow > 0) flow--;
      } else if (c === 44 /* , */ && flow > 0) {
        entries++;
      } else if (c === 58 /* : */ && flow === 0 && isBlank(text.charCodeAt(i + 1))) {
        entries++;
      } else if (c === 42 /* * */ && tokenStart && !isBlank(text.charCodeAt(i + 1))) {
        aliases++;
        if (aliases > maxAliases) throw tooMany("aliases");
      } else if ((c === 124 /* | */ || c === 62) /* > */ && tokenStart && flow === 0) {
        // A block scalar header: the lines indented deeper than this line are its text.
        let j = i + 1;
        while (j < n && /[0-9+-]/.test(text[j] as string)) j++;
        while (j < n && (text.charCodeAt(j) === SPACE || text.charCodeAt(j) === TAB)) j++;
        const after = text.charCodeAt(j);
        if (j >= n || after === LF || after === CR || after === 35) blockScalarColumn = lineColumn;
      }
      if (entries > maxEntries) throw tooMany("entries");
      prev = c;
      i++;
    }
    i++;
  }
  return { depth, entries, aliases };
}

/**
 * The exact checks on a parsed YAML document, in one pass over its nodes: no key twice in one
 * mapping (a Set per mapping; the parser's own `uniqueKeys` compares every key with every
 * earlier one, quadratic: 95,000 keys took 90 s), nesting depth, and entries counted with each
 * alias standing for the entries of what it names (so aliases cannot multiply a small text).
 */
function checkYamlDocument(root: YamlNode | null): void {
  const anchors = new Map<string, number>();
  const walk = (node: unknown, path: string, level: number): number => {
    let count = 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      // An alias of a collection that is not finished yet (itself or an ancestor) has no bound.
      if (target === undefined) throw new DslError(path, `alias '*${node.source}' refers to an unknown or enclosing anchor`);
      count = target;
    } else if (isMap(node)) {
      if (level > DSL_LIMITS.depth) throw tooDeep(path);
      const keys = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        const name = isScalar(key) ? key.value : undefined;
        if (isScalar(key)) {
          if (keys.has(name)) {
            const line = key.range ? ` (offset ${key.range[0]})` : "";
            throw new DslError(path, `duplicate key '${String(name)}'${line}: map keys must be unique`);
          }
          keys.add(name);
        }
        const child = path ? `${path}.${String(name ?? "?")}` : String(name ?? "?");
        count += 1 + walk(key, child, level + 1) + walk(pair.value, child, level + 1);
        if (count > DSL_LIMITS.entries) throw tooMany("entries");
      }
    } else if (isSeq(node)) {
      if (level > DSL_LIMITS.depth) throw tooDeep(path);
      node.items.forEach((item, index) => {
        count += 1 + walk(item, `${path}[${index}]`, level + 1);
        if (count > DSL_LIMITS.entries) throw tooMany("entries");
      });
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, count);
    return count;
  };
  if (walk(root, "", 1) > DSL_LIMITS.entries) throw tooMany("entries");
}

/**
 * The linear checks alone (size, then the scan), throwing what parseDslText would throw for
 * them; returns the trimmed text. Cheap enough to run before handing the text to a worker.
 */
export function precheckDslText(text: string): string {
  if (text.length > MAX_DSL_TEXT) {
    throw new DslError("", `DSL text is larger than ${MAX_DSL_TEXT} characters`, { name: "text", max: MAX_DSL_TEXT });
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new DslError("", "DSL text is empty");
  scanDslText(trimmed);
  return trimmed;
}

/** Text (YAML or JSON) or an already parsed object → a plain object, or a DslError. */
export function parseDslText(text: string): unknown {
  const trimmed = precheckDslText(text);
  if (trimmed.startsWith("{")) {
    try {
      return JSON.parse(trimmed);
    } catch (err) {
      throw new DslError("", `Invalid JSON: ${(err as Error).message}`);
    }
  }
  try {
    // Keys are checked for uniqueness below, in linear time.
    const doc = parseDocument(trimmed, { uniqueKeys: false });
    const error = doc.errors[0];
    if (error) throw error;
    checkYamlDocument(doc.contents);
    return doc.toJS({ maxAliasCount: DSL_LIMITS.aliases });
  } catch (err) {
    if (err instanceof DslError) throw err;
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new DslError("", `Invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${err.message.split("\n")[0]}`);
    }
    throw new DslError("", `Invalid YAML: ${(err as Error).message}`);
  }
}

/** Reserved keys, depth and entries of a parsed document (also one given as an object, not text). */
function checkKeys(value: unknown, path: string, depth: number, counter: { entries: number }): void {
  if (depth > DSL_LIMITS.depth) throw tooDeep(path);
  if (Array.isArray(value)) {
    counter.entries += value.length;
    if (counter.entries > DSL_LIMITS.entries) throw tooMany("entries");
    for (const [i, v] of value.entries()) checkKeys(v, `${path}[${i}]`, depth + 1, counter);
  } else if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    counter.entries += keys.length;
    if (counter.entries > DSL_LIMITS.entries) throw tooMany("entries");
    for (const key of keys) {
      if (RESERVED_KEYS.has(key)) throw new DslError(path, `key '${key}' is not allowed`);
      checkKeys((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, depth + 1, counter);
    }
  }
}

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replaceAll(".[", "[");
}

/** Checks a DSL document's shape and returns it typed; every failure names where and what. */
export function validateDsl(spec: unknown): FlowDsl {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new DslError("", "Flow specification must be an object");
  }
  checkKeys(spec, "", 0, { entries: 0 });
  if (!("routines" in spec)) throw new DslError("", "Flow specification must contain 'routines' section");
  const parsed = FlowDslSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    let message = issue.message;
    if (issue.code === "unrecognized_keys") message = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
    if (issue.path.length === 3 && issue.path[0] === "routines" && issue.path[2] === "class") {
      message = `Routine '${String(issue.path[1])}' must specify 'class' (a registered routine type)`;
    }
    throw new DslError(zodPath(issue.path), message);
  }
  return parsed.data;
}

/** A connection end, `routine.event` or `routine.slot`, split in two; null when malformed. */
export function parseEndpoint(endpoint: string): { routineId: string; name: string } | null {
  const m = ENDPOINT_RE.exec(endpoint);
  return m ? { routineId: m[1] as string, name: m[2] as string } : null;
}

export function dslToText(dsl: FlowDsl, format: "json" | "yaml"): string {
  return format === "yaml" ? toYaml(dsl) : JSON.stringify(dsl, null, 2);
}
