/**
 * A server's side of a cluster (`routilux start --redis URL`): jobs are queued for the workers
 * (BullMQ), and every job-scoped request or debug command for a job a worker holds is relayed to
 * that worker (`RemoteJobs`, which the runtime and the API dispatcher consult). The server tails
 * the cluster's feed: trace events go into a per-job mirror that the collector reads as an archive
 * (so socket replays, `after_seq` and the trace routes work unchanged) and into this process's
 * event manager (so its raw WebSockets and socket.io clients get them live); job list entries and
 * session changes update what the lists and debug sockets show. Finished jobs arrive whole on the
 * done stream and are written to this server's history. A worker whose heartbeat expires has its
 * unfinished jobs declared lost: failed, with every event it committed kept.
 */
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type ArchivedPayloads, checkBreakpointTarget, type JobArchive, type JobMetrics, MonitoringError, type SessionSnapshot, type TraceEvent, TraceRecord } from "../../lib/monitoring";
import { bundleFromEvents, parseJobBundle } from "../../lib/runtime/job-bundle";
import type { RelayedAnswer, RelayedRequest, RemoteJobs, StartedJob } from "../../lib/runtime/remote";
import type { Runtime } from "../../lib/runtime/runtime";
import { RoutiluxError } from "../../lib/wire";
import { type ErrorKind, STATUS_OF_KIND } from "../../lib/wire/errors";
import type { ForkedFrom } from "../../lib/wire/lineage";
import type { JobStatus, JobSummary } from "../../lib/wire/model";
import type { StartJobRequest } from "../../lib/wire/requests";
import type { JobRunning } from "../../lib/wire/sockets";
import { BreakpointSync } from "./breakpoint-sync";
import { FlowSync } from "./flow-sync";
import { FEED_EVENT, FEED_EVENTS, FEED_JOB, FEED_SESSION, type QueuedJob, type WorkerAnswer, WorkerAnswerSchema, type WorkerRequestBody } from "./protocol";
import { type ClusterKeys, clusterKeys, connect, FEED_MAXLEN, fieldsOf, JOB_STREAM_TTL_S } from "./redis";

export interface ClusterClientOptions {
  redisUrl: string;
  prefix?: string;
  /**
   * Lost workers are judged only after this server has been connected to Redis this long (default
   * 10,000 ms, a heartbeat's expiry): heartbeats that lapsed while Redis was down do not count.
   */
  lostAfterMs?: number;
  /** How long a relayed request waits for its worker's answer (default 30 s). */
  requestTimeoutMs?: number;
}

const FINAL = new Set<JobStatus>(["completed", "failed", "cancelled"]);
/** How long (× 20 ms) a finished job's import waits for this server to have read its last events from the feed. */
const CATCH_UP_POLLS = 3000;
/** Finished jobs a server without history keeps in its mirror. */
const KEEP_FINISHED = 1000;
/** Jobs listed from Redis when a server starts. */
const LOAD_AT_START = 1000;
/** Finished jobs whose events a starting server reads into its mirror (the newest). */
const LOAD_EVENTS_OF_FINISHED = 100;

interface RemoteJob {
  id: string;
  summary: JobSummary | null;
  worker: string | null;
  session: SessionSnapshot | null;
  events: TraceRecord[];
  lastSeq: number;
  /** Live events that arrived while a gap was being filled from the job's own stream. */
  waiting: TraceEvent[] | null;
  announced: boolean;
}

