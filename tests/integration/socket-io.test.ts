import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

function connect(auth?: Record<string, string>): Promise<Socket> {
  const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], auth, reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

interface Ev {
  seq: number;
  event_type: string;
  job_id: string;
}

describe("socket.io", () => {
  it("subscribes to a job and receives every event in batches, seq contiguous from 1", async () => {
    const socket = await connect();
    const batches: Ev[][] = [];
    socket.on("events", (events: Ev[]) => batches.push(events));
    const job = await post("/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 15, interval_ms: 5 } });
    const ack = (await socket.emitWithAck("subscribe", { job_id: job.job_id, after_seq: 0 })) as { ok: boolean; status: string };
    expect(ack.ok).toBe(true);
    const start = Date.now();
    while (!batches.flat().some((e) => e.event_type === "job_completed") && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 20));
    const events = batches.flat();
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.event_type).toBe("job_started");
    expect(events.at(-1)?.event_type).toBe("job_completed");
    expect(events.filter((e) => e.event_type === "routine_start").length).toBe(1 + 15 * 2);
    // Coalesced: fewer messages than events.
    expect(batches.length).toBeLessThan(events.length);
  });

  it("sends debug commands with an ack and pushes session updates", async () => {
    const socket = await connect();
    const sessions: { status: string }[] = [];
    socket.on("session", (s: { status: string }) => sessions.push(s));
    const job = await post("/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] }, pause_on_start: true });
    const jobId = job.job_id as string;
    await socket.emitWithAck("subscribe", { job_id: jobId });
    let vars: { ok: boolean; data?: { variables: { local: unknown } } } = { ok: false };
    for (let i = 0; i < 200 && !vars.ok; i++) {
      vars = (await socket.emitWithAck("debug", { job_id: jobId, command: "get_variables" })) as typeof vars;
      if (!vars.ok) await new Promise((r) => setTimeout(r, 10));
    }
    expect(vars.data?.variables.local).toEqual({ data: [1, 2] });
    const bad = (await socket.emitWithAck("debug", { job_id: jobId, command: "fly" })) as { ok: boolean; error: string };
    expect(bad).toMatchObject({ ok: false, error: "Unknown command 'fly'" });
    const cont = (await socket.emitWithAck("debug", { job_id: jobId, command: "continue" })) as { ok: boolean };
    expect(cont.ok).toBe(true);
    const start = Date.now();
    while (!sessions.some((s) => s.status === "running") && Date.now() - start < 5000) await new Promise((r) => setTimeout(r, 20));
    expect(sessions.some((s) => s.status === "running")).toBe(true);
    const notPaused = (await socket.emitWithAck("debug", { job_id: jobId, command: "step_over" })) as { ok: boolean; code: string };
    expect(notPaused).toMatchObject({ ok: false, code: "JOB_NOT_PAUSED" });
  });

  it("a client that keeps up loses nothing of a burst far larger than its queue", async () => {
    // One splitter handler emits 1,500 items without yielding: 15× the subscriber queue.
    const dsl = { routines: { split: { class: "splitter" }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] };
    await post("/api/flows", { flow_id: "sio_burst", dsl });
    const items = Array.from({ length: 1500 }, (_, i) => i);
    const job = await post("/api/jobs", { flow_id: "sio_burst", entry_routine_id: "split", entry_slot: "input", entry_params: { items }, pause_on_start: true });
    const socket = await connect();
    const events: Ev[] = [];
    let dropped = 0;
    socket.on("events", (batch: Ev[]) => events.push(...batch));
    socket.on("events_dropped", () => dropped++);
    const ack = (await socket.emitWithAck("subscribe", { job_id: job.job_id, after_seq: 0 })) as { ok: boolean };
    expect(ack.ok).toBe(true);
    await post(`/api/jobs/${job.job_id}/resume`, {});
    const start = Date.now();
    while (!events.some((e) => e.event_type === "job_completed") && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 20));
    expect(dropped).toBe(0);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    expect(events.length).toBeGreaterThan(4 * items.length);
  }, 30_000);

  it("refuses bad subscriptions with a clear ack", async () => {
    const socket = await connect();
    expect(await socket.emitWithAck("subscribe", { job_id: "job_nope" })).toMatchObject({ ok: false, error: "Job 'job_nope' not found" });
    expect(await socket.emitWithAck("subscribe", { flow_id: "bad id" })).toMatchObject({ ok: false });
    expect(await socket.emitWithAck("subscribe", {})).toMatchObject({ ok: false, error: "subscribe needs a job_id or a flow_id" });
  });
});
