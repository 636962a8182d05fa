/**
 * socket.io for the browser UI: `subscribe` to a job (with `after_seq`) or a flow, receive
 * `events` (trace records coalesced per job per tick), `events_dropped` and `session` updates,
 * and send debug commands with an ack.
 *
 * Backpressure: each subscription drains its bounded queue (100) into the connection only while
 * engine.io's write buffer is short, so a slow browser costs its queue and that buffer, and is
 * told what it lost (`events_dropped`). A job publishes whole bursts without yielding (a
 * splitter's thousands of emits), so once a queue is half full it is moved to the connection at
 * once instead of waiting for the next tick: a client that keeps up misses nothing.
 */
import type { Server as HttpServer } from "node:http";
import { Server } from "socket.io";
import type { Runtime, Subscriber, SubscriberItem, TraceEvent } from "../../lib";
import { checkKey } from "../api/auth";
import { executeDebugCommand } from "./debug-commands";

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
/** engine.io packets waiting to be written before a connection counts as congested. */
const MAX_PENDING_PACKETS = 64;
type Ack = (reply: unknown) => void;

export function attachSocketIo(httpServer: HttpServer, runtime: Runtime): { io: Server; close(): Promise<void> } {
  const io = new Server(httpServer, { path: "/socket.io/", serveClient: false, destroyUpgrade: false, maxHttpBufferSize: 1e6, cors: { origin: false } });
  const em = runtime.monitoring.eventManager;

  io.use((socket, next) => {
    const presented = (socket.handshake.auth as { api_key?: unknown })?.api_key ?? socket.handshake.query.api_key;
    const auth = checkKey(typeof presented === "string" ? presented : null);
    if (auth.ok) next();
    else next(new Error(auth.message));
  });

  io.on("connection", (socket) => {
    const subs = new Map<string, Subscriber>(); // key: job id or "flow:<id>"
    let flushScheduled = false;
    let flushing = false;
    const conn = socket.conn;
    // engine.io keeps unsent packets in `writeBuffer` (typed private, but it is the only measure
    // of what a slow client has left unread).
    const congested = (): boolean => (conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length > MAX_PENDING_PACKETS;
    // When engine.io has written its buffer, drain what the queues kept meanwhile.
    conn.on("drain", () => schedule());

    const flush = (): void => {
      flushScheduled = false;
      if (flushing || congested()) return;
      flushing = true;
      try {
        drainAll();
      } finally {
        flushing = false;
      }
    };
    const drainAll = (): void => {
      for (const sub of subs.values()) {
        const items = sub.drain(1000);
        if (items.length === 0) continue;
        // Coalesced per job: one `events` message per job per tick.
        const byJob = new Map<string, TraceEvent[]>();
        for (const item of items as SubscriberItem[]) {
          if (item.kind === "dropped") {
            socket.emit("events_dropped", { job_id: item.job_id, count: item.count, next_seq: item.next_seq });
            continue;
          }
          const rec = item.event.toJSON();
          const list = byJob.get(rec.job_id) ?? [];
          list.push(rec);
          byJob.set(rec.job_id, list);
        }
        for (const events of byJob.values()) socket.emit("events", events);
        if (sub.queueSize > 0 || sub.replayPending) schedule();
      }
    };
    const schedule = (): void => {
      if (flushScheduled) return;
      flushScheduled = true;
      setImmediate(flush);
    };
    /** onReadable: a half-full queue goes out now (see the header), the rest on the next tick. */
    const ready = (): void => {
      for (const sub of subs.values()) {
        if (sub.queueSize >= sub.maxQueueSize >> 1) {
          flush();
          break;
        }
      }
      schedule();
    };

    const offSession = runtime.monitoring.debugSessionManager.onSessionChange((session) => {
      if (subs.has(session.jobId)) socket.emit("session", session.toJSON());
    });
    const offJobs = runtime.onJobStarted((flowId, job) => {
      if (subs.has(`flow:${flowId}`)) socket.emit("job_created", { flow_id: flowId, job_id: job.jobId });
    });

    socket.on("subscribe", (msg: unknown, ack?: Ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      const m = (msg ?? {}) as { job_id?: unknown; flow_id?: unknown; after_seq?: unknown };
      try {
        if (typeof m.job_id === "string") {
          if (!ID_RE.test(m.job_id)) return reply({ ok: false, error: `Invalid job id '${m.job_id.slice(0, 140)}'` });
          // Live or restored from history (a restored job replays from the database).
          const job = runtime.jobSummary(m.job_id);
          subs.get(job.job_id)?.close();
          const afterSeq = typeof m.after_seq === "number" && m.after_seq >= 0 ? Math.floor(m.after_seq) : 0;
          subs.set(job.job_id, em.subscribe(job.job_id, { afterSeq, onReadable: ready }));
          const info = runtime.monitoring.monitorCollector.traceInfo(job.job_id);
          reply({ ok: true, job_id: job.job_id, status: job.status, last_seq: info?.last_seq ?? 0, session: runtime.jobSession(job.job_id) });
          schedule();
          return;
        }
        if (typeof m.flow_id === "string") {
          if (!ID_RE.test(m.flow_id)) return reply({ ok: false, error: `Invalid flow id '${m.flow_id.slice(0, 140)}'` });
          runtime.getFlow(m.flow_id);
          subs.get(`flow:${m.flow_id}`)?.close();
          subs.set(`flow:${m.flow_id}`, em.subscribeFlow(m.flow_id, { onReadable: ready }));
          return reply({ ok: true, flow_id: m.flow_id });
        }
        reply({ ok: false, error: "subscribe needs a job_id or a flow_id" });
      } catch (err) {
        reply({ ok: false, error: (err as Error).message });
      }
    });

    socket.on("unsubscribe", (msg: unknown, ack?: Ack) => {
      const m = (msg ?? {}) as { job_id?: unknown; flow_id?: unknown };
      const key = typeof m.job_id === "string" ? m.job_id : typeof m.flow_id === "string" ? `flow:${m.flow_id}` : null;
      const sub = key ? subs.get(key) : undefined;
      sub?.close();
      if (key) subs.delete(key);
      if (typeof ack === "function") ack({ ok: Boolean(sub) });
    });

    socket.on("debug", (msg: unknown, ack?: Ack) => {
      const m = (msg ?? {}) as { job_id?: unknown; command?: unknown };
      const reply = typeof ack === "function" ? ack : () => {};
      if (typeof m.job_id !== "string" || !ID_RE.test(m.job_id)) return reply({ ok: false, error: "debug needs a valid job_id" });
      const outcome = executeDebugCommand(runtime, m.job_id, m as Record<string, unknown>);
      reply(outcome.ok ? { ok: true, command: m.command, data: outcome.data } : { ok: false, command: m.command, error: outcome.message, code: outcome.code });
    });

    socket.on("disconnect", () => {
      for (const sub of subs.values()) sub.close();
      subs.clear();
      offSession();
      offJobs();
    });
  });

  return { io, close: () => new Promise<void>((resolve) => io.close(() => resolve())) };
}