function recordOf(e: TraceEvent): TraceRecord {
  return new TraceRecord(e.seq, e.job_id, e.flow_id, e.routine_id, e.event_type, Date.parse(e.timestamp), e.data, e.duration, e.status);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterClient implements RemoteJobs {
  readonly serverId = `server-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly keys: ClusterKeys;
  /** Commands. */
  readonly redis: Redis;
  /** Pub/sub (answers, breakpoint changes). */
  private readonly sub: Redis;
  /** Blocking reads of the feed and the done stream. */
  private readonly feedConn: Redis;
  private readonly doneConn: Redis;
  private readonly queue: Queue;
  private readonly breakpoints: BreakpointSync;
  private readonly flows: FlowSync;
  private readonly jobs = new Map<string, RemoteJob>();
  private readonly pending = new Map<number, { resolve: (a: WorkerAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextRequest = 0;
  private feedId = "0-0";
  private stopped = false;
  private connectedSince: number | null = null;
  private lostTimer: NodeJS.Timeout | null = null;
  private offHealth: (() => void) | null = null;
  private lastPrune = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly maxEvents: number;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: ClusterClientOptions,
  ) {
    this.keys = clusterKeys(options.prefix);
    this.redis = connect(options.redisUrl, `routilux-${this.serverId}`);
    this.sub = connect(options.redisUrl, `routilux-sub-${this.serverId}`);
    this.feedConn = connect(options.redisUrl, `routilux-feed-${this.serverId}`);
    this.doneConn = connect(options.redisUrl, `routilux-done-${this.serverId}`);
    this.queue = new Queue(this.keys.queue, { connection: this.redis, prefix: this.keys.bullPrefix });
    let reported = 0;
    this.queue.on("error", (err) => {
      // A Redis outage fails every call: say it once in a while.
      if (Date.now() - reported < 5000) return;
      reported = Date.now();
      console.warn(`[cluster] queue: ${err.message}`);
    });
    this.breakpoints = new BreakpointSync(runtime.monitoring.breakpointManager, this.redis, this.sub, this.keys);
    this.flows = new FlowSync(runtime, this.redis, this.sub, this.keys);
    this.maxEvents = runtime.monitoring.monitorCollector.getMaxEventsPerJob();
    // Lost jobs are judged only after this server has seen Redis up for a while: heartbeats that
    // expired during a Redis restart are not dead workers.
    this.redis.on("ready", () => {
      this.connectedSince = Date.now();
    });
    this.redis.on("close", () => {
      this.connectedSince = null;
    });
  }

  /** Connects, loads the cluster's jobs, and starts tailing; resolves when this server is current. */
  async start(): Promise<void> {
    await this.redis.ping();
    this.connectedSince ??= Date.now();
    this.sub.on("message", (channel: string, message: string) => {
      if (channel === this.keys.answers(this.serverId)) this.onAnswer(message);
    });
    await this.sub.subscribe(this.keys.answers(this.serverId));
    await this.breakpoints.start();
    await this.flows.start(true);
    // The feed's position first: what happens while the jobs load is read after (duplicates are skipped by seq).
    const last = await this.redis.xrevrange(this.keys.feed, "+", "-", "COUNT", 1);
    this.feedId = last[0]?.[0] ?? "0-0";
    const doneLast = await this.redis.xrevrange(this.keys.done, "+", "-", "COUNT", 1);
    await this.loadJobs();
    this.installArchive();
    this.loops.push(this.tailFeed(), this.tailDone(doneLast[0]?.[0] ?? "0-0"));
    this.lostTimer = setInterval(() => void this.checkWorkers(), 1000);
    this.lostTimer.unref();
    this.offHealth = this.runtime.addHealthCheck(() => this.unavailableReason());
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.lostTimer) clearInterval(this.lostTimer);
    this.offHealth?.();
    this.breakpoints.stop();
    this.flows.stop();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RoutiluxError("SERVER_CLOSING", "The server is shutting down", { kind: "unavailable" }));
    }
    this.pending.clear();
    await this.queue.close().catch(() => {});
    for (const c of [this.feedConn, this.doneConn, this.sub, this.redis]) c.disconnect();
    await Promise.allSettled(this.loops);
  }

  settle(): Promise<void> {
    return Promise.all([this.breakpoints.flushed(), this.flows.flushed()]).then(() => undefined);
  }

  // ------------------------------------------------------------------ RemoteJobs

  holds(jobId: string): boolean {
    if (!this.jobs.has(jobId)) return false;
    return !this.runtime.monitoring.jobStore.has(jobId) && !(this.runtime.persistence?.archive.has(jobId) ?? false);
  }

  summary(jobId: string): JobSummary | undefined {
    return this.holds(jobId) ? (this.jobs.get(jobId)?.summary ?? undefined) : undefined;
  }

  list(filter: { flowId?: string; status?: JobStatus }): JobSummary[] {
    const out: JobSummary[] = [];
    for (const job of this.jobs.values()) {
      const s = job.summary;
      if (s === null || !this.holds(job.id)) continue;
      if (filter.flowId !== undefined && s.flow_id !== filter.flowId) continue;
      if (filter.status !== undefined && s.status !== filter.status) continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  }

  running(flowId: string): JobRunning[] {
    const out: { created: string; info: JobRunning }[] = [];
    for (const job of this.jobs.values()) {
      const s = job.summary;
      if (s === null || s.flow_id !== flowId || FINAL.has(s.status) || !this.holds(job.id)) continue;
      out.push({ created: s.created_at, info: { job_id: job.id, flow_id: flowId, status: s.status, first_seq: job.events[0]?.seq ?? Math.max(1, job.lastSeq + 1), last_seq: job.lastSeq } });
    }
    return out.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0)).map((r) => r.info);
  }

  session(jobId: string): SessionSnapshot | null {
    return this.jobs.get(jobId)?.session ?? null;
  }

  async startJob(req: StartJobRequest, fork?: { shared: Record<string, unknown>; forkedFrom: ForkedFrom }): Promise<StartedJob> {
    this.assertConnected();
    const flow = this.runtime.getFlow(req.flow_id);
    // What the worker would refuse, refused here with the same errors (nothing is queued).
    const entry = flow.getRoutine(req.entry_routine_id);
    if (!entry) throw new MonitoringError("bad_request", "ROUTINE_NOT_FOUND", `Entry routine '${req.entry_routine_id}' not found in flow '${flow.flowId}'`);
    const slot = req.entry_slot ?? "trigger";
    if (!entry.getSlot(slot)) throw new MonitoringError("bad_request", "SLOT_NOT_FOUND", `Entry slot '${slot}' not found on routine '${req.entry_routine_id}' (slots: ${entry.slotNames.join(", ") || "none"})`);
    for (const bp of req.breakpoints ?? []) checkBreakpointTarget(flow, { ...bp, job_id: null } as never);
    this.runtime.assertHistoryWritable();
    const jobId = `job_${randomBytes(8).toString("hex")}`;
    const created = new Date().toISOString();
    const summary: JobSummary = {
      job_id: jobId,
      flow_id: flow.flowId,
      status: "pending",
      entry_routine_id: req.entry_routine_id,
      created_at: created,
      started_at: null,
      finished_at: null,
      duration_ms: null,
      error: null,
      forked_from: fork?.forkedFrom ?? null,
    };
    const json = JSON.stringify(summary);
    this.entry(jobId).summary = summary;
    await this.redis
      .multi()
      .hset(this.keys.job(jobId), "summary", json)
      .zadd(this.keys.jobs, Date.parse(created), jobId)
      .xadd(this.keys.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_JOB, "j", jobId, "d", json)
      .exec();
    // The flow breakpoints as of now: a worker that has not applied them yet reads them first.
    const [bpVersion, flowsVersion] = (await this.redis.mget(this.keys.breakpointsVersion, this.keys.flowsVersion)).map((v) => Number(v ?? 0));
    const data: QueuedJob = { job_id: jobId, request: req, bp_version: bpVersion ?? 0, flows_version: flowsVersion ?? 0, ...(fork ? { fork: { shared: fork.shared, forked_from: fork.forkedFrom } } : {}) };
    await this.queue.add("run", data, { jobId, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
    return { job_id: jobId, flow_id: flow.flowId, status: "pending", created_at: created };
  }

  async relay(jobId: string, req: RelayedRequest): Promise<RelayedAnswer | null> {
    const worker = await this.workerOf(jobId);
    if (worker === null) return null;
    const answer = await this.request(worker, { kind: "http", job_id: jobId, method: req.method, url: req.url, body: req.body });
    if (answer.kind !== "http") throw new RoutiluxError("BAD_ANSWER", "The worker answered a request with a command result", { kind: "internal" });
    // A fork starts on the origin's worker: answered once this server lists it too, so the
    // client's next request for it finds it (the worker wrote it to the feed before answering).
    const forked = (answer.body as { job_id?: unknown } | undefined)?.job_id;
    if (answer.status === 201 && /\/fork$/.test(req.url.split("?")[0] ?? "") && typeof forked === "string") {
      for (let i = 0; i < 300 && !this.jobs.get(forked)?.summary; i++) await sleep(10);
    }
    return { status: answer.status, ...(answer.headers ? { headers: answer.headers } : {}), ...(answer.body !== undefined ? { body: answer.body } : {}) };
  }

  async command(jobId: string, command: string, args: Record<string, unknown>): Promise<{ result: unknown } | null> {
    const worker = await this.workerOf(jobId);
    if (worker === null) return null;
    const answer = await this.request(worker, { kind: "command", job_id: jobId, command, args });
    if (answer.kind !== "command") throw new RoutiluxError("BAD_ANSWER", "The worker answered a command with an HTTP answer", { kind: "internal" });
    if (answer.ok) return { result: answer.data };
    const e = answer.error;
    throw new RoutiluxError(e.code, e.message, { kind: (Object.hasOwn(STATUS_OF_KIND, e.kind) ? e.kind : "internal") as ErrorKind, ...(e.details !== undefined ? { details: e.details } : {}) });
  }

  /** Why the cluster cannot take work now (Redis unreachable), or null; health reports it. */
  unavailableReason(): string | null {
    return this.redis.status === "ready" ? null : `cluster: Redis (${this.options.redisUrl.replace(/\/\/[^@/]*@/, "//")}) is unreachable (${this.redis.status}): jobs cannot be queued; running jobs go on and their events arrive when it is back`;
  }

  private assertConnected(): void {
    const reason = this.unavailableReason();
    if (reason !== null) throw new RoutiluxError("CLUSTER_UNAVAILABLE", reason, { kind: "unavailable" });
  }

  /**
   * The worker holding the job; a queued job is waited for (bounded), a lost one answers 503;
   * null once the job is in this server's history (it finished meanwhile).
   */
  private async workerOf(jobId: string): Promise<string | null> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.holds(jobId)) return null;
      const job = this.jobs.get(jobId);
      if (job?.worker) {
        if (job.summary?.error?.code === "WORKER_LOST") {
          throw new RoutiluxError("WORKER_LOST", `Job '${jobId}' was lost with its worker (${job.worker}); its history is being written`, { kind: "unavailable" });
        }
        return job.worker;
      }
      if (Date.now() > deadline) throw new RoutiluxError("JOB_QUEUED", `Job '${jobId}' is queued: no worker has taken it yet`, { kind: "unavailable" });
      await sleep(10);
    }
  }

  private request(worker: string, body: WorkerRequestBody): Promise<WorkerAnswer> {
    const id = ++this.nextRequest;
    const message = JSON.stringify({ ...body, id, reply_to: this.keys.answers(this.serverId) });
    return new Promise<WorkerAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RoutiluxError("WORKER_TIMEOUT", `Worker ${worker} did not answer in time`, { kind: "unavailable" }));
      }, this.options.requestTimeoutMs ?? 30_000);
      this.pending.set(id, { resolve, reject, timer });
      // Nobody subscribed (the worker is reconnecting after a Redis restart): try again a while.
      const send = async (attempt: number): Promise<void> => {
        let heard = 0;
        try {
          heard = await this.redis.publish(this.keys.requests(worker), message);
        } catch {
          heard = 0;
        }
        if (heard > 0 || !this.pending.has(id)) return;
        if (attempt < 50) {
          setTimeout(() => void send(attempt + 1), 100);
          return;
        }
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new RoutiluxError("WORKER_UNREACHABLE", `Worker ${worker} is not listening (stopped, or cut off from Redis)`, { kind: "unavailable" }));
      };
      void send(0);
    });
  }

  private onAnswer(message: string): void {
    let json: unknown;
    try {
      json = JSON.parse(message);
    } catch {
      return;
    }
    const parsed = WorkerAnswerSchema.safeParse(json);
    if (!parsed.success) {
      console.warn(`[cluster] an answer that is not one: ${parsed.error.message.slice(0, 200)}`);
      return;
    }
    const p = this.pending.get(parsed.data.id);
    if (!p) return; // timed out meanwhile
    this.pending.delete(parsed.data.id);
    clearTimeout(p.timer);
    p.resolve(parsed.data);
  }

  // ------------------------------------------------------------------ the mirror

  private entry(jobId: string): RemoteJob {
    let job = this.jobs.get(jobId);
    if (!job) {
      job = { id: jobId, summary: null, worker: null, session: null, events: [], lastSeq: 0, waiting: null, announced: false };
      this.jobs.set(jobId, job);
    }
    return job;
  }

  private async loadJobs(): Promise<void> {
    const ids = await this.redis.zrevrange(this.keys.jobs, 0, LOAD_AT_START - 1);
    if (ids.length === 0) return;
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.keys.job(id));
    const rows = (await p.exec()) ?? [];
    const fill: RemoteJob[] = [];
    ids.reverse().forEach((id, i) => {
      const row = rows[ids.length - 1 - i]?.[1] as Record<string, string> | undefined;
      if (!row?.summary || this.runtime.persistence?.archive.has(id)) return;
      const job = this.entry(id);
      this.applyJob(job, row.summary, row.worker ?? null, false);
      if (row.session) job.session = JSON.parse(row.session) as SessionSnapshot;
      fill.push(job);
    });
    // The events of unfinished jobs, and of the newest finished ones (older ones are read from
    // their workers or history when asked).
    let finished = 0;
    for (const job of fill.reverse()) {
      const done = job.summary !== null && FINAL.has(job.summary.status);
      if (done && ++finished > LOAD_EVENTS_OF_FINISHED) continue;
      await this.fillFrom(job, 1);
    }
  }

  /** Reads the job's own stream from `fromSeq` into the mirror. */
  private async fillFrom(job: RemoteJob, fromSeq: number): Promise<void> {
    const entries = await this.redis.xrange(this.keys.jobEvents(job.id), `${fromSeq}-0`, "+");
    for (const [, fields] of entries) {
      const d = fieldsOf(fields).d;
      if (d === undefined) continue;
      const ev = JSON.parse(d) as TraceEvent;
      if (ev.seq > job.lastSeq) this.append(job, recordOf(ev));
    }
  }

  private append(job: RemoteJob, rec: TraceRecord): void {
    job.events.push(rec);
    job.lastSeq = rec.seq;
    // The same window a server's own ring keeps, trimmed in steps (not one shift per event).
    if (job.events.length > this.maxEvents * 1.25) job.events.splice(0, job.events.length - this.maxEvents);
    const em = this.runtime.monitoring.eventManager;
    if (em.subscriberTotal !== 0 && em.hasSubscribers(rec.job_id, rec.flow_id)) em.publish(rec);
  }

  private onEvent(ev: TraceEvent): void {
    const jobId = ev.job_id;
    const seq = ev.seq;
    const job = this.entry(jobId);
    if (job.waiting !== null) {
      job.waiting.push(ev);
      return;
    }
    if (seq <= job.lastSeq) return; // a duplicate (a resend after a reconnect)
    if (seq === job.lastSeq + 1) {
      this.append(job, recordOf(ev));
      return;
    }
    // A gap: this server started mid-job, or fell behind the feed. The job's own stream has them.
    job.waiting = [ev];
    void this.fillFrom(job, job.lastSeq + 1)
      .catch((err: Error) => console.warn(`[cluster] job ${jobId}: events ${job.lastSeq + 1}..${seq - 1} not read: ${err.message}`))
      .finally(() => {
        const waiting = job.waiting ?? [];
        job.waiting = null;
        for (const e of waiting) {
          if (e.seq <= job.lastSeq) continue;
          // What the stream no longer had is reported as lost by the subscribers' replay, not waited for.
          this.append(job, recordOf(e));
        }
      });
  }

  private applyJob(job: RemoteJob, json: string, worker: string | null, announce: boolean): void {
    const summary = JSON.parse(json) as JobSummary;
    job.summary = summary;
    if (worker) job.worker = worker;
    if (announce && !job.announced && job.worker) {
      job.announced = true;
      this.runtime.remoteJobStarted(summary.flow_id, job.id);
    }
    if (!announce && job.worker) job.announced = true;
  }

  private async tailFeed(): Promise<void> {
    while (!this.stopped) {
      let res: [string, [string, string[]][]][] | null;
      try {
        res = (await this.feedConn.xread("COUNT", 1000, "BLOCK", 1000, "STREAMS", this.keys.feed, this.feedId)) as [string, [string, string[]][]][] | null;
      } catch (err) {
        if (this.stopped) return;
        await sleep(200);
        void err;
        continue;
      }
      if (!res) continue;
      const em = this.runtime.monitoring.eventManager;
      for (const [, entries] of res) {
        for (const [id, fields] of entries) {
          this.feedId = id;
          const f = fieldsOf(fields);
          if (f.t === FEED_EVENTS && f.d !== undefined) {
            for (const ev of JSON.parse(f.d) as TraceEvent[]) {
              // This server's sockets are behind on the job: the feed waits in Redis (bounded, as
              // a job waits for its fan-out in one process), so a burst does not overflow their queues.
              if (em.behindTotal !== 0) {
                const wait = em.whenCaughtUp(ev.job_id, ev.flow_id);
                if (wait !== undefined) await wait;
              }
              if (this.runtime.persistence?.archive.has(ev.job_id)) continue;
              this.onEvent(ev);
            }
            continue;
          }
          try {
            this.onFeed(f);
          } catch (err) {
            console.warn(`[cluster] feed entry ${id} skipped: ${(err as Error).message}`);
          }
        }
      }
    }
  }

  private onFeed(f: Record<string, string>): void {
    const jobId = f.j;
    const d = f.d;
    if (jobId === undefined || d === undefined) return;
    // A job this server has in its history already: nothing more can change it.
    if (this.runtime.persistence?.archive.has(jobId)) return;
    if (f.t === FEED_EVENT) this.onEvent(JSON.parse(d) as TraceEvent);
    else if (f.t === FEED_JOB) this.applyJob(this.entry(jobId), d, f.w ?? null, true);
    else if (f.t === FEED_SESSION) {
      const session = JSON.parse(d) as SessionSnapshot;
      this.entry(jobId).session = session;
      this.runtime.remoteSessionChanged(jobId, session);
    }
    this.trimFinished();
  }

  /** A server without history keeps the newest finished jobs only. */
  private trimFinished(): void {
    if (this.jobs.size <= KEEP_FINISHED * 1.25) return;
    let excess = this.jobs.size - KEEP_FINISHED;
    for (const [id, job] of this.jobs) {
      if (excess <= 0) break;
      if (job.summary && FINAL.has(job.summary.status)) {
        this.jobs.delete(id);
        excess--;
      }
    }
  }

  // ------------------------------------------------------------------ history

  /** Finished jobs into this server's history, each once (a history file: a consumer group that survives restarts). */
  private async tailDone(startId: string): Promise<void> {
    const persistence = this.runtime.persistence;
    if (!persistence) return;
    const durable = persistence.path !== ":memory:";
    const group = "history";
    if (durable) {
      try {
        await this.doneConn.xgroup("CREATE", this.keys.done, group, "0", "MKSTREAM");
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) console.warn(`[cluster] history group: ${(err as Error).message}`);
      }
    }
    let lastId = startId;
    // A consumer group first re-reads what it was given and did not acknowledge (a crash mid-write).
    let backlog = true;
    while (!this.stopped) {
      let res: [string, [string, string[]][]][] | null;
      try {
        res = durable
          ? ((await this.doneConn.xreadgroup("GROUP", group, "history-writer", "COUNT", 20, "BLOCK", 1000, "STREAMS", this.keys.done, backlog ? "0" : ">")) as [string, [string, string[]][]][] | null)
          : ((await this.doneConn.xread("COUNT", 20, "BLOCK", 1000, "STREAMS", this.keys.done, lastId)) as [string, [string, string[]][]][] | null);
      } catch {
        if (this.stopped) return;
        await sleep(200);
        continue;
      }
      const entries = res?.[0]?.[1] ?? [];
      if (backlog && entries.length === 0) backlog = false;
      for (const [id, fields] of entries) {
        lastId = id;
        const f = fieldsOf(fields);
        try {
          if (f.d !== undefined) await this.importFinished(f.d);
        } catch (err) {
          console.warn(`[cluster] finished job ${f.j ?? "?"} not written to history: ${(err as Error).message}`);
          if ((err as { kind?: string }).kind === "unavailable") continue; // history not writable: read again later
        }
        if (durable) await this.doneConn.xack(this.keys.done, group, id).catch(() => {});
      }
    }
  }

  private async importFinished(json: string): Promise<void> {
    const persistence = this.runtime.persistence;
    if (!persistence) return;
    const bundle = parseJobBundle(JSON.parse(json));
    const jobId = bundle.summary.job_id;
    // Its last session (a step's outcome) is in the job's hash by now: the worker writes it before
    // the bundle. The feed's copy, if not read yet, would be dropped once the job is in history.
    // Without it the job is still written: subscribers just miss that last session.
    const lastSession = await this.redis.hget(this.keys.job(jobId), "session").catch(() => null);
    // The done stream may be read before the feed's last events of the job: the bundle has them,
    // and this server's live subscribers get them first, in order.
    const job = this.jobs.get(jobId);
    if (job) {
      // This server may be behind the feed (a long job, many sockets): the job's events were
      // written to the feed before the job was handed over, so its subscribers get them all, in
      // order, from the feed first (waited for, bounded); what is still missing then comes from the
      // job's own stream and the bundle (the feed's copies are skipped once the job is in history).
      const last = bundle.trace.last_seq;
      for (let i = 0; i < CATCH_UP_POLLS && !this.stopped && (job.lastSeq < last || job.waiting !== null); i++) await sleep(20);
      if (job.lastSeq < last) await this.fillFrom(job, job.lastSeq + 1).catch(() => {});
      for (const ev of bundle.trace.events) if (ev.seq > job.lastSeq) this.append(job, recordOf(ev));
    }
    persistence.importJob(bundle);
    // Served from history from now on (a fold cached from the mirror would be stale).
    this.runtime.stateAtCache.drop(jobId);
    this.jobs.delete(jobId);
    if (job && lastSession !== null && lastSession !== JSON.stringify(job.session)) this.runtime.remoteSessionChanged(jobId, JSON.parse(lastSession) as SessionSnapshot);
  }

  // ------------------------------------------------------------------ lost workers

  private async checkWorkers(): Promise<void> {
    const grace = this.options.lostAfterMs ?? 10_000;
    if (this.stopped || this.connectedSince === null || Date.now() - this.connectedSince < grace) return;
    // The job index keeps a day of jobs (their hashes and streams expire by themselves).
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      void this.redis.zremrangebyscore(this.keys.jobs, "-inf", `(${Date.now() - JOB_STREAM_TTL_S * 1000}`).catch(() => {});
    }
    const byWorker = new Map<string, RemoteJob[]>();
    for (const job of this.jobs.values()) {
      if (!job.worker || !job.summary || FINAL.has(job.summary.status)) continue;
      const list = byWorker.get(job.worker);
      if (list) list.push(job);
      else byWorker.set(job.worker, [job]);
    }
    if (byWorker.size === 0) return;
    try {
      const workers = [...byWorker.keys()];
      const p = this.redis.pipeline();
      for (const w of workers) p.pttl(this.keys.worker(w));
      const ttls = (await p.exec()) ?? [];
      for (let i = 0; i < workers.length; i++) {
        if (ttls[i]?.[1] !== -2) continue; // the key is there: alive
        for (const job of byWorker.get(workers[i] as string) ?? []) {
          // One server finishes it.
          const won = await this.redis.set(this.keys.lost(job.id), this.serverId, "EX", 86_400, "NX");
          if (won === "OK") await this.finishLost(job);
        }
      }
    } catch (err) {
      console.warn(`[cluster] worker check failed: ${(err as Error).message}`);
    }
  }

  /** A job whose worker died: its committed events stay, a job_failed event ends it, history gets it. */
  private async finishLost(job: RemoteJob): Promise<void> {
    const summary = job.summary as JobSummary;
    const entries = await this.redis.xrange(this.keys.jobEvents(job.id), "-", "+");
    const events: TraceEvent[] = [];
    for (const [, fields] of entries) {
      const d = fieldsOf(fields).d;
      if (d !== undefined) events.push(JSON.parse(d) as TraceEvent);
    }
    const lastSeq = Math.max(job.lastSeq, events.at(-1)?.seq ?? 0);
    const now = new Date();
    const started = summary.started_at ? Date.parse(summary.started_at) : null;
    const duration = started === null ? null : now.getTime() - started;
    const error = {
      message: `Worker lost: worker ${job.worker} stopped answering (its heartbeat expired) while the job was ${summary.status}; the ${lastSeq} events it recorded are kept`,
      error_type: "WorkerLost",
      routine_id: null,
      code: "WORKER_LOST",
    };
    const failed = new TraceRecord(lastSeq + 1, job.id, summary.flow_id, null, "job_failed", now.getTime(), { status: "failed", error, cancel_reason: null, duration_ms: duration }, duration, "failed").toJSON();
    const finalSummary: JobSummary = { ...summary, status: "failed", error, finished_at: now.toISOString(), duration_ms: duration };
    const eventJson = JSON.stringify(failed);
    const summaryJson = JSON.stringify(finalSummary);
    await this.redis
      .multi()
      .xadd(this.keys.jobEvents(job.id), `${failed.seq}-0`, "d", eventJson)
      .xadd(this.keys.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_EVENT, "j", job.id, "s", String(failed.seq), "d", eventJson)
      .hset(this.keys.job(job.id), "summary", summaryJson)
      .expire(this.keys.job(job.id), JOB_STREAM_TTL_S)
      .expire(this.keys.jobEvents(job.id), JOB_STREAM_TTL_S)
      .xadd(this.keys.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_JOB, "j", job.id, "w", job.worker as string, "d", summaryJson)
      .exec();
    const flow = this.runtime.hasFlow(summary.flow_id) ? this.runtime.getFlow(summary.flow_id) : null;
    const describeFlow = this.runtime.monitoring.monitorCollector.describeFlow;
    const bundle = bundleFromEvents({ summary: finalSummary, events: [...events, failed], flow: flow && describeFlow ? describeFlow(flow) : null });
    await this.redis.xadd(this.keys.done, "*", "j", job.id, "d", JSON.stringify(bundle));
    console.warn(`[cluster] job ${job.id} failed: worker ${job.worker} lost`);
  }

  // ------------------------------------------------------------------ archive

  /** The collector reads jobs it does not hold from history first, then from this mirror. */
  private installArchive(): void {
    const collector = this.runtime.monitoring.monitorCollector;
    const history = this.runtime.persistence?.archive ?? null;
    const mirror = (jobId: string): RemoteJob | undefined => (history?.has(jobId) ? undefined : this.jobs.get(jobId));
    const archive: JobArchive = {
      eventsAfter: (jobId, afterSeq) => {
        const job = mirror(jobId);
        if (!job) return history?.eventsAfter(jobId, afterSeq) ?? { events: [], lastSeq: 0 };
        const events = job.events;
        let i = events.length;
        while (i > 0 && (events[i - 1] as TraceRecord).seq > afterSeq) i--;
        return { events: events.slice(i), lastSeq: job.lastSeq };
      },
      getMetrics: (jobId): JobMetrics | null => (mirror(jobId) ? null : (history?.getMetrics(jobId) ?? null)),
      getExecutionTrace: (jobId, limit) => {
        const job = mirror(jobId);
        if (!job) return history?.getExecutionTrace(jobId, limit) ?? [];
        const events = limit === undefined ? job.events : job.events.slice(-limit);
        return events.map((e) => e.toJSON());
      },
      traceInfo: (jobId) => {
        const job = mirror(jobId);
        if (!job) return history?.traceInfo(jobId) ?? null;
        return { total: job.lastSeq, retained: job.events.length, dropped: job.lastSeq - job.events.length, last_seq: job.lastSeq };
      },
      eventAt: (jobId, seq) => {
        const job = mirror(jobId);
        if (!job) return history?.eventAt(jobId, seq) ?? null;
        const first = job.events[0]?.seq ?? 0;
        return job.events[seq - first]?.toJSON() ?? null;
      },
      flowOf: (jobId) => {
        const job = mirror(jobId);
        return job ? (job.summary?.flow_id ?? null) : (history?.flowOf(jobId) ?? null);
      },
      payloads: (jobId): ArchivedPayloads | null => (mirror(jobId) ? null : (history?.payloads(jobId) ?? null)),
    };
    collector.archive = archive;
  }
}


/** Connects a server's runtime to the cluster at `redisUrl`; resolves when it is current. */
export async function joinCluster(runtime: Runtime, options: ClusterClientOptions): Promise<ClusterClient> {
  const client = new ClusterClient(runtime, options);
  await client.start();
  runtime.remote = client;
  return client;
}
