/**
 * The wire contract against the real server: every HTTP route of `API`, every debug command, every
 * socket.io message and every raw WebSocket message type, produced by the demo flows, is checked
 * against its schema in lib/wire (strict objects: a field the contract does not name fails too).
 * Each list ends with a coverage check, so a route or message added without being exercised here
 * fails as well.
 */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  API,
  type Api,
  type Breakpoint,
  type BreakpointList,
  DEBUG_COMMANDS,
  DebugAckSchema,
  type DebugCommandName,
  ErrorBodySchema,
  fillPath,
  RawServerMessageSchemas,
  type RouteName,
  SOCKET_IO_SERVER_MESSAGES,
  SubscribeAckSchema,
  TraceEventSchema,
} from "../../lib/wire";
import { DevProcess, makeProject, removeProjects, waitFor, writeFiles } from "../helpers/cli";
import { startServer, type TestServer } from "../helpers/server";
import { Client, clients, type Msg, sleep } from "../helpers/ws-client";

let server: TestServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({ ROUTILUX_WS_PING_MS: "50" });
}, 90_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of clients) c.ws.terminate();
  await server?.stop();
});

/** Throws with every issue when `value` is outside `schema`. */
function conforms(what: string, schema: z.ZodType, value: unknown): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what} is outside its schema: ${JSON.stringify(r.error.issues.slice(0, 5))}\n${JSON.stringify(value).slice(0, 600)}`);
}

// ------------------------------------------------------------------ HTTP

const covered = new Set<RouteName>();

interface Hit {
  params?: Record<string, string>;
  query?: Record<string, string | number>;
  body?: unknown;
  /** Expected status (default: the route's success status). */
  status?: number;
}

/** Calls a route of the contract and checks the answer against its schema (or the error body). */
async function hit<K extends RouteName>(name: K, input: Hit = {}): Promise<z.output<NonNullable<Api[K]["response"]>>> {
  const spec = API[name];
  const qs = input.query ? `?${new URLSearchParams(Object.entries(input.query).map(([k, v]) => [k, String(v)])).toString()}` : "";
  const res = await fetch(`${server.url}${fillPath(spec.path, (input.params ?? {}) as never)}${qs}`, {
    method: spec.method,
    headers: input.body === undefined ? {} : { "content-type": "application/json" },
    body: input.body === undefined ? undefined : JSON.stringify(input.body),
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  const success = "status" in spec && spec.status !== undefined ? spec.status : spec.response === null ? 204 : 200;
  expect(res.status, `${name}: ${text.slice(0, 300)}`).toBe(input.status ?? success);
  if (res.status >= 400) conforms(`${name} error`, ErrorBodySchema, json);
  else if (spec.response === null) expect(text).toBe("");
  else {
    conforms(name, spec.response, json);
    covered.add(name);
  }
  if (res.status === 204) covered.add(name);
  return json as never;
}

async function waitStatus(jobId: string, statuses: string[]): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const snap = (await (await fetch(`${server.url}/api/jobs/${jobId}`)).json()) as { status: string };
    if (statuses.includes(snap.status)) return;
    await sleep(10);
  }
  throw new Error(`job ${jobId} never reached ${statuses.join("/")}`);
}

const dataJob = { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3] } };

describe("the HTTP contract", () => {
  it("every route answers inside its schema on the demos", async () => {
    await hit("health");
    await hit("openApi");
    // The demo server does not watch any code (routilux dev's answers are checked below).
    expect(await hit("devStatus")).toEqual({ watching: false, version: 1, reloaded_at: null, flow_ids: [], error: null });
    const listed = await hit("listFlows");
    // Every demo carries an example run.
    expect(listed.flows.filter((f) => !f.has_example).map((f) => f.flow_id)).toEqual([]);
    await hit("routineTypes");
    for (const flow_id of ["data_processing", "fan_out", "flaky_retry", "slow_stream"]) expect((await hit("getFlow", { params: { flow_id } })).example).not.toBeNull();

    // A flow made and edited over HTTP, with an example run in its DSL.
    const dsl = {
      routines: { a: { class: "passthrough" }, b: { class: "passthrough" } },
      connections: [{ from: "a.output", to: "b.input" }],
      example: { entry_routine_id: "a", params: { x: [1, { y: null }] } },
    };
    const created = await hit("createFlow", { body: { flow_id: "wire_flow", dsl } });
    expect(created.example).toEqual({ entry_routine_id: "a", entry_slot: "input", params: { x: [1, { y: null }] } });
    expect((await hit("getFlow", { params: { flow_id: "wire_flow" } })).example).toEqual(created.example);
    expect((await hit("listFlows")).flows.find((f) => f.flow_id === "wire_flow")?.has_example).toBe(true);
    expect((await hit("exportFlow", { params: { flow_id: "wire_flow" }, query: { format: "json" } })).dsl).toContain('"entry_slot": "input"');
    await hit("createFlow", { body: { flow_id: "wire_bad_example", dsl: { ...dsl, example: { entry_routine_id: "ghost", params: {} } } }, status: 400 });
    await hit("exportFlow", { params: { flow_id: "wire_flow" }, query: { format: "yaml" } });
    await hit("validateFlow", { params: { flow_id: "wire_flow" } });
    await hit("addRoutine", { params: { flow_id: "wire_flow" }, body: { routine_id: "c", type: "mapper", config: { set: { x: 1 } } } });
    const conn = await hit("addConnection", { params: { flow_id: "wire_flow" }, body: { source_routine: "b", source_event: "output", target_routine: "c", target_slot: "input", param_mapping: { a: "b" } } });
    await hit("removeConnection", { params: { flow_id: "wire_flow", connection_id: conn.id } });
    await hit("removeRoutine", { params: { flow_id: "wire_flow", routine_id: "c" } });
    const fbp = (await hit("addFlowBreakpoint", { params: { flow_id: "wire_flow" }, body: { routine_id: "b", condition: "True" } })) as Breakpoint;
    const many = (await hit("addFlowBreakpoint", { params: { flow_id: "wire_flow" }, body: [{ routine_id: "a" }, { routine_id: "b", hit_condition: ">= 2" }] })) as BreakpointList;
    for (const bp of many.breakpoints) await hit("removeFlowBreakpoint", { params: { flow_id: "wire_flow", breakpoint_id: bp.breakpoint_id } });
    await hit("patchFlowBreakpoint", { params: { flow_id: "wire_flow", breakpoint_id: fbp.breakpoint_id }, body: { enabled: false } });
    await hit("flowBreakpoints", { params: { flow_id: "wire_flow" } });
    await hit("removeFlowBreakpoint", { params: { flow_id: "wire_flow", breakpoint_id: fbp.breakpoint_id } });
    // A job of the flow, then the flow deleted: the job still answers with the flow it ran.
    const wireJob = await hit("startJob", { body: { flow_id: "wire_flow", entry_routine_id: "a", entry_slot: "input", entry_params: { x: 1 } } });
    await waitStatus(wireJob.job_id, ["completed"]);
    const wireFlow = await hit("getFlow", { params: { flow_id: "wire_flow" } });
    expect(await hit("jobFlow", { params: { job_id: wireJob.job_id } })).toEqual({ job_id: wireJob.job_id, flow_id: "wire_flow", flow: wireFlow, recorded: true, served: true, same_structure: true });
    await hit("deleteFlow", { params: { flow_id: "wire_flow" } });
    expect(await hit("jobFlow", { params: { job_id: wireJob.job_id } })).toMatchObject({ flow: wireFlow, recorded: true, served: false, same_structure: false });
    await hit("jobFlow", { params: { job_id: "job_nope" }, status: 404 });

    // Every demo to its end: snapshots, metrics (with errors) and traces of each.
    const finished: string[] = [];
    const jobBodies = [
      dataJob,
      { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [1, 20, 3, 40] } },
      { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} },
      { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 5, interval_ms: 1 } },
    ];
    for (const body of jobBodies) {
      const { job_id } = await hit("startJob", { body });
      await waitStatus(job_id, ["completed", "failed"]);
      finished.push(job_id);
    }
    for (const [i, job_id] of finished.entries()) {
      // The snapshot carries the params the job was started with.
      expect((await hit("getJob", { params: { job_id } })).entry_params).toEqual((jobBodies[i] as { entry_params: unknown }).entry_params);
      const ran = await hit("jobFlow", { params: { job_id } });
      expect(ran).toMatchObject({ recorded: true, served: true, same_structure: true });
      expect(ran.flow).toEqual(await hit("getFlow", { params: { flow_id: ran.flow_id } }));
      const metrics = await hit("jobMetrics", { params: { job_id } });
      const trace = await hit("jobTrace", { params: { job_id }, query: { limit: 1000 } });
      await hit("jobTrace", { params: { job_id }, query: { after_seq: 2, limit: 5 } });
      await hit("jobLogs", { params: { job_id } });
      await hit("jobBreakpoints", { params: { job_id } });
      expect(trace.events.length).toBeGreaterThan(0);
      for (const e of trace.events) conforms(`${e.event_type} event`, TraceEventSchema, e);
      // Inputs and outputs in full, and each event with its full payload.
      const io = await hit("jobIo", { params: { job_id }, query: { limit: 1000 } });
      expect(io.rows.length).toBeGreaterThan(0);
      const first = io.rows[0];
      await hit("jobIo", { params: { job_id }, query: { routine_id: first?.routine_id ?? "x", kind: "input", after_seq: 1, limit: 2 } });
      for (const e of trace.events.slice(0, 8)) await hit("jobEvent", { params: { job_id, seq: String(e.seq) } });
      if (metrics.flow_id === "flaky_retry") expect(metrics.errors.map((e) => e.error_message)).toContain("boom");
      // Time travel: the state at several seqs (0: before any event), a fork from an activation.
      for (const seq of [0, ...trace.events.slice(0, 8).map((e) => e.seq), trace.last_seq]) await hit("jobStateAt", { params: { job_id }, query: { at_seq: seq } });
      const start = trace.events.find((e) => e.event_type === "routine_start");
      if (start !== undefined && metrics.flow_id === "data_processing") {
        const fork = await hit("forkJob", { params: { job_id }, body: { from_seq: start.seq } });
        await waitStatus(fork.job_id, ["completed", "failed"]);
      }
    }
    // Two runs compared (one of them with itself), and runs of different flows refused.
    const [dataRun, fanRun] = finished as [string, string];
    expect((await hit("jobDiff", { query: { base: dataRun, other: dataRun } })).first_divergence).toBeNull();
    await hit("jobDiff", { query: { base: dataRun, other: fanRun }, status: 400 });
    await hit("listJobs", { query: { limit: 10 } });
    await hit("flowMetrics", { params: { flow_id: "data_processing" } });

    // Debugging a paused job: breakpoints, variables, stack, evaluate, steps.
    const { job_id } = await hit("startJob", { body: { ...dataJob, pause_on_start: true, breakpoints: [{ routine_id: "process" }] } });
    await waitStatus(job_id, ["paused"]);
    const bp = await hit("addJobBreakpoint", { params: { job_id }, body: { routine_id: "validate" } });
    await hit("patchJobBreakpoint", { params: { job_id, breakpoint_id: bp.breakpoint_id }, body: { hit_condition: ">= 1" } });
    await hit("jobBreakpoints", { params: { job_id } });
    await hit("debugSession", { params: { job_id } });
    await hit("debugVariables", { params: { job_id } });
    await hit("putVariable", { params: { job_id, variable: "data" }, body: { value: [4, 5] } });
    await hit("setVariable", { params: { job_id }, body: { variable: "note", value: { a: 1 }, scope: "shared" } });
    await hit("callStack", { params: { job_id } });
    await hit("evaluate", { params: { job_id }, body: { expression: "len(data)" } });
    await hit("evaluate", { params: { job_id }, body: { expression: "len(" }, status: 400 });
    // ingest → process (its breakpoint) → validate (its breakpoint) → the end.
    expect((await hit("debugContinue", { params: { job_id } })).status).toMatch(/running|paused/);
    await waitStatus(job_id, ["paused"]);
    expect((await hit("debugStepInto", { params: { job_id } })).paused_at?.routine_id).toBe("validate");
    await hit("removeJobBreakpoint", { params: { job_id, breakpoint_id: bp.breakpoint_id } });
    await hit("debugStepOver", { params: { job_id } });
    await waitStatus(job_id, ["completed"]);
    await hit("debugContinue", { params: { job_id }, status: 409 });
    const other = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    await waitStatus(other.job_id, ["paused"]);
    await hit("debugStepOut", { params: { job_id: other.job_id } });
    const third = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    await waitStatus(third.job_id, ["paused"]);
    await hit("debugRunTo", { params: { job_id: third.job_id }, body: { routine_id: "validate" } });
    await waitStatus(third.job_id, ["paused"]);
    await hit("debugContinue", { params: { job_id: third.job_id } });

    // Pausing and resuming a running stream, then cancelling it.
    const stream = await hit("startJob", { body: { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 200, interval_ms: 20 } } });
    await hit("debugPause", { params: { job_id: stream.job_id } });
    await hit("resumeJob", { params: { job_id: stream.job_id } });
    await hit("pauseJob", { params: { job_id: stream.job_id } });
    await hit("cancelJob", { params: { job_id: stream.job_id } });
    await waitStatus(stream.job_id, ["cancelled"]);
    await hit("getJob", { params: { job_id: stream.job_id } });
    await hit("getJob", { params: { job_id: "job_nope" }, status: 404 });
    await hit("jobIo", { params: { job_id: "job_nope" }, status: 404 });
    await hit("jobIo", { params: { job_id: stream.job_id }, query: { limit: 0 }, status: 400 });
    await hit("jobIo", { params: { job_id: stream.job_id }, query: { routine_id: "not a name" }, status: 400 });
    await hit("jobIo", { params: { job_id: stream.job_id }, query: { kind: "sideways" }, status: 400 });
    await hit("jobEvent", { params: { job_id: "job_nope", seq: "1" }, status: 404 });
    await hit("jobEvent", { params: { job_id: stream.job_id, seq: "0" }, status: 400 });
    await hit("jobEvent", { params: { job_id: stream.job_id, seq: "first" }, status: 400 });
    await hit("jobEvent", { params: { job_id: stream.job_id, seq: "99999999" }, status: 404 });
    await hit("removeOldJobs", { query: { max_age_seconds: 3600 } });

    expect((Object.keys(API) as RouteName[]).filter((n) => !covered.has(n))).toEqual([]);
  }, 60_000);
});

// ------------------------------------------------------------------ debug commands on both sockets

/** Every command with arguments that work on a data_processing job paused at its entry. */
const COMMAND_RUN: [DebugCommandName, Record<string, unknown>][] = [
  ["get_session", {}],
  ["get_variables", {}],
  ["set_variable", { variable: "data", value: [7, 8] }],
  ["get_call_stack", {}],
  ["evaluate", { expression: "len(data) + 1" }],
  ["get_breakpoints", {}],
  ["set_breakpoint", { routine_id: "validate" }],
  ["step_into", {}],
  ["step_over", {}],
  ["step_out", {}],
  ["pause", {}],
  ["run_to", { routine_id: "validate" }],
  ["continue", {}],
];

describe("debug commands", () => {
  it("every command answers inside its result schema on the raw debug socket", async () => {
    const { job_id } = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${job_id}/debug`);
    await client.waitForEvent("job_paused");
    const seen = new Set<DebugCommandName>();
    for (const [command, args] of COMMAND_RUN) {
      const reply = await client.command(command, args);
      if (reply.type === "error") continue; // e.g. a step that ran the job past any stop
      conforms(`${command} result`, DEBUG_COMMANDS[command].result, reply.data);
      seen.add(command);
      if (command === "set_breakpoint") {
        const id = (reply.data as { breakpoint_id: string }).breakpoint_id;
        const updated = await client.command("update_breakpoint", { breakpoint_id: id, condition: "True" });
        conforms("update_breakpoint result", DEBUG_COMMANDS.update_breakpoint.result, updated.data);
        seen.add("update_breakpoint");
        const removed = await client.command("remove_breakpoint", { breakpoint_id: id });
        conforms("remove_breakpoint result", DEBUG_COMMANDS.remove_breakpoint.result, removed.data);
        seen.add("remove_breakpoint");
      }
    }
    expect(["get_session", "get_variables", "set_variable", "get_call_stack", "evaluate", "get_breakpoints", "set_breakpoint", "update_breakpoint", "remove_breakpoint", "step_into"].filter((c) => !seen.has(c as DebugCommandName))).toEqual([]);
    const all = Object.keys(DEBUG_COMMANDS) as DebugCommandName[];
    // The moving commands answer with the same DebugState whether or not the job stopped again.
    expect(all.filter((c) => !seen.has(c) && DEBUG_COMMANDS[c].result !== DEBUG_COMMANDS.continue.result)).toEqual([]);
  }, 30_000);

  it("a command answers the same on HTTP, the raw socket and socket.io", async () => {
    const answers: unknown[] = [];
    const { job_id } = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    await waitStatus(job_id, ["paused"]);
    answers.push(await hit("debugVariables", { params: { job_id } }));
    const client = Client.connect(server.wsUrl, `/api/ws/jobs/${job_id}/debug`);
    answers.push((await client.command("get_variables")).data);
    const socket = await connectIo();
    const ack = await socket.emitWithAck("debug", { job_id, command: "get_variables" });
    conforms("debug ack", DebugAckSchema, ack);
    answers.push((ack as { data: unknown }).data);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    // And fail the same: a bad argument, an unknown command.
    const http = await fetch(`${server.url}/api/jobs/${job_id}/debug/evaluate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ expression: 5 }) });
    expect(http.status).toBe(400);
    expect(await client.command("evaluate", { expression: 5 })).toMatchObject({ type: "error", code: "BAD_COMMAND" });
    expect(await socket.emitWithAck("debug", { job_id, command: "evaluate", expression: 5 })).toMatchObject({ ok: false, code: "BAD_COMMAND" });
    expect(await socket.emitWithAck("debug", { job_id, command: "teleport" })).toMatchObject({ ok: false, code: "UNKNOWN_COMMAND" });
    await hit("debugContinue", { params: { job_id } });
  }, 30_000);
});

// ------------------------------------------------------------------ socket.io

function connectIo(): Promise<Socket> {
  const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

/** A finished job with more events than the trace ring keeps (1,000): a replay from 0 reports a loss. */
async function longJob(): Promise<string> {
  const items = Array.from({ length: 400 }, (_, i) => i);
  const { job_id } = await hit("startJob", { body: { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items } } });
  await waitStatus(job_id, ["completed", "failed"]);
  return job_id;
}

describe("socket.io messages", () => {
  it("every server message and ack is inside its schema", async () => {
    const socket = await connectIo();
    const seen = new Map<string, unknown[]>();
    for (const name of Object.keys(SOCKET_IO_SERVER_MESSAGES)) {
      socket.on(name as "events", (payload: unknown) => {
        const list = seen.get(name) ?? [];
        list.push(payload);
        seen.set(name, list);
      });
    }
    const acks: unknown[] = [];
    acks.push(await socket.emitWithAck("subscribe", { flow_id: "data_processing" }));
    const { job_id } = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    acks.push(await socket.emitWithAck("subscribe", { job_id, after_seq: 0 }));
    // Subscribing to the flow again while its job runs announces the job (job_running).
    acks.push(await socket.emitWithAck("subscribe", { flow_id: "data_processing" }));
    acks.push(await socket.emitWithAck("subscribe", { job_id: "job_nope" }));
    const debugAcks: unknown[] = [];
    for (const [command, args] of COMMAND_RUN) debugAcks.push(await socket.emitWithAck("debug", { job_id, command, ...args }));
    acks.push(await socket.emitWithAck("subscribe", { job_id: await longJob(), after_seq: 0 }));
    for (let i = 0; i < 300 && !(seen.has("events_dropped") && seen.has("job_created") && seen.has("session")); i++) await sleep(10);
    // Reloads come from `routilux dev`: a project of its own, edited once well and once badly.
    for (const [name, payload] of await devReloadMessages()) seen.set(name, [...(seen.get(name) ?? []), payload]);
    for (const a of acks) conforms("subscribe ack", SubscribeAckSchema, a);
    for (const a of debugAcks) conforms("debug ack", DebugAckSchema, a);
    for (const [name, payloads] of seen) for (const p of payloads) conforms(`socket.io ${name}`, SOCKET_IO_SERVER_MESSAGES[name as keyof typeof SOCKET_IO_SERVER_MESSAGES], p);
    // client_dropped needs a client that leaves megabytes unread: sockets-bounds.test.ts checks it against its schema.
    expect(Object.keys(SOCKET_IO_SERVER_MESSAGES).filter((n) => !seen.has(n) && n !== "client_dropped")).toEqual([]);
    expect(await socket.emitWithAck("unsubscribe", { job_id })).toEqual({ ok: true });
  }, 120_000);
});

/**
 * What `routilux dev` sends on socket.io when the project's code changes: `flows_reloaded` after a
 * good edit, `flows_reload_failed` after a bad one. Produced by the real command on a temp project
 * (tests/helpers/cli.ts) rather than by a hook in the server: nothing but the watcher triggers a
 * reload. Its GET /api/dev/status answers are checked on the way.
 */
async function devReloadMessages(): Promise<[string, unknown][]> {
  const flow = (n: number) => `import { defineConfig, Flow, Routine } from "routilux";
class Step extends Routine {
  constructor() {
    super();
    this.addSlot("trigger", { handler: () => undefined });
  }
}
const flow = new Flow("reloading");
flow.addRoutine(new Step(), "step${n}");
export default defineConfig({ flows: [flow] });
`;
  const project = makeProject({ "routilux.config.ts": flow(1) });
  const dev = await DevProcess.start(project, ["--no-history"]);
  const got: [string, unknown][] = [];
  const socket = io(dev.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
  try {
    socket.on("flows_reloaded", (p: unknown) => got.push(["flows_reloaded", p]));
    socket.on("flows_reload_failed", (p: unknown) => got.push(["flows_reload_failed", p]));
    await waitFor("socket.io connected", () => socket.connected);
    const status = async () => {
      const answer = (await (await fetch(`${dev.url}/api/dev/status`)).json()) as unknown;
      conforms("devStatus (routilux dev)", API.devStatus.response, answer);
      return answer as { version: number; error: unknown };
    };
    writeFiles(project, { "routilux.config.ts": flow(2) });
    await waitFor("a reload", async () => (await status()).version === 2 && got.some(([n]) => n === "flows_reloaded"));
    writeFiles(project, { "routilux.config.ts": "export default {" });
    await waitFor("a failed reload", async () => (await status()).error !== null && got.some(([n]) => n === "flows_reload_failed"));
    return got;
  } finally {
    socket.close();
    await dev.stop();
    removeProjects();
  }
}

// ------------------------------------------------------------------ raw WebSockets

describe("raw WebSocket messages", () => {
  it("every message type is inside its schema", async () => {
    const byType = new Map<string, Msg[]>();
    const flow = Client.connect(server.wsUrl, "/api/ws/flows/data_processing/monitor");
    await flow.waitFor((m) => m.type === "connected");
    const { job_id } = await hit("startJob", { body: { ...dataJob, pause_on_start: true } });
    const debug = Client.connect(server.wsUrl, `/api/ws/jobs/${job_id}/debug`);
    await debug.waitForEvent("job_paused");
    // A flow monitor opened while the job runs announces it.
    const late = Client.connect(server.wsUrl, "/api/ws/flows/data_processing/monitor");
    await late.waitFor((m) => m.type === "job_running");
    for (const [command, args] of COMMAND_RUN) await debug.command(command, args);
    await debug.command("teleport");
    debug.ws.send(JSON.stringify({ type: "ping" }));
    await debug.waitFor((m) => m.type === "pong");
    await debug.waitFor((m) => m.type === "ping");
    const monitor = Client.connect(server.wsUrl, `/api/ws/jobs/${await longJob()}/monitor?after_seq=0`);
    await monitor.waitFor((m) => m.type === "events_dropped");
    await monitor.waitForEvent("job_completed");
    await flow.waitFor((m) => m.type === "job_created");

    for (const client of [flow, late, debug, monitor]) {
      for (const m of client.messages) {
        const key = m.type === "connected" ? ("job_id" in m ? "connected_job" : "connected_flow") : "event_type" in m ? "event" : m.type;
        const schema = RawServerMessageSchemas[key as keyof typeof RawServerMessageSchemas];
        expect(schema, `no schema for message type '${m.type}'`).toBeDefined();
        conforms(`raw ${key}`, schema, m);
        if (m.type === "command_result") conforms(`${m.command} result`, DEBUG_COMMANDS[m.command as DebugCommandName].result, m.data);
        byType.set(key, [...(byType.get(key) ?? []), m]);
      }
    }
    expect(Object.keys(RawServerMessageSchemas).filter((k) => !byType.has(k))).toEqual([]);
  }, 30_000);
});
