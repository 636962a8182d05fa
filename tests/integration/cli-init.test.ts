/**
 * `routilux init` in an empty folder (but for node_modules/routilux: tests/helpers/cli.ts), then
 * `run` and `dev` on what it wrote; a second init refuses to overwrite without --force.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JobSnapshot } from "../../lib/wire";
import { DevProcess, makeProject, removeProjects, runCli } from "../helpers/cli";

afterAll(removeProjects);

describe("routilux init", () => {
  it("writes a starter that run completes and dev serves; refuses to overwrite it without --force", async () => {
    const dir = makeProject({}, { packageJson: false });
    const init = await runCli(["init"], dir);
    expect(init.code, init.stderr).toBe(0);
    for (const f of ["routilux.config.ts", "flows.ts", "routines/greet.ts", "routines/remember.ts", "package.json", ".gitignore"]) expect(init.stdout).toContain(f);
    expect(init.stdout).toContain("npx routilux dev");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).toMatchObject({ type: "module", private: true });

    const run = await runCli(["run", "hello", "--json"], dir);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout) as JobSnapshot).toMatchObject({ flow_id: "hello", status: "completed", shared_data: { message: "Hello, Ada!" } });

    const dev = await DevProcess.start(dir, ["--no-history"]);
    try {
      const flows = (await (await fetch(`${dev.url}/api/flows`)).json()) as { flows: { flow_id: string; has_example: boolean }[] };
      expect(flows.flows).toEqual([expect.objectContaining({ flow_id: "hello", has_example: true })]);
      // The config's routine types are registered, with the schema of greet's config.
      const types = (await (await fetch(`${dev.url}/api/routine-types`)).json()) as { routine_types: { name: string; config_schema: unknown }[] };
      const greet = types.routine_types.find((t) => t.name === "greet");
      expect(greet?.config_schema).toMatchObject({ properties: { greeting: { type: "string" } } });
      expect(types.routine_types.some((t) => t.name === "remember")).toBe(true);
      const bad = await fetch(`${dev.url}/api/flows`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ flow_id: "typed", dsl: { routines: { g: { class: "greet", config: { greeting: 5 } } } } }),
      });
      expect(bad.status).toBe(400);
    } finally {
      await dev.stop();
    }

    writeFileSync(join(dir, "flows.ts"), "// mine\n");
    const again = await runCli(["init"], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exist");
    expect(readFileSync(join(dir, "flows.ts"), "utf8")).toBe("// mine\n");
    const forced = await runCli(["init", "--force"], dir);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, "flows.ts"), "utf8")).toContain('new Flow("hello"');
  }, 180_000);
});
