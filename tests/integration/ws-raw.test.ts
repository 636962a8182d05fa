import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServer, type TestServer } from "../helpers/server";
import { Client, clients, type Ev, isEvent, sleep } from "../helpers/ws-client";

const PING_MS = 200;

let server: TestServer;

async function post(path: string, body: unknown, target: TestServer = server): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${target.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function startJob(body: Record<string, unknown>, target: TestServer = server): Promise<string> {
  const res = await post("/api/jobs", body, target);
  expect(res.status).toBe(201);
  expect(typeof res.json.job_id).toBe("string");
  return res.json.job_id as string;
}

const dataJob = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  flow_id: "data_processing",
  entry_routine_id: "ingest",
  entry_slot: "trigger",
  entry_params: { data: [1, 2, 3, 4, 5] },
  ...extra,
});

function expectContiguousRun(events: Ev[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events[0]?.event_type).toBe("job_started");
  expect(events.at(-1)?.event_type).toBe("job_completed");
  for (const e of events) expect(e.type).toBe(e.event_type);
}

/** The HTTP status a refused upgrade answered with. */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on("open", () => {
      ws.close();
      reject(new Error("upgrade was accepted"));
    });
    ws.on("error", () => {});
  });
}

beforeAll(async () => {
  server = await startServer({ ROUTILUX_WS_PING_MS: String(PING_MS) });
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  await server?.stop();
});

describe("raw WebSocket: job monitor", () => {
  it("a socket opened right after POST /api/jobs gets every event, seq contiguous from 1", async () => {
    const jobId = await startJob({ flow_id: "slow_stream", entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 20, interval_ms: 20 } });
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await client.waitForEvent("job_completed");
    const first = client.messages[0];
    expect(first).toMatchObject({ type: "connected", job_id: jobId });
    expect(typeof first?.last_seq).toBe("number");
    expect(typeof first?.status).toBe("string");
    const events = client.events;
    expectContiguousRun(events);
    expect(events.every((e) => e.job_id === jobId)).toBe(true);
    // source once, then scale and sink for each of the 20 ticks.
    expect(events.filter((e) => e.event_type === "routine_start").length).toBe(1 + 20 * 2);
    expect(events.filter((e) => e.event_type === "event_emit" && e.routine_id === "source").length).toBe(20);
    expect(client.messages.some((m) => m.type === "events_dropped")).toBe(false);
  });

  it("replays a finished job up to its final event, and only seq > after_seq when asked", async () => {
    const jobId = await startJob(dataJob());
    const live = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await live.waitForEvent("job_completed");
    const total = live.events.length;
    expect(total).toBeGreaterThan(4);

    const late = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await late.waitForEvent("job_completed");
    expect(late.messages[0]).toMatchObject({ type: "connected", job_id: jobId, status: "completed", last_seq: total });
    expectContiguousRun(late.events);
    expect(late.events.map((e) => e.event_id)).toEqual(live.events.map((e) => e.event_id));

    const partial = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=3`);
    await partial.waitForEvent("job_completed");
    expect(partial.events.map((e) => e.seq)).toEqual(Array.from({ length: total - 3 }, (_, i) => i + 4));
    expect(partial.isOpen).toBe(true);
  });

  it("refuses a malformed after_seq with 1008", async () => {
    const jobId = await startJob(dataJob());
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=-1`);
    const closed = await client.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/after_seq/);
  });

  it("sends {type: ping} heartbeats and keeps a peer that answers them", async () => {
    const jobId = await startJob(dataJob());
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await client.waitFor((m) => m.type === "ping", 5_000);
    client.ws.send(JSON.stringify({ type: "pong" }));
    await sleep(PING_MS * 4);
    // The ws client answers protocol pings by itself: still connected.
    expect(client.isOpen).toBe(true);
    expect(client.messages.filter((m) => m.type === "ping").length).toBeGreaterThanOrEqual(3);
    expect(client.messages.some((m) => m.type === "error")).toBe(false);
  });

  it("terminates a peer that missed two heartbeats", async () => {
    const jobId = await startJob(dataJob());
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`, { autoPong: false });
    const closed = await client.closed;
    expect(closed.code).toBe(1006); // terminated, no closing handshake
    expect(client.messages.filter((m) => m.type === "ping").length).toBe(2);
  });
});

describe("raw WebSocket: backpressure", () => {
  // Default heartbeat (15 s): a reader that stops for a few seconds is slow, not dead.
  let plain: TestServer;

  beforeAll(async () => {
    plain = await startServer();
  }, 90_000);

  afterAll(async () => {
    await plain?.stop();
  });

  it("a reader that keeps up loses nothing of a burst far larger than its queue (job and flow monitors)", async () => {
    // One splitter handler emits 2,000 items without yielding to the event loop: 20× the queue.
    const dsl = { routines: { split: { class: "splitter" }, pass: { class: "passthrough" } }, connections: [{ from: "split.item", to: "pass.input" }] };
    expect((await post("/api/flows", { flow_id: "burst", dsl }, plain)).status).toBe(201);
    const flowClient = Client.connect(plain.wsUrl, "/api/ws/flows/burst/monitor");
    await flowClient.waitFor((m) => m.type === "connected");
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const jobId = await startJob({ flow_id: "burst", entry_routine_id: "split", entry_slot: "input", entry_params: { items }, pause_on_start: true }, plain);
    const jobClient = Client.connect(plain.wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=0`);
    await jobClient.waitFor((m) => m.type === "connected");
    expect((await post(`/api/jobs/${jobId}/resume`, {}, plain)).status).toBe(200);
    for (const client of [jobClient, flowClient]) {
      await client.waitForEvent("job_completed");
      expect(client.messages.filter((m) => m.type === "events_dropped")).toEqual([]);
      expectContiguousRun(client.events);
      expect(client.events.length).toBeGreaterThan(4 * items.length);
    }
  }, 30_000);

  it("a slow reader loses only its bounded queue and is told with events_dropped", async () => {
    const jobId = await startJob({ flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 4000, interval_ms: 0 } }, plain);
    const client = Client.connect(plain.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await client.waitFor((m) => m.type === "connected");
    client.ws.pause(); // stop reading: the server's send buffer fills up
    for (let i = 0; i < 500; i++) {
      const res = await fetch(`${plain.url}/api/jobs/${jobId}`);
      const job = (await res.json()) as { status: string };
      if (job.status === "completed") break;
      await sleep(20);
    }
    client.ws.resume();
    await client.waitForEvent("job_completed", 0);
    const drops = client.messages.filter((m) => m.type === "events_dropped");
    expect(drops.length).toBeGreaterThan(0);
    // Every gap in seq is announced by a notice with its count and the next seq.
    let expected = 1;
    for (const m of client.messages) {
      if (m.type === "events_dropped") {
        expect(m).toMatchObject({ job_id: jobId });
        expected += m.count as number;
        if (m.next_seq !== null) expect(m.next_seq).toBe(expected);
      } else if (isEvent(m)) {
        expect(m.seq).toBe(expected);
        expected++;
      }
    }
  }, 30_000);
});

