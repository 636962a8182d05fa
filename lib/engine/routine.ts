import { type ActivationContext, currentActivation } from "./context";
import { ErrorHandler, type ErrorHandlerOptions, type ErrorStrategy } from "./error-handler";
import { FlowDefinitionError } from "./errors";
import { MAX_TIMEOUT_SECONDS } from "./timers";
import { isJsonValue, type JsonObject, type JsonValue, type Payload } from "./types";
import { PORT_NAME_PATTERN } from "../wire/ids";

/** Return values are ignored (as in the reference), except that a returned promise is awaited. */
export type SlotHandler = (payload: Payload, ctx: ActivationContext) => unknown;

/**
 * How a slot combines successive payloads within one job:
 * - `override`: the handler gets the incoming payload;
 * - `append`: each incoming key accumulates into a list, the handler gets the lists of the incoming keys;
 * - a function `(previous, incoming) => merged`: its result is kept and handed to the handler.
 */
export type MergeFunction = (previous: Payload | undefined, incoming: Payload) => Payload;
export type MergeStrategy = "override" | "append" | MergeFunction;

export interface SlotDefinition {
  readonly name: string;
  readonly handler: SlotHandler;
  readonly mergeStrategy: MergeStrategy;
}

export interface EventDefinition {
  readonly name: string;
  readonly outputParams: readonly string[];
  /** Declared by `flow.connect` rather than by the routine itself. */
  readonly implicit: boolean;
}

const NAME_RE = PORT_NAME_PATTERN;

function checkName(kind: string, name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new FlowDefinitionError(
      "INVALID_NAME",
      `Invalid ${kind} name '${String(name)}' (letters, digits, '_' or '-', starting with a letter or '_')`,
    );
  }
}

/**
 * A unit of logic with named input slots and named output events. Subclass it, define slots
 * in the constructor, and call `this.emit(...)` (or `ctx.emit(...)`) from the handlers.
 */
export class Routine {
  private readonly slots = new Map<string, SlotDefinition>();
  private readonly events = new Map<string, EventDefinition>();
  private config: JsonObject = {};
  private errorHandler: ErrorHandler | null = null;
  /** Cached from `config.timeout` (seconds) so the hot path reads one field. */
  timeoutMs: number | null = null;
  private rev = 0;

  /**
   * Changes whenever the routine's slots, events or config change (a counter, never decreasing), so
   * a description of it can be cached until it does.
   */
  get revision(): number {
    return this.rev;
  }

  defineSlot(name: string, handler: SlotHandler, options: { mergeStrategy?: MergeStrategy } = {}): SlotDefinition {
    checkName("slot", name);
    if (this.slots.has(name)) {
      throw new FlowDefinitionError("DUPLICATE_SLOT", `Slot '${name}' already exists on ${this.describe()}`);
    }
    if (typeof handler !== "function") {
      throw new FlowDefinitionError("INVALID_SLOT", `Slot '${name}' needs a handler function`);
    }
    const mergeStrategy = options.mergeStrategy ?? "override";
    if (mergeStrategy !== "override" && mergeStrategy !== "append" && typeof mergeStrategy !== "function") {
      throw new FlowDefinitionError(
        "INVALID_MERGE_STRATEGY",
        `Unknown merge strategy '${String(mergeStrategy)}' for slot '${name}' (override, append or a function)`,
      );
    }
    // Bound once here so that `this` inside a method handler is the routine.
    const slot: SlotDefinition = { name, handler: handler.bind(this), mergeStrategy };
    this.slots.set(name, slot);
    this.rev++;
    return slot;
  }

  /** The options-object spelling: `addSlot("trigger", { handler: this.process })`. */
  addSlot(name: string, options: { handler: SlotHandler; mergeStrategy?: MergeStrategy }): SlotDefinition {
    return this.defineSlot(name, options.handler, { mergeStrategy: options.mergeStrategy });
  }

  defineEvent(name: string, outputParams: readonly string[] = []): EventDefinition {
    checkName("event", name);
    const existing = this.events.get(name);
    if (existing && !existing.implicit) {
      throw new FlowDefinitionError("DUPLICATE_EVENT", `Event '${name}' already exists on ${this.describe()}`);
    }
    const ev: EventDefinition = { name, outputParams: [...outputParams], implicit: false };
    this.events.set(name, ev);
    this.rev++;
    return ev;
  }

  /** @internal Declares an event because a connection names it. */
  declareImplicitEvent(name: string): void {
    checkName("event", name);
    if (this.events.has(name)) return;
    this.events.set(name, { name, outputParams: [], implicit: true });
    this.rev++;
  }

  getSlot(name: string): SlotDefinition | undefined {
    return this.slots.get(name);
  }

