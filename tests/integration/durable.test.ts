/**
 * Durable history against the real server: a graceful restart serves the same history; a kill -9
 * during a long job keeps everything committed, closes that job as failed and leaves a sound file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { io } from "socket.io-client";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServer, type TestServer } from "../helpers/server";

const dir = mkdtempSync(join(tmpdir(), "routilux-durable-"));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(db: string): Promise<TestServer> {
  const s = await startServer({ ROUTILUX_DB: db });
  servers.push(s);
  return s;
}

async function api(s: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${s.url}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

async function waitFinished(s: TestServer, jobId: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { body } = await api(s, "GET", `/api/jobs/${jobId}`);
    if (["completed", "failed", "cancelled"].includes((body as { status: string }).status)) return;
    await sleep(25);
  }
  throw new Error(`job ${jobId} did not finish`);
}

/** Every message of a raw monitor socket until the job's terminal event. */
async function monitor(s: TestServer, jobId: string, afterSeq?: number): Promise<Record<string, unknown>[]> {
  const ws = new WebSocket(`${s.wsUrl}/api/ws/jobs/${jobId}/monitor${afterSeq === undefined ? "" : `?after_seq=${afterSeq}`}`);
  const out: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("monitor timed out")), 10_000);
    ws.on("message", (d) => {
      const m = JSON.parse(String(d)) as Record<string, unknown>;
      out.push(m);
      if (["job_completed", "job_failed", "job_cancelled"].includes(m.type as string)) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on("error", reject);
  });
  ws.close();
  return out;
}

async function socketIoReplay(s: TestServer, jobId: string): Promise<{ ack: Record<string, unknown>; events: Record<string, unknown>[] }> {
  const socket = io(s.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
  const events: Record<string, unknown>[] = [];
  try {
    const done = new Promise<void>((resolve) => {
      socket.on("events", (batch: Record<string, unknown>[]) => {
        events.push(...batch);
        if (batch.some((e) => e.event_type === "job_completed" || e.event_type === "job_failed")) resolve();
      });
    });
    const ack = (await socket.timeout(5000).emitWithAck("subscribe", { job_id: jobId, after_seq: 0 })) as Record<string, unknown>;
    await done;
    return { ack, events };
  } finally {
    socket.close();
  }
}

/** Everything that must still be served after a restart, as raw JSON text. */
async function history(s: TestServer, jobIds: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of ["/api/jobs", "/api/jobs?flow_id=pipeline&limit=2", "/api/flows", "/api/flows/pipeline", "/api/flows/pipeline/breakpoints", "/api/flows/pipeline/metrics", "/api/flows/data_processing/breakpoints"]) {
    out[p] = (await api(s, "GET", p)).text;
  }
  for (const id of jobIds) {
    for (const sub of ["", "/metrics", "/trace", "/trace?limit=3", "/trace?after_seq=4", "/logs", "/breakpoints"]) {
      const p = `/api/jobs/${id}${sub}`;
      out[p] = (await api(s, "GET", p)).text;
    }
  }
  return out;
}

describe("restart", () => {
  it("serves job list, details, metrics, traces, logs, flows and flow breakpoints identically after a graceful restart", async () => {
    const db = join(dir, "restart.db");
    let s = await start(db);
    expect((await api(s, "POST", "/api/flows", { flow_id: "pipeline", dsl: { routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } }, connections: [{ from: "a.output", to: "b.input" }] } })).status).toBe(201);
    expect((await api(s, "POST", "/api/flows/pipeline/breakpoints", { routine_id: "b", hit_condition: ">= 1000" })).status).toBe(201);
    expect((await api(s, "POST", "/api/flows/data_processing/breakpoints", { routine_id: "validate", condition: "len(data) > 1000" })).status).toBe(201);
    const ids: string[] = [];
    for (const x of [0, 2, 5]) {
      const { body } = await api(s, "POST", "/api/jobs", { flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x } });
      ids.push((body as { job_id: string }).job_id);
    }
    const dp = await api(s, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3, 15] } });
    ids.push((dp.body as { job_id: string }).job_id);
    const failing = await api(s, "POST", "/api/jobs", { flow_id: "flaky_retry", entry_routine_id: "nope" });
    expect(failing.status).toBe(400);
    for (const id of ids) await waitFinished(s, id);
    const before = await history(s, ids);
    const wsBefore = await monitor(s, ids[3] as string);
    await s.stop();

    s = await start(db);
    const after = await history(s, ids);
    for (const key of Object.keys(before)) expect({ key, text: after[key] }).toEqual({ key, text: before[key] });
    // The raw monitor replays a restored job's retained events and its final event.
    const wsAfter = await monitor(s, ids[3] as string);
    expect(wsAfter.slice(1)).toEqual(wsBefore.slice(1));
    expect(wsAfter[0]).toMatchObject({ type: "connected", job_id: ids[3], status: "completed" });
    // socket.io too.
    const trace = JSON.parse(before[`/api/jobs/${ids[3]}/trace`] as string) as { events: unknown[]; last_seq: number };
    const sio = await socketIoReplay(s, ids[3] as string);
    expect(sio.ack).toMatchObject({ ok: true, status: "completed", last_seq: trace.last_seq });
    expect(sio.events).toEqual(trace.events);
    // Restored jobs are history: changing them is refused with 409.
    expect((await api(s, "POST", `/api/jobs/${ids[0]}/cancel`)).status).toBe(409);
    // New jobs carry on, listed before the restored ones.
    const next = await api(s, "POST", "/api/jobs", { flow_id: "pipeline", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 9 } });
    const nextId = (next.body as { job_id: string }).job_id;
    await waitFinished(s, nextId);
    const list = (await api(s, "GET", "/api/jobs")).body as { jobs: { job_id: string }[]; total: number };
    expect(list.total).toBe(5);
    expect(list.jobs[0]?.job_id).toBe(nextId);
    await s.stop();
  });
});

