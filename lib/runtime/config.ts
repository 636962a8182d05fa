/**
 * The project config `routilux dev`, `routilux start` and `routilux run` load
 * (`routilux.config.ts`): the flows to serve, the routine types to register, where to listen and
 * where to keep history.
 */
import type { Flow, FlowDsl, RoutineClass, RoutineTypeMeta } from "../engine";

/**
 * A flow of the config: a `Flow` built in code, a DSL object (`{flow_id, routines, connections}`),
 * or the path of a `.yaml`/`.yml`/`.json` DSL file, relative to the config file (its flow id
 * defaults to the file's name).
 */
export type ConfigFlow = Flow | FlowDsl | string;

/** A routine type: its class, or its class with a description and a config schema. */
export type RoutineTypeDefinition = RoutineClass | ({ routine: RoutineClass } & RoutineTypeMeta);

export interface RoutiluxConfig {
  flows: ConfigFlow[];
  /**
   * Routine types by name, registered before the DSL flows are built: usable from the DSL, the
   * HTTP API and the debugger. Registered again from the new code on every reload.
   */
  routineTypes?: Record<string, RoutineTypeDefinition>;
  /** Port of `routilux dev` / `start` (default 8765; `--port` wins). */
  port?: number;
  /**
   * History database, relative to the config file (default `.routilux/history.db`), `:memory:`,
   * or false for none. `--db` and `--no-history` win.
   */
  database?: string | false;
}

/** Types a config file: `export default defineConfig({ flows: [...] })`. */
export function defineConfig(config: RoutiluxConfig): RoutiluxConfig {
  return config;
}
