/**
 * A worker of a cluster (`routilux worker --redis URL`): takes queued jobs from BullMQ and runs
 * each wholly here, in its own engine and monitoring (breakpoints, steps and holds are local, so a
 * held job costs no Redis traffic and never blocks the worker's other jobs). What servers need of
 * its jobs goes through Redis:
 * - every trace event, with its seq, to the job's own stream and to the cluster's feed (servers
 *   fan them out to their sockets), batched per turn of the event loop;
 * - the job's list entry and debug session whenever they change;
 * - API requests and debug commands for its jobs, on its request channel, run by the same
 *   dispatcher and command table as a server's own (answers are the same, errors included);
 * - the finished job, whole, to the done stream (servers write it to history);
 * - a heartbeat: a server that sees it expire declares the worker's jobs lost.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Worker as BullWorker, type Job as BullJob } from "bullmq";
import type { Redis } from "ioredis";
import { type TraceEvent, TraceRecord } from "../../lib/monitoring";
import { bundleFromEvents, exportJobBundle } from "../../lib/runtime/job-bundle";
import type { Runtime } from "../../lib/runtime/runtime";
import { isRoutiluxError } from "../../lib/wire";
import type { JobSummary } from "../../lib/wire/model";
import { dispatch } from "../api/dispatch";
import { runCommand } from "../transport/commands";
import { BreakpointSync } from "./breakpoint-sync";
import { FlowSync } from "./flow-sync";
import { FEED_EVENT, FEED_EVENTS, FEED_JOB, FEED_SESSION, type QueuedJob, QueuedJobSchema, type WorkerAnswer, WorkerRequestSchema } from "./protocol";
import { type ClusterKeys, clusterKeys, connect, DONE_MAXLEN, FEED_MAXLEN, JOB_STREAM_MAXLEN, JOB_STREAM_TTL_S } from "./redis";

export interface ClusterWorkerOptions {
  redisUrl: string;
  runtime: Runtime;
  /** Jobs run at once (a job held by the debugger takes one slot; the others go on). Default 8. */
  concurrency?: number;
  workerId?: string;
  prefix?: string;
  /** Heartbeat period; the key expires after HEARTBEAT_EXPIRY_BEATS of them. Default 1,000 ms. */
  heartbeatMs?: number;
  /** Finished jobs kept in memory for requests (their history is on the servers). Default 200. */
  retainFinished?: number;
  /** On close, how long running jobs may take to finish before they are cancelled (default 10 s). */
  stopGraceMs?: number;
}

/** How long a stopping worker lets its running jobs finish. */
export const DEFAULT_STOP_GRACE_MS = 10_000;
/** A heartbeat key outlives this many missed beats (10 s at the default period). */
export const HEARTBEAT_EXPIRY_BEATS = 10;
/**
 * Events buffered or on their way to Redis above which the worker's jobs wait between activations
 * (as a job waits for its sockets in one process), and below which they go on: a job that emits
 * faster than Redis takes its events costs bounded memory, never an unbounded backlog.
 */
const WRITES_BEHIND_AT = 2000;
const WRITES_CAUGHT_UP_AT = 500;
const TERMINAL = new Set(["job_completed", "job_failed", "job_cancelled"]);
const STATUS_EVENTS = new Set(["job_started", "job_paused", "job_resumed", "job_completed", "job_failed", "job_cancelled"]);

export class ClusterWorker {
  readonly workerId: string;
  private readonly keys: ClusterKeys;
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly bullConnection: Redis;
  /** Heartbeats on their own connection: a backlog of events never delays them. */
  private readonly beatConnection: Redis;
  /** Events buffered or sent and not yet acknowledged by Redis. */
  private outstanding = 0;
  private writeWaiters: (() => void)[] = [];
  private bull: BullWorker | null = null;
  private readonly breakpoints: BreakpointSync;
  private readonly flows: FlowSync;
  private heartbeat: NodeJS.Timeout | null = null;
  private buffer: TraceRecord[] = [];
  private readonly dirtyJobs = new Set<string>();
  private readonly dirtySessions = new Set<string>();
  private readonly ending = new Set<string>();
  private flushScheduled = false;
  private readonly finished: string[] = [];
  private readonly offs: (() => void)[] = [];
  /** Resolves when everything sent so far was written (tests, close). */
  private written: Promise<void> = Promise.resolve();

