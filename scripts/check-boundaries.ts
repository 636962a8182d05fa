/**
 * Import boundaries: builds the import graph of the repo's own sources and fails on any import
 * the table below forbids. `npm run check:boundaries`; exit 1 with one line per violation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { type Node, parseSync, type StringLiteral, Visitor } from "oxc-parser";

/**
 * A package pattern matches a specifier exactly; a trailing `*` matches any rest
 * (`node:*` is every builtin, `ws/*` the subpaths of ws). Builtins are named `node:x`
 * even when imported as `x`.
 */
type PackagePattern = string;

interface AreaRule {
  /** Path prefix from the repo root (a folder, or one file); the most specific area wins. */
  area: string;
  /** Repo paths (prefixes) this area may import; `**` is the whole repo. */
  internal: readonly string[];
  /** Prefixes carved out of `internal`. */
  except?: readonly string[];
  /** Packages: an allow-list, a deny-list, or any. */
  packages: { allow: readonly PackagePattern[] } | { deny: readonly PackagePattern[] } | "any";
  /** Packages this area may import types from (`import type`), and nothing else. */
  typesFrom?: readonly PackagePattern[];
  /** `import(expression)` is allowed here (it cannot be checked): the CLI imports the user's project by path. */
  computedImports?: boolean;
}

const withSubpaths = (...names: string[]): PackagePattern[] => names.flatMap((n) => [n, `${n}/*`]);

/** What browser code must not pull in: Node, the database, the server-side socket packages, Next's server entry. */
const BROWSER_DENY: readonly PackagePattern[] = [
  "node:*",
  ...withSubpaths("better-sqlite3", "ws", "socket.io"),
  // `next` itself is the server entry; `next/link`, `next/navigation` etc. are browser code.
  "next",
];

const TESTING_AREA = (area: string): AreaRule => ({ area, internal: ["**"], except: ["app"], packages: "any" });

export const RULES: readonly AreaRule[] = [
  // The wire contract (shapes, the error family): shared by every side, browser included, so it
  // depends on nothing of the project's and on no package but zod.
  { area: "lib/wire", internal: ["lib/wire"], packages: { allow: withSubpaths("zod") } },
  // The safe expression evaluator: a pure leaf but for the shared error family.
  { area: "lib/expression", internal: ["lib/expression", "lib/wire"], packages: { allow: withSubpaths("jsep") } },
  // Pure engine, no I/O. It does use lib/expression: the builtin filter and router routines
  // evaluate their conditions with it. Its snapshots and errors are the wire's shapes.
  {
    area: "lib/engine",
    internal: ["lib/engine", "lib/expression", "lib/wire"],
    packages: { allow: [...withSubpaths("zod", "yaml"), "node:crypto", "node:async_hooks"] },
  },
  {
    area: "lib/monitoring",
    internal: ["lib/monitoring", "lib/engine", "lib/expression", "lib/wire"],
    packages: { allow: [...withSubpaths("zod"), "node:crypto"] },
  },
  {
    area: "lib/persistence",
    internal: ["lib/persistence", "lib/monitoring", "lib/engine", "lib/wire"],
    packages: { allow: [...withSubpaths("better-sqlite3"), "node:fs", "node:path", "node:module", "node:os"] },
  },
  {
    area: "lib/runtime",
    internal: ["lib/runtime", "lib/persistence", "lib/monitoring", "lib/engine", "lib/expression", "lib/wire"],
    packages: { allow: ["node:*"] },
  },
  // The public API: re-exports only (zod too: routine config schemas are built with the library's own).
  {
    area: "lib/index.ts",
    internal: ["lib/engine", "lib/expression", "lib/monitoring", "lib/runtime", "lib/wire"],
    packages: { allow: ["zod"] },
  },
  // Browser logic.
  { area: "lib/client", internal: ["lib/client", "lib/wire"], packages: { deny: BROWSER_DENY } },
  // Route handlers: thin adapters over the server.
  { area: "app/api", internal: ["server", "lib"], except: ["lib/client"], packages: "any" },
  // Pages and components run in the browser; `next` itself only for its types (page metadata).
  { area: "app", internal: ["app", "lib/client", "lib/wire"], except: ["app/api"], packages: { deny: BROWSER_DENY }, typesFrom: ["next"] },
  // The server ships without the UI and without examples.
  { area: "server", internal: ["server", "lib"], except: ["lib/client"], packages: "any" },
  // The command line: the public API and the server and worker entries (what the package exports), nothing of the UI.
  { area: "cli", internal: ["cli", "lib", "server/main.ts", "server/cluster/worker-main.ts"], except: ["lib/client"], packages: "any", computedImports: true },
  // Examples use only what a user of the package would.
  { area: "examples", internal: ["lib/index.ts", "server/main.ts"], packages: "any" },
  TESTING_AREA("scripts"),
  TESTING_AREA("bench"),
  TESTING_AREA("tests"),
  TESTING_AREA("e2e"),
];

