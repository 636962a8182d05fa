/**
 * Scale-out (servers and workers over Redis, docs/cluster.md): a real redis-server
 * (tests/helpers/redis.ts), the server and the workers as child processes on loopback, each with
 * the bench's own flows (bench/lib/cpu-server.ts, bench/lib/cpu-worker.ts). Measured, once each:
 * 1. jobs/s of a CPU-bound flow (one ~13 ms sha256 activation per job) with 1 and 2 workers, and
 *    their ratio (target ≥ 1.6× on a 2-core machine);
 * 2. a debug command's round trip to the worker holding a paused job, over HTTP and over the raw
 *    debug socket, p50/p99 (target p99 < 20 ms), next to an embedded server's (no Redis);
 * 3. event fan-in: fan_out jobs on 3 workers watched by 20 raw flow monitors on one server:
 *    events/s delivered and seq completeness per job per subscriber (target: no gaps);
 * 4. per-activation cost of a long chain job on a worker against the embedded engine (the job's
 *    own duration): what sending every event to Redis costs.
 * Targets are reported (OK / MISSED), not asserted: the part never fails the bench run.
 * The server, the workers, Redis and this process share the machine's cores: the CPU each used is
 * printed with the figures (its share of one core, and per job or per event), and so is the load
 * average, since other work on the machine slows every process here.
 */
import { readFileSync } from "node:fs";
import { constants, cpus, loadavg } from "node:os";
import type { Redis } from "ioredis";
import { clusterKeys, connect } from "../server/cluster/redis";
import { startWorkerProcess, type TestWorker } from "../tests/helpers/cluster";
import { startRedis, type TestRedis } from "../tests/helpers/redis";
import { startServer, type TestServer } from "../tests/helpers/server";
import { median } from "./engine-chain";
import { burn, CHAIN_FLOW_ID, CPU_FLOW_ID, DEFAULT_ROUNDS } from "./lib/cpu-worker";
import { api as apiOn, waitUntil as waitFor } from "./lib/http";
import { RawClient } from "./server-fanout";

const SERVER_ENTRY = "bench/lib/cpu-server.ts";
const WORKER_ENTRY = "bench/lib/cpu-worker.ts";
/**
 * Part 1: jobs measured per run; jobs before them, per worker (sha256 in a fresh process runs ~3×
 * slower for its first ~30 jobs' worth of rounds); each worker's slots.
 */
const CPU_JOBS = 400;
const CPU_WARM_JOBS = 40;
const CPU_CONCURRENCY = 4;
/** Requests in flight while enqueuing. */
const ENQUEUE_PARALLEL = 8;
/** Part 2: timed commands per path, after this many untimed. */
const COMMANDS = 500;
const COMMANDS_WARM = 50;
/** Part 3: subscribers, jobs (spread over the workers: each takes FAN_SLOTS at once), splitter items per job. */
const SUBSCRIBERS = 20;
const FAN_WORKERS = 3;
const FAN_JOBS = 6;
const FAN_SLOTS = 2;
const FAN_ITEMS = 1_000;
/** Part 4: chain items (1 + 3n activations), measured runs after one warm-up. */
const CHAIN_N = 10_000;
const CHAIN_RUNS = 2;
const TIMEOUT_MS = 180_000;
/** Redis' append-only file fsync policy during the bench (its default when the file is on). */
const REDIS_FSYNC = "everysec";
/** Part 3: once the jobs are over, how long the monitors may stay silent before what they have is judged. */
const QUIET_MS = 10_000;
/** Polls that go through the server while it works are sparse: its CPU is part of what is measured. */
const POLL_MS = 200;

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const ms1 = (n: number): string => n.toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const api = (server: TestServer, method: string, path: string, body?: unknown) => apiOn(server, method, path, body, 30_000);
const verdict = (ok: boolean): string => (ok ? "OK" : "MISSED");
const percentile = (sorted: number[], p: number): number => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number));

// ------------------------------------------------------------------ processes

/** CPU seconds (user + system) a process has used; Linux clock ticks are 1/100 s. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface CpuUse {
  /** Seconds of wall time counted. */
  secs: number;
  /** CPU seconds each used. */
  server: number;
  workers: number[];
  redis: number;
  bench: number;
  /** Each one's share of one core (above 100%: more than one core). */
  text: string;
}

