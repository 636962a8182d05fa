import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkBoundaries, formatViolation, type Violation } from "../../scripts/check-boundaries";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a small tree (path → source) to a fresh temp dir and checks it. */
function check(files: Record<string, string>): Violation[] {
  const root = mkdtempSync(join(tmpdir(), "boundaries-"));
  made.push(root);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), source);
  }
  return checkBoundaries(root);
}

function onlyViolation(files: Record<string, string>): Violation {
  const found = check(files);
  expect(found.map(formatViolation)).toHaveLength(1);
  return found[0] as Violation;
}

describe("checkBoundaries: forbidden imports", () => {
  it("engine importing monitoring", () => {
    const v = onlyViolation({
      // Multi-byte text before the import: the line is still right.
      "lib/engine/x.ts": '// → engine ✓\nimport { y } from "../monitoring/y";\nexport const x = y;\n',
      "lib/monitoring/y.ts": "export const y = 1;\n",
    });
    expect(v).toMatchObject({ file: "lib/engine/x.ts", line: 2, specifier: "../monitoring/y", resolved: "lib/monitoring/y.ts" });
    expect(v.rule).toBe("lib/engine may import only lib/engine, lib/expression, lib/wire");
    expect(formatViolation(v)).toBe(
      "lib/engine/x.ts:2 imports '../monitoring/y' (resolved to lib/monitoring/y.ts): lib/engine may import only lib/engine, lib/expression, lib/wire",
    );
  });

  it("a type-only import of engine-side code from the client", () => {
    const v = onlyViolation({
      "lib/client/a.ts": 'import type { T } from "../monitoring/t";\nexport type A = T;\n',
      "lib/monitoring/t.ts": "export type T = number;\n",
    });
    expect(v).toMatchObject({ kind: "import type", resolved: "lib/monitoring/t.ts" });
    expect(v.rule).toBe("lib/client may import only lib/client, lib/wire");
  });

  it("an inline `type` import counts too", () => {
    const v = onlyViolation({
      "lib/client/a.ts": 'import { type T } from "../monitoring/t";\nexport type A = T;\n',
      "lib/monitoring/t.ts": "export type T = number;\n",
    });
    expect(v.rule).toBe("lib/client may import only lib/client, lib/wire");
  });

  it("a component importing the server through the @/ alias", () => {
    const v = onlyViolation({
      "app/_components/c.tsx": 'import { dispatch } from "@/server/api/dispatch";\nexport const C = () => <div>{String(dispatch)}</div>;\n',
      "server/api/dispatch.ts": "export const dispatch = 1;\n",
    });
    expect(v).toMatchObject({ specifier: "@/server/api/dispatch", resolved: "server/api/dispatch.ts" });
    expect(v.rule).toBe("app may import only app, lib/client, lib/wire (not app/api)");
  });

  it("engine using node:fs", () => {
    const v = onlyViolation({ "lib/engine/z.ts": 'import { readFileSync } from "node:fs";\nexport const z = readFileSync;\n' });
    expect(v.resolved).toBe("package node:fs");
    expect(v.rule).toBe("lib/engine may use only the packages zod, zod/*, yaml, yaml/*, node:crypto, node:async_hooks");
  });

  it("a bare builtin name is checked as its node: name", () => {
    const v = onlyViolation({ "lib/client/f.ts": 'import { readFileSync } from "fs";\nexport const f = readFileSync;\n' });
    expect(v).toMatchObject({ resolved: "package node:fs", rule: "lib/client must not use node:*" });
  });

  it("server importing examples", () => {
    const v = onlyViolation({
      "server/s.ts": 'import { e } from "../examples/e";\nexport const s = e;\n',
      "examples/e.ts": "export const e = 1;\n",
    });
    expect(v.rule).toBe("server may import only server, lib (not lib/client)");
  });

  it("server importing app", () => {
    const v = onlyViolation({
      "server/s.ts": 'import Page from "../app/page";\nexport const s = Page;\n',
      "app/page.tsx": "export default function Page() { return null; }\n",
    });
    expect(v).toMatchObject({ resolved: "app/page.tsx", rule: "nothing outside app/ imports from app/" });
  });

  it("an import that resolves to no file", () => {
    const v = onlyViolation({ "lib/engine/a.ts": 'import { gone } from "./gone";\nexport const a = gone;\n' });
    expect(v).toMatchObject({ resolved: "nothing", rule: "the import does not resolve to a file" });
  });

  it("export * from monitoring in the engine", () => {
    const v = onlyViolation({
      "lib/engine/index.ts": 'export * from "../monitoring";\n',
      "lib/monitoring/index.ts": "export const m = 1;\n",
    });
    expect(v).toMatchObject({ kind: "export from", resolved: "lib/monitoring/index.ts" });
    expect(v.rule).toBe("lib/engine may import only lib/engine, lib/expression, lib/wire");
  });

  it("a dynamic import", () => {
    const v = onlyViolation({
      "lib/engine/d.ts": 'export async function load() {\n  return await import("../monitoring/q");\n}\n',
      "lib/monitoring/q.ts": "export const q = 1;\n",
    });
    expect(v).toMatchObject({ kind: "dynamic import", line: 2, resolved: "lib/monitoring/q.ts" });
    expect(v.rule).toBe("lib/engine may import only lib/engine, lib/expression, lib/wire");
  });

  it("a type-level import() counts too", () => {
    const v = onlyViolation({
      "lib/client/q.ts": 'export type Q = import("../engine/job").Job;\n',
      "lib/engine/job.ts": "export class Job {}\n",
    });
    expect(v).toMatchObject({ kind: "type import()", rule: "lib/client may import only lib/client, lib/wire" });
  });

  it("a file in no area of the table", () => {
    const v = onlyViolation({ "lib/extra/a.ts": 'import { z } from "zod";\nexport const a = z;\n' });
    expect(v.rule).toBe("no area in the rules table covers lib/extra/a.ts");
  });

  it("next's server entry in a page (its types are fine, as is next/link)", () => {
    const v = onlyViolation({
      "app/page.tsx":
        'import Link from "next/link";\nimport type { Metadata } from "next";\nimport next from "next";\nexport const metadata: Metadata = {};\nexport default function P() { return <Link href="/">{String(next)}</Link>; }\n',
    });
    expect(v).toMatchObject({ line: 3, kind: "import", resolved: "package next", rule: "app must not use next" });
  });

  it("a computed import() outside the CLI, and the CLI importing the UI's client", () => {
    const found = check({
      "server/load.ts": "export const load = (path: string) => import(path);\n",
      "cli/ui.ts": 'import { api } from "../lib/client/api";\nexport const u = api;\n',
      "lib/client/api.ts": "export const api = 1;\n",
    });
    expect(found.map((v) => [v.file, v.rule])).toEqual([
      ["cli/ui.ts", "cli may import only cli, lib, server/main.ts, server/cluster/worker-main.ts (not lib/client)"],
      ["server/load.ts", "a computed import specifier cannot be checked"],
    ]);
  });

  it("the browser's client may not take even types from next", () => {
    const v = onlyViolation({ "lib/client/n.ts": 'import type { Metadata } from "next";\nexport type M = Metadata;\n' });
    expect(v).toMatchObject({ kind: "import type", rule: "lib/client must not use next" });
  });
});