/** Folders scanned for .ts/.tsx sources. */
export const SCAN_ROOTS: readonly string[] = ["lib", "server", "app", "cli", "examples", "scripts", "bench", "tests", "e2e"];
const SKIP_DIRS = new Set(["node_modules", ".next"]);
/** Mirrors tsconfig.json `paths` (`@/*` → `./*`). */
const ALIASES: readonly (readonly [prefix: string, target: string])[] = [["@/", ""]];
const EXTENSIONS = [".ts", ".tsx", "/index.ts", "/index.tsx"];

export type ImportKind = "import" | "import type" | "export from" | "dynamic import" | "type import()" | "require";

export interface Violation {
  /** Repo-relative, `/`-separated. */
  file: string;
  line: number;
  specifier: string;
  kind: ImportKind;
  /** A repo path, `package NAME`, or `nothing`. */
  resolved: string;
  rule: string;
}

export interface CheckOptions {
  rules?: readonly AreaRule[];
  roots?: readonly string[];
}

export interface CheckResult {
  violations: Violation[];
  files: number;
  imports: number;
}

interface ImportRecord {
  specifier: string | null;
  /** Source text of a computed specifier, for the message. */
  text: string;
  kind: ImportKind;
  start: number;
}

const under = (path: string, prefix: string): boolean => prefix === "**" || path === prefix || path.startsWith(`${prefix}/`);
const toPosix = (p: string): string => p.split(sep).join("/");

function matchesPackage(name: string, pattern: PackagePattern): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function listSources(root: string, roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.isFile() && /\.tsx?$/.test(entry.name)) {
        out.push(toPosix(relative(root, join(dir, entry.name))));
      }
    }
  };
  for (const r of roots) if (existsSync(join(root, r))) walk(join(root, r));
  return out.sort();
}

function collectImports(file: string, source: string): { imports: ImportRecord[]; error: string | null } {
  const result = parseSync(file, source);
  const fatal = result.errors.find((e) => e.severity === "Error");
  if (fatal) return { imports: [], error: fatal.message };
  const imports: ImportRecord[] = [];
  const add = (lit: StringLiteral, kind: ImportKind, at: Node): void => {
    imports.push({ specifier: lit.value, text: lit.value, kind, start: at.start });
  };
  new Visitor({
    ImportDeclaration(node) {
      const typeOnly =
        node.importKind === "type" ||
        (node.specifiers.length > 0 && node.specifiers.every((s) => s.type === "ImportSpecifier" && s.importKind === "type"));
      add(node.source, typeOnly ? "import type" : "import", node);
    },
    ExportNamedDeclaration(node) {
      if (node.source) add(node.source, "export from", node);
    },
    ExportAllDeclaration(node) {
      add(node.source, "export from", node);
    },
    ImportExpression(node) {
      const src = node.source;
      if (src.type === "Literal" && typeof src.value === "string") {
        imports.push({ specifier: src.value, text: src.value, kind: "dynamic import", start: node.start });
      } else if (src.type === "TemplateLiteral" && src.expressions.length === 0 && src.quasis[0]?.value.cooked != null) {
        imports.push({ specifier: src.quasis[0].value.cooked, text: src.quasis[0].value.cooked, kind: "dynamic import", start: node.start });
      } else {
        imports.push({ specifier: null, text: source.slice(src.start, src.end), kind: "dynamic import", start: node.start });
      }
    },
    TSImportType(node) {
      add(node.source, "type import()", node);
    },
    TSExternalModuleReference(node) {
      add(node.expression, "require", node);
    },
    CallExpression(node) {
      const arg = node.arguments[0];
      if (node.callee.type === "Identifier" && node.callee.name === "require" && node.arguments.length === 1 && arg?.type === "Literal" && typeof arg.value === "string") {
        imports.push({ specifier: arg.value, text: arg.value, kind: "require", start: node.start });
      }
    },
  }).visit(result.program);
  return { imports, error: null };
}

