/**
 * Hostile input drill: malformed and malicious requests over HTTP, raw WebSockets and socket.io.
 * Each gets a clear 4xx / error reply; afterwards the server still answers and a bystander job's
 * data is byte-for-byte what it was.
 */
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServer, type TestServer } from "../helpers/server";

let s: TestServer;
let bystander = "";
let bystanderData: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { code: string; message: string } } | null }> {
  const res = await fetch(`${s.url}${path}`, { method, headers: body === undefined ? headers : { "content-type": "application/json", ...headers }, body });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

async function snapshotOf(jobId: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of ["", "/trace?limit=10000", "/metrics", "/logs"]) out.push(await (await fetch(`${s.url}/api/jobs/${jobId}${p}`)).text());
  return out;
}

const deep = (n: number, open: string, close: string, inner = "1"): string => `${open.repeat(n)}${inner}${close.repeat(n)}`;
const dsl = (routines: unknown, connections: unknown[] = []): string => JSON.stringify({ flow_id: `evil_${Math.random().toString(36).slice(2, 8)}`, dsl: { routines, connections } });

beforeAll(async () => {
  s = await startServer();
  await raw("POST", "/api/flows", JSON.stringify({ flow_id: "target", dsl: { routines: { a: { class: "passthrough" }, b: { class: "filter", config: { condition: "x > 1" } } }, connections: [{ from: "a.output", to: "b.input" }] } }));
  const started = await raw("POST", "/api/jobs", JSON.stringify({ flow_id: "target", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 5, secret: "keep me" } }));
  bystander = (started.json as unknown as { job_id: string }).job_id;
  for (let i = 0; i < 100; i++) {
    const j = (await raw("GET", `/api/jobs/${bystander}`)).json as unknown as { status: string };
    if (j.status === "completed") break;
    await sleep(20);
  }
  bystanderData = await snapshotOf(bystander);
});

afterAll(async () => {
  await s.stop();
});

interface HttpCase {
  name: string;
  method: string;
  path: string | (() => string);
  body?: string | (() => string);
  headers?: Record<string, string>;
  status: number;
  code?: string;
}

