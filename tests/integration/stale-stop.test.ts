/**
 * Moving debug commands carry the stop number they apply to: against the real server, over HTTP,
 * the raw debug WebSocket and socket.io. A doubled or late command for a stop the job has left
 * gets 409 STALE_STOP and changes nothing, so it can never release the next stop.
 */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Breakpoint, JobBreakpoints, SessionSnapshot, StartJobAnswer } from "../../lib/wire";
import { startServer, type TestServer } from "../helpers/server";
import { Client, clients } from "../helpers/ws-client";

let server: TestServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer();
}, 90_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of clients) c.ws.terminate();
  await server?.stop();
});

interface ErrorAnswer {
  error: { code: string; message: string; details?: { current_stop_number: number | null } };
}

async function post<T>(path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as T };
}

async function get<T>(path: string): Promise<T> {
  return (await (await fetch(`${server.url}${path}`)).json()) as T;
}

const session = (jobId: string) => get<SessionSnapshot>(`/api/jobs/${jobId}/debug/session`);

/** Waits (bounded, on the API) until the job is stopped or finished; where it is. */
async function settled(jobId: string): Promise<SessionSnapshot & { job_status: string }> {
  for (let i = 0; i < 2000; i++) {
    const snap = await get<{ status: string }>(`/api/jobs/${jobId}`);
    const s = await session(jobId);
    if (s.status === "paused" || ["completed", "failed", "cancelled"].includes(snap.status)) return { ...s, job_status: snap.status };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${jobId} neither stopped nor ended`);
}

/** data_processing (ingest → process → validate) paused at ingest (stop 1), with a job breakpoint on process. */
async function pausedWithBreakpoint(): Promise<string> {
  const started = await post<StartJobAnswer>("/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] }, pause_on_start: true });
  expect(started.status).toBe(201);
  const jobId = started.json.job_id;
  expect((await post<Breakpoint>(`/api/jobs/${jobId}/breakpoints`, { routine_id: "process" })).status).toBe(201);
  expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "ingest", stop_number: 1 });
  return jobId;
}

/** After a doubled continue for stop 1: the job is held at process (stop 2) and stays there until told. */
async function expectHeldAtProcess(jobId: string): Promise<void> {
  expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "process", stop_number: 2, reason: "breakpoint" });
  const trace = await get<{ events: { event_type: string }[] }>(`/api/jobs/${jobId}/trace?limit=1000`);
  // One release (of stop 1) and no second one.
  expect(trace.events.filter((e) => e.event_type === "job_resumed")).toHaveLength(1);
  expect((await session(jobId)).paused_at).toMatchObject({ routine_id: "process", stop_number: 2 });
}

function connectIo(): Promise<Socket> {
  const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

describe("stop_number over HTTP", () => {
  it("two continues for the same stop sent at once: exactly one goes through, the other is STALE_STOP, the next stop stays held", async () => {
    const jobId = await pausedWithBreakpoint();
    const answers = await Promise.all([post<ErrorAnswer>(`/api/jobs/${jobId}/debug/continue`, { stop_number: 1 }), post<ErrorAnswer>(`/api/jobs/${jobId}/debug/continue`, { stop_number: 1 })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const refused = answers.find((a) => a.status === 409)?.json.error;
    expect(refused?.code).toBe("STALE_STOP");
    // Where the job is at that moment: running on (null) or already at stop 2.
    expect([null, 2]).toContain(refused?.details?.current_stop_number);
    expect(refused?.message).toMatch(/not at stop 1/);
    await expectHeldAtProcess(jobId);

    // The alias, with the right stop: released; the job completes.
    expect((await post(`/api/jobs/${jobId}/debug/resume`, { stop_number: 2 })).status).toBe(200);
    expect((await settled(jobId)).job_status).toBe("completed");
    // Not paused at all: STALE_STOP with null; without a stop number, JOB_NOT_PAUSED as before.
    const late = await post<ErrorAnswer>(`/api/jobs/${jobId}/debug/continue`, { stop_number: 2 });
    expect(late).toMatchObject({ status: 409, json: { error: { code: "STALE_STOP", details: { current_stop_number: null } } } });
    expect((await post<ErrorAnswer>(`/api/jobs/${jobId}/debug/continue`)).json.error.code).toBe("JOB_NOT_PAUSED");
  });

  it("a step or run_to with a wrong stop number changes nothing; with the right one it steps", async () => {
    const jobId = await pausedWithBreakpoint();
    const before = await session(jobId);
    for (const how of ["step_over", "step_into", "step_out", "step-over"]) {
      const r = await post<ErrorAnswer>(`/api/jobs/${jobId}/debug/${how}`, { stop_number: 4 });
      expect(r, how).toMatchObject({ status: 409, json: { error: { code: "STALE_STOP", details: { current_stop_number: 1 } } } });
      expect(r.json.error.message).toMatch(/is at stop 1 now, not at stop 4/);
    }
    const runTo = await post<ErrorAnswer>(`/api/jobs/${jobId}/debug/run_to`, { routine_id: "validate", stop_number: 4 });
    expect(runTo).toMatchObject({ status: 409, json: { error: { code: "STALE_STOP" } } });
    // Nothing changed: same stop, no step under way, no one-shot breakpoint left behind, never resumed.
    expect(await session(jobId)).toEqual(before);
    expect((await get<JobBreakpoints>(`/api/jobs/${jobId}/breakpoints`)).breakpoints.map((b) => b.routine_id)).toEqual(["process"]);
    const trace = await get<{ events: { event_type: string }[] }>(`/api/jobs/${jobId}/trace?limit=1000`);
    expect(trace.events.some((e) => e.event_type === "job_resumed")).toBe(false);

    // Bad stop numbers are bad input, not a conflict.
    for (const bad of [0, -1, 1.5, "1", null]) {
      expect((await post(`/api/jobs/${jobId}/debug/step_over`, { stop_number: bad })).status, String(bad)).toBe(400);
    }

    expect((await post(`/api/jobs/${jobId}/debug/step_over`, { stop_number: 1 })).status).toBe(200);
    expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "process", stop_number: 2 });
    expect((await post(`/api/jobs/${jobId}/debug/run_to`, { routine_id: "validate", stop_number: 2 })).status).toBe(200);
    expect((await settled(jobId)).paused_at).toMatchObject({ routine_id: "validate", stop_number: 3 });
    // No body at all: the old behaviour.
    expect((await post(`/api/jobs/${jobId}/debug/continue`)).status).toBe(200);
    expect((await settled(jobId)).job_status).toBe("completed");
  });
});

describe("stop_number over the sockets", () => {
  it("raw debug WebSocket: a doubled continue releases one stop; a wrong step is refused and changes nothing", async () => {
    const jobId = await pausedWithBreakpoint();
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/debug`);
    const replies = await Promise.all([client.command("continue", { stop_number: 1 }), client.command("continue", { stop_number: 1 })]);
    expect(replies.map((r) => r.type).sort()).toEqual(["command_result", "error"]);
    expect(replies.find((r) => r.type === "error")).toMatchObject({ command: "continue", code: "STALE_STOP" });
    await expectHeldAtProcess(jobId);

    const before = await session(jobId);
    expect(await client.command("step_into", { stop_number: 1 })).toMatchObject({ type: "error", command: "step_into", code: "STALE_STOP", message: expect.stringMatching(/is at stop 2 now/) });
    expect(await session(jobId)).toEqual(before);
    expect(await client.command("resume", { stop_number: 2 })).toMatchObject({ type: "command_result", command: "resume", ok: true });
    expect((await settled(jobId)).job_status).toBe("completed");
  });

  it("socket.io debug: a doubled continue releases one stop; a wrong step is refused and changes nothing", async () => {
    const jobId = await pausedWithBreakpoint();
    const socket = await connectIo();
    const acks = (await Promise.all([
      socket.emitWithAck("debug", { job_id: jobId, command: "continue", stop_number: 1 }),
      socket.emitWithAck("debug", { job_id: jobId, command: "continue", stop_number: 1 }),
    ])) as { ok: boolean; code?: string }[];
    expect(acks.map((a) => a.ok).sort()).toEqual([false, true]);
    expect(acks.find((a) => !a.ok)).toMatchObject({ command: "continue", code: "STALE_STOP" });
    await expectHeldAtProcess(jobId);

    const before = await session(jobId);
    expect(await socket.emitWithAck("debug", { job_id: jobId, command: "step_over", stop_number: 3 })).toMatchObject({ ok: false, code: "STALE_STOP" });
    expect(await session(jobId)).toEqual(before);
    expect(await socket.emitWithAck("debug", { job_id: jobId, command: "continue", stop_number: 2 })).toMatchObject({ ok: true });
    expect((await settled(jobId)).job_status).toBe("completed");
  });

  it("the same continue relayed over HTTP, the raw socket and socket.io at once: exactly one releases the stop", async () => {
    const jobId = await pausedWithBreakpoint();
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${jobId}/debug`);
    const socket = await connectIo();
    await client.waitFor((m) => m.type === "connected");
    const [http, raw, sio] = await Promise.all([
      post(`/api/jobs/${jobId}/debug/continue`, { stop_number: 1 }),
      client.command("continue", { stop_number: 1 }),
      socket.emitWithAck("debug", { job_id: jobId, command: "continue", stop_number: 1 }) as Promise<{ ok: boolean }>,
    ]);
    expect([http.status === 200, raw.type === "command_result", sio.ok].filter(Boolean)).toHaveLength(1);
    await expectHeldAtProcess(jobId);
    expect((await post(`/api/jobs/${jobId}/debug/continue`, { stop_number: 2 })).status).toBe(200);
    expect((await settled(jobId)).job_status).toBe("completed");
  });
});