/** Starts counting the CPU the cluster's processes and this one use; the function it returns reads it. */
function cpuMeter(c: Cluster): () => CpuUse {
  const pids = { server: c.server.process.pid as number, workers: c.workers.map((w) => w.pid), redis: c.redis.pid };
  const t0 = performance.now();
  const own0 = process.cpuUsage();
  const server0 = cpuSeconds(pids.server);
  const workers0 = pids.workers.map(cpuSeconds);
  const redis0 = cpuSeconds(pids.redis);
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const use = {
      secs,
      server: cpuSeconds(pids.server) - server0,
      workers: pids.workers.map((p, i) => cpuSeconds(p) - (workers0[i] as number)),
      redis: cpuSeconds(pids.redis) - redis0,
      bench: (own.user + own.system) / 1e6,
    };
    const pct = (cpu: number): string => `${((cpu / secs) * 100).toFixed(0)}%`;
    const text = `CPU (share of one core): server ${pct(use.server)}, worker${use.workers.length > 1 ? "s" : ""} ${use.workers.map(pct).join(" / ")}, redis ${pct(use.redis)}, this bench process ${pct(use.bench)}`;
    return { ...use, text };
  };
}

interface Cluster {
  redis: TestRedis;
  server: TestServer;
  workers: TestWorker[];
}

/** Children that must not outlive this process, should it die before a finally runs. */
const children = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
const killChildren = (): void => {
  for (const c of children) c.kill("SIGKILL");
};
/** A signal (Ctrl-C, a kill) ends this process without its finally blocks: exit, so the exit hooks kill the children. */
const exitOnSignal = (signal: NodeJS.Signals): void => {
  process.exit(128 + (constants.signals[signal] ?? 15));
};

/** The bench's server with `env` (ROUTILUX_REDIS_URL makes it a cluster's), stopped after `fn`. */
async function withServer<T>(env: Record<string, string>, fn: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startServer({ ROUTILUX_CHECK_WIRE: "0", ...env }, { entry: SERVER_ENTRY });
  children.add(server.process);
  try {
    return await fn(server);
  } finally {
    await server.stop();
    children.delete(server.process);
  }
}

/** A fresh Redis, one server and `workers` workers; everything stopped after `fn`, also when it throws. */
async function withCluster<T>(workers: number, workerEnv: Record<string, string>, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const redis = await startRedis();
  const started: TestWorker[] = [];
  try {
    // The helper's Redis fsyncs its append-only file on every write (for crash tests); a cluster
    // in production runs Redis' own default for one, once a second.
    const admin = connect(redis.url, "bench-admin");
    try {
      await admin.config("SET", "appendfsync", REDIS_FSYNC);
    } finally {
      admin.disconnect();
    }
    return await withServer({ ROUTILUX_REDIS_URL: redis.url }, async (server) => {
      try {
        // The default heartbeat (the helper's is faster, for tests that kill workers).
        const env = { ROUTILUX_CHECK_WIRE: "0", ROUTILUX_HEARTBEAT_MS: "1000", ...workerEnv };
        const results = await Promise.allSettled(Array.from({ length: workers }, () => startWorkerProcess(redis.url, env, WORKER_ENTRY)));
        for (const r of results) {
          if (r.status === "fulfilled") {
            started.push(r.value);
            children.add(r.value.process);
          }
        }
        const failed = results.find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
        return await fn({ redis, server, workers: started });
      } finally {
        // Workers before the server: they finish sending, then leave.
        await Promise.allSettled(started.map((w) => w.stop()));
        for (const w of started) children.delete(w.process);
      }
    });
  } finally {
    await redis.stop();
  }
}

// ------------------------------------------------------------------ jobs over HTTP

interface Summary {
  job_id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

async function listJobs(server: TestServer, query: string): Promise<{ jobs: Summary[]; total: number }> {
  return (await api(server, "GET", `/api/jobs?${query}`)) as unknown as { jobs: Summary[]; total: number };
}

async function countJobs(server: TestServer, flowId: string, status: string): Promise<number> {
  return (await listJobs(server, `flow_id=${flowId}&status=${status}&limit=1`)).total;
}

/** Starts `count` jobs with `ENQUEUE_PARALLEL` requests in flight; their ids in order. */
async function enqueue(server: TestServer, count: number, body: (i: number) => Record<string, unknown>): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(ENQUEUE_PARALLEL, count) }, async () => {
      while (next < count) {
        const i = next++;
        ids[i] = (await api(server, "POST", "/api/jobs", body(i))).job_id as string;
      }
    }),
  );
  return ids;
}

