/**
 * Loads the user's project: finds its config (`routilux.config.ts`, `.mts`, `.js` or `.mjs`),
 * imports it — TypeScript through tsx — and turns what it exports into validated flows, with the
 * routine types it names registered. Every load imports the project's own files afresh, so an
 * edited routine file takes effect on the next load in the same process; packages (routilux
 * itself, zod, ...) are imported once and shared with the server.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire, register as registerHooks } from "node:module";
import { basename, dirname, extname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { register as registerTsxCjs } from "tsx/cjs/api";
import { register as registerTsxEsm } from "tsx/esm/api";
import { Flow, flowFromDsl, parseDslText, type RoutiluxConfig, type RoutineClass, type RoutineRegistry, type RoutineTypeMeta, routineRegistry } from "../lib";

export const CONFIG_NAMES = ["routilux.config.ts", "routilux.config.mts", "routilux.config.js", "routilux.config.mjs"] as const;

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}

/** The command could not do its work for a reason it can say in one line (exit code 1, no stack). */
export class CommandFailed extends Error {}

/** The project's code could not be loaded (it does not import, its config is wrong, a flow does not validate). */
export class ProjectLoadError extends Error {}

/** The config file `entry` names (a file, or a folder holding one), else the one in `cwd`. */
export function findConfig(entry: string | undefined, cwd = process.cwd()): string {
  if (entry !== undefined) {
    const path = resolve(cwd, entry);
    if (!existsSync(path)) throw new UsageError(`${entry}: no such file or directory`);
    if (!statSync(path).isDirectory()) return path;
    const inside = CONFIG_NAMES.map((n) => join(path, n)).find((p) => existsSync(p));
    if (!inside) throw new UsageError(`${entry} holds no ${CONFIG_NAMES.join(", ")}`);
    return inside;
  }
  const found = CONFIG_NAMES.map((n) => join(cwd, n)).find((p) => existsSync(p));
  if (!found) throw new UsageError(`No routilux.config.ts (or .mts, .js, .mjs) in ${cwd}: run \`routilux init\` for a starter, or give the config's path`);
  return found;
}

export interface LoadedProject {
  configPath: string;
  /** The config's folder: what is watched, and where relative paths start. */
  root: string;
  config: RoutiluxConfig;
  flows: Flow[];
  /** Routine types this load registered (the config's `routineTypes` and those its modules registered). */
  routineTypes: string[];
}

// ------------------------------------------------------------------ fresh imports

const VERSION_PARAM = "routilux-v";

/**
 * A resolve hook (it runs in Node's loader thread): a file of the project imported by a module of
 * version N gets version N too (`?routilux-v=N` in its URL), so each load instantiates the
 * project's modules anew. Files outside the project folder or in node_modules keep their URL:
 * one instance of each package — the library's classes and registry are the server's own.
 */
const HOOKS = `
let root = "";
export function initialize(data) { root = data.root; }
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const parent = context.parentURL;
  const m = parent ? /[?&]${VERSION_PARAM}=(\\d+)/.exec(parent) : null;
  if (!m || !resolved.url.startsWith(root) || resolved.url.includes("/node_modules/")) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set("${VERSION_PARAM}", m[1]);
  return { ...resolved, url: url.href };
}
`;

let hooksRoot: string | null = null;
let importVersion = 0;

function installHooks(root: string): void {
  if (hooksRoot === root) return;
  if (hooksRoot !== null) throw new Error(`one project per process (already loading ${hooksRoot})`);
  hooksRoot = root;
  // Run from its TypeScript sources, this file is already loaded by tsx; compiled, it registers tsx.
  if (!import.meta.url.endsWith(".ts")) {
    registerTsxEsm();
    registerTsxCjs();
  }
  registerHooks(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { root: pathToFileURL(root + sep).href } });
}

async function importFresh(file: string, root: string): Promise<Record<string, unknown>> {
  installHooks(root);
  importVersion += 1;
  // A CommonJS project's files are cached by path, whatever the URL: forget them.
  const cache = createRequire(import.meta.url).cache;
  for (const key of Object.keys(cache)) if (key.startsWith(root + sep) && !key.includes(`${sep}node_modules${sep}`)) delete cache[key];
  return (await import(`${pathToFileURL(file).href}?${VERSION_PARAM}=${importVersion}`)) as Record<string, unknown>;
}