describe("raw WebSocket: debug socket", () => {
  it("runs commands on a job started paused, until it completes", async () => {
    const jobId = await startJob(dataJob({ pause_on_start: true }));
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/debug`);
    expect(await client.waitFor((m) => m.type === "connected")).toMatchObject({ job_id: jobId });
    await client.waitForEvent("job_paused");

    const vars = await client.command("get_variables");
    expect(vars).toMatchObject({ type: "command_result", command: "get_variables", ok: true, data: { routine_id: "ingest", slot_name: "trigger", variables: { local: { data: [1, 2, 3, 4, 5] } } } });

    const set = await client.command("set_variable", { variable: "data", value: [10, 20] });
    expect(set).toMatchObject({ type: "command_result", ok: true, data: { variable: "data", value: [10, 20], scope: "local" } });
    const setShared = await client.command("set_variable", { variable: "note", value: "hi", scope: "shared" });
    expect(setShared).toMatchObject({ type: "command_result", ok: true, data: { scope: "shared" } });

    const stack = await client.command("get_call_stack");
    expect(stack).toMatchObject({ type: "command_result", ok: true });
    const frames = (stack.data as { frames: { routine_id: string; depth: number }[] }).frames;
    expect(frames[0]?.routine_id).toBe("ingest");

    const evaluated = await client.command("evaluate", { expression: "len(data) + 1" });
    expect(evaluated).toMatchObject({ type: "command_result", command: "evaluate", ok: true, data: { result: 3 } });

    // Malformed JSON, a non-object and an unknown command: error replies, the socket stays open.
    const before = client.messages.length;
    client.ws.send("{not json");
    expect(await client.waitFor((m) => m.type === "error", 5_000, before)).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    const before2 = client.messages.length;
    client.ws.send("[1, 2]");
    expect(await client.waitFor((m) => m.type === "error", 5_000, before2)).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    const unknown = await client.command("teleport");
    expect(unknown).toMatchObject({ type: "error", command: "teleport", code: "UNKNOWN_COMMAND" });
    expect(typeof unknown.message).toBe("string");
    const badEval = await client.command("evaluate", { expression: "(((" });
    expect(badEval).toMatchObject({ type: "error", command: "evaluate" });
    expect(client.isOpen).toBe(true);

    // step_into: stops at the next activation, which received the edited payload.
    const pausesBefore = client.events.filter((e) => e.event_type === "job_paused").length;
    const marker = client.messages.length;
    expect(await client.command("step_into")).toMatchObject({ type: "command_result", command: "step_into", ok: true });
    await client.waitFor((m) => isEvent(m) && m.event_type === "job_paused", 10_000, marker);
    expect(client.events.filter((e) => e.event_type === "job_paused").length).toBe(pausesBefore + 1);
    const next = await client.command("get_variables");
    expect(next).toMatchObject({ ok: true, data: { routine_id: "process", variables: { local: { count: 2, data: [10, 20] }, shared: { note: "hi" } } } });
    const deeper = await client.command("get_call_stack");
    expect((deeper.data as { frames: { routine_id: string }[] }).frames.map((f) => f.routine_id)).toEqual(["process", "ingest"]);

    expect(await client.command("continue")).toMatchObject({ type: "command_result", command: "continue", ok: true });
    await client.waitForEvent("job_completed");
    expectContiguousRun(client.events);
    // Session updates are pushed on the debug socket.
    expect(client.messages.some((m) => m.type === "session")).toBe(true);

    // A command on a job that is not paused: an error reply, not a dropped connection.
    const late = await client.command("get_variables");
    expect(late).toMatchObject({ type: "error", command: "get_variables", code: "JOB_NOT_PAUSED" });
    expect(client.isOpen).toBe(true);
  });

  it("sets and removes breakpoints, and 'resume' is an alias of continue", async () => {
    const jobId = await startJob(dataJob({ pause_on_start: true }));
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/debug`);
    await client.waitForEvent("job_paused");
    const bp = await client.command("set_breakpoint", { routine_id: "validate", job_id: "someone_else" });
    expect(bp).toMatchObject({ type: "command_result", ok: true, data: { job_id: jobId, routine_id: "validate" } });
    const extra = await client.command("set_breakpoint", { routine_id: "process" });
    const extraId = (extra.data as { breakpoint_id: string }).breakpoint_id;
    expect(await client.command("remove_breakpoint", { breakpoint_id: extraId })).toMatchObject({ ok: true, data: { breakpoint_id: extraId } });
    expect(await client.command("remove_breakpoint", { breakpoint_id: extraId })).toMatchObject({ type: "error", command: "remove_breakpoint" });
    expect(await client.command("set_breakpoint", { routine_id: "no_such_routine" })).toMatchObject({ type: "error", command: "set_breakpoint" });

    const marker = client.messages.length;
    expect(await client.command("resume")).toMatchObject({ type: "command_result", command: "resume", ok: true });
    // The removed breakpoint on `process` does not stop; the one on `validate` does.
    await client.waitFor((m) => isEvent(m) && m.event_type === "job_paused", 10_000, marker);
    expect(await client.command("get_variables")).toMatchObject({ ok: true, data: { routine_id: "validate" } });
    await client.command("continue");
    await client.waitForEvent("job_completed");
    expect(client.events.filter((e) => e.event_type === "breakpoint_hit").length).toBe(1);
  });

  it("a command on a running job's debug socket that needs a pause gets an error reply", async () => {
    const jobId = await startJob({ flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 50, interval_ms: 20 } });
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/debug`);
    await client.waitFor((m) => m.type === "connected");
    const reply = await client.command("step_over");
    expect(reply).toMatchObject({ type: "error", command: "step_over", code: "JOB_NOT_PAUSED" });
    // pause works on a running job; it then stops at the next activation.
    expect(await client.command("pause")).toMatchObject({ type: "command_result", ok: true });
    await client.waitForEvent("job_paused");
    expect(await client.command("continue")).toMatchObject({ ok: true });
    await client.waitForEvent("job_completed");
  });

  it("the monitor socket is read-only: commands get an error reply", async () => {
    const jobId = await startJob(dataJob());
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/monitor`);
    await client.waitFor((m) => m.type === "connected");
    expect(await client.command("continue")).toMatchObject({ type: "error", command: "continue", code: "READ_ONLY_SOCKET" });
    expect(client.isOpen).toBe(true);
  });
});