describe("crash", () => {
  it("after kill -9 during a long job: committed history is there, the job is failed 'interrupted by restart', the file is sound", async () => {
    const db = join(dir, "crash.db");
    let s = await start(db);
    const quick = await api(s, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 20] } });
    const quickId = (quick.body as { job_id: string }).job_id;
    await waitFinished(s, quickId);
    const started = await api(s, "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 500, interval_ms: 20 } });
    const longId = (started.body as { job_id: string }).job_id;

    // The server holds the file alone (nobody can read it beside it): wait until the long job has
    // run a while. History is written on a timer tick that comes due long before its 60th event
    // (20 ms apart), so some of the job is committed by then.
    let seen = 0;
    for (let i = 0; i < 400 && seen < 60; i++) {
      await sleep(25);
      seen = ((await api(s, "GET", `/api/jobs/${longId}/trace?limit=1`)).body as { last_seq: number }).last_seq;
    }
    expect(seen).toBeGreaterThanOrEqual(60);
    const quickBefore = await history(s, [quickId]);

    const exited = new Promise((r) => s.process.once("exit", r));
    s.process.kill("SIGKILL");
    await exited;
    servers.splice(servers.indexOf(s), 1);

    // What the file holds after the crash (the dead server's lock went with it).
    const reader = new Database(db, { readonly: true, fileMustExist: true });
    const committed = (reader.prepare("SELECT COALESCE(MAX(seq), 0) AS n FROM events WHERE job_id = ?").get(longId) as { n: number }).n;
    const quickRow = reader.prepare("SELECT status FROM jobs WHERE job_id = ?").get(quickId) as { status: string };
    reader.close();
    expect(committed).toBeGreaterThan(0);
    expect(quickRow.status).toBe("completed");

    s = await start(db);
    const job = (await api(s, "GET", `/api/jobs/${longId}`)).body as { status: string; error: { message: string }; finished_at: string | null };
    expect(job.status).toBe("failed");
    expect(job.error.message).toBe("interrupted by restart");
    expect(job.finished_at).not.toBeNull();
    const trace = (await api(s, "GET", `/api/jobs/${longId}/trace?limit=10000`)).body as { last_seq: number; events: { seq: number; event_type: string }[] };
    // Everything committed is there, and the final event comes right after it.
    expect(trace.last_seq).toBe(committed + 1);
    const last = trace.events.at(-1);
    expect(last).toMatchObject({ seq: trace.last_seq, event_type: "job_failed" });
    // The retained window has no gap.
    const seqs = trace.events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] as number) + i));
    // A client that saw everything up to the crash and resubscribes gets the final event.
    const resumed = await monitor(s, longId, trace.last_seq - 1);
    expect(resumed.filter((m) => typeof m.seq === "number").map((m) => m.type)).toEqual(["job_failed"]);
    const metrics = (await api(s, "GET", `/api/jobs/${longId}/metrics`)).body as { status: string; total_events: number };
    expect(metrics).toMatchObject({ status: "failed", total_events: trace.last_seq });
    const quickAfter = await history(s, [quickId]);
    for (const p of Object.keys(quickBefore).filter((k) => k.includes(quickId))) expect({ p, text: quickAfter[p] }).toEqual({ p, text: quickBefore[p] });
    await s.stop();

    const check = new Database(db, { readonly: true });
    expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    check.close();
  });
});