// ------------------------------------------------------------------ errors

/** An import error as the user wants to read it: the message, then where in their files. */
export function describeLoadError(err: unknown, root: string): string {
  const clean = (text: string) =>
    text
      .replace(new RegExp(`\\?${VERSION_PARAM}=\\d+`, "g"), "")
      .replace(/file:\/\/(\/[^\s:)]+)/g, (_, path: string) => relativePath(root, path))
      .replaceAll(root + sep, "");
  if (!(err instanceof Error)) return clean(String(err));
  const head = clean(err.name && !err.message.startsWith(err.name) && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message);
  // esbuild's message already names the file, line and column.
  if (head.includes("Transform failed")) return head;
  // Where in the project's own files it happened (not in packages, not in Node).
  const inProject = (line: string) => (line.includes(`${pathToFileURL(root).href}/`) || line.includes(root + sep)) && !line.includes(`${sep}node_modules${sep}`) && !line.includes("/node_modules/");
  const frames = [...new Set(stackOf(err).split("\n").filter((l) => /^\s+at /.test(l) && inProject(l)))].slice(0, 3).map(clean);
  return [head, ...frames].join("\n");
}

/**
 * The stack as Node formats it, with the source maps tsx registers (lines of the TypeScript
 * source): Next replaces `Error.prepareStackTrace` with one that ignores them. A stack is
 * formatted when first read, so this works for an error nobody has printed yet.
 */
function stackOf(err: Error): string {
  const ctor = Error as { prepareStackTrace?: unknown };
  const saved = ctor.prepareStackTrace;
  ctor.prepareStackTrace = undefined;
  try {
    return err.stack ?? "";
  } finally {
    ctor.prepareStackTrace = saved;
  }
}

function relativePath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith("..") ? path : rel;
}

// ------------------------------------------------------------------ the config

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A Flow, this library's or another copy's (a global install loading a project's own copy). */
function isFlow(v: unknown): v is Flow {
  if (v instanceof Flow) return true;
  return isRecord(v) && typeof v.flowId === "string" && typeof (v as { start?: unknown }).start === "function" && typeof (v as { validate?: unknown }).validate === "function";
}

/** `export default defineConfig({...})` or `export const flows = [...]` (CommonJS: `module.exports`). */
function configOf(mod: Record<string, unknown>, name: string): RoutiluxConfig {
  let candidate: unknown = mod.default;
  if (isRecord(candidate) && !("flows" in candidate) && isRecord(candidate.default)) candidate = candidate.default;
  if (isRecord(candidate) && "flows" in candidate) return checkConfig(candidate, name);
  if ("flows" in mod) return checkConfig({ flows: mod.flows, routineTypes: mod.routineTypes }, name);
  throw new ProjectLoadError(`${name} exports no flows: \`export default defineConfig({ flows: [...] })\` or \`export const flows = [...]\``);
}

function checkConfig(raw: Record<string, unknown>, name: string): RoutiluxConfig {
  const { flows, routineTypes, port, database } = raw;
  if (!Array.isArray(flows)) throw new ProjectLoadError(`${name}: flows must be an array (of Flows, DSL objects or DSL file paths)`);
  if (routineTypes !== undefined && !isRecord(routineTypes)) throw new ProjectLoadError(`${name}: routineTypes must be an object {name: RoutineClass | {routine, description?, configSchema?}}`);
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535)) throw new ProjectLoadError(`${name}: port must be a whole number from 0 to 65535`);
  if (database !== undefined && database !== false && typeof database !== "string") throw new ProjectLoadError(`${name}: database must be a path, ":memory:" or false`);
  return raw as unknown as RoutiluxConfig;
}

function routineTypeOf(name: string, def: unknown, where: string): { cls: RoutineClass; meta: RoutineTypeMeta } {
  if (typeof def === "function") return { cls: def as RoutineClass, meta: {} };
  if (isRecord(def) && typeof def.routine === "function") {
    const { routine, ...meta } = def;
    return { cls: routine as RoutineClass, meta: meta as RoutineTypeMeta };
  }
  throw new ProjectLoadError(`${where}: routineTypes.${name} must be a Routine class or {routine: Class, description?, configSchema?}`);
}

