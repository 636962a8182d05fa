/**
 * Full payloads against the real server: the budget from ROUTILUX_PAYLOAD_BUDGET_BYTES, answers that
 * say what was cut, and the same answers after a restart on the same database.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EventPayload, JobIoPage } from "../../lib/wire";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-payloads-"));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(s: TestServer, path: string): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(`${s.url}${path}`);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as T };
}

async function finished(s: TestServer, body: unknown): Promise<string> {
  const res = await fetch(`${s.url}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const { job_id } = (await res.json()) as { job_id: string };
  for (let i = 0; i < 400; i++) {
    const { body: snap } = await get<{ status: string }>(s, `/api/jobs/${job_id}`);
    if (["completed", "failed", "cancelled"].includes(snap.status)) return job_id;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${job_id} did not finish`);
}

describe("payload budget on the server", () => {
  it("applies ROUTILUX_PAYLOAD_BUDGET_BYTES, says what was cut, and answers the same after a restart", async () => {
    const db = join(dir, "budget.db");
    const s1 = await startServer({ ROUTILUX_DB: db, ROUTILUX_PAYLOAD_BUDGET_BYTES: "6000" });
    servers.push(s1);
    const data = Array.from({ length: 500 }, (_, i) => i * 11);
    const jobId = await finished(s1, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data } });
    const io = await get<JobIoPage>(s1, `/api/jobs/${jobId}/io`);
    expect(io.status).toBe(200);
    expect(io.body.payloads).toMatchObject({ budget_bytes: 6000, truncated: true });
    expect(io.body.payloads.used_bytes).toBeGreaterThan(0);
    // The entry params and ingest's input fit (~2 KB each); what comes after them does not, whole.
    const [input, output] = io.body.rows;
    expect(input).toMatchObject({ routine_id: "ingest", kind: "input", truncated: false, payload: { data } });
    expect(output).toMatchObject({ routine_id: "ingest", kind: "output", truncated: true });
    expect(JSON.stringify(output?.payload).length).toBeLessThan(JSON.stringify({ count: 500, data }).length);
    const cut = await get<EventPayload>(s1, `/api/jobs/${jobId}/events/${output?.seq}`);
    expect(cut.body).toMatchObject({ truncated: true, event: { event_type: "event_emit", seq: output?.seq } });
    const whole = await get<EventPayload>(s1, `/api/jobs/${jobId}/events/${input?.seq}`);
    expect(whole.body).toMatchObject({ truncated: false, event: { event_type: "routine_start", data: { payload: { data } } } });
    const page = await get<JobIoPage>(s1, `/api/jobs/${jobId}/io?routine_id=process&kind=input&limit=1`);
    expect(page.body.rows.map((r) => [r.routine_id, r.kind])).toEqual([["process", "input"]]);
    await s1.stop();

    const s2 = await startServer({ ROUTILUX_DB: db, ROUTILUX_PAYLOAD_BUDGET_BYTES: "6000" });
    servers.push(s2);
    expect((await get(s2, `/api/jobs/${jobId}/io`)).text).toBe(io.text);
    expect((await get(s2, `/api/jobs/${jobId}/events/${output?.seq}`)).text).toBe(cut.text);
    expect((await get(s2, `/api/jobs/${jobId}/events/${input?.seq}`)).text).toBe(whole.text);
    expect((await get(s2, `/api/jobs/${jobId}/events/999`)).status).toBe(404);
  }, 90_000);

  it("refuses to start with a budget that is not a whole number of bytes", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      env: { ...process.env, PORT: "0", ROUTILUX_DB: ":memory:", ROUTILUX_PAYLOAD_BUDGET_BYTES: "lots" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr?.on("data", (d) => { out += String(d); });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).not.toBe(0);
    expect(out).toContain("ROUTILUX_PAYLOAD_BUDGET_BYTES must be a whole number");
  }, 60_000);
});