/** Waits (polling every `pollMs`) until `total` jobs of the flow are completed; throws on a failed one. */
async function waitCompleted(server: TestServer, flowId: string, total: number, pollMs = POLL_MS): Promise<void> {
  const start = Date.now();
  for (;;) {
    if ((await countJobs(server, flowId, "completed")) >= total) return;
    const failed = await listJobs(server, `flow_id=${flowId}&status=failed&limit=1`);
    if (failed.total > 0) throw new Error(`${failed.total} ${flowId} job(s) failed, e.g. ${JSON.stringify(failed.jobs[0]).slice(0, 600)}`);
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${total} completed ${flowId} jobs`);
    await sleep(pollMs);
  }
}

/** The summaries of `ids` (finished jobs: from the server's history or its mirror of the cluster). */
async function summariesOf(server: TestServer, flowId: string, ids: string[]): Promise<Summary[]> {
  const byId = new Map<string, Summary>();
  for (let offset = 0; ; offset += 1000) {
    const { jobs, total } = await listJobs(server, `flow_id=${flowId}&limit=1000&offset=${offset}`);
    for (const j of jobs) byId.set(j.job_id, j);
    if (offset + 1000 >= total) break;
  }
  return ids.map((id) => {
    const s = byId.get(id);
    if (!s) throw new Error(`job ${id} is not listed`);
    return s;
  });
}

// ------------------------------------------------------------------ 1. jobs/s

interface Throughput {
  workers: number;
  jobs: number;
  enqueueMs: number;
  /** First POST → the last job's finished_at. */
  wallMs: number;
  jobsPerSec: number;
  /** What each process used of the CPU during the measured run. */
  cpu: CpuUse;
  /** Jobs each worker ran (from Redis: the worker that held each). */
  perWorker: number[];
}

const cpuBody = (i: number): Record<string, unknown> => ({ flow_id: CPU_FLOW_ID, entry_routine_id: "burn", entry_slot: "input", entry_params: { seed: `job-${i}`, rounds: DEFAULT_ROUNDS } });

/** Which worker held each job (the job's hash in Redis). */
async function workersOf(redisUrl: string, ids: string[]): Promise<Map<string, string>> {
  const redis: Redis = connect(redisUrl, "bench-reader");
  try {
    const keys = clusterKeys();
    const p = redis.pipeline();
    for (const id of ids) p.hget(keys.job(id), "worker");
    const rows = (await p.exec()) ?? [];
    return new Map(ids.map((id, i) => [id, String(rows[i]?.[1] ?? "?")]));
  } finally {
    redis.disconnect();
  }
}

async function throughput(workers: number): Promise<Throughput> {
  return withCluster(workers, { ROUTILUX_WORKER_CONCURRENCY: String(CPU_CONCURRENCY) }, async (cluster) => {
    const { redis, server, workers: ws } = cluster;
    // Warm-up: JIT in every process.
    const warm = CPU_WARM_JOBS * workers;
    await enqueue(server, warm, cpuBody);
    await waitCompleted(server, CPU_FLOW_ID, warm);
    const meter = cpuMeter(cluster);
    const t0 = Date.now();
    const ids = await enqueue(server, CPU_JOBS, cpuBody);
    const enqueueMs = Date.now() - t0;
    await waitCompleted(server, CPU_FLOW_ID, warm + CPU_JOBS);
    const cpu = meter();
    const summaries = await summariesOf(server, CPU_FLOW_ID, ids);
    const lastFinished = Math.max(...summaries.map((s) => Date.parse(s.finished_at ?? "")));
    const wallMs = lastFinished - t0;
    const held = await workersOf(redis.url, ids);
    const perWorker = ws.map((w) => ids.filter((id) => held.get(id) === w.id).length);
    return { workers, jobs: CPU_JOBS, enqueueMs, wallMs, jobsPerSec: (CPU_JOBS / wallMs) * 1000, cpu, perWorker };
  });
}

function describeThroughput(t: Throughput): string {
  const perJob = (cpuS: number): string => `${ms1((cpuS * 1000) / t.jobs)} ms`;
  const workers = t.cpu.workers.reduce((a, b) => a + b, 0);
  return `${t.workers} worker${t.workers > 1 ? "s" : " "}: ${fmt(t.jobs)} jobs in ${fmt(t.wallMs)} ms (enqueued in ${fmt(t.enqueueMs)} ms) → ${t.jobsPerSec.toFixed(1)} jobs/s; jobs per worker ${t.perWorker.join(" / ")}\n  ${t.cpu.text}; CPU per job: server ${perJob(t.cpu.server)}, worker${t.workers > 1 ? "s" : ""} ${perJob(workers)}, redis ${perJob(t.cpu.redis)}`;
}

// ------------------------------------------------------------------ 2. debug round trip

interface RoundTrip {
  http: number[];
  socket: number[];
}

/** A masked text frame (mask key 0: the payload is sent as is). */
function sendText(client: RawClient, text: string): void {
  const payload = Buffer.from(text);
  if (payload.length >= 65_536) throw new Error("message too long for this client");
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff, 0, 0, 0, 0]);
  client.socket.write(Buffer.concat([header, payload]));
}

/** A job paused before its first activation (pause_on_start), on whichever side runs jobs. */
async function pausedJob(server: TestServer): Promise<string> {
  const id = (await api(server, "POST", "/api/jobs", { flow_id: CHAIN_FLOW_ID, entry_routine_id: "src", entry_slot: "trigger", entry_params: { n: 10 }, pause_on_start: true })).job_id as string;
  const start = Date.now();
  for (;;) {
    const job = await api(server, "GET", `/api/jobs/${id}`).catch(() => null);
    if (job?.status === "paused") return id;
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`job ${id} did not pause`);
    await sleep(50);
  }
}

/** `COMMANDS` timed get_variables over HTTP and get_session over the raw debug socket, one at a time. */
async function roundTrips(server: TestServer): Promise<RoundTrip> {
  const jobId = await pausedJob(server);
  const http: number[] = [];
  for (let i = 0; i < COMMANDS_WARM + COMMANDS; i++) {
    const t = performance.now();
    const res = await fetch(`${server.url}/api/jobs/${jobId}/debug/variables`);
    await res.arrayBuffer();
    const took = performance.now() - t;
    if (!res.ok) throw new Error(`GET debug/variables → ${res.status}`);
    if (i >= COMMANDS_WARM) http.push(took);
  }
  const socket: number[] = [];
  let waiting: { id: string; resolve: () => void; reject: (e: Error) => void } | null = null;
  let connected = false;
  const client = new RawClient(server.port, `/api/ws/jobs/${jobId}/debug`, (buf, start, end) => {
    const msg = JSON.parse(buf.toString("utf8", start, end)) as { type?: string; id?: string; ok?: boolean; message?: string };
    if (msg.type === "connected") connected = true;
    else if (waiting !== null && msg.id === waiting.id) {
      const w = waiting;
      waiting = null;
      if (msg.type === "command_result" && msg.ok === true) w.resolve();
      else w.reject(new Error(`get_session failed: ${JSON.stringify(msg).slice(0, 300)}`));
    }
  });
  client.socket.on("close", () => waiting?.reject(new Error("the debug socket closed")));
  try {
    await client.opened;
    await waitFor("the debug socket's connected message", () => connected, 30_000, 5);
    for (let i = 0; i < COMMANDS_WARM + COMMANDS; i++) {
      const id = `c${i}`;
      const t = performance.now();
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        waiting = { id, resolve, reject };
        timer = setTimeout(() => reject(new Error(`no answer to get_session ${id} in 30 s`)), 30_000);
        sendText(client, JSON.stringify({ command: "get_session", id }));
      }).finally(() => clearTimeout(timer));
      if (i >= COMMANDS_WARM) socket.push(performance.now() - t);
    }
  } finally {
    client.close();
  }
  await api(server, "POST", `/api/jobs/${jobId}/cancel`);
  return { http: http.sort((a, b) => a - b), socket: socket.sort((a, b) => a - b) };
}

// ------------------------------------------------------------------ 3. fan-in

const EVENT_PREFIX = Buffer.from('{"event_id":"evt_');
const JOB_ID_KEY = Buffer.from('"job_id":"');
const TS_KEY = Buffer.from('"timestamp":"');
const JOB_ = Buffer.from("job_");
/** `job_` and 16 hex digits. */
const JOB_ID_LENGTH = 20;

function startsWithAt(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at < 0 || buf.length < at + prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (buf[at + k] !== prefix[k]) return false;
  return true;
}

function intAt(buf: Buffer, i: number): number {
  let n = 0;
  for (let c = buf[i] as number; c >= 48 && c <= 57; c = buf[++i] as number) n = n * 10 + c - 48;
  return n;
}

interface JobSeen {
  lastSeq: number;
  events: number;
  missing: number;
  finalSeq: number;
}

/**
 * A flow monitor that checks every job's seq on its own (the jobs' events interleave): a trace
 * event is read by a byte scan for its seq and job id (the server writes a record's keys in a
 * fixed order: `{"event_id":"evt_<seq>","seq":…,"job_id":"job_…",…,"event_type":"…","timestamp":…`);
 * other messages and the job_* events are parsed in full.
 */
class FlowReader {
  readonly client: RawClient;
  connected = false;
  readonly jobs = new Map<string, JobSeen>();
  events = 0;
  dropNotices = 0;
  ended = 0;
  firstAt = 0;
  lastAt = 0;

  constructor(port: number, flowId: string) {
    this.client = new RawClient(port, `/api/ws/flows/${flowId}/monitor`, (buf, start, end) => {
      if (!startsWithAt(buf, start, EVENT_PREFIX)) {
        const msg = JSON.parse(buf.toString("utf8", start, end)) as { type: string };
        if (msg.type === "connected") this.connected = true;
        else if (msg.type === "events_dropped") this.dropNotices++;
        return;
      }
      const now = performance.now();
      if (this.events++ === 0) this.firstAt = now;
      this.lastAt = now;
      const seq = intAt(buf, start + EVENT_PREFIX.length);
      const key = buf.indexOf(JOB_ID_KEY, start);
      if (key < 0 || key >= end) throw new Error(`no job_id in ${buf.toString("utf8", start, end)}`);
      const jobId = buf.toString("latin1", key + JOB_ID_KEY.length, key + JOB_ID_KEY.length + JOB_ID_LENGTH);
      let seen = this.jobs.get(jobId);
      if (seen === undefined) {
        seen = { lastSeq: 0, events: 0, missing: 0, finalSeq: 0 };
        this.jobs.set(jobId, seen);
      }
      seen.events++;
      if (seq !== seen.lastSeq + 1) seen.missing += Math.max(0, seq - seen.lastSeq - 1) || 1;
      seen.lastSeq = seq;
      const ts = buf.indexOf(TS_KEY, key);
      if (ts < 0 || ts >= end) throw new Error(`no timestamp in ${buf.toString("utf8", start, end)}`);
      let q = ts - 3;
      while (q > start && buf[q] !== 34) q--;
      if (!startsWithAt(buf, q + 1, JOB_)) return;
      const msg = JSON.parse(buf.toString("utf8", start, end)) as { seq: number; job_id: string; event_type: string };
      if (msg.seq !== seq || msg.job_id !== jobId) throw new Error("the byte scan misread an event");
      if (msg.event_type === "job_completed" || msg.event_type === "job_failed" || msg.event_type === "job_cancelled") {
        seen.finalSeq = seq;
        this.ended++;
      }
    });
  }

  /** How this monitor saw `jobId`, a job of `total` events. */
  seen(jobId: string, total: number): { whole: boolean; gapEvents: number; endless: boolean; tailEvents: number } {
    const j = this.jobs.get(jobId) ?? { lastSeq: 0, events: 0, missing: 0, finalSeq: 0 };
    const whole = j.finalSeq === total && j.missing === 0 && j.events === total;
    return { whole, gapEvents: j.missing, endless: j.finalSeq === 0, tailEvents: total - j.lastSeq };
  }
}

interface FanIn {
  jobs: number;
  eventsPerJob: number[];
  perWorker: number[];
  /** Events each subscriber received, and over how long (its first to its last). */
  received: number[];
  spanMs: number[];
  /** First job posted → every subscriber saw every job end. */
  wallMs: number;
  /** (job, monitor) pairs seen whole. */
  complete: number;
  /** Events missing between two that arrived. */
  gapEvents: number;
  /** Pairs whose terminal event never arrived, and the events after the last that did. */
  endless: number;
  tailEvents: number;
  dropNotices: number;
  cpu: string;
}

export function tally(readers: FlowReader[], ids: string[], totals: number[]): Pick<FanIn, "complete" | "gapEvents" | "endless" | "tailEvents"> {
  const out = { complete: 0, gapEvents: 0, endless: 0, tailEvents: 0 };
  for (const r of readers) {
    ids.forEach((id, i) => {
      const seen = r.seen(id, totals[i] as number);
      if (seen.whole) out.complete++;
      out.gapEvents += seen.gapEvents;
      if (seen.endless) {
        out.endless++;
        out.tailEvents += seen.tailEvents;
      }
    });
  }
  return out;
}

async function fanIn(): Promise<FanIn> {
  return withCluster(FAN_WORKERS, { ROUTILUX_WORKER_CONCURRENCY: String(FAN_SLOTS) }, async (cluster) => {
    const { redis, server, workers } = cluster;
    const body = { flow_id: "fan_out", entry_routine_id: "split", entry_slot: "input", entry_params: { items: Array.from({ length: FAN_ITEMS }, (_, i) => i % 20) } };
    // Warm-up, unwatched: a job on each worker.
    await enqueue(server, FAN_WORKERS, () => body);
    await waitCompleted(server, "fan_out", FAN_WORKERS, 50);
    const readers: FlowReader[] = [];
    try {
      for (let i = 0; i < SUBSCRIBERS; i++) readers.push(new FlowReader(server.port, "fan_out"));
      await Promise.all(readers.map((r) => r.client.opened));
      await waitFor("the monitors' connected messages", () => readers.every((r) => r.connected), 30_000, 5);
      const meter = cpuMeter(cluster);
      const t0 = performance.now();
      const ids = await enqueue(server, FAN_JOBS, () => body);
      const allEnded = (): boolean => readers.every((r) => r.ended >= FAN_JOBS || r.client.socket.destroyed);
      // Until every monitor saw every job end; or, once the jobs are over, until nothing more arrives for a while.
      let ended = false;
      const over = waitCompleted(server, "fan_out", FAN_WORKERS + FAN_JOBS).then(() => {
        ended = true;
      });
      over.catch(() => {});
      let lastTotal = -1;
      let quietSince = performance.now();
      while (!allEnded()) {
        const total = readers.reduce((s, r) => s + r.events, 0);
        if (total !== lastTotal) {
          lastTotal = total;
          quietSince = performance.now();
        } else if (ended && performance.now() - quietSince > QUIET_MS) break;
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`the jobs did not end in ${TIMEOUT_MS / 1000} s`);
        await sleep(20);
      }
      const wallMs = Math.max(...readers.map((r) => r.lastAt)) - t0;
      const cpu = meter().text;
      await over;
      const failed = readers.find((r) => r.client.error !== null);
      if (failed) throw failed.client.error;
      const held = await workersOf(redis.url, ids);
      const eventsPerJob: number[] = [];
      for (const id of ids) eventsPerJob.push((await api(server, "GET", `/api/jobs/${id}/metrics`)).total_events as number);
      return {
        jobs: FAN_JOBS,
        eventsPerJob,
        perWorker: workers.map((w) => ids.filter((id) => held.get(id) === w.id).length),
        received: readers.map((r) => r.events),
        spanMs: readers.map((r) => r.lastAt - r.firstAt),
        wallMs,
        ...tally(readers, ids, eventsPerJob),
        dropNotices: readers.reduce((s, r) => s + r.dropNotices, 0),
        cpu,
      };
    } finally {
      for (const r of readers) r.client.close();
    }
  });
}

// ------------------------------------------------------------------ 4. per-activation cost

interface ChainRun {
  durationMs: number;
  /** POST → the server lists the job completed (polled every 50 ms). */
  seenMs: number;
  events: number;
  /** Peak RSS of the process running the job, and of the server when that is another one. */
  runnerRssMB: number;
  serverRssMB: number;
  /** CPU ms each process used from the POST until the server listed the job completed. */
  cpuMs: Record<string, number>;
}

function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The chain job CHAIN_RUNS times after a warm-up; `runner` is the pid that runs it (the server, or
 * the worker); `pids` are the processes whose CPU is counted.
 */
async function chainRuns(server: TestServer, runner: number, pids: Record<string, number>): Promise<ChainRun[]> {
  const runs: ChainRun[] = [];
  const serverPid = server.process.pid as number;
  const body = { flow_id: CHAIN_FLOW_ID, entry_routine_id: "src", entry_slot: "trigger", entry_params: { n: CHAIN_N } };
  for (let i = 0; i <= CHAIN_RUNS; i++) {
    const before = await countJobs(server, CHAIN_FLOW_ID, "completed");
    let runnerRss = rssMB(runner);
    let serverRss = rssMB(serverPid);
    const sampler = setInterval(() => {
      runnerRss = Math.max(runnerRss, rssMB(runner));
      serverRss = Math.max(serverRss, rssMB(serverPid));
    }, 50);
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const t0 = performance.now();
    let seenMs: number;
    let id: string;
    try {
      id = (await api(server, "POST", "/api/jobs", body)).job_id as string;
      await waitCompleted(server, CHAIN_FLOW_ID, before + 1, 50);
      seenMs = performance.now() - t0;
    } finally {
      clearInterval(sampler);
    }
    const cpuMs = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuSeconds(pid) - (cpu0[name] as number)) * 1000]));
    const [summary] = await summariesOf(server, CHAIN_FLOW_ID, [id]);
    const events = (await api(server, "GET", `/api/jobs/${id}/metrics`)).total_events as number;
    // The first run is the warm-up.
    if (i > 0) runs.push({ durationMs: summary?.duration_ms ?? Number.NaN, seenMs, events, runnerRssMB: runnerRss, serverRssMB: serverRss, cpuMs });
  }
  return runs;
}

// ------------------------------------------------------------------ the part

/** Runs one section; a failure is printed (the processes it started are stopped) and the next goes on. */
async function section(title: string, body: () => Promise<void>): Promise<void> {
  console.log(`\n### ${title}`);
  try {
    await body();
  } catch (err) {
    console.log(`FAILED: ${(err as Error).message}`);
  }
}

const rt = (what: string, xs: number[]): string => `${what}: p50 ${ms1(percentile(xs, 50))} ms, p99 ${ms1(percentile(xs, 99))} ms, max ${ms1(xs.at(-1) ?? Number.NaN)} ms`;
const loads = (): string => loadavg().map((l) => l.toFixed(2)).join(" ");

export async function clusterBench(): Promise<void> {
  console.log(`\n## Scale-out: a real redis-server (append-only file, fsync ${REDIS_FSYNC}), the server and the workers as child processes on loopback; ${cpus().length} cores, load average ${loads()}`);
  process.once("exit", killChildren);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, exitOnSignal);
  try {
    await section(`1. jobs/s, CPU-bound flow (${CPU_FLOW_ID}: one activation of ${fmt(DEFAULT_ROUNDS)} sha256 rounds per job), ${CPU_JOBS} jobs after ${CPU_WARM_JOBS} per worker to warm up, ${CPU_CONCURRENCY} slots per worker`, async () => {
      const burns: number[] = [];
      for (let i = 0; i < CPU_WARM_JOBS + 15; i++) {
        const t = performance.now();
        burn(`calibration-${i}`, DEFAULT_ROUNDS);
        if (i >= CPU_WARM_JOBS) burns.push(performance.now() - t);
      }
      console.log(`one job's burn alone (in this process, median of 15 after ${CPU_WARM_JOBS}): ${ms1(median(burns))} ms → at most ${fmt(1000 / median(burns))} jobs/s per core`);
      const one = await throughput(1);
      console.log(describeThroughput(one));
      const two = await throughput(2);
      console.log(describeThroughput(two));
      const ratio = two.jobsPerSec / one.jobsPerSec;
      console.log(`scale 1 → 2 workers: ${ratio.toFixed(2)}×; target ≥ 1.6×: ${verdict(ratio >= 1.6)} (the server, Redis and this process share the same cores)`);
      // What the cores allow at the CPU each job took: a worker uses at most one core, all processes together at most all of them.
      const perJobMs = (t: Throughput): { worker: number; all: number } => {
        const workers = t.cpu.workers.reduce((a, b) => a + b, 0);
        return { worker: (workers * 1000) / t.jobs, all: ((workers + t.cpu.server + t.cpu.redis + t.cpu.bench) * 1000) / t.jobs };
      };
      const cores = cpus().length;
      const bound = (t: Throughput): number => Math.min((t.workers * 1000) / perJobMs(t).worker, (cores * 1000) / perJobMs(t).all);
      console.log(
        `at the CPU each job took (all processes: ${ms1(perJobMs(one).all)} ms with 1 worker, ${ms1(perJobMs(two).all)} ms with 2), ${cores} cores allow at most ${fmt(bound(one))} and ${fmt(bound(two))} jobs/s: a ratio of at most ${(bound(two) / bound(one)).toFixed(2)}×`,
      );
    });

    // 2 and 4 run on an embedded server, then on a cluster of one worker.
    type Side = { trips: RoundTrip | Error; chain: ChainRun[] | Error };
    const attempt = async <T>(fn: () => Promise<T>): Promise<T | Error> => fn().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    const embedded: Side | Error = await attempt(() => withServer({}, async (server) => ({ trips: await attempt(() => roundTrips(server)), chain: await attempt(() => chainRuns(server, server.process.pid as number, { server: server.process.pid as number })) })));
    const clustered: Side | Error = await attempt(() => withCluster(1, {}, async ({ redis, server, workers }) => ({ trips: await attempt(() => roundTrips(server)), chain: await attempt(() => chainRuns(server, workers[0]?.pid as number, { worker: workers[0]?.pid as number, redis: redis.pid, server: server.process.pid as number })) })));
    const part = <K extends keyof Side>(side: Side | Error, key: K): Exclude<Side[K], Error> => {
      if (side instanceof Error) throw side;
      const v = side[key];
      if (v instanceof Error) throw v;
      return v as Exclude<Side[K], Error>;
    };

    await section(`2. a debug command's round trip, paused job (pause_on_start), ${COMMANDS} timed after ${COMMANDS_WARM}, one at a time`, async () => {
      const e = part(embedded, "trips");
      const c = part(clustered, "trips");
      console.log(rt("embedded, GET /api/jobs/{id}/debug/variables", e.http));
      console.log(rt("embedded, get_session on /api/ws/jobs/{id}/debug", e.socket));
      console.log(rt("cluster,  GET /api/jobs/{id}/debug/variables (server → Redis → worker → Redis → server)", c.http));
      console.log(rt("cluster,  get_session on /api/ws/jobs/{id}/debug", c.socket));
      const hop = (a: number[], b: number[]): string => `${ms1(percentile(b, 50) - percentile(a, 50))} ms`;
      console.log(`the Redis hop's own cost (cluster p50 − embedded p50): HTTP ${hop(e.http, c.http)}, socket ${hop(e.socket, c.socket)}`);
      const judged = (xs: number[]): string => `${ms1(percentile(xs, 99))} ms ${verdict(percentile(xs, 99) < 20)}`;
      console.log(`target cluster p99 < 20 ms: HTTP ${judged(c.http)}, socket ${judged(c.socket)} (embedded HTTP p99 ${ms1(percentile(e.http, 99))} ms: the HTTP stack's own share)`);
    });

    await section(`3. fan-in: ${FAN_JOBS} fan_out jobs (${fmt(FAN_ITEMS)} items each) on ${FAN_WORKERS} workers (${FAN_SLOTS} slots each), ${SUBSCRIBERS} raw flow monitors (/api/ws/flows/fan_out/monitor) on the one server`, async () => {
      const f = await fanIn();
      const events = f.eventsPerJob.reduce((s, n) => s + n, 0);
      const delivered = f.received.reduce((s, n) => s + n, 0);
      const rates = f.received.map((n, i) => (n / (f.spanMs[i] as number)) * 1000);
      console.log(`events: ${fmt(events)} (${f.eventsPerJob.map(fmt).join(", ")} per job); jobs per worker ${f.perWorker.join(" / ")}; delivered ${fmt(delivered)} of ${fmt(events * SUBSCRIBERS)} in ${fmt(f.wallMs)} ms (first job posted → last end seen)`);
      console.log(`events/s delivered: ${fmt((delivered / f.wallMs) * 1000)} to all ${SUBSCRIBERS} together; per subscriber (its first to its last event) median ${fmt(median(rates))}, min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))}`);
      console.log(f.cpu);
      const pairs = f.jobs * SUBSCRIBERS;
      console.log(
        `completeness: ${f.complete} of ${pairs} (job, monitor) pairs whole; ${fmt(f.gapEvents)} events missing in seq gaps (${f.dropNotices} events_dropped notices); ${f.endless} pairs never got the job's end (${fmt(f.tailEvents)} events after the last one received, no notice); target 0 gaps: ${verdict(f.complete === pairs)}`,
      );
    });

    const activations = 1 + 3 * CHAIN_N;
    await section(`4. per-activation cost: ${CHAIN_FLOW_ID} (src → p1 → p2 → p3, ${fmt(activations)} activations), ${CHAIN_RUNS} runs after a warm-up, the job's own duration_ms`, async () => {
      const e = part(embedded, "chain");
      const c = part(clustered, "chain");
      const ns = (r: ChainRun): number => (r.durationMs * 1e6) / activations;
      const cpu = (runs: ChainRun[]): string =>
        Object.keys(runs[0]?.cpuMs ?? {})
          .map((name) => `${name} ${runs.map((r) => fmt(r.cpuMs[name] ?? Number.NaN)).join(", ")} ms`)
          .join("; ");
      const line = (what: string, runs: ChainRun[], rss: string): string =>
        `${what}: ${runs.map((r) => `${fmt(r.durationMs)} ms`).join(", ")} → median ${fmt(median(runs.map(ns)))} ns/activation (${fmt(runs[0]?.events ?? 0)} events; POST → listed completed ${runs.map((r) => fmt(r.seenMs)).join(", ")} ms; CPU meanwhile: ${cpu(runs)}; ${rss})`;
      const peak = (runs: ChainRun[], key: "runnerRssMB" | "serverRssMB"): string => `${fmt(Math.max(...runs.map((r) => r[key])))} MB`;
      console.log(line("embedded", e, `server peak RSS ${peak(e, "runnerRssMB")}`));
      console.log(line("worker  ", c, `worker peak RSS ${peak(c, "runnerRssMB")}, server ${peak(c, "serverRssMB")}`));
      const diff = median(c.map(ns)) - median(e.map(ns));
      const evPerAct = (c[0]?.events ?? 0) / activations;
      console.log(`worker − embedded: ${fmt(diff)} ns per activation (${evPerAct.toFixed(1)} events each: ~${fmt(diff / evPerAct)} ns per event, sent to Redis twice); no target`);
      const perEvent = (runs: ChainRun[], name: string): string => `${name} ${ms1(median(runs.map((r) => ((r.cpuMs[name] ?? Number.NaN) * 1000) / r.events)))} µs`;
      console.log(`CPU per event (median run, POST → listed completed): embedded ${perEvent(e, "server")}; cluster ${["worker", "redis", "server"].map((n) => perEvent(c, n)).join(", ")}`);
    });
    console.log(`\nload average at the end: ${loads()}`);
  } finally {
    process.off("exit", killChildren);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(sig, exitOnSignal);
  }
}