const DSL_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

function flowOf(item: unknown, index: number, root: string, registry: RoutineRegistry): Flow {
  const where = `flows[${index}]`;
  if (isFlow(item)) return item;
  try {
    if (typeof item === "string") {
      const path = resolve(root, item);
      if (!DSL_EXTENSIONS.has(extname(path).toLowerCase())) throw new Error(`a DSL file is .yaml, .yml or .json`);
      if (!existsSync(path)) throw new Error(`no such file ${relativePath(root, path)}`);
      const doc = parseDslText(readFileSync(path, "utf8"));
      // A file without flow_id is named after itself (flows/pipeline.yaml → pipeline).
      const named = isRecord(doc) && typeof doc.flow_id === "string";
      return flowFromDsl(doc, registry, named ? {} : { flowId: basename(path, extname(path)) });
    }
    if (isRecord(item)) return flowFromDsl(item, registry);
  } catch (err) {
    const label = typeof item === "string" ? `${where} (${item})` : isRecord(item) && typeof item.flow_id === "string" ? `${where} (${item.flow_id})` : where;
    throw new ProjectLoadError(`${label}: ${(err as Error).message}`);
  }
  throw new ProjectLoadError(`${where} is not a Flow, a DSL object or the path of a DSL file (got ${item === null ? "null" : typeof item})`);
}

/**
 * Loads a project again and again (`routilux dev` calls `load` on every change). Each load
 * registers the routine types of the new code under the same names; a load that fails leaves the
 * registry as the last good load left it, so the flows already served keep working.
 */
export class ProjectLoader {
  readonly root: string;
  /** Types the last good load registered, to take out before the next one registers its own. */
  private owned = new Map<string, { cls: RoutineClass; meta: RoutineTypeMeta }>();

  constructor(
    readonly configPath: string,
    private readonly registry: RoutineRegistry = routineRegistry,
  ) {
    this.root = dirname(configPath);
  }

  async load(): Promise<LoadedProject> {
    const registry = this.registry;
    const previous = this.owned;
    for (const name of previous.keys()) registry.unregister(name);
    const base = new Set(registry.names);
    const name = basename(this.configPath);
    try {
      let mod: Record<string, unknown>;
      try {
        mod = await importFresh(this.configPath, this.root);
      } catch (err) {
        throw new ProjectLoadError(describeLoadError(err, this.root));
      }
      const config = configOf(mod, name);
      for (const [typeName, def] of Object.entries(config.routineTypes ?? {})) {
        const { cls, meta } = routineTypeOf(typeName, def, name);
        if (registry.has(typeName) && !base.has(typeName) && registry.definition(typeName)?.cls === cls) continue; // its module registered it already
        try {
          registry.register(typeName, cls, meta);
        } catch (err) {
          throw new ProjectLoadError(`${name}: routineTypes.${typeName}: ${(err as Error).message}`);
        }
      }
      const flows = config.flows.map((item, i) => flowOf(item, i, this.root, registry));
      const ids = new Set<string>();
      for (const flow of flows) {
        if (ids.has(flow.flowId)) throw new ProjectLoadError(`${name}: two flows have the id '${flow.flowId}'`);
        ids.add(flow.flowId);
        const errors = flow.validate().filter((i) => i.level === "error");
        if (errors.length) throw new ProjectLoadError(`flow '${flow.flowId}' does not validate:\n${errors.map((e) => `  ${e.code}: ${e.message}`).join("\n")}`);
      }
      const added = registry.names.filter((n) => !base.has(n));
      this.owned = new Map(added.map((n) => [n, registry.definition(n) as { cls: RoutineClass; meta: RoutineTypeMeta }]));
      return { configPath: this.configPath, root: this.root, config, flows, routineTypes: added };
    } catch (err) {
      // Back to the last good load's types (this one's, registered before it failed, go).
      for (const n of registry.names) if (!base.has(n)) registry.unregister(n);
      for (const [n, def] of previous) registry.register(n, def.cls, def.meta);
      if (err instanceof ProjectLoadError) throw err;
      throw new ProjectLoadError(describeLoadError(err, this.root));
    }
  }
}

/** The folder of the routilux package this CLI belongs to (its Next app and build live there). */
export { packageRoot } from "../server/main";
