/**
 * `routilux run` from its sources, in a temp project (tests/helpers/cli.ts says how the project
 * imports `routilux` until the package is built): exit codes, the summary, --json, example params,
 * --params and --entry, DSL file flows, and a project that does not load.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobSnapshot } from "../../lib/wire";
import { CLI, makeProject, removeProjects, runCli, TSX } from "../helpers/cli";

const STEPS = `import { type ActivationContext, type Payload, Routine } from "routilux";

export class Double extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: this.run });
    this.defineEvent("doubled", ["values"]);
  }
  run({ values }: Payload, ctx: ActivationContext): void {
    ctx.emit("doubled", { values: (values as number[]).map((v) => v * 2) });
  }
}

export class Sum extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: this.run });
  }
  run({ values }: Payload, ctx: ActivationContext): void {
    ctx.shared.sum = (values as number[]).reduce((a, b) => a + b, 0);
  }
}

export class Explode extends Routine {
  constructor() {
    super();
    this.addSlot("input", { handler: this.run });
  }
  run(): void {
    throw new Error("exploded on purpose");
  }
}
`;

const CONFIG = `import { defineConfig, Flow } from "routilux";
import { Double, Explode, Sum } from "./routines/steps";

function chain(id: string, last: Sum | Explode, example: boolean): Flow {
  const flow = new Flow(id, example ? { example: { entryRoutineId: "double", params: { values: [1, 2, 3] } } } : {});
  flow.addRoutine(new Double(), "double");
  flow.addRoutine(last, "last");
  flow.connect("double", "doubled", "last", "input");
  return flow;
}

export default defineConfig({
  flows: [
    chain("sums", new Sum(), true),
    chain("explodes", new Explode(), true),
    chain("no_example", new Sum(), false),
    "flows/relay.yaml",
    { flow_id: "slow", routines: { wait: { class: "delay", config: { ms: 400 } } }, example: { entry_routine_id: "wait", params: {} } },
  ],
  routineTypes: { sum: Sum },
});
`;

// A DSL file without flow_id: named after the file. It uses a type the config registers.
const RELAY = `routines:
  pass: { class: passthrough }
  total: { class: sum }
connections:
  - { from: pass.output, to: total.input }
example: { entry_routine_id: pass, params: { values: [5, 6] } }
`;

let project: string;

beforeAll(() => {
  project = makeProject({ "routines/steps.ts": STEPS, "routilux.config.ts": CONFIG, "flows/relay.yaml": RELAY, "params.json": '{"values": [7]}' });
});
afterAll(removeProjects);

const run = (...args: string[]) => runCli(["run", ...args], project);
const snapshot = (stdout: string) => JSON.parse(stdout) as JobSnapshot;

describe("routilux run", { timeout: 120_000 }, () => {
  it("runs the example of a flow that completes: exit 0 and a summary with every routine", async () => {
    const r = await run("sums");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("✔ sums completed in");
    expect(r.stdout).toMatch(/^\s+double\s+1\s+0\s/m);
    expect(r.stdout).toMatch(/^\s+last\s+1\s+0\s/m);
    expect(r.stdout).toContain("2 activations · 1 event emitted · 0 errors");
  });

  it("--json prints the job snapshot, started with the example's params", async () => {
    const r = await run("sums", "--json");
    expect(r.code, r.stderr).toBe(0);
    const snap = snapshot(r.stdout);
    expect(snap).toMatchObject({ flow_id: "sums", status: "completed", entry_routine_id: "double", entry_params: { values: [1, 2, 3] }, shared_data: { sum: 12 } });
    expect(snap.routine_states.last?.status).toBe("completed");
  });

  it("--params as JSON text or @file replaces the example's params", async () => {
    const text = await run("sums", "--params", '{"values": [10, 20]}', "--json");
    expect(text.code, text.stderr).toBe(0);
    expect(snapshot(text.stdout).shared_data).toEqual({ sum: 60 });
    const file = await run("sums", "--params", "@params.json", "--json");
    expect(file.code, file.stderr).toBe(0);
    expect(snapshot(file.stdout).shared_data).toEqual({ sum: 14 });
  });

  it("a failing job: exit 1, the summary names the error", async () => {
    const r = await run("explodes");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("✘ explodes failed in");
    expect(r.stdout).toContain("exploded on purpose");
    expect(r.stdout).toMatch(/^\s+last\s+1\s+1\s/m);
    const json = await run("explodes", "--json");
    expect(json.code).toBe(1);
    expect(snapshot(json.stdout).status).toBe("failed");
  });

  it("usage errors exit 2 and say what is wrong: unknown flow, bad --params, bad --entry, no example", async () => {
    const cases: [string[], RegExp][] = [
      [["nope"], /Unknown flow 'nope' \(flows: sums, explodes, no_example, relay, slow\)/],
      [["sums", "--params", "{values: [1]"], /--params is not valid JSON/],
      [["sums", "--params", "[1, 2]"], /--params must be a JSON object/],
      [["sums", "--params", "@missing.json"], /--params @missing\.json: ENOENT/],
      [["sums", "--entry", "ghost"], /--entry: routine 'ghost' is not in flow 'sums'/],
      [["sums", "--entry", "double.nowhere"], /--entry: routine 'double' has no slot 'nowhere' \(slots: trigger\)/],
      [["no_example"], /Flow 'no_example' has no example run/],
      [[], /missing required argument 'flow'/],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, `run ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("--entry starts where it says (with the example's params unless --params)", async () => {
    const r = await run("no_example", "--entry", "double.trigger", "--params", '{"values": [4]}', "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(r.stdout)).toMatchObject({ entry_routine_id: "double", entry_slot: "trigger", shared_data: { sum: 8 } });
    const fromLast = await run("sums", "--entry", "last", "--json");
    expect(fromLast.code, fromLast.stderr).toBe(0);
    // `last` alone gets the example's params as they are: 1 + 2 + 3.
    expect(snapshot(fromLast.stdout)).toMatchObject({ entry_routine_id: "last", entry_slot: "input", shared_data: { sum: 6 } });
  });

  it("a DSL file flow, named after its file, built with a type the config registers", async () => {
    const r = await run("relay", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(r.stdout)).toMatchObject({ flow_id: "relay", status: "completed", shared_data: { sum: 11 } });
  });

  it("a live progress line on a terminal only; a DSL object flow", async () => {
    const piped = await run("slow");
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).not.toContain("\r");
    expect(piped.stdout).toContain("✔ slow completed");
    // On a terminal (util-linux \`script\` gives the command one): the progress line, then the summary.
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, "--import", TSX, CLI, "run", "slow"].map(quote).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: project, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
    let out = "";
    child.stdout.on("data", (d) => {
      out += String(d);
    });
    const [code] = (await once(child, "close")) as [number];
    expect(code, out).toBe(0);
    // Rewritten in place: carriage return, erase the line, the figures.
    expect(out).toContain("\r\u001b[2K… slow  ");
    expect(out).toMatch(/… slow {2}\d+ activations? · \d+ events? · 0 errors · \d+\.\d s/);
    expect(out).toContain("✔ slow completed");
  });

  it("a project that does not load: exit 1 with the file and line; no config at all: exit 2", async () => {
    const path = join(project, "routines", "steps.ts");
    const good = readFileSync(path, "utf8");
    writeFileSync(path, good.replace("ctx.shared.sum = ", "ctx.shared.sum = ("));
    try {
      const r = await run("sums");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the project does not load");
      expect(r.stderr).toMatch(/routines\/steps\.ts:\d+:\d+/);
    } finally {
      writeFileSync(path, good);
    }
    const empty = makeProject();
    const none = await runCli(["run", "sums"], empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("No routilux.config.ts");
  });
});