const HTTP_CASES: HttpCase[] = [
  { name: "malformed JSON", method: "POST", path: "/api/jobs", body: "{", status: 400, code: "MALFORMED_JSON" },
  { name: "truncated JSON", method: "POST", path: "/api/flows", body: '{"flow_id": "x", "dsl": {', status: 400, code: "MALFORMED_JSON" },
  { name: "JSON array body", method: "POST", path: "/api/jobs", body: "[]", status: 400, code: "VALIDATION_ERROR" },
  { name: "JSON string body", method: "POST", path: "/api/jobs", body: '"hello"', status: 400, code: "VALIDATION_ERROR" },
  { name: "JSON null body", method: "POST", path: "/api/jobs", body: "null", status: 400, code: "VALIDATION_ERROR" },
  { name: "unknown field", method: "POST", path: "/api/jobs", body: '{"flow_id":"target","entry_routine_id":"a","evil":1}', status: 400, code: "VALIDATION_ERROR" },
  { name: "wrong type", method: "POST", path: "/api/jobs", body: '{"flow_id":42,"entry_routine_id":"a"}', status: 400, code: "VALIDATION_ERROR" },
  { name: "unknown flow", method: "POST", path: "/api/jobs", body: '{"flow_id":"nope","entry_routine_id":"a"}', status: 404, code: "FLOW_NOT_FOUND" },
  { name: "unknown entry routine", method: "POST", path: "/api/jobs", body: '{"flow_id":"target","entry_routine_id":"zz"}', status: 400 },
  { name: "deeply nested payload (10k levels)", method: "POST", path: "/api/jobs", body: `{"flow_id":"target","entry_routine_id":"a","entry_slot":"input","entry_params":${deep(10_000, '{"a":', "}")}}`, status: 400 },
  { name: "deeply nested array (200k levels)", method: "POST", path: "/api/jobs", body: `{"flow_id":"target","entry_routine_id":"a","entry_params":{"x":${deep(200_000, "[", "]")}}}`, status: 400 },
  { name: "payload nested past the limit (100 levels)", method: "POST", path: "/api/jobs", body: `{"flow_id":"target","entry_routine_id":"a","entry_slot":"input","entry_params":${deep(100, '{"a":', "}")}}`, status: 400, code: "VALIDATION_ERROR" },
  { name: "__proto__ in payload", method: "POST", path: "/api/jobs", body: '{"flow_id":"target","entry_routine_id":"a","entry_slot":"input","entry_params":{"__proto__":{"polluted":true}}}', status: 400, code: "FORBIDDEN_KEY" },
  { name: "nested constructor.prototype in payload", method: "POST", path: "/api/jobs", body: '{"flow_id":"target","entry_routine_id":"a","entry_slot":"input","entry_params":{"x":{"constructor":{"prototype":{"polluted":true}}}}}', status: 400, code: "VALIDATION_ERROR" },
  { name: "huge string id (200k chars)", method: "POST", path: "/api/jobs", body: () => JSON.stringify({ flow_id: "f".repeat(200_000), entry_routine_id: "a" }), status: 400, code: "VALIDATION_ERROR" },
  { name: "body over 1 MB", method: "POST", path: "/api/jobs", body: () => JSON.stringify({ flow_id: "target", entry_routine_id: "a", entry_params: { big: "x".repeat(1_100_000) } }), status: 413, code: "PAYLOAD_TOO_LARGE" },
  { name: "__proto__ in DSL routines", method: "POST", path: "/api/flows", body: () => dsl(JSON.parse('{"__proto__": {"class": "passthrough"}}')), status: 400 },
  { name: "constructor key in DSL config", method: "POST", path: "/api/flows", body: () => dsl({ a: { class: "mapper", config: JSON.parse('{"set": {"constructor": {"prototype": {"x": 1}}}}') } }), status: 400 },
  { name: "prototype key deep in DSL", method: "POST", path: "/api/flows", body: () => dsl({ a: { class: "mapper", config: { set: { y: { prototype: 1 } } } } }), status: 400 },
  { name: "path as routine class", method: "POST", path: "/api/flows", body: () => dsl({ a: { class: "../../../../etc/passwd" } }), status: 400 },
  { name: "module name as routine class", method: "POST", path: "/api/flows", body: () => dsl({ a: { class: "child_process" } }), status: 400 },
  { name: "expression injection in filter condition", method: "POST", path: "/api/flows", body: () => dsl({ a: { class: "filter", config: { condition: "constructor.constructor('return process')()" } } }), status: 400 },
  { name: "YAML alias bomb", method: "POST", path: "/api/flows", body: () => JSON.stringify({ flow_id: "bomb", dsl: `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nroutines: {}` }), status: 400 },
  { name: "YAML code tag", method: "POST", path: "/api/flows", body: () => JSON.stringify({ flow_id: "tagged", dsl: 'routines:\n  a: !!js/function "function () { process.exit(1) }"' }), status: 400 },
  { name: "flow id path traversal", method: "POST", path: "/api/flows", body: '{"flow_id":"../../etc/passwd"}', status: 400, code: "VALIDATION_ERROR" },
  { name: "job id path traversal (encoded)", method: "GET", path: "/api/jobs/..%2F..%2Fetc%2Fpasswd", status: 400, code: "INVALID_ID" },
  { name: "job id with NUL", method: "GET", path: "/api/jobs/abc%00def", status: 400, code: "INVALID_ID" },
  { name: "job id too long", method: "GET", path: `/api/jobs/${"j".repeat(200)}`, status: 400, code: "INVALID_ID" },
  { name: "broken percent-encoding", method: "GET", path: "/api/jobs/%E0%A4%A", status: 400, code: "BAD_PATH" },
  { name: "job id __proto__", method: "GET", path: "/api/jobs/__proto__", status: 404, code: "JOB_NOT_FOUND" },
  { name: "flow id constructor", method: "GET", path: "/api/flows/constructor", status: 404, code: "FLOW_NOT_FOUND" },
  { name: "breakpoint condition reaching __proto__", method: "POST", path: "/api/flows/target/breakpoints", body: '{"routine_id":"b","condition":"data.__proto__.polluted"}', status: 400, code: "INVALID_CONDITION" },
  { name: "breakpoint condition calling constructor", method: "POST", path: "/api/flows/target/breakpoints", body: `{"routine_id":"b","condition":"x.constructor.constructor('return process')()"}`, status: 400, code: "INVALID_CONDITION" },
  { name: "breakpoint condition with assignment", method: "POST", path: "/api/flows/target/breakpoints", body: '{"routine_id":"b","condition":"x = 1"}', status: 400, code: "INVALID_CONDITION" },
  { name: "breakpoint condition with new", method: "POST", path: "/api/flows/target/breakpoints", body: '{"routine_id":"b","condition":"new Function(\\"x\\")"}', status: 400, code: "INVALID_CONDITION" },
  { name: "breakpoint condition using this", method: "POST", path: "/api/flows/target/breakpoints", body: '{"routine_id":"b","condition":"this"}', status: 400, code: "INVALID_CONDITION" },
  { name: "breakpoint condition over 4 KB", method: "POST", path: "/api/flows/target/breakpoints", body: () => JSON.stringify({ routine_id: "b", condition: `x > ${"1".repeat(5000)}` }), status: 400 },
  { name: "breakpoint on unknown routine", method: "POST", path: "/api/flows/target/breakpoints", body: '{"routine_id":"zz"}', status: 404, code: "ROUTINE_NOT_FOUND" },
  { name: "job breakpoint with injected condition at start", method: "POST", path: "/api/jobs", body: `{"flow_id":"target","entry_routine_id":"a","entry_slot":"input","breakpoints":[{"routine_id":"b","condition":"constructor"}]}`, status: 400 },
  { name: "routine of type __proto__", method: "POST", path: "/api/flows/target/routines", body: '{"routine_id":"x","type":"__proto__"}', status: 400 },
  { name: "connection with __proto__ mapping", method: "POST", path: "/api/flows/target/connections", body: '{"source_routine":"b","source_event":"output","target_routine":"a","target_slot":"input","param_mapping":{"x":"__proto__"}}', status: 400 },
  { name: "__proto__ key in mapping (refused while parsing)", method: "POST", path: "/api/flows/target/connections", body: '{"source_routine":"b","source_event":"output","target_routine":"a","target_slot":"input","param_mapping":{"__proto__":"x"}}', status: 400, code: "FORBIDDEN_KEY" },
  { name: "evaluate on a finished job", method: "POST", path: () => `/api/jobs/${bystander}/debug/evaluate`, body: '{"expression":"shared.__proto__"}', status: 409 },
  { name: "set variable __proto__ on a finished job", method: "PUT", path: () => `/api/jobs/${bystander}/debug/variables/__proto__`, body: '{"value":{"polluted":true}}', status: 409 },
  { name: "cancel a finished job", method: "POST", path: () => `/api/jobs/${bystander}/cancel`, status: 409, code: "JOB_FINISHED" },
  { name: "breakpoint on a finished job's unknown routine", method: "POST", path: () => `/api/jobs/${bystander}/breakpoints`, body: '{"routine_id":"nope"}', status: 404 },
  { name: "negative after_seq", method: "GET", path: () => `/api/jobs/${bystander}/trace?after_seq=-5`, status: 400, code: "VALIDATION_ERROR" },
  { name: "huge limit", method: "GET", path: "/api/jobs?limit=100000000", status: 400, code: "VALIDATION_ERROR" },
  { name: "removeOldJobs with negative age", method: "DELETE", path: "/api/jobs?max_age_seconds=-1", status: 400, code: "VALIDATION_ERROR" },
  { name: "removeOldJobs with text age", method: "DELETE", path: "/api/jobs?max_age_seconds=all", status: 400, code: "VALIDATION_ERROR" },
  { name: "unknown query parameter", method: "GET", path: "/api/jobs?evil=1", status: 400, code: "VALIDATION_ERROR" },
  { name: "wrong method", method: "PUT", path: "/api/flows", body: "{}", status: 405, code: "METHOD_NOT_ALLOWED" },
  { name: "unknown route", method: "GET", path: "/api/../../etc/passwd", status: 404 },
];