/** A repo-relative path, `null` when nothing there resolves, or a package name. */
function resolveSpecifier(root: string, file: string, specifier: string): { file: string | null } | { pkg: string } {
  let base: string | null = null;
  if (specifier === "." || specifier === ".." || specifier.startsWith("./") || specifier.startsWith("../")) {
    base = resolve(root, dirname(file), specifier);
  } else {
    const alias = ALIASES.find(([prefix]) => specifier.startsWith(prefix));
    if (alias) base = resolve(root, alias[1], specifier.slice(alias[0].length));
  }
  if (base === null) return { pkg: isBuiltin(specifier) && !specifier.startsWith("node:") ? `node:${specifier}` : specifier };
  const rel = toPosix(relative(root, base));
  if (rel.startsWith("../") || rel === "..") return { file: null };
  for (const candidate of ["", ...EXTENSIONS]) {
    const path = base + candidate;
    if (existsSync(path) && statSync(path).isFile()) return { file: toPosix(relative(root, path)) };
  }
  return { file: null };
}

function areaOf(rules: readonly AreaRule[], file: string): AreaRule | undefined {
  let best: AreaRule | undefined;
  for (const r of rules) if (under(file, r.area) && (!best || r.area.length > best.area.length)) best = r;
  return best;
}

function describeInternal(rule: AreaRule): string {
  const allowed = rule.internal.map((p) => (p === "**" ? "anything" : p)).join(", ");
  return `${rule.area} may import only ${allowed}${rule.except?.length ? ` (not ${rule.except.join(", ")})` : ""}`;
}

function checkImport(rule: AreaRule | undefined, file: string, target: { file: string | null } | { pkg: string }, kind: ImportKind): string | null {
  if ("file" in target) {
    if (target.file === null) return "the import does not resolve to a file";
    if (under(target.file, "app") && !under(file, "app")) return "nothing outside app/ imports from app/";
    if (!rule) return `no area in the rules table covers ${file}`;
    const ok = rule.internal.some((p) => under(target.file as string, p)) && !rule.except?.some((p) => under(target.file as string, p));
    return ok ? null : describeInternal(rule);
  }
  if (!rule) return `no area in the rules table covers ${file}`;
  if (kind === "import type" && rule.typesFrom?.some((p) => matchesPackage(target.pkg, p))) return null;
  const pkgs = rule.packages;
  if (pkgs === "any") return null;
  if ("allow" in pkgs) {
    if (pkgs.allow.some((p) => matchesPackage(target.pkg, p))) return null;
    return pkgs.allow.length === 0
      ? `${rule.area} may use no packages`
      : `${rule.area} may use only the packages ${pkgs.allow.join(", ")}`;
  }
  const denied = pkgs.deny.find((p) => matchesPackage(target.pkg, p));
  return denied === undefined ? null : `${rule.area} must not use ${denied}`;
}

function lineOf(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Checks every source under `root` and counts what it saw. */
export function scanBoundaries(root: string, options: CheckOptions = {}): CheckResult {
  const rules = options.rules ?? RULES;
  const files = listSources(root, options.roots ?? SCAN_ROOTS);
  const violations: Violation[] = [];
  let imports = 0;
  for (const file of files) {
    const source = readFileSync(join(root, file), "utf8");
    const parsed = collectImports(file, source);
    if (parsed.error !== null) {
      violations.push({ file, line: 1, specifier: "", kind: "import", resolved: "nothing", rule: `the file does not parse: ${parsed.error}` });
      continue;
    }
    const lineStarts = [0];
    for (let i = source.indexOf("\n"); i >= 0; i = source.indexOf("\n", i + 1)) lineStarts.push(i + 1);
    const rule = areaOf(rules, file);
    for (const imp of parsed.imports) {
      imports++;
      const line = lineOf(lineStarts, imp.start);
      if (imp.specifier === null) {
        if (rule?.computedImports) continue;
        violations.push({ file, line, specifier: imp.text, kind: imp.kind, resolved: "nothing", rule: "a computed import specifier cannot be checked" });
        continue;
      }
      const target = resolveSpecifier(root, file, imp.specifier);
      const broken = checkImport(rule, file, target, imp.kind);
      if (broken !== null) {
        const resolved = "pkg" in target ? `package ${target.pkg}` : (target.file ?? "nothing");
        violations.push({ file, line, specifier: imp.specifier, kind: imp.kind, resolved, rule: broken });
      }
    }
  }
  return { violations, files: files.length, imports };
}

/** The violations of the import rules under `root` (empty when the boundaries hold). */
export function checkBoundaries(root: string, options: CheckOptions = {}): Violation[] {
  return scanBoundaries(root, options).violations;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line} imports '${v.specifier}' (resolved to ${v.resolved}): ${v.rule}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { violations, files, imports } = scanBoundaries(process.cwd());
  for (const v of violations) console.log(formatViolation(v));
  if (violations.length > 0) {
    console.log(`${violations.length} import boundary violation(s) in ${files} files (${imports} imports)`);
    process.exit(1);
  }
  console.log(`import boundaries OK: ${files} files, ${imports} imports checked`);
}