  getEvent(name: string): EventDefinition | undefined {
    return this.events.get(name);
  }

  hasEvent(name: string): boolean {
    return this.events.has(name);
  }

  get slotNames(): string[] {
    return [...this.slots.keys()];
  }

  get eventNames(): string[] {
    return [...this.events.keys()];
  }

  /**
   * Emit from inside a handler: the running activation (tracked across awaits) decides which
   * job receives it. Outside a handler there is no job to emit into, which is an error.
   */
  emit(eventName: string, payload?: Payload): void {
    const act = currentActivation();
    if (act === undefined || act.routine !== this) {
      throw new FlowDefinitionError(
        "EMIT_OUTSIDE_HANDLER",
        `${this.describe()} emitted '${eventName}' outside one of its own handlers; use ctx.emit in callbacks that escape the handler`,
      );
    }
    act.emitVia(Routine.prototype.emit, eventName, payload);
  }

  /** Merge keys into the config. Values must be plain JSON (config travels through the DSL and API). */
  setConfig(values: Record<string, unknown>): this {
    if (typeof values !== "object" || values === null || Array.isArray(values)) {
      throw new FlowDefinitionError("INVALID_CONFIG", "setConfig expects an object");
    }
    for (const [key, value] of Object.entries(values)) {
      if (key === "__proto__" || key === "constructor" || key === "prototype") {
        throw new FlowDefinitionError("INVALID_CONFIG", `Config key '${key}' is not allowed`);
      }
      if (!isJsonValue(value)) {
        throw new FlowDefinitionError("INVALID_CONFIG", `Config value for '${key}' is not plain JSON`);
      }
    }
    const next = { ...this.config, ...(structuredClone(values) as JsonObject) };
    // Checked before it is kept: a refused timeout leaves the config as it was.
    const timeoutMs = readTimeout(next);
    this.config = next;
    this.rev++;
    this.timeoutMs = timeoutMs;
    return this;
  }

  /** Replace the whole config. */
  replaceConfig(values: Record<string, unknown>): this {
    this.config = {};
    this.rev++;
    this.timeoutMs = null;
    return this.setConfig(values);
  }

  getConfig<T extends JsonValue | undefined = JsonValue | undefined>(key: string, defaultValue?: T): JsonValue | T {
    return Object.hasOwn(this.config, key) ? (this.config[key] as JsonValue) : (defaultValue as T);
  }

  /** A copy of the whole config. */
  getConfigObject(): JsonObject {
    return structuredClone(this.config);
  }

  /** Seconds after which an activation of this routine fails with a TimeoutError. */
  setTimeoutSeconds(seconds: number | null): this {
    if (seconds === null) {
      const { timeout: _dropped, ...rest } = this.config;
      return this.replaceConfig(rest);
    }
    return this.setConfig({ timeout: seconds });
  }

  setErrorHandler(handler: ErrorHandler | null): this {
    this.errorHandler = handler;
    return this;
  }

  getErrorHandler(): ErrorHandler | null {
    return this.errorHandler;
  }

  /** Errors are recorded and the job goes on (`continue`) or the routine is marked `skipped`. */
  setAsOptional(strategy: Extract<ErrorStrategy, "continue" | "skip"> = "continue"): this {
    return this.setErrorHandler(new ErrorHandler(strategy, { isCritical: false }));
  }

  /** Retries, then fails the job when retries run out. */
  setAsCritical(options: ErrorHandlerOptions = {}): this {
    return this.setErrorHandler(new ErrorHandler("retry", { ...options, isCritical: true }));
  }

  private describe(): string {
    return `routine ${this.constructor.name}`;
  }
}

/** `config.timeout` in ms (null for none); throws INVALID_CONFIG when it is not a usable number of seconds. */
function readTimeout(config: JsonObject): number | null {
  const t = config.timeout;
  if (t === undefined || t === null) return null;
  if (typeof t !== "number" || !(t > 0) || t > MAX_TIMEOUT_SECONDS) {
    throw new FlowDefinitionError("INVALID_CONFIG", `Config 'timeout' must be a positive number of seconds up to ${MAX_TIMEOUT_SECONDS} (~24.8 days), got ${String(t)}`);
  }
  return t * 1000;
}

const BUILTIN_CLASSES = new WeakSet<object>();

/** @internal Marks the engine's own routine types (their emits have no user source line). */
export function markBuiltinRoutine(cls: abstract new (...args: never[]) => Routine): void {
  BUILTIN_CLASSES.add(cls);
}

/** Whether `routine` is of one of the engine's built-in types. */
export function isBuiltinRoutine(routine: Routine): boolean {
  return BUILTIN_CLASSES.has(routine.constructor);
}
