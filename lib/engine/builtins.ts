import { z } from "zod";
import { type CompiledExpression, compileExpression, isTruthy } from "../expression";
import { conditionScope } from "./condition-scope";
import type { ActivationContext } from "./context";
import { FlowDefinitionError } from "./errors";
import { setOwn } from "./object-utils";
import type { RoutineRegistry } from "./registry";
import { markBuiltinRoutine, Routine } from "./routine";
import { setLongTimeout } from "./timers";
import type { Payload } from "./types";
import { PORT_NAME_PATTERN } from "../wire/ids";

/** Compiles each distinct condition once per routine instance (config can change between jobs). */
class ConditionCache {
  private readonly compiled = new Map<string, CompiledExpression>();
  get(source: string): CompiledExpression {
    let c = this.compiled.get(source);
    if (!c) {
      c = compileExpression(source);
      this.compiled.set(source, c);
    }
    return c;
  }
}

function scopeFor(routine: Routine, payload: Payload, ctx: ActivationContext): Record<string, unknown> {
  return conditionScope(payload, {
    routineId: ctx.routineId,
    slotName: ctx.slotName,
    jobId: ctx.jobId,
    shared: ctx.shared,
    config: routine.getConfigObject(),
  });
}

// ------------------------------------------------------------------ passthrough

export class Passthrough extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => ctx.emit("output", payload));
    this.defineEvent("output");
  }
}

// ------------------------------------------------------------------ mapper

const MapperConfig = z
  .object({
    rename: z.record(z.string(), z.string()).optional().describe("{from: to} key renames"),
    pick: z.array(z.string()).optional().describe("keep only these keys (after renaming)"),
    set: z.record(z.string(), z.unknown()).optional().describe("constant keys to add"),
    timeout: z.number().positive().optional(),
  })
  .strict();

export class Mapper extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const rename = (this.getConfig("rename") ?? {}) as Record<string, string>;
      const pick = this.getConfig("pick") as string[] | undefined;
      const set = (this.getConfig("set") ?? {}) as Record<string, unknown>;
      let out: Payload = {};
      for (const key of Object.keys(payload)) setOwn(out, Object.hasOwn(rename, key) ? (rename[key] as string) : key, payload[key]);
      if (pick) out = Object.fromEntries(pick.filter((k) => Object.hasOwn(out, k)).map((k) => [k, out[k]]));
      Object.assign(out, structuredClone(set));
      ctx.emit("output", out);
    });
    this.defineEvent("output");
  }
}

// ------------------------------------------------------------------ filter

const FilterConfig = z
  .object({
    condition: z.string().min(1).describe("expression; true → output, false → rejected"),
    timeout: z.number().positive().optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    try {
      compileExpression(cfg.condition);
    } catch (err) {
      ctx.addIssue({ code: "custom", path: ["condition"], message: (err as Error).message });
    }
  });

export class Filter extends Routine {
  private readonly conditions = new ConditionCache();
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const source = this.getConfig("condition");
      if (typeof source !== "string") throw new FlowDefinitionError("INVALID_CONFIG", "filter needs a 'condition' config");
      const passed = isTruthy(this.conditions.get(source).evaluate(scopeFor(this, payload, ctx)));
      ctx.emit(passed ? "output" : "rejected", payload);
    });
    this.defineEvent("output");
    this.defineEvent("rejected");
  }
}

// ------------------------------------------------------------------ router

const RouterConfig = z
  .object({
    routes: z
      .array(z.object({ event: z.string().regex(PORT_NAME_PATTERN), condition: z.string().min(1) }).strict())
      .describe("checked in order"),
    mode: z.enum(["first", "all"]).optional().describe("first matching route only (default) or every matching route"),
    timeout: z.number().positive().optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    cfg.routes.forEach((r, i) => {
      try {
        compileExpression(r.condition);
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["routes", i, "condition"], message: (err as Error).message });
      }
    });
  });

export class Router extends Routine {
  private readonly conditions = new ConditionCache();
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const routes = (this.getConfig("routes") ?? []) as { event: string; condition: string }[];
      const all = this.getConfig("mode") === "all";
      const scope = scopeFor(this, payload, ctx);
      let matched = false;
      for (const route of routes) {
        if (isTruthy(this.conditions.get(route.condition).evaluate(scope))) {
          matched = true;
          ctx.emit(route.event, { ...payload });
          if (!all) break;
        }
      }
      if (!matched) ctx.emit("default", payload);
    });
    this.defineEvent("default");
  }

  override setConfig(values: Record<string, unknown>): this {
    super.setConfig(values);
    // Route events are declared by the config, so emitting an unconnected route is not a typo.
    for (const r of (this.getConfig("routes") ?? []) as { event?: unknown }[]) {
      if (typeof r?.event === "string" && !this.hasEvent(r.event)) this.defineEvent(r.event);
    }
    return this;
  }
}

