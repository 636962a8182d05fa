/**
 * What is served is what comes back after a restart: graph edits obey the DSL's rules (an edit the
 * DSL could not describe is refused, not saved and lost later), and a stored flow that cannot be
 * rebuilt is reported by /api/health instead of vanishing with a log line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { api } from "../helpers/http";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-restore-"));
const servers: TestServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `{a: {a: ... 1}}`, `levels` objects deep. */
const nested = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
};

describe("flows across a restart", () => {
  it("a flow built by graph edits comes back identical; an edit the DSL cannot describe is refused and leaves nothing", async () => {
    const db = join(dir, "edits.db");
    const first = await startServer({ ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    servers.push(first);
    expect((await api(first, "POST", "/api/flows", { flow_id: "edited" })).status).toBe(201);
    expect((await api(first, "POST", "/api/flows/edited/routines", { routine_id: "a", type: "passthrough" })).status).toBe(201);
    expect((await api(first, "POST", "/api/flows/edited/routines", { routine_id: "keep", type: "mapper", config: { set: { note: nested(5) } } })).status).toBe(201);
    expect((await api(first, "POST", "/api/flows/edited/connections", { source_routine: "a", source_event: "output", target_routine: "keep", target_slot: "input", param_mapping: { v: "x" } })).status).toBe(201);

    // A 40-level config passes the request's payload rules but not the DSL's: refused, not kept.
    const deep = await api(first, "POST", "/api/flows/edited/routines", { routine_id: "deep", type: "mapper", config: { set: { note: nested(40) } } });
    expect(deep.status).toBe(400);
    expect((deep.json.error as { code: string; message: string }).message).toMatch(/would not survive a restart/);
    const before = await api(first, "GET", "/api/flows/edited");
    expect(Object.keys(before.json.routines as object).sort()).toEqual(["a", "keep"]);
    const job = await api(first, "POST", "/api/jobs", { flow_id: "edited", entry_routine_id: "a", entry_slot: "input", entry_params: { v: 5 } });
    expect(job.status).toBe(201);
    await first.stop();
    servers.splice(servers.indexOf(first), 1);

    const second = await startServer({ ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    servers.push(second);
    const after = await api(second, "GET", "/api/flows/edited");
    expect(after.status).toBe(200);
    expect(after.json).toEqual(before.json);
    expect((await api(second, "GET", "/api/health")).json).toMatchObject({ status: "healthy", reasons: [] });
  }, 120_000);

  it("a stored flow that cannot be rebuilt is reported by health (degraded, naming it) until a flow of that id replaces it", async () => {
    const db = join(dir, "broken.db");
    const first = await startServer({ ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    servers.push(first);
    expect((await api(first, "POST", "/api/flows", { flow_id: "fine", dsl: "routines:\n  a:\n    class: passthrough\n" })).status).toBe(201);
    expect((await api(first, "POST", "/api/flows", { flow_id: "broken", dsl: "routines:\n  a:\n    class: passthrough\n" })).status).toBe(201);
    await first.stop();
    servers.splice(servers.indexOf(first), 1);
    // What an older version, or a hand edit, may have left: a routine type nobody registers.
    const raw = new Database(db);
    raw.prepare("UPDATE flows SET dsl = ? WHERE flow_id = 'broken'").run(JSON.stringify({ flow_id: "broken", routines: { a: { class: "no_such_type" } } }));
    raw.close();

    const second = await startServer({ ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    servers.push(second);
    const health = await api(second, "GET", "/api/health");
    expect(health.json.status).toBe("degraded");
    expect((health.json.reasons as string[]).join("\n")).toMatch(/flow 'broken' stored in history could not be restored: .*no_such_type/);
    expect((await api(second, "GET", "/api/flows/fine")).status).toBe(200);
    expect((await api(second, "GET", "/api/flows/broken")).status).toBe(404);
    // Creating it again replaces the stored one.
    expect((await api(second, "POST", "/api/flows", { flow_id: "broken", dsl: "routines:\n  a:\n    class: passthrough\n" })).status).toBe(201);
    expect((await api(second, "GET", "/api/health")).json).toMatchObject({ status: "healthy", reasons: [] });
  }, 120_000);
});
