/**
 * A project's history file against real servers: the server says where it keeps it; a second
 * server on the same file stops at start with an error naming the file and the first server; after
 * the first one is killed (SIGKILL) a new one opens the file. Every job answers GET
 * /api/jobs/{id}/flow with the flow it ran: live, restored with its flow served, and after the
 * flow was deleted.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-history-"));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function api(s: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${s.url}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function waitStatus(s: TestServer, jobId: string, statuses: string[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { body } = await api(s, "GET", `/api/jobs/${jobId}`);
    if (statuses.includes((body as { status: string }).status)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${jobId} never reached ${statuses.join("/")}`);
}

const PIPELINE = {
  routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } },
  connections: [{ from: "a.output", to: "b.input" }],
};

describe("the history file", () => {
  it("one server per file, a crash leaves no lock, and every job keeps the flow it ran", async () => {
    const db = join(dir, "project", ".routilux", "history.db");
    const first = await startServer({ ROUTILUX_DB: db });
    servers.push(first);
    expect(first.output()).toContain(`history: ${db}\n`);

    expect((await api(first, "POST", "/api/flows", { flow_id: "pipeline", dsl: PIPELINE })).status).toBe(201);
    const served = (await api(first, "GET", "/api/flows/pipeline")).body;
    const started = await api(first, "POST", "/api/jobs", { flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 2 } });
    const jobId = (started.body as { job_id: string }).job_id;
    await waitStatus(first, jobId, ["completed"]);
    const recorded = { job_id: jobId, flow_id: "pipeline", flow: served, recorded: true, served: true, same_structure: true };
    expect((await api(first, "GET", `/api/jobs/${jobId}/flow`)).body).toEqual(recorded);
    // A live job (paused at its entry) answers from the flow recorded at its start.
    const live = await api(first, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] }, pause_on_start: true });
    const liveId = (live.body as { job_id: string }).job_id;
    await waitStatus(first, liveId, ["paused"]);
    expect((await api(first, "GET", `/api/jobs/${liveId}/flow`)).body).toEqual({
      job_id: liveId,
      flow_id: "data_processing",
      flow: (await api(first, "GET", "/api/flows/data_processing")).body,
      recorded: true,
      served: true,
      same_structure: true,
    });

    // A second server on the same file stops at once, naming the file and the first server.
    const port = await freePort();
    const second = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      cwd: process.cwd(),
      env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ROUTILUX_DB: db },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    second.stdout?.on("data", (d) => {
      out += String(d);
    });
    second.stderr?.on("data", (d) => {
      out += String(d);
    });
    const [code] = (await once(second, "exit")) as [number | null];
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`History database ${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by another Routilux server \\(pid ${first.process.pid}, since [0-9: -]+\\)\\. Stop it, or give this one another --db\\.`));
    expect(out).not.toContain("Routilux listening on");
    expect(out).not.toMatch(/\n\s+at /); // the message, not a stack trace
    // The first server carries on.
    expect((await api(first, "GET", `/api/jobs/${jobId}`)).status).toBe(200);

    // Killed without a chance to clean up: its lock goes with it.
    const exited = once(first.process, "exit");
    first.process.kill("SIGKILL");
    await exited;
    servers.splice(servers.indexOf(first), 1);
    const third = await startServer({ ROUTILUX_DB: db });
    servers.push(third);

    // A restored job whose flow is served: the same answer as before the crash.
    expect((await api(third, "GET", `/api/jobs/${jobId}/flow`)).body).toEqual(recorded);
    // The job that was paused when the server died: interrupted, and still drawn.
    expect((await api(third, "GET", `/api/jobs/${liveId}/flow`)).body).toMatchObject({ recorded: true, served: true, same_structure: true });
    // Its flow deleted: still drawn from history, no longer served.
    expect((await api(third, "DELETE", "/api/flows/pipeline")).status).toBe(204);
    expect((await api(third, "GET", `/api/jobs/${jobId}/flow`)).body).toEqual({ ...recorded, served: false, same_structure: false });
    expect((await api(third, "GET", "/api/jobs/job_unknown/flow")).status).toBe(404);
    await third.stop();
  }, 120_000);
});
