import { z } from "zod";
import { registerBuiltins } from "./builtins";
import { FlowDefinitionError } from "./errors";
import type { Routine } from "./routine";

export type RoutineClass = new () => Routine;

export interface RoutineTypeMeta {
  description?: string;
  /** Validates the routine's config (DSL, API); also listed as JSON Schema for the UI. */
  configSchema?: z.ZodType;
  /** Short descriptions of slots and events, by name. */
  slotDescriptions?: Record<string, string>;
  eventDescriptions?: Record<string, string>;
}

export interface RoutineTypeInfo {
  name: string;
  description: string;
  slots: { name: string; description: string; merge_strategy: string }[];
  events: { name: string; description: string; output_params: string[] }[];
  /** JSON Schema of the config, or null when the type declares none. */
  config_schema: Record<string, unknown> | null;
}

interface Entry {
  name: string;
  cls: RoutineClass;
  meta: RoutineTypeMeta;
}

const TYPE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Routine types by name. The DSL's `class` and the HTTP API name a type here, never a file or a
 * module to import, so loading a flow cannot run code that was not registered on purpose.
 */
export class RoutineRegistry {
  private readonly byName = new Map<string, Entry>();
  private readonly byClass = new Map<RoutineClass, string>();

  register(name: string, cls: RoutineClass, meta: RoutineTypeMeta = {}): void {
    if (!TYPE_NAME_RE.test(name)) {
      throw new FlowDefinitionError("INVALID_NAME", `Invalid routine type name '${name}'`);
    }
    if (this.byName.has(name)) {
      throw new FlowDefinitionError("DUPLICATE_TYPE", `Routine type '${name}' is already registered`);
    }
    if (typeof cls !== "function") {
      throw new FlowDefinitionError("INVALID_TYPE", `Routine type '${name}' must be a class`);
    }
    this.byName.set(name, { name, cls, meta });
    if (!this.byClass.has(cls)) this.byClass.set(cls, name);
  }

  unregister(name: string): boolean {
    const entry = this.byName.get(name);
    if (!entry) return false;
    this.byName.delete(name);
    if (this.byClass.get(entry.cls) === name) this.byClass.delete(entry.cls);
    return true;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The class and metadata registered under `name`, so a caller can register them again later. */
  definition(name: string): { cls: RoutineClass; meta: RoutineTypeMeta } | undefined {
    const entry = this.byName.get(name);
    return entry ? { cls: entry.cls, meta: entry.meta } : undefined;
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The registered name of a routine's class, if any. */
  nameOf(routine: Routine): string | undefined {
    return this.byClass.get(routine.constructor as RoutineClass);
  }

  /** Validates `config` against the type's schema, then builds the routine. */
  create(name: string, config?: Record<string, unknown>): Routine {
    const entry = this.byName.get(name);
    if (!entry) {
      throw new FlowDefinitionError(
        "UNKNOWN_TYPE",
        `Unknown routine type '${name}' (registered: ${this.names.join(", ") || "none"})`,
      );
    }
    const routine = new entry.cls();
    const cfg = config ?? {};
    if (entry.meta.configSchema) {
      const parsed = entry.meta.configSchema.safeParse(cfg);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const where = first?.path.length ? first.path.join(".") : "config";
        throw new FlowDefinitionError("INVALID_CONFIG", `Invalid config for '${name}' at ${where}: ${first?.message ?? "invalid"}`);
      }
    }
    if (Object.keys(cfg).length > 0) routine.setConfig(cfg);
    return routine;
  }

  info(name: string): RoutineTypeInfo | undefined {
    const entry = this.byName.get(name);
    if (!entry) return undefined;
    const sample = new entry.cls();
    const { meta } = entry;
    return {
      name,
      description: meta.description ?? "",
      slots: sample.slotNames.map((s) => {
        const def = sample.getSlot(s);
        const merge = def?.mergeStrategy;
        return { name: s, description: meta.slotDescriptions?.[s] ?? "", merge_strategy: typeof merge === "function" ? "custom" : (merge ?? "override") };
      }),
      events: sample.eventNames.map((e) => ({
        name: e,
        description: meta.eventDescriptions?.[e] ?? "",
        output_params: [...(sample.getEvent(e)?.outputParams ?? [])],
      })),
      config_schema: meta.configSchema ? (z.toJSONSchema(meta.configSchema, { unrepresentable: "any" }) as Record<string, unknown>) : null,
    };
  }

  list(): RoutineTypeInfo[] {
    return this.names.map((n) => this.info(n) as RoutineTypeInfo);
  }
}

/** The process-wide registry: the built-in types plus whatever the program registers. */
export const routineRegistry = new RoutineRegistry();
registerBuiltins(routineRegistry);

export function registerRoutine(name: string, cls: RoutineClass, meta?: RoutineTypeMeta): void {
  routineRegistry.register(name, cls, meta);
}