describe("checkBoundaries: allowed imports", () => {
  it("engine → expression and wire, client → wire, app → lib/client via @/", () => {
    expect(
      check({
        "lib/expression/index.ts": 'import jsep from "jsep";\nexport const e = jsep;\n',
        "lib/engine/builtins.ts": 'import { e } from "../expression";\nimport { Model } from "../wire/model";\nimport { z } from "zod";\nexport const b = [e, z, Model];\n',
        "lib/wire/index.ts": 'export * from "./model";\n',
        "lib/wire/model.ts": 'import { z } from "zod";\nexport const Model = z.object({});\n',
        "lib/client/api.ts": 'import { Model } from "../wire";\nimport { io } from "socket.io-client";\nexport const api = [Model, io];\n',
        "app/_components/view.tsx": 'import { api } from "@/lib/client/api";\nimport Link from "next/link";\nexport const V = () => <Link href="/">{String(api)}</Link>;\n',
        "app/api/[...path]/route.ts": 'import { handle } from "../../../server/api";\nexport const GET = handle;\n',
        "server/api/index.ts": 'import { b } from "../../lib/engine/builtins";\nexport const handle = b;\n',
        "tests/unit/x.test.ts": 'import { handle } from "../../server/api";\nimport { b } from "@/lib/engine/builtins";\nexport const t = [handle, b];\n',
        // The CLI loads the user's project by path, and uses the public API and the server entry.
        "cli/load.ts": 'import { b } from "../lib/engine/builtins";\nimport { createServer } from "../server/main";\nexport const load = (path: string) => [b, createServer, import(path)];\n',
        "server/main.ts": "export const createServer = 1;\n",
      }),
    ).toEqual([]);
  });
});

describe("checkBoundaries on this repo", () => {
  it("finds no forbidden import", () => {
    expect(checkBoundaries(process.cwd()).map(formatViolation)).toEqual([]);
  });
});
