/**
 * A debug socket survives any bad command: a 10,000-segment variable path, values nested past any
 * sane depth, text that is not JSON, unknown commands, wrong types — each gets an error naming
 * what is wrong, and the same socket answers the next command.
 */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;
let jobId: string;

beforeAll(async () => {
  server = await startServer();
  const res = await fetch(`${server.url}/api/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ flow_id: "data_processing", entry_routine_id: "ingest", entry_slot: "trigger", entry_params: { data: [1, 2] }, pause_on_start: true }),
  });
  jobId = ((await res.json()) as { job_id: string }).job_id;
  for (let i = 0; i < 200; i++) {
    const snap = (await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { status: string };
    if (snap.status === "paused") break;
    await new Promise((r) => setTimeout(r, 25));
  }
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

const path10k = Array.from({ length: 10_000 }, (_, i) => `k${i}`).join(".");
/** Raw texts (a client may send anything), each a bad command of some kind. */
const BAD: { name: string; text: string }[] = [
  { name: "a 10,000-segment variable path", text: JSON.stringify({ command: "set_variable", id: 1, variable: path10k, value: 1 }) },
  { name: "a 10,000-segment path in evaluate", text: JSON.stringify({ command: "evaluate", id: 2, expression: path10k }) },
  { name: "a value nested 10,000 deep", text: `{"command":"set_variable","id":3,"variable":"data","value":${"[".repeat(10_000)}${"]".repeat(10_000)}}` },
  { name: "an object nested 10,000 deep", text: `{"command":"set_variable","id":4,"variable":"data","value":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}` },
  { name: "text that is not JSON", text: "{not json" },
  { name: "a JSON array", text: "[1,2,3]" },
  { name: "an unknown command", text: JSON.stringify({ command: "format_disk", id: 5 }) },
  { name: "arguments of the wrong type", text: JSON.stringify({ command: "get_variables", id: 6, frame: "x".repeat(5000) }) },
  { name: "a frame out of range", text: JSON.stringify({ command: "get_variables", id: 7, frame: 1e300 }) },
  { name: "a prototype key as variable", text: JSON.stringify({ command: "set_variable", id: 8, variable: "__proto__.polluted", value: 1 }) },
];

describe("the raw debug WebSocket", () => {
  it("answers every bad command with an error and the next command with its result", async () => {
    const ws = new WebSocket(`${server.wsUrl}/api/ws/jobs/${jobId}/debug`);
    const replies: Record<string, unknown>[] = [];
    ws.on("message", (d) => {
      const msg = JSON.parse(String(d)) as Record<string, unknown>;
      if (msg.type === "error" || msg.type === "command_result") replies.push(msg);
    });
    await new Promise((r) => ws.on("open", r));
    let n = 100;
    for (const bad of BAD) {
      const before = replies.length;
      ws.send(bad.text);
      const id = ++n;
      ws.send(JSON.stringify({ command: "get_session", id }));
      for (let i = 0; i < 400 && !replies.some((r) => r.id === id); i++) await new Promise((r) => setTimeout(r, 25));
      const mine = replies.slice(before);
      expect(mine.length, bad.name).toBe(2);
      expect(mine[0]?.type, bad.name).toBe("error");
      expect(typeof mine[0]?.message, bad.name).toBe("string");
      expect(mine[1], bad.name).toMatchObject({ type: "command_result", command: "get_session", id, ok: true });
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    ws.terminate();
  });
});

describe("socket.io", () => {
  it("acks every bad debug request with an error and the next with its result", async () => {
    const socket: Socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
    await new Promise((resolve, reject) => {
      socket.on("connect", () => resolve(undefined));
      socket.on("connect_error", reject);
    });
    const ask = (msg: unknown): Promise<Record<string, unknown>> =>
      new Promise((resolve) => (socket as unknown as { emit(ev: string, msg: unknown, ack: (a: Record<string, unknown>) => void): void }).emit("debug", msg, resolve));
    // A client cannot even encode the deeply nested values (its JSON.stringify overflows first).
    for (const bad of BAD.filter((b) => !b.name.includes("nested"))) {
      let msg: unknown;
      try {
        msg = { ...(JSON.parse(bad.text) as object), job_id: jobId };
      } catch {
        msg = bad.text; // not JSON: sent as a string
      }
      const answer = await ask(msg);
      expect(answer.ok, bad.name).toBe(false);
      expect(typeof answer.error, bad.name).toBe("string");
      expect(await ask({ job_id: jobId, command: "get_session" }), bad.name).toMatchObject({ ok: true });
    }
    expect(socket.connected).toBe(true);
    socket.close();
  });
});
