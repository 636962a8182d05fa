// The DSL format only: building a Flow from it (and back) lives in flow.ts, which imports this.
import { parse as parseYaml, stringify as toYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { ERROR_STRATEGIES } from "./error-handler";
import { DslError } from "./errors";
import { MAX_TIMEOUT_SECONDS } from "./timers";
import { NAME_PATTERN, PORT_NAME_PATTERN, RESERVED_KEYS } from "../wire/ids";

/** `routine.port`: a routine id, a dot, a slot or event name. */
const ENDPOINT_RE = new RegExp(`^(${NAME_PATTERN.source.slice(1, -1)})\\.(${PORT_NAME_PATTERN.source.slice(1, -1)})$`);
/** DSL documents are small; a bigger one is a mistake or an attack. */
export const MAX_DSL_TEXT = 1_000_000;

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

/** Text (YAML or JSON) or an already parsed object → a plain object, or a DslError. */
export function parseDslText(text: string): unknown {
  if (text.length > MAX_DSL_TEXT) throw new DslError("", `DSL text is larger than ${MAX_DSL_TEXT} characters`);
  const trimmed = text.trim();
  if (trimmed === "") throw new DslError("", "DSL text is empty");
  if (trimmed.startsWith("{")) {
    try {
      return JSON.parse(trimmed);
    } catch (err) {
      throw new DslError("", `Invalid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return parseYaml(trimmed, { maxAliasCount: 100, uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new DslError("", `Invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${err.message.split("\n")[0]}`);
    }
    throw new DslError("", `Invalid YAML: ${(err as Error).message}`);
  }
}

function checkKeys(value: unknown, path: string, depth: number): void {
  if (depth > 32) throw new DslError(path, "nesting is too deep (more than 32 levels)");
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkKeys(v, `${path}[${i}]`, depth + 1);
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      if (RESERVED_KEYS.has(key)) throw new DslError(path, `key '${key}' is not allowed`);
      checkKeys((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, depth + 1);
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
  checkKeys(spec, "", 0);
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
