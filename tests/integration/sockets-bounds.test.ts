/**
 * Issue 14, sockets: a client that asks and never reads is disconnected with a reason and costs
 * nothing once gone (raw WebSocket and socket.io); many monitors on one job all get every event
 * while the server keeps answering; a flow monitor announces the jobs already running so their
 * start can be replayed.
 */
import type { Socket as NetSocket } from "node:net";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ClientDroppedSchema, JobRunningSchema, RawServerMessageSchemas } from "../../lib/wire";
import { connectInspector, type Inspector } from "../helpers/inspector";
import { startServer, type TestServer } from "../helpers/server";
import { Client, clients, type Ev, isEvent, sleep } from "../helpers/ws-client";

let server: TestServer;
let inspector: Inspector;
const ioSockets: Socket[] = [];

/** ~900 KB of locals in every get_variables reply. */
const BIG = "x".repeat(900_000);
const FLOOD = 120;

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

async function waitUntil(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await pred())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A job paused before its first activation, whose locals are ~900 KB. */
async function pausedBigJob(): Promise<string> {
  const job = await post("/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "trigger", entry_params: { data: BIG }, pause_on_start: true });
  const jobId = job.job_id as string;
  await waitUntil("the job to pause", async () => (await fetch(`${server.url}/api/jobs/${jobId}/debug/variables`)).status === 200);
  return jobId;
}

/** Subscribers the server holds for the job (every socket on it has one). */
const subscribersOf = (jobId: string): Promise<number> =>
  inspector.evaluate<number>(`globalThis[Symbol.for("routilux.runtime")].monitoring.eventManager.getSubscriberCount(${JSON.stringify(jobId)})`);

/** Heap plus buffers (what a socket's unsent data lives in), after a forced GC, in MB. */
async function heldMb(): Promise<number> {
  const m = await inspector.memoryAfterGc();
  return m.heapUsed + m.external;
}

/** The client's memory is given back once it left: within 12 MB of `baseline` (polled up to 10 s). */
async function expectReleased(baseline: number): Promise<void> {
  let held = await heldMb();
  for (let i = 0; i < 40 && held > baseline + 12; i++) {
    await sleep(250);
    held = await heldMb();
  }
  expect(held).toBeLessThan(baseline + 12);
}

beforeAll(async () => {
  server = await startServer({}, { inspect: true });
  inspector = await connectInspector(server);
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const s of ioSockets) s.close();
  inspector?.close();
  await server?.stop();
});

describe("a client that never reads its replies", () => {
  it("raw WebSocket: disconnected with 1008 and CLIENT_QUEUE_FULL, and its memory is released once it leaves", async () => {
    const jobId = await pausedBigJob();
    const baseline = await heldMb();
    const ws = new WebSocket(`${server.wsUrl}/api/ws/jobs/${jobId}/debug`);
    const replies: unknown[] = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { type: string };
      if (msg.type === "command_result") replies.push(msg);
    });
    ws.on("error", () => {});
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise((resolve) => ws.once("open", resolve));
    await waitUntil("the debug socket's subscription", async () => (await subscribersOf(jobId)) === 1);
    // Reads nothing from now on: the replies pile up on the server's side.
    const tcp = (ws as unknown as { _socket: NetSocket })._socket;
    tcp.pause();
    for (let i = 0; i < FLOOD; i++) ws.send(JSON.stringify({ command: "get_variables", id: i }));
    // The server lets go of it (its subscription is closed) while it still reads nothing.
    await waitUntil("the server to drop the client", async () => (await subscribersOf(jobId)) === 0, 60_000);
    tcp.resume();
    const { code, reason } = await closed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/^CLIENT_QUEUE_FULL: over \d+ bytes unread/);
    // What it did get stayed within the bound (16 MiB) plus what the kernel buffers held.
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.length).toBeLessThan(FLOOD);
    ws.terminate();
    await expectReleased(baseline);
  }, 120_000);

  it("socket.io: told client_dropped (CLIENT_QUEUE_FULL), disconnected by the server, and its memory is released once it leaves", async () => {
    const jobId = await pausedBigJob();
    const baseline = await heldMb();
    const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
    ioSockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.on("connect", () => resolve());
      socket.on("connect_error", reject);
    });
    const dropped: unknown[] = [];
    socket.on("client_dropped", (info: unknown) => dropped.push(info));
    const disconnected = new Promise<string>((resolve) => socket.on("disconnect", (why) => resolve(why)));
    let acked = 0;
    expect(await socket.emitWithAck("subscribe", { job_id: jobId })).toMatchObject({ ok: true });
    await waitUntil("the subscription", async () => (await subscribersOf(jobId)) === 1);
    const engine = socket.io.engine as unknown as { transport: { ws: { _socket: NetSocket } } };
    const tcp = engine.transport.ws._socket;
    tcp.pause();
    for (let i = 0; i < FLOOD; i++) socket.emit("debug", { job_id: jobId, command: "get_variables" }, () => acked++);
    await waitUntil("the server to drop the client", async () => (await subscribersOf(jobId)) === 0, 60_000);
    tcp.resume();
    expect(await disconnected).toBe("io server disconnect");
    expect(dropped).toHaveLength(1);
    expect(ClientDroppedSchema.parse(dropped[0])).toMatchObject({ code: "CLIENT_QUEUE_FULL", limit_bytes: 16 * 1024 * 1024 });
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThan(FLOOD);
    socket.close();
    await expectReleased(baseline);
  }, 120_000);
});

