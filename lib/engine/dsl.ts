import { parse as parseYaml, stringify as toYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { ERROR_STRATEGIES, ErrorHandler } from "./error-handler";
import { DslError, FlowDefinitionError } from "./errors";
import { Flow } from "./flow";
import { type RoutineRegistry, routineRegistry } from "./registry";

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const ENDPOINT_RE = /^([A-Za-z0-9_-]{1,128})\.([A-Za-z_][A-Za-z0-9_-]{0,63})$/;
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

export const FlowDslSchema = z
  .object({
    flow_id: z.string().optional(),
    routines: z.record(z.string(), RoutineSpec),
    connections: z.array(ConnectionSpec).optional(),
    execution: z
      .object({
        strategy: z.enum(["sequential", "concurrent"]).optional(),
        max_workers: z.number().int().min(1).max(1024).optional(),
        timeout: z.number().positive().nullable().optional(),
      })
      .strict()
      .optional(),
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
      if (FORBIDDEN_KEYS.has(key)) throw new DslError(path, `key '${key}' is not allowed`);
      checkKeys((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key, depth + 1);
    }
  }
}

function zodPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replaceAll(".[", "[");
}

/** Checks the document's shape and returns it typed; every failure names where and what. */
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

/**
 * Builds a flow from a DSL document (object, YAML or JSON text). All-or-nothing: on any
 * problem it throws a DslError naming it, and no flow exists.
 */
export function flowFromDsl(
  source: unknown,
  registry: RoutineRegistry = routineRegistry,
  options: { flowId?: string } = {},
): Flow {
  const raw = typeof source === "string" ? parseDslText(source) : source;
  const spec = validateDsl(raw);
  const flowId = options.flowId ?? spec.flow_id;
  if (!flowId) throw new DslError("flow_id", "a flow id is required (in the DSL or given by the caller)");
  if (options.flowId && spec.flow_id && spec.flow_id !== options.flowId) {
    throw new DslError("flow_id", `DSL flow_id '${spec.flow_id}' differs from the requested '${options.flowId}'`);
  }
  let flow: Flow;
  try {
    flow = new Flow(flowId, {
      executionStrategy: spec.execution?.strategy ?? "sequential",
      maxWorkers: spec.execution?.max_workers ?? 5,
      timeout: spec.execution?.timeout ?? null,
    });
  } catch (err) {
    throw new DslError("flow_id", (err as Error).message);
  }
  for (const [id, r] of Object.entries(spec.routines)) {
    const path = `routines.${id}`;
    if (!registry.has(r.class)) {
      throw new DslError(`${path}.class`, `unknown routine type '${r.class}' (registered: ${registry.names.join(", ") || "none"})`);
    }
    try {
      const routine = registry.create(r.class, r.config);
      if (r.error_handler) {
        const h = r.error_handler;
        routine.setErrorHandler(
          new ErrorHandler(h.strategy, {
            maxRetries: h.max_retries,
            retryDelay: h.retry_delay,
            retryBackoff: h.retry_backoff,
            isCritical: h.is_critical,
          }),
        );
      }
      flow.addRoutine(routine, id);
    } catch (err) {
      if (err instanceof FlowDefinitionError) throw new DslError(path, err.message);
      throw err;
    }
  }
  (spec.connections ?? []).forEach((c, i) => {
    const path = `connections[${i}]`;
    const from = ENDPOINT_RE.exec(c.from);
    if (!from) throw new DslError(`${path}.from`, `Invalid connection format '${c.from}' (expected 'routine.event')`);
    const to = ENDPOINT_RE.exec(c.to);
    if (!to) throw new DslError(`${path}.to`, `Invalid connection format '${c.to}' (expected 'routine.slot')`);
    try {
      flow.connect(from[1] as string, from[2] as string, to[1] as string, to[2] as string, c.param_mapping ?? null);
    } catch (err) {
      if (err instanceof FlowDefinitionError) throw new DslError(path, err.message);
      throw err;
    }
  });
  return flow;
}

/** The flow as a DSL object; routines whose class is not registered cannot be exported. */
export function flowToDsl(flow: Flow, registry: RoutineRegistry = routineRegistry): FlowDsl {
  const routines: FlowDsl["routines"] = {};
  for (const [id, routine] of flow.routines) {
    const name = registry.nameOf(routine);
    if (!name) {
      throw new FlowDefinitionError(
        "UNREGISTERED_TYPE",
        `Routine '${id}' (${routine.constructor.name}) is not a registered type, so it cannot be exported to the DSL`,
      );
    }
    const entry: FlowDsl["routines"][string] = { class: name };
    const config = routine.getConfigObject();
    if (Object.keys(config).length > 0) entry.config = config;
    const h = routine.getErrorHandler();
    if (h) entry.error_handler = h.toJSON();
    routines[id] = entry;
  }
  return {
    flow_id: flow.flowId,
    routines,
    connections: flow.connections.map((c) => {
      const out: { from: string; to: string; param_mapping?: Record<string, string> } = {
        from: `${c.sourceRoutineId}.${c.sourceEvent}`,
        to: `${c.targetRoutineId}.${c.targetSlot}`,
      };
      if (c.paramMapping) out.param_mapping = { ...c.paramMapping };
      return out;
    }),
    execution: { strategy: flow.executionStrategy, max_workers: flow.maxWorkers, timeout: flow.timeout },
  };
}

export function dslToText(dsl: FlowDsl, format: "json" | "yaml"): string {
  return format === "yaml" ? toYaml(dsl) : JSON.stringify(dsl, null, 2);
}