// ------------------------------------------------------------------ splitter

const SplitterConfig = z
  .object({
    field: z.string().optional().describe("the list to split (default 'items')"),
    item_key: z.string().optional().describe("key of each emitted item (default 'item')"),
    timeout: z.number().positive().optional(),
  })
  .strict();

export class Splitter extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const field = (this.getConfig("field") ?? "items") as string;
      const key = (this.getConfig("item_key") ?? "item") as string;
      const list = payload[field];
      if (!Array.isArray(list)) throw new TypeError(`splitter: '${field}' is not a list`);
      for (const [index, item] of list.entries()) ctx.emit("item", { [key]: item, index, total: list.length });
      ctx.emit("done", { count: list.length });
    });
    this.defineEvent("item", ["item", "index", "total"]);
    this.defineEvent("done", ["count"]);
  }
}

// ------------------------------------------------------------------ aggregator

const AggregatorConfig = z
  .object({
    count: z.number().int().min(1).describe("how many payloads to collect before emitting"),
    field: z.string().optional().describe("collect only this key of each payload"),
    timeout: z.number().positive().optional(),
  })
  .strict();

export class Aggregator extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const count = (this.getConfig("count") ?? 1) as number;
      const field = this.getConfig("field") as string | undefined;
      const items = (ctx.state.items as unknown[] | undefined) ?? [];
      ctx.state.items = items;
      items.push(field ? payload[field] : payload);
      if (items.length >= count) {
        ctx.state.items = [];
        ctx.emit("output", { items, count: items.length });
      }
    });
    this.defineEvent("output", ["items", "count"]);
  }
}

// ------------------------------------------------------------------ delay

const DelayConfig = z
  .object({ ms: z.number().min(0).max(3_600_000).describe("milliseconds to wait"), timeout: z.number().positive().optional() })
  .strict();

export class Delay extends Routine {
  constructor() {
    super();
    this.defineSlot("input", async (payload, ctx) => {
      const ms = (this.getConfig("ms") ?? 0) as number;
      await new Promise<void>((resolve, reject) => {
        if (ctx.signal.aborted) return reject(ctx.signal.reason);
        // The config schema caps `ms`, but setConfig from code does not check it: never fire early.
        const timer = setLongTimeout(resolve, ms);
        ctx.signal.addEventListener("abort", () => {
          timer.clear();
          reject(ctx.signal.reason);
        }, { once: true });
      });
      ctx.emit("output", payload);
    });
    this.defineEvent("output");
  }
}

// ------------------------------------------------------------------ fail

const FailConfig = z
  .object({
    message: z.string().optional().describe("error message (default 'Intentional failure')"),
    fail_times: z.number().int().min(0).optional().describe("fail this many times per job, then pass the payload on (default: always fail)"),
    timeout: z.number().positive().optional(),
  })
  .strict();

export class Fail extends Routine {
  constructor() {
    super();
    this.defineSlot("input", (payload, ctx) => {
      const times = this.getConfig("fail_times") as number | undefined;
      const failures = ((ctx.state.failures as number | undefined) ?? 0) + 1;
      if (times === undefined || failures <= times) {
        ctx.state.failures = failures;
        throw new Error((this.getConfig("message") as string | undefined) ?? "Intentional failure");
      }
      ctx.emit("output", payload);
    });
    this.defineEvent("output");
  }
}

for (const cls of [Passthrough, Mapper, Filter, Router, Splitter, Aggregator, Delay, Fail]) markBuiltinRoutine(cls);

/** Registers every built-in type in `registry`. */
export function registerBuiltins(registry: RoutineRegistry): void {
  registry.register("passthrough", Passthrough, { description: "Emits every payload unchanged on 'output'.", configSchema: z.object({ timeout: z.number().positive().optional() }).strict() });
  registry.register("mapper", Mapper, { description: "Renames, picks and sets keys, then emits on 'output'.", configSchema: MapperConfig });
  registry.register("filter", Filter, { description: "Emits on 'output' when the condition holds, else on 'rejected'.", configSchema: FilterConfig });
  registry.register("router", Router, { description: "Emits on the event of the first (or every) route whose condition holds, else on 'default'.", configSchema: RouterConfig });
  registry.register("splitter", Splitter, { description: "Emits one 'item' per element of a list, then 'done'.", configSchema: SplitterConfig });
  registry.register("aggregator", Aggregator, { description: "Collects N payloads per job, then emits them together on 'output'.", configSchema: AggregatorConfig });
  registry.register("delay", Delay, { description: "Waits `ms` milliseconds (cancellable), then emits the payload on 'output'.", configSchema: DelayConfig });
  registry.register("fail", Fail, { description: "Throws (for demos and tests); with fail_times it fails that many times per job, then passes.", configSchema: FailConfig });
}