describe("many monitors on one job", () => {
  it("300 raw monitors all receive every seq in order, and /api/health answers while they are being served", async () => {
    const MONITORS = 300;
    const items = Array.from({ length: 100 }, (_, i) => i);
    const job = await post("/api/jobs", { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items }, pause_on_start: true });
    const jobId = job.job_id as string;
    const monitors: Client[] = [];
    for (let i = 0; i < MONITORS; i++) monitors.push(Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=0`));
    await waitUntil("every monitor's connected message", () => monitors.every((m) => m.messages.some((x) => x.type === "connected")), 60_000);
    const done = (): boolean => monitors.every((m) => m.events.some((e) => e.event_type === "job_completed"));
    const health: number[] = [];
    let answeredWhileServing = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await fetch(`${server.url}/api/health`);
        health.push(res.status);
        await res.arrayBuffer();
        if (!done()) answeredWhileServing++;
      }
    })();
    await post(`/api/jobs/${jobId}/resume`, {});
    await waitUntil("every monitor to see job_completed", done, 60_000);
    polling = false;
    await poller;
    const total = ((await (await fetch(`${server.url}/api/jobs/${jobId}/metrics`)).json()) as { total_events: number }).total_events;
    expect(total).toBeGreaterThan(300);
    for (const m of monitors) {
      expect(m.messages.some((x) => x.type === "events_dropped")).toBe(false);
      expect(m.events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((s) => s === 200)).toBe(true);
    // Served between fan-out slices, not after them.
    expect(answeredWhileServing).toBeGreaterThan(0);
    for (const m of monitors) m.ws.terminate();
  }, 120_000);
});

describe("a flow monitor opened while a job runs", () => {
  /** Events of the job replayed from `afterSeq` on its own monitor, up to its end. */
  async function replay(jobId: string, afterSeq: number): Promise<Ev[]> {
    const monitor = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=${afterSeq}`);
    await monitor.waitFor((m) => isEvent(m) && m.event_type === "job_completed", 30_000);
    monitor.ws.terminate();
    return monitor.events;
  }

  it("raw: announces the running job with its first seq; replaying from it yields job_started onward with no gap", async () => {
    const job = await post("/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 30, interval_ms: 20 } });
    const jobId = job.job_id as string;
    await waitUntil("some events", async () => ((await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { last_seq: number }).last_seq > 5);
    const flow = Client.connect(server.wsUrl, "/api/ws/flows/slow_stream/monitor");
    const announced = await flow.waitFor((m) => m.type === "job_running" && m.job_id === jobId);
    const info = RawServerMessageSchemas.job_running.parse(announced);
    expect(info).toMatchObject({ flow_id: "slow_stream", first_seq: 1 });
    expect(info.last_seq).toBeGreaterThan(5);
    // The flow monitor's own events of that job continue right after the announced seq.
    await flow.waitFor((m) => isEvent(m) && m.job_id === jobId && m.event_type === "job_completed", 30_000);
    const live = flow.events.filter((e) => e.job_id === jobId);
    expect(live[0]?.seq).toBe(info.last_seq + 1);
    const replayed = await replay(jobId, info.first_seq - 1);
    expect(replayed[0]?.event_type).toBe("job_started");
    expect(replayed.map((e) => e.seq)).toEqual(replayed.map((_, i) => i + 1));
    expect(replayed.at(-1)?.seq).toBe(live.at(-1)?.seq);
  }, 60_000);

  it("socket.io: a flow subscription is followed by job_running for the running job; replaying from it yields job_started onward", async () => {
    const job = await post("/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 30, interval_ms: 20 } });
    const jobId = job.job_id as string;
    await waitUntil("some events", async () => ((await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { last_seq: number }).last_seq > 5);
    const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
    ioSockets.push(socket);
    const running: unknown[] = [];
    socket.on("job_running", (info: unknown) => running.push(info));
    expect(await socket.emitWithAck("subscribe", { flow_id: "slow_stream" })).toEqual({ ok: true, flow_id: "slow_stream" });
    await waitUntil("the announcement", () => running.length > 0);
    const info = JobRunningSchema.parse(running.find((r) => (r as { job_id: string }).job_id === jobId));
    expect(info).toMatchObject({ job_id: jobId, flow_id: "slow_stream", first_seq: 1 });
    const batches: Ev[][] = [];
    socket.on("events", (events: Ev[]) => batches.push(events));
    expect(await socket.emitWithAck("subscribe", { job_id: jobId, after_seq: info.first_seq - 1 })).toMatchObject({ ok: true });
    await waitUntil("job_completed", () => batches.flat().some((e) => e.job_id === jobId && e.event_type === "job_completed"));
    const replayed = batches.flat().filter((e) => e.job_id === jobId);
    // The flow subscription delivers the job's live events too; the job's own stream, de-duplicated by seq, has no gap.
    const seqs = [...new Set(replayed.map((e) => e.seq))].sort((a, b) => a - b);
    expect(replayed.find((e) => e.seq === 1)?.event_type).toBe("job_started");
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    socket.close();
  }, 60_000);
});