describe("hostile input drill", () => {
  it("has at least 40 cases over HTTP", () => {
    expect(HTTP_CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HTTP_CASES)("HTTP: $name → $status", async (c) => {
    const path = typeof c.path === "function" ? c.path() : c.path;
    const body = typeof c.body === "function" ? c.body() : c.body;
    const res = await raw(c.method, path, body, c.headers);
    expect({ name: c.name, status: res.status }).toEqual({ name: c.name, status: c.status });
    if (c.status !== 404 || path.startsWith("/api/jobs") || path.startsWith("/api/flows")) {
      expect(typeof res.json?.error?.message).toBe("string");
      expect(res.json?.error?.message).not.toMatch(/\n\s+at /); // never a stack trace
    }
    if (c.code) expect(res.json?.error?.code).toBe(c.code);
  });

  it("HTTP: a flood of 300 debug commands on a job that is not paused gets 300 refusals", async () => {
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => raw("POST", `/api/jobs/${bystander}/debug/${["step_over", "step_into", "continue"][i % 3]}`)));
    expect(results.every((r) => r.status === 409)).toBe(true);
  });

  it("raw WebSocket: malformed, binary, prototype-key and injected commands get error replies; a 1,000-command flood too; the socket stays open", async () => {
    const ws = new WebSocket(`${s.wsUrl}/api/ws/jobs/${bystander}/debug`);
    const msgs: Record<string, unknown>[] = [];
    ws.on("message", (d) => msgs.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r) => ws.once("open", r));
    const sends: (string | Buffer)[] = [
      "{",
      "not json at all",
      "[1,2,3]",
      '"just a string"',
      Buffer.from([0, 1, 2, 3]),
      '{"command": "__proto__"}',
      '{"command": "constructor", "id": 7}',
      '{"command": {"nested": true}}',
      '{"command": "set_variable", "variable": "__proto__.polluted", "value": true}',
      '{"command": "evaluate", "expression": "constructor.constructor(\'return process\')()"}',
      '{"command": "set_breakpoint", "routine_id": "b", "condition": "this"}',
      `{"command": "${"x".repeat(100_000)}"}`,
      deep(5_000, "[", "]"),
    ];
    for (const m of sends) ws.send(m);
    for (let i = 0; i < 1000; i++) ws.send(JSON.stringify({ command: "step_over", id: i }));
    const expected = sends.length + 1000;
    for (let i = 0; i < 400 && msgs.filter((m) => m.type === "error").length < expected; i++) await sleep(25);
    const errors = msgs.filter((m) => m.type === "error");
    expect(errors.length).toBe(expected);
    expect(msgs.some((m) => m.type === "command_result")).toBe(false);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // A frame over the 1 MB limit closes that socket (1009), and only that one.
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("x".repeat(1_100_000));
    expect(await closed).toBe(1009);
  });

  it("raw WebSocket: path tricks and unknown ids are refused", async () => {
    const tries = ["/api/ws/jobs/..%2F..%2Fetc/monitor", "/api/ws/jobs/%00/monitor", "/api/ws/jobs/__proto__/monitor", "/api/ws/flows/constructor/monitor", `/api/ws/jobs/${bystander}/monitor?after_seq=-1`, `/api/ws/jobs/${"a".repeat(300)}/debug`];
    for (const p of tries) {
      const ws = new WebSocket(`${s.wsUrl}${p}`);
      ws.on("error", () => {});
      const code = await new Promise<number>((r) => ws.once("close", (c) => r(c)));
      expect({ p, code }).toEqual({ p, code: 1008 });
    }
    for (const p of ["/api/ws/../../etc/passwd", "/api/ws/jobs/x/y/z/monitor", "/not-a-socket"]) {
      const ws = new WebSocket(`${s.wsUrl}${p}`);
      const status = await new Promise<number>((r) => ws.once("unexpected-response", (_req, res) => r(res.statusCode ?? 0)));
      ws.on("error", () => {});
      expect({ p, status }).toEqual({ p, status: 404 });
    }
  });

  it("socket.io: hostile subscribe and debug messages are answered with ok: false", async () => {
    const socket = io(s.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
    try {
      const ask = (event: string, msg: unknown) => socket.timeout(5000).emitWithAck(event, msg) as Promise<{ ok: boolean }>;
      const replies = [
        await ask("subscribe", { job_id: { $gt: "" } }),
        await ask("subscribe", { job_id: "../../etc" }),
        await ask("subscribe", { job_id: "__proto__" }),
        await ask("subscribe", { flow_id: "constructor" }),
        await ask("subscribe", null),
        await ask("debug", { job_id: "__proto__", command: "continue" }),
        await ask("debug", { job_id: bystander, command: "set_variable", variable: "__proto__.x", value: 1 }),
        await ask("debug", { job_id: bystander, command: "evaluate", expression: "this" }),
      ];
      expect(replies.map((r) => r.ok)).toEqual(replies.map(() => false));
    } finally {
      socket.close();
    }
  });

  it("afterwards the server answers and the bystander job's data is unchanged", async () => {
    expect((await raw("GET", "/api/health")).json).toMatchObject({ status: "healthy", reasons: [] });
    expect(await snapshotOf(bystander)).toEqual(bystanderData);
    const flow = (await raw("GET", "/api/flows/target")).json as unknown as { routines: Record<string, unknown> };
    expect(Object.keys(flow.routines)).toEqual(["a", "b"]);
    const bps = (await raw("GET", "/api/flows/target/breakpoints")).json as unknown as { total: number };
    expect(bps.total).toBe(0);
  });
});