  constructor(private readonly options: ClusterWorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
    this.keys = clusterKeys(options.prefix);
    this.redis = connect(options.redisUrl, `routilux-worker-${this.workerId}`);
    this.sub = connect(options.redisUrl, `routilux-worker-sub-${this.workerId}`);
    this.bullConnection = connect(options.redisUrl, `routilux-worker-bull-${this.workerId}`);
    this.beatConnection = connect(options.redisUrl, `routilux-worker-beat-${this.workerId}`);
    this.breakpoints = new BreakpointSync(options.runtime.monitoring.breakpointManager, this.redis, this.sub, this.keys);
    this.flows = new FlowSync(options.runtime, this.redis, this.sub, this.keys);
  }

  get runtime(): Runtime {
    return this.options.runtime;
  }

  async start(): Promise<void> {
    const { runtime } = this;
    const monitoring = runtime.monitoring;
    const events = monitoring.eventManager;
    // Every event leaves for Redis; this process's own sockets (none, usually) still get theirs.
    monitoring.monitorCollector.publisher = {
      subscriberTotal: 1,
      hasSubscribers: () => true,
      publish: (rec) => {
        this.buffer.push(rec);
        this.outstanding++;
        if (STATUS_EVENTS.has(rec.event_type)) this.dirtyJobs.add(rec.job_id);
        if (TERMINAL.has(rec.event_type)) this.ending.add(rec.job_id);
        this.schedule();
        if (events.subscriberTotal !== 0 && events.hasSubscribers(rec.job_id, rec.flow_id)) events.publish(rec);
      },
    };
    // A job waits between activations while its sockets here, or its writes to Redis, are behind.
    const writesBehind = (): boolean => this.outstanding > WRITES_BEHIND_AT;
    monitoring.hooks.setFanout({
      get behindTotal() {
        return events.behindTotal + (writesBehind() ? 1 : 0);
      },
      whenCaughtUp: (jobId, flowId) => (writesBehind() ? this.whenWritesCaughtUp() : events.whenCaughtUp(jobId, flowId)),
    });
    this.offs.push(() => monitoring.hooks.setFanout(events));
    this.offs.push(
      monitoring.debugSessionManager.onSessionChange((session) => {
        this.dirtySessions.add(session.jobId);
        this.schedule();
      }),
    );
    // Jobs started here other than from the queue (a fork asked of one of its jobs) are listed too.
    this.offs.push(
      runtime.onJobStarted((_flowId, jobId) => {
        this.dirtyJobs.add(jobId);
        this.schedule();
      }),
    );
    this.sub.on("message", (channel: string, message: string) => {
      if (channel === this.keys.requests(this.workerId)) void this.onRequest(message);
    });
    await this.sub.subscribe(this.keys.requests(this.workerId));
    await this.flows.start(false);
    await this.breakpoints.start();
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs ?? 1000);
    this.heartbeat.unref();
    this.bull = new BullWorker(this.keys.queue, (job) => this.process(job), {
      connection: this.bullConnection,
      prefix: this.keys.bullPrefix,
      concurrency: this.options.concurrency ?? 8,
      // A worker that died is declared lost by the servers (its heartbeat): BullMQ must not run
      // its job a second time under the same id.
      maxStalledCount: 0,
      // Renewed every half of it while the job runs, held at a breakpoint included.
      lockDuration: 30_000,
    });
    let reported = 0;
    this.bull.on("error", (err) => {
      // A Redis outage fails every poll: say it once in a while.
      if (Date.now() - reported < 5000) return;
      reported = Date.now();
      console.warn(`[cluster] worker queue: ${err.message}`);
    });
  }

  private async beat(): Promise<void> {
    const period = this.options.heartbeatMs ?? 1000;
    try {
      await this.beatConnection.set(this.keys.worker(this.workerId), JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }), "PX", period * HEARTBEAT_EXPIRY_BEATS);
      // A job the servers declared lost (this process was cut off, or stalled, past the expiry) has
      // been failed and handed to history: running it on would only repeat its side effects.
      const running = this.runtime.monitoring.jobStore.list().jobs.filter((j) => !j.isFinished);
      if (running.length === 0) return;
      const p = this.beatConnection.pipeline();
      for (const job of running) p.exists(this.keys.lost(job.jobId));
      const lost = (await p.exec()) ?? [];
      running.forEach((job, i) => {
        if (lost[i]?.[1] === 1) job.cancel("Declared lost by the cluster: this worker stopped answering for too long");
      });
    } catch {
      // Redis is down: the connection retries; the next beat tries again.
    }
  }

  private async process(bullJob: BullJob): Promise<void> {
    const parsed = QueuedJobSchema.safeParse(bullJob.data);
    if (!parsed.success) throw new Error(`Malformed queued job: ${parsed.error.message}`);
    const { job_id: jobId, request, fork, bp_version: bpVersion, flows_version: flowsVersion } = parsed.data;
    // What the server saw when it queued the job (a flow just made, a breakpoint just set) is here first.
    if (this.flows.appliedVersion < flowsVersion) await this.flows.pull();
    if (this.breakpoints.appliedVersion < bpVersion) await this.breakpoints.pull();
    // Declared lost (its first worker died) or already here: never run twice.
    if (this.runtime.hasJob(jobId) || (await this.redis.exists(this.keys.lost(jobId))) === 1) return;
    let job: ReturnType<Runtime["startJob"]>;
    try {
      job = this.runtime.startJob(request, fork ? { shared: fork.shared, forkedFrom: fork.forked_from } : null, { jobId });
    } catch (err) {
      await this.failedToStart(jobId, request, err);
      throw err;
    }
    await job.done;
  }

  /** A queued job this worker could not start (its flow is not served here, a bad breakpoint): the list says why. */
  private async failedToStart(jobId: string, request: QueuedJob["request"], err: unknown): Promise<void> {
    const flowId = request.flow_id;
    const entry = request.entry_routine_id;
    const now = new Date().toISOString();
    const code = isRoutiluxError(err) ? err.code : "START_FAILED";
    const summary: JobSummary = {
      job_id: jobId,
      flow_id: flowId,
      status: "failed",
      entry_routine_id: entry,
      created_at: now,
      started_at: null,
      finished_at: now,
      duration_ms: null,
      error: { message: `Worker ${this.workerId} could not start the job: ${(err as Error).message}`, error_type: "StartFailed", routine_id: null, code },
      forked_from: null,
    };
    const json = JSON.stringify(summary);
    // A job with a page like any other: its start and its failure, in its trace and in history.
    const at = Date.parse(now);
    const event = (seq: number, type: "job_started" | "job_failed", data: Record<string, unknown>, status: string): TraceEvent =>
      new TraceRecord(seq, jobId, flowId, type === "job_started" ? entry : null, type, at, data, type === "job_failed" ? 0 : null, status).toJSON();
    const events = [
      event(1, "job_started", { entry_routine_id: entry, entry_slot: request.entry_slot ?? "trigger", params: request.entry_params ?? {}, shared_data: {} }, "running"),
      event(2, "job_failed", { status: "failed", error: summary.error, cancel_reason: null, duration_ms: 0 }, "failed"),
    ];
    const describeFlow = this.runtime.monitoring.monitorCollector.describeFlow;
    const flow = this.runtime.hasFlow(flowId) && describeFlow ? describeFlow(this.runtime.getFlow(flowId)) : null;
    const m = this.redis.multi();
    for (const ev of events) {
      const e = JSON.stringify(ev);
      m.xadd(this.keys.jobEvents(jobId), `${ev.seq}-0`, "d", e);
      m.xadd(this.keys.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_EVENT, "j", jobId, "s", String(ev.seq), "d", e);
    }
    m.hset(this.keys.job(jobId), "summary", json, "worker", this.workerId)
      .xadd(this.keys.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_JOB, "j", jobId, "w", this.workerId, "d", json)
      .xadd(this.keys.done, "MAXLEN", "~", DONE_MAXLEN, "*", "j", jobId, "d", JSON.stringify(bundleFromEvents({ summary, events, flow, entrySlot: request.entry_slot ?? "trigger", entryParams: request.entry_params ?? {} })))
      .expire(this.keys.jobEvents(jobId), JOB_STREAM_TTL_S)
      .expire(this.keys.job(jobId), JOB_STREAM_TTL_S);
    await m.exec();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /** Sends what this turn produced in one pipeline: events, then list entries, then sessions. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const events = this.buffer;
    this.buffer = [];
    const p = this.redis.pipeline();
    const k = this.keys;
    const jsons: string[] = [];
    for (const rec of events) {
      const json = JSON.stringify(rec.toJSON());
      jsons.push(json);
      // The seq is the entry id: a resend after a reconnect is refused as a duplicate, never doubled.
      p.xadd(k.jobEvents(rec.job_id), "MAXLEN", "~", JOB_STREAM_MAXLEN, `${rec.seq}-0`, "d", json);
    }
    // The feed gets this turn's events in one entry (servers skip seqs they already have).
    if (jsons.length > 0) p.xadd(k.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_EVENTS, "d", `[${jsons.join(",")}]`);
    for (const jobId of this.dirtyJobs) {
      let summary: JobSummary;
      try {
        summary = this.runtime.jobSummary(jobId);
      } catch {
        continue;
      }
      const json = JSON.stringify(summary);
      p.hset(k.job(jobId), "summary", json, "worker", this.workerId);
      p.zadd(k.jobs, "NX", Date.parse(summary.created_at), jobId);
      p.xadd(k.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_JOB, "j", jobId, "w", this.workerId, "d", json);
    }
    this.dirtyJobs.clear();
    for (const jobId of this.dirtySessions) {
      if (!this.runtime.monitoring.jobStore.has(jobId)) continue;
      const json = JSON.stringify(this.runtime.jobSession(jobId));
      p.hset(k.job(jobId), "session", json);
      p.xadd(k.feed, "MAXLEN", "~", FEED_MAXLEN, "*", "t", FEED_SESSION, "j", jobId, "d", json);
    }
    this.dirtySessions.clear();
    const ended = [...this.ending].filter((id) => this.runtime.monitoring.jobStore.get(id)?.isFinished === true);
    for (const id of ended) this.ending.delete(id);
    // An empty pipeline is not sent (its exec would wait for nothing).
    if (p.length === 0 && ended.length === 0) return;
    const sent = (p.length === 0 ? Promise.resolve() : p.exec())
      .then(
        () => undefined,
        (err: Error) => console.warn(`[cluster] events not sent: ${err.message}`),
      )
      .finally(() => this.acknowledged(events.length));
    // After its last events: the whole job for history, once they are in Redis.
    const after = ended.length > 0 ? sent.then(() => this.publishFinished(ended)) : sent;
    this.written = Promise.all([this.written, after]).then(() => undefined);
  };

  private async publishFinished(jobIds: string[]): Promise<void> {
    for (const jobId of jobIds) {
      try {
        const bundle = exportJobBundle(this.runtime, jobId);
        await this.redis
          .multi()
          .xadd(this.keys.done, "MAXLEN", "~", DONE_MAXLEN, "*", "j", jobId, "d", JSON.stringify(bundle))
          .expire(this.keys.jobEvents(jobId), JOB_STREAM_TTL_S)
          .expire(this.keys.job(jobId), JOB_STREAM_TTL_S)
          .exec();
      } catch (err) {
        console.warn(`[cluster] job ${jobId} not handed over for history: ${(err as Error).message}`);
      }
      this.finished.push(jobId);
    }
    // Finished jobs stay for requests a while (their history is on the servers by then).
    const keep = this.options.retainFinished ?? 200;
    while (this.finished.length > keep) this.runtime.monitoring.jobStore.remove(this.finished.shift() as string);
  }

  private async onRequest(message: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(message);
    } catch {
      return;
    }
    const parsed = WorkerRequestSchema.safeParse(raw);
    if (!parsed.success) return;
    const req = parsed.data;
    let answer: WorkerAnswer;
    if (req.kind === "http") {
      const res = await dispatch(
        { method: req.method, url: new URL(req.url, "http://worker.invalid"), header: () => null, readBody: async () => req.body },
        this.runtime,
        { trusted: true },
      );
      answer = { kind: "http", id: req.id, status: res.status, ...(res.headers ? { headers: res.headers } : {}), ...(res.body !== undefined ? { body: res.body } : {}) };
    } else {
      try {
        const data = await runCommand(this.runtime, req.job_id, req.command, req.args);
        answer = { kind: "command", id: req.id, ok: true, data };
      } catch (err) {
        const e = isRoutiluxError(err) ? { kind: err.kind, code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } : { kind: "internal", code: "INTERNAL_ERROR", message: (err as Error).message };
        answer = { kind: "command", id: req.id, ok: false, error: e };
      }
    }
    // Sent after the events this request caused (a step's stop, an edit's session change).
    this.flush();
    await this.written;
    await this.redis.publish(req.reply_to, JSON.stringify(answer));
  }

  /** `n` events are in Redis (or failed for good): jobs held on the backlog may go on. */
  private acknowledged(n: number): void {
    this.outstanding -= n;
    if (this.outstanding > WRITES_CAUGHT_UP_AT || this.writeWaiters.length === 0) return;
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const w of waiters) w();
  }

  private whenWritesCaughtUp(): Promise<void> {
    return new Promise((resolve) => this.writeWaiters.push(resolve));
  }

  /** Resolves once every event and message produced so far is in Redis. */
  async drained(): Promise<void> {
    if (this.flushScheduled) this.flush();
    await this.written;
  }

  /**
   * Takes no more jobs; the running ones get `graceMs` to finish, then are cancelled (their trace
   * says the worker was stopped) and handed to history like any finished job. The heartbeat goes
   * on until then, so no server takes this worker for dead meanwhile. Returns the cancelled ids.
   */
  async close(graceMs = this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS): Promise<string[]> {
    const closing = this.bull ? this.bull.close().catch(() => {}) : Promise.resolve();
    const unfinished = () => this.runtime.monitoring.jobStore.list().jobs.filter((j) => !j.isFinished);
    let timer: NodeJS.Timeout | null = null;
    const inTime = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
    if (timer) clearTimeout(timer);
    const cancelled: string[] = [];
    if (!inTime || unfinished().length > 0) {
      for (const job of unfinished()) if (job.cancel(`Worker ${this.workerId} was stopped before the job finished`)) cancelled.push(job.jobId);
      await closing;
    }
    // Their last events, list entries and bundles.
    await new Promise((r) => setImmediate(r));
    await this.drained().catch(() => {});
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const off of this.offs) off();
    this.breakpoints.stop();
    this.flows.stop();
    await this.beatConnection.del(this.keys.worker(this.workerId)).catch(() => {});
    for (const c of [this.sub, this.bullConnection, this.beatConnection, this.redis]) c.disconnect();
    return cancelled;
  }
}