describe("raw WebSocket: flow monitor", () => {
  it("sees a job started after it connected: job_created, then its events", async () => {
    const client = Client.connect(server.wsUrl, "/api/ws/flows/data_processing/monitor");
    expect(await client.waitFor((m) => m.type === "connected")).toMatchObject({ type: "connected", flow_id: "data_processing" });
    const jobA = await startJob(dataJob());
    const jobB = await startJob(dataJob({ entry_params: { data: [7] } }));
    for (const jobId of [jobA, jobB]) {
      await client.waitFor((m) => isEvent(m) && m.job_id === jobId && m.event_type === "job_completed");
      const created = client.messages.findIndex((m) => m.type === "job_created" && m.job_id === jobId);
      const firstEvent = client.messages.findIndex((m) => isEvent(m) && m.job_id === jobId);
      expect(created).toBeGreaterThanOrEqual(0);
      expect(created).toBeLessThan(firstEvent);
      expect(client.messages.filter((m) => m.type === "job_created" && m.job_id === jobId).length).toBe(1);
      const events = client.events.filter((e) => e.job_id === jobId);
      expectContiguousRun(events);
    }
    expect(client.events.every((e) => e.flow_id === "data_processing")).toBe(true);
  });
});

describe("raw WebSocket: refusals", () => {
  it("closes unknown and invalid job / flow ids with 1008 and a reason naming them", async () => {
    const job = await Client.connect(server.wsUrl, "/api/ws/jobs/job_nope/monitor").closed;
    expect(job).toEqual({ code: 1008, reason: "Job 'job_nope' not found" });
    const debug = await Client.connect(server.wsUrl, "/api/ws/jobs/job_nope/debug").closed;
    expect(debug).toEqual({ code: 1008, reason: "Job 'job_nope' not found" });
    const flow = await Client.connect(server.wsUrl, "/api/ws/flows/no_flow/monitor").closed;
    expect(flow).toEqual({ code: 1008, reason: "Flow 'no_flow' not found" });
    const bad = await Client.connect(server.wsUrl, "/api/ws/jobs/bad%20id/monitor").closed;
    expect(bad.code).toBe(1008);
    expect(bad.reason).toMatch(/Invalid job id/);
    const long = await Client.connect(server.wsUrl, `/api/ws/jobs/${"x".repeat(128)}/monitor`).closed;
    expect(long.code).toBe(1008);
    expect(long.reason).toMatch(/^Job 'x+/);
  });

  it("answers an unknown path with HTTP 404 on upgrade", async () => {
    expect(await upgradeStatus(`${server.wsUrl}/api/ws/nothing`)).toBe(404);
    expect(await upgradeStatus(`${server.wsUrl}/api/ws/flows/data_processing/debug`)).toBe(404);
    expect(await upgradeStatus(`${server.wsUrl}/api/ws/jobs/x/monitor/extra`)).toBe(404);
  });

  it("still serves sockets after refusals", async () => {
    const client = Client.connect(server.wsUrl, "/api/ws/flows/slow_stream/monitor");
    expect(await client.waitFor((m) => m.type === "connected")).toMatchObject({ flow_id: "slow_stream" });
  });
});

describe("raw WebSocket: API key", () => {
  let secured: TestServer;

  beforeAll(async () => {
    secured = await startServer({ ROUTILUX_API_KEY: "secret" });
  }, 90_000);

  afterAll(async () => {
    await secured?.stop();
  });

  it("no key or a wrong key closes with 1008; the right key connects", async () => {
    const none = await Client.connect(secured.wsUrl, "/api/ws/flows/data_processing/monitor").closed;
    expect(none).toEqual({ code: 1008, reason: "Missing API key" });
    const wrong = await Client.connect(secured.wsUrl, "/api/ws/flows/data_processing/monitor?api_key=nope").closed;
    expect(wrong).toEqual({ code: 1008, reason: "Invalid API key" });
    // The key is checked before the id: no probing of ids without a key.
    const probe = await Client.connect(secured.wsUrl, "/api/ws/jobs/job_nope/monitor?api_key=nope").closed;
    expect(probe).toEqual({ code: 1008, reason: "Invalid API key" });
    const ok = Client.connect(secured.wsUrl, "/api/ws/flows/data_processing/monitor?api_key=secret");
    expect(await ok.waitFor((m) => m.type === "connected")).toMatchObject({ type: "connected", flow_id: "data_processing" });
    expect(ok.isOpen).toBe(true);
    const unknown = await Client.connect(secured.wsUrl, "/api/ws/jobs/job_nope/monitor?api_key=secret").closed;
    expect(unknown).toEqual({ code: 1008, reason: "Job 'job_nope' not found" });
  });
});
