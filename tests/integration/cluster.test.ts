/**
 * Scale-out with real processes: redis-server, two API servers (A, B) and three workers. Jobs are
 * queued through either server and run on a worker; breakpoints, variables and commands reach the
 * worker through whichever server the client talks to; both servers' sockets get every seq.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "../helpers/cluster";
import { api, until } from "../helpers/http";
import { startServer } from "../helpers/server";
import { Client, clients, isEvent } from "../helpers/ws-client";

let cluster: TestCluster;
let redis: Redis;
const sockets: Socket[] = [];

beforeAll(async () => {
  cluster = await startCluster({ servers: 2, workers: 3 });
  redis = new Redis(cluster.redis.url, { maxRetriesPerRequest: null });
  redis.on("error", () => {});
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of clients) c.ws.terminate();
  redis?.disconnect();
  await cluster?.stop();
}, 60_000);

const A = () => cluster.servers[0] as { url: string; wsUrl: string };
const B = () => cluster.servers[1] as { url: string; wsUrl: string };

interface Ev {
  seq: number;
  event_type: string;
  job_id: string;
}

function socketIo(server: { url: string }): Promise<Socket> {
  const socket = io(server.url, { path: "/socket.io/", transports: ["websocket"], reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

async function workerOf(jobId: string): Promise<string> {
  return (await until(() => redis.hget(`routilux:job:${jobId}`, "worker"), (w) => typeof w === "string" && w.length > 0)) as string;
}

async function fullTrace(server: { url: string }, jobId: string): Promise<Ev[]> {
  const r = await api(server, "GET", `/api/jobs/${jobId}/trace?after_seq=0&limit=1000`);
  expect(r.status).toBe(200);
  return r.json.events as Ev[];
}

const contiguous = (seqs: number[]): boolean => seqs.every((s, i) => s === i + 1);

describe("one job, debugged through two servers", () => {
  it("a flow breakpoint set on A stops the job on a worker; B reads and edits its variables and continues; A's socket.io and B's raw WebSocket get every seq", async () => {
    const bp = await api(A(), "POST", "/api/flows/data_processing/breakpoints", { routine_id: "process" });
    expect(bp.status).toBe(201);
    // Every server and worker applies it (the flow breakpoints live in Redis).
    await until(() => api(B(), "GET", "/api/flows/data_processing/breakpoints"), (r) => (r.json.breakpoints as { breakpoint_id: string }[]).some((b) => b.breakpoint_id === bp.json.breakpoint_id));
    await until(async () => Number(await redis.get("routilux:bp:version")), (v) => v > 0);

    const started = await api(A(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3, 4, 5] } });
    expect(started.status).toBe(201);
    const jobId = started.json.job_id as string;

    const sio = await socketIo(A());
    const batches: Ev[][] = [];
    sio.on("events", (events: Ev[]) => batches.push(events));
    const ack = (await sio.emitWithAck("subscribe", { job_id: jobId, after_seq: 0 })) as { ok: boolean };
    expect(ack.ok).toBe(true);
    const raw = Client.connect(B().wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=0`);

    const paused = await until(() => api(B(), "GET", `/api/jobs/${jobId}/debug/session`), (r) => r.json.status === "paused", 20_000);
    expect(paused.json).toMatchObject({ paused_at: { routine_id: "process", reason: "breakpoint" } });
    const worker = await workerOf(jobId);
    expect(cluster.workers.map((w) => w.id)).toContain(worker);
    // The list on either server says where it stands.
    expect((await api(A(), "GET", `/api/jobs/${jobId}`)).json.status).toBe("paused");

    const vars = await api(B(), "GET", `/api/jobs/${jobId}/debug/variables`);
    expect(vars.json).toMatchObject({ routine_id: "process", variables: { local: { data: [1, 2, 3, 4, 5], count: 5 } } });
    const put = await api(B(), "PUT", `/api/jobs/${jobId}/debug/variables/data`, { value: [10, 20] });
    expect(put.json).toEqual({ variable: "data", value: [10, 20], scope: "local" });
    const cont = await api(B(), "POST", `/api/jobs/${jobId}/debug/continue`);
    expect(cont.status).toBe(200);

    const done = await until(() => api(A(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed", 20_000);
    expect(done.json.shared_data).toEqual({ valid: true });
    const logs = await api(B(), "GET", `/api/jobs/${jobId}/logs`);
    expect((logs.json.logs as { data: unknown }[])[0]?.data).toEqual({ result: [20, 40] });

    const last = (await fullTrace(A(), jobId)).at(-1) as Ev;
    expect(last.event_type).toBe("job_completed");
    await until(async () => batches.flat().length, (n) => n >= last.seq);
    await raw.waitFor((m) => isEvent(m) && m.seq === last.seq);
    expect(batches.flat().map((e) => e.seq)).toEqual(Array.from({ length: last.seq }, (_, i) => i + 1));
    expect(raw.events.map((e) => e.seq)).toEqual(Array.from({ length: last.seq }, (_, i) => i + 1));
    // Both servers serve the same trace, from their history once the job is done.
    expect(await fullTrace(B(), jobId)).toEqual(await fullTrace(A(), jobId));

    expect((await api(B(), "DELETE", `/api/flows/data_processing/breakpoints/${bp.json.breakpoint_id}`)).status).toBe(204);
    await until(() => api(A(), "GET", "/api/flows/data_processing/breakpoints"), (r) => (r.json.breakpoints as unknown[]).length === 0);
  }, 60_000);

  it("flow breakpoints set at once on both servers are both kept, everywhere; a one-shot one fired on a worker is gone from both", async () => {
    const [x, y] = await Promise.all([
      api(A(), "POST", "/api/flows/fan_out/breakpoints", { routine_id: "route" }),
      api(B(), "POST", "/api/flows/fan_out/breakpoints", { routine_id: "collect", once: true }),
    ]);
    const ids = [x.json.breakpoint_id, y.json.breakpoint_id].sort();
    for (const server of [A(), B()]) {
      await until(() => api(server, "GET", "/api/flows/fan_out/breakpoints"), (r) => JSON.stringify((r.json.breakpoints as { breakpoint_id: string }[]).map((b) => b.breakpoint_id).sort()) === JSON.stringify(ids));
    }
    expect((await api(A(), "DELETE", `/api/flows/fan_out/breakpoints/${x.json.breakpoint_id}`)).status).toBe(204);
    const job = await api(B(), "POST", "/api/jobs", { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: [3, 12, 7, 25] } });
    const jobId = job.json.job_id as string;
    const at = await until(() => api(A(), "GET", `/api/jobs/${jobId}/debug/session`), (r) => r.json.status === "paused", 20_000);
    expect(at.json).toMatchObject({ paused_at: { routine_id: "collect" } });
    for (const server of [A(), B()]) await until(() => api(server, "GET", "/api/flows/fan_out/breakpoints"), (r) => (r.json.breakpoints as unknown[]).length === 0);
    expect((await api(B(), "POST", `/api/jobs/${jobId}/debug/continue`)).status).toBe(200);
    await until(() => api(A(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed", 20_000);
  }, 60_000);

  it("errors of a relayed request are the worker's own; a bad start is refused before anything is queued", async () => {
    const started = await api(A(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] }, pause_on_start: true });
    const jobId = started.json.job_id as string;
    await until(() => api(B(), "GET", `/api/jobs/${jobId}/debug/session`), (r) => r.json.status === "paused", 20_000);
    const badVar = await api(B(), "PUT", `/api/jobs/${jobId}/debug/variables/${"x".repeat(300)}`, { value: 1 });
    expect(badVar.status).toBe(400);
    const noEvent = await api(A(), "GET", `/api/jobs/${jobId}/events/999`);
    expect(noEvent.status).toBe(404);
    expect((await api(A(), "POST", `/api/jobs/${jobId}/cancel`)).json).toMatchObject({ status: "cancelled" });

    const badEntry = await api(B(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ghost" });
    expect(badEntry.status).toBe(400);
    const badFlow = await api(B(), "POST", "/api/jobs", { flow_id: "nope", entry_routine_id: "ingest" });
    expect(badFlow.status).toBe(404);
  }, 60_000);
});

describe("flows created over HTTP", () => {
  it("a flow made on A is served by B and run by the workers; an edit on B reaches everyone; a delete on B removes it everywhere", async () => {
    const dsl = {
      flow_id: "made_here",
      routines: { first: { class: "mapper", config: { set: { seen: true } } }, last: { class: "passthrough" } },
      connections: [{ from: "first.output", to: "last.input" }],
    };
    expect((await api(A(), "POST", "/api/flows", { flow_id: "made_here", dsl })).status).toBe(201);
    await until(() => api(B(), "GET", "/api/flows/made_here"), (r) => r.status === 200);
    const job = await api(B(), "POST", "/api/jobs", { flow_id: "made_here", entry_routine_id: "first", entry_slot: "input", entry_params: { n: 1 } });
    expect(job.status).toBe(201);
    const done = await until(() => api(A(), "GET", `/api/jobs/${job.json.job_id as string}`), (r) => r.json.status === "completed", 20_000);
    expect(Object.keys(done.json.routine_states as object).sort()).toEqual(["first", "last"]);

    expect((await api(B(), "POST", "/api/flows/made_here/routines", { routine_id: "extra", type: "passthrough" })).status).toBe(201);
    expect((await api(B(), "POST", "/api/flows/made_here/connections", { source_routine: "last", source_event: "output", target_routine: "extra", target_slot: "input" })).status).toBe(201);
    await until(() => api(A(), "GET", "/api/flows/made_here"), (r) => "extra" in (r.json.routines as Record<string, unknown>));
    const again = await api(A(), "POST", "/api/jobs", { flow_id: "made_here", entry_routine_id: "first", entry_slot: "input", entry_params: { n: 2 } });
    const edited = await until(() => api(B(), "GET", `/api/jobs/${again.json.job_id as string}`), (r) => r.json.status === "completed", 20_000);
    expect((edited.json.routine_states as Record<string, { status: string }>).extra?.status).toBe("completed");

    expect((await api(B(), "DELETE", "/api/flows/made_here")).status).toBe(204);
    await until(() => api(A(), "GET", "/api/flows/made_here"), (r) => r.status === 404);
    expect((await api(A(), "POST", "/api/jobs", { flow_id: "made_here", entry_routine_id: "first" })).status).toBe(404);
  }, 60_000);
});

describe("time travel through the cluster", () => {
  it("the state at a seq of a job held on a worker; a fork of a finished job runs on a worker; the diff of the two", async () => {
    const held = await api(B(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2] }, breakpoints: [{ routine_id: "validate" }] });
    const heldId = held.json.job_id as string;
    await until(() => api(A(), "GET", `/api/jobs/${heldId}/debug/session`), (r) => r.json.status === "paused", 20_000);
    const trace = await fullTrace(A(), heldId);
    const processStart = trace.find((e) => e.event_type === "routine_start" && (e as Ev & { routine_id: string }).routine_id === "process") as Ev;
    const state = await api(A(), "GET", `/api/jobs/${heldId}/state?at_seq=${processStart.seq}`);
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ at_seq: processStart.seq, activation: { routine_id: "process", input: { data: [1, 2], count: 2 } } });
    expect((await api(A(), "POST", `/api/jobs/${heldId}/debug/continue`)).status).toBe(200);
    await until(() => api(A(), "GET", `/api/jobs/${heldId}`), (r) => r.json.status === "completed", 20_000);

    const fork = await api(B(), "POST", `/api/jobs/${heldId}/fork`, { from_seq: processStart.seq, payload: { data: [10, 20], count: 2 } });
    expect(fork.status).toBe(201);
    const forkId = fork.json.job_id as string;
    expect(fork.json.forked_from).toEqual({ job_id: heldId, seq: processStart.seq });
    const forked = await until(() => api(A(), "GET", `/api/jobs/${forkId}`), (r) => r.json.status === "completed", 20_000);
    expect(forked.json.forked_from).toEqual({ job_id: heldId, seq: processStart.seq });
    expect(cluster.workers.map((w) => w.id)).toContain(await workerOf(forkId));
    const logs = await api(A(), "GET", `/api/jobs/${forkId}/logs`);
    expect((logs.json.logs as { data: unknown }[])[0]?.data).toEqual({ result: [20, 40] });

    const diff = await api(B(), "GET", `/api/jobs/diff?base=${heldId}&other=${forkId}`);
    expect(diff.status).toBe(200);
    expect(diff.json.first_divergence).toMatchObject({ routine_id: "process" });
  }, 60_000);
});

describe("many jobs", () => {
  it("300 jobs across 3 workers all complete with every event accounted for, while another is held for 30 s", async () => {
    const held = await api(A(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [7] }, pause_on_start: true });
    const heldId = held.json.job_id as string;
    await until(() => api(A(), "GET", `/api/jobs/${heldId}/debug/session`), (r) => r.json.status === "paused", 20_000);
    const heldSince = Date.now();

    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const server = i % 2 === 0 ? A() : B();
      const r = await api(server, "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [i, i + 1] } });
      expect(r.status).toBe(201);
      ids.push(r.json.job_id as string);
    }
    const statuses = async () => Promise.all(ids.map(async (id) => (await api(B(), "GET", `/api/jobs/${id}`)).json.status as string));
    await until(statuses, (s) => s.every((x) => x === "completed"), 120_000);

    const workers = new Set<string>();
    for (const id of ids) {
      workers.add(await workerOf(id));
      const events = await fullTrace(A(), id);
      expect(contiguous(events.map((e) => e.seq))).toBe(true);
      expect(events[0]?.event_type).toBe("job_started");
      expect(events.at(-1)?.event_type).toBe("job_completed");
      expect(events.filter((e) => e.event_type === "routine_complete")).toHaveLength(3);
    }
    expect(workers.size).toBe(3);

    // The held one is still where it was stopped, 30 s on: never taken for stalled by the queue.
    const wait = 30_000 - (Date.now() - heldSince);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const session = await api(B(), "GET", `/api/jobs/${heldId}/debug/session`);
    expect(session.json.status).toBe("paused");
    expect((await api(B(), "POST", `/api/jobs/${heldId}/debug/continue`)).status).toBe(200);
    await until(() => api(A(), "GET", `/api/jobs/${heldId}`), (r) => r.json.status === "completed", 20_000);
    expect(await redis.exists(`routilux:lost:${heldId}`)).toBe(0);
  }, 240_000);
});

describe("failures", () => {
  it("a worker killed mid-job: the job fails as 'worker lost', every event it committed is kept, the others go on", async () => {
    const started = await api(A(), "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 150, interval_ms: 40 } });
    const jobId = started.json.job_id as string;
    const raw = Client.connect(B().wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=0`);
    await raw.waitFor((m) => isEvent(m) && m.seq >= 30, 20_000);
    const workerId = await workerOf(jobId);
    const worker = cluster.workers.find((w) => w.id === workerId);
    expect(worker).toBeDefined();
    await worker?.kill();
    const seenBefore = raw.events.map((e) => e.seq);

    const failed = await until(() => api(A(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "failed", 45_000);
    expect(failed.json.error).toMatchObject({ error_type: "WorkerLost", code: "WORKER_LOST" });
    expect(String((failed.json.error as { message: string }).message)).toMatch(/Worker lost/);
    const onB = await until(() => api(B(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "failed", 30_000);
    expect(onB.json.error).toMatchObject({ code: "WORKER_LOST" });

    const events = await fullTrace(B(), jobId);
    const seqs = events.map((e) => e.seq);
    expect(contiguous(seqs)).toBe(true);
    // Everything a client saw before the kill is there, and the end says why.
    for (const s of seenBefore) expect(seqs).toContain(s);
    expect(events.at(-1)?.event_type).toBe("job_failed");
    await raw.waitFor((m) => isEvent(m) && m.event_type === "job_failed", 20_000);
    expect(raw.events.map((e) => e.seq)).toEqual(seqs);

    // The surviving workers take new jobs.
    const next = await api(B(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] } });
    await until(() => api(A(), "GET", `/api/jobs/${next.json.job_id as string}`), (r) => r.json.status === "completed", 20_000);
    cluster.workers.splice(cluster.workers.indexOf(worker as never), 1);
    await cluster.addWorker();
  }, 90_000);

  it("a server restart does not touch jobs on workers; its history file gets the job once, also one that ended while it was down", async () => {
    const dir = await mkdtemp(join(tmpdir(), "routilux-cluster-history-"));
    const env = { ROUTILUX_REDIS_URL: cluster.redis.url, ROUTILUX_DB: join(dir, "history.db") };
    let c = await startServer(env);
    try {
      const started = await api(B(), "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 60, interval_ms: 40 } });
      const jobId = started.json.job_id as string;
      await until(() => api(c, "GET", `/api/jobs/${jobId}/trace?after_seq=0`), (r) => (r.json.last_seq as number) >= 20, 20_000);
      await c.stop();
      const done = await until(() => api(B(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed", 30_000);
      c = await startServer(env);
      // Read from its own history: written from the done stream it had not read yet.
      const there = await until(() => api(c, "GET", `/api/jobs/${jobId}`), (r) => r.status === 200 && r.json.status === "completed", 20_000);
      expect(there.json.last_seq).toBe(done.json.last_seq);
      const events = await fullTrace(c, jobId);
      expect(contiguous(events.map((e) => e.seq))).toBe(true);
      expect(events.at(-1)?.event_type).toBe("job_completed");
      const listed = await api(c, "GET", "/api/jobs?flow_id=slow_stream&limit=1000");
      expect((listed.json.jobs as { job_id: string }[]).filter((j) => j.job_id === jobId)).toHaveLength(1);
    } finally {
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("a Redis restart mid-job: servers and workers reconnect, the job completes and no event is lost", async () => {
    const started = await api(A(), "POST", "/api/jobs", { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 120, interval_ms: 25 } });
    const jobId = started.json.job_id as string;
    const raw = Client.connect(B().wsUrl, `/api/ws/jobs/${jobId}/monitor?after_seq=0`);
    await raw.waitFor((m) => isEvent(m) && m.seq >= 20, 20_000);
    await cluster.redis.restart();

    const done = await until(() => api(A(), "GET", `/api/jobs/${jobId}`), (r) => r.json.status === "completed", 60_000);
    expect(done.json.error).toBeNull();
    const events = await fullTrace(A(), jobId);
    expect(contiguous(events.map((e) => e.seq))).toBe(true);
    expect(events.filter((e) => e.event_type === "routine_start")).toHaveLength(1 + 120 * 2);
    await raw.waitFor((m) => isEvent(m) && m.event_type === "job_completed", 20_000);
    expect(raw.events.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    expect(await redis.exists(`routilux:lost:${jobId}`)).toBe(0);

    // And new jobs run as before.
    const next = await api(B(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [2] } });
    await until(() => api(B(), "GET", `/api/jobs/${next.json.job_id as string}`), (r) => r.json.status === "completed", 30_000);
  }, 120_000);

  it("a worker that does not serve a job's flow fails it with the reason, and the job has a page like any other", async () => {
    // Only a worker without the demo flows is left.
    await Promise.all(cluster.workers.map((w) => w.stop()));
    cluster.workers.length = 0;
    const bare = await cluster.addWorker({ ROUTILUX_DEMO: "0" });
    const started = await api(A(), "POST", "/api/jobs", { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] } });
    const jobId = started.json.job_id as string;
    const failed = await until(() => api(B(), "GET", `/api/jobs/${jobId}`), (r) => r.status === 200 && r.json.status === "failed", 30_000);
    expect(failed.json.error).toMatchObject({ error_type: "StartFailed", code: "FLOW_NOT_FOUND" });
    expect(String((failed.json.error as { message: string }).message)).toContain(`Worker ${bare.id} could not start the job`);
    const events = await fullTrace(A(), jobId);
    expect(events.map((e) => e.event_type)).toEqual(["job_started", "job_failed"]);
  }, 60_000);
});
