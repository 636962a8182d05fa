/**
 * `routilux init`: a starter project in the current folder — a routine with a slot, a declared
 * event and a config schema, a second one, a two-routine flow with an example run, and the config
 * that serves it — such that `routilux dev` serves it and `routilux run hello` completes.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const GREET = `import { type ActivationContext, type Payload, Routine, z } from "routilux";

/** A greet routine's config, checked when a flow builds one from the DSL or the HTTP API. */
export const GreetConfig = z.object({
  greeting: z.string().min(1).optional(),
});

/** Greets \`name\` (slot \`trigger\`) and emits \`greeted\` with the message. */
export class Greet extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.greet });
    this.defineEvent("greeted", ["message"]);
  }

  greet({ name }: Payload, ctx: ActivationContext): void {
    const greeting = String(this.getConfig("greeting", "Hello"));
    const message = \`\${greeting}, \${String(name ?? "world")}!\`;
    ctx.log("greeting ready", { message });
    ctx.emit("greeted", { message });
  }
}
`;

const REMEMBER = `import { type ActivationContext, type Payload, Routine } from "routilux";

/** Keeps the message in the job's shared data: the debugger shows it, \`routilux run --json\` prints it. */
export class Remember extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: this.remember });
  }

  remember({ message }: Payload, ctx: ActivationContext): void {
    ctx.shared.message = message;
  }
}
`;

const FLOWS = `import { Flow } from "routilux";
import { Greet } from "./routines/greet";
import { Remember } from "./routines/remember";

/**
 * greet → remember. The example run is what \`routilux run hello\` and the debugger's Run panel
 * start with.
 */
export function helloFlow(): Flow {
  const flow = new Flow("hello", { example: { entryRoutineId: "greet", params: { name: "Ada" } } });
  flow.addRoutine(new Greet().setConfig({ greeting: "Hello" }), "greet");
  flow.addRoutine(new Remember(), "remember");
  flow.connect("greet", "greeted", "remember", "input");
  return flow;
}
`;

const CONFIG = `import { defineConfig } from "routilux";
import { helloFlow } from "./flows";
import { Greet, GreetConfig } from "./routines/greet";
import { Remember } from "./routines/remember";

export default defineConfig({
  flows: [helloFlow()],
  // Routine types by name: flows created from the DSL, the HTTP API or the debugger can use them.
  routineTypes: {
    greet: { routine: Greet, description: "Greets a name", configSchema: GreetConfig },
    remember: { routine: Remember, description: "Keeps the message in the job's shared data" },
  },
});
`;

/** The starter's files; init refuses to overwrite any of them without --force. */
export const STARTER_FILES: Readonly<Record<string, string>> = {
  "routilux.config.ts": CONFIG,
  "flows.ts": FLOWS,
  "routines/greet.ts": GREET,
  "routines/remember.ts": REMEMBER,
};

const WHAT: Readonly<Record<string, string>> = {
  "routilux.config.ts": "the flows to serve and the routine types to register",
  "flows.ts": "the hello flow: greet → remember, with an example run",
  "routines/greet.ts": "a routine: a slot, a declared event, config with a schema",
  "routines/remember.ts": "a routine that keeps the message in the job's shared data",
  "package.json": '"type": "module" (the config and routines are ES modules)',
  ".gitignore": "keeps .routilux/ (the debugger's history) out of git",
};

function packageJson(dir: string): string {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "") || "routilux-project";
  return `${JSON.stringify({ name, private: true, type: "module", scripts: { dev: "routilux dev", start: "routilux start" } }, null, 2)}\n`;
}

export interface InitResult {
  written: string[];
  /** Starter files already there (nothing was written). */
  existing: string[];
}

/** Writes the starter into `dir`; with existing starter files and no `force`, writes nothing. */
export function scaffold(dir: string, force: boolean): InitResult {
  const existing = Object.keys(STARTER_FILES).filter((f) => existsSync(join(dir, f)));
  if (existing.length && !force) return { written: [], existing };
  const files: Record<string, string> = { ...STARTER_FILES };
  // Only when missing: a project's own package.json and .gitignore are its business.
  if (!existsSync(join(dir, "package.json"))) files["package.json"] = packageJson(dir);
  if (!existsSync(join(dir, ".gitignore"))) files[".gitignore"] = "node_modules/\n.routilux/\n";
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { written: Object.keys(files), existing };
}

export function initProject(dir: string, force: boolean): number {
  const r = scaffold(dir, force);
  if (r.written.length === 0) {
    console.error(`routilux init: ${r.existing.join(", ")} already exist${r.existing.length === 1 ? "s" : ""} in ${dir}; nothing was written (--force overwrites them)`);
    return 1;
  }
  const width = Math.max(...r.written.map((f) => f.length));
  console.log(`Created a Routilux starter in ${dir}:`);
  for (const f of r.written) console.log(`  ${f.padEnd(width)}  ${WHAT[f] ?? ""}`);
  console.log("\nNext:");
  if (!existsSync(join(dir, "node_modules", "routilux"))) console.log("  npm install routilux         install it in this project");
  console.log("  npx routilux dev             serve the debugger on http://localhost:8765, reloading on every save");
  console.log("  npx routilux run hello       run the example in the terminal");
  return 0;
}
