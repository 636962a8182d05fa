/**
 * socket.io for the browser UI: `subscribe` to a job (with `after_seq`) or a flow, receive
 * `events` (trace records coalesced per job per tick), `events_dropped` and `session` updates,
 * and send debug commands with an ack. Every message is typed by lib/wire's event maps and
 * checked against its schemas on arrival.
 *
 * Back-pressure: one pump per connection (transport/pump.ts) drains the subscriptions' bounded
 * queues while engine.io's write buffer is short, so a slow browser costs its queues and that
 * buffer, and is told what it lost (`events_dropped`). Replies (debug acks) count against the
 * client's bound of unread bytes (transport/client-bound.ts) together with what engine.io has not
 * written yet: a client over it gets `client_dropped` and is disconnected, and everything it held
 * is released. A flow subscription's ack is followed by a `job_running` for each job of the flow
 * running then, so the client can replay their start.
 */
import type { Server as HttpServer, IncomingMessage } from "node:http";
import { Server, type ServerOptions } from "socket.io";
import type { z } from "zod";
import { type Runtime, RoutiluxError, type Subscriber, type TraceEvent, type TraceRecord } from "../../lib";
import {
  type ClientToServerEvents,
  type DebugAck,
  DebugRequestSchema,
  formatZodError,
  type ServerToClientEvents,
  SubscribeFlowSchema,
  SubscribeJobSchema,
  type SubscribeRequest,
  UnsubscribeRequestSchema,
} from "../../lib/wire";
import { checkKey } from "../api/auth";
import { CLIENT_QUEUE_FULL, clientMaxBytes, queueFullReason, socketQueueEvents } from "../transport/client-bound";
import { argsOf, commandFailure, runCommand } from "../transport/commands";
import { NOTIFY_EVERY, Pump } from "../transport/pump";

/** engine.io packets waiting to be written before a connection counts as congested. */
const MAX_PENDING_PACKETS = 64;
/** Events per `events` message at most (one message per job per tick). */
const EVENTS_PER_MESSAGE = 1000;

/** Each trace record as sent, built once however many clients it goes to. */
const eventJson = new WeakMap<TraceRecord, TraceEvent>();
function eventOf(record: TraceRecord): TraceEvent {
  let json = eventJson.get(record);
  if (json === undefined) {
    json = record.toJSON();
    eventJson.set(record, json);
  }
  return json;
}

/** What engine.io holds for a client and has not handed to the kernel: its write buffer and the websocket's. */
interface EngineConnection {
  writeBuffer: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: number } };
}
function unwrittenBytes(conn: EngineConnection): number {
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer) {
    const data = packet.data;
    if (typeof data === "string") bytes += data.length;
    else if (data instanceof Uint8Array) bytes += data.byteLength;
  }
  return bytes;
}

/** Why a message was refused: the error family's code and message. */
function refusal(err: unknown): { error: string; code: string } {
  const { code, message } = commandFailure(err);
  return { error: message, code };
}

function invalid(what: string, error: z.ZodError): RoutiluxError {
  return new RoutiluxError("BAD_MESSAGE", `Invalid ${what}: ${formatZodError(error)}`, { kind: "bad_request" });
}

/** `{job_id, after_seq?}` or `{flow_id}`, each checked on its own so the error names what is wrong. */
function parseSubscribe(msg: unknown): SubscribeRequest {
  const has = (key: string) => typeof msg === "object" && msg !== null && key in msg;
  const schema = has("job_id") ? SubscribeJobSchema : has("flow_id") ? SubscribeFlowSchema : null;
  if (schema === null) throw new RoutiluxError("BAD_MESSAGE", "subscribe needs a job_id or a flow_id", { kind: "bad_request" });
  const parsed = schema.safeParse(msg);
  if (!parsed.success) throw invalid("subscribe", parsed.error);
  return parsed.data;
}

/** Why a handshake request (polling or upgrade) is refused (a foreign Host or Origin), or null. */
export type HandshakeCheck = (req: IncomingMessage) => string | null;

export function attachSocketIo(
  httpServer: HttpServer,
  runtime: Runtime,
  refuse: HandshakeCheck = () => null,
  adapter?: ServerOptions["adapter"],
): { io: Server<ClientToServerEvents, ServerToClientEvents>; close(): Promise<void> } {
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, {
    ...(adapter !== undefined ? { adapter } : {}),
    path: "/socket.io/",
    serveClient: false,
    destroyUpgrade: false,
    maxHttpBufferSize: 1e6,
    cors: { origin: false },
    // Every engine.io request, the first polling one and the upgrade alike.
    allowRequest: (req, callback) => {
      const refusal = refuse(req);
      callback(refusal, refusal === null);
    },
  });
  const em = runtime.monitoring.eventManager;
  const maxBytes = clientMaxBytes();
  const queueEvents = socketQueueEvents();
  // Reloads of the program's code (routilux dev) go to every page, subscribed or not.
  const offReloads = runtime.onFlowsReload((notice) => {
    if (notice.kind === "reloaded") io.emit("flows_reloaded", notice.info);
    else io.emit("flows_reload_failed", notice.info);
  });

  io.use((socket, next) => {
    const presented = (socket.handshake.auth as { api_key?: unknown })?.api_key ?? socket.handshake.query.api_key;
    const auth = checkKey(typeof presented === "string" ? presented : null);
    if (auth.ok) next();
    else next(new Error(auth.message));
  });

  io.on("connection", (socket) => {
    const subs = new Map<string, Subscriber>(); // key: job id or "flow:<id>"
    const conn = socket.conn;
    // engine.io's buffers are typed private, but they are the only measure of what a client has
    // left unread.
    const engine = conn as unknown as EngineConnection;
    let dropped = false;
    /**
     * A reply goes out while the client's unread bytes stay within the bound; past it the client
     * is told why and disconnected (its subscriptions and listeners are released at once).
     */
    const within = (answer: unknown): boolean => {
      if (dropped) return false;
      const bytes = Buffer.byteLength(JSON.stringify(answer) ?? "");
      if (unwrittenBytes(engine) + bytes <= maxBytes) return true;
      dropped = true;
      socket.emit("client_dropped", { code: CLIENT_QUEUE_FULL, message: queueFullReason(maxBytes), limit_bytes: maxBytes });
      socket.disconnect(true);
      return false;
    };
    const pump = new Pump(
      {
        // engine.io keeps unsent packets in `writeBuffer` (typed private, but it is the only
        // measure of what a slow client has left unread).
        congested: () => engine.writeBuffer.length > MAX_PENDING_PACKETS,
        send: (items) => {
          // Coalesced per job: one `events` message per job per batch.
          const byJob = new Map<string, TraceEvent[]>();
          for (const item of items) {
            if (item.kind === "dropped") {
              socket.emit("events_dropped", { job_id: item.job_id, count: item.count, next_seq: item.next_seq });
              continue;
            }
            const rec = eventOf(item.event);
            const list = byJob.get(rec.job_id);
            if (list) list.push(rec);
            else byJob.set(rec.job_id, [rec]);
          }
          for (const events of byJob.values()) socket.emit("events", events);
        },
      },
      { chunk: EVENTS_PER_MESSAGE, perFlush: EVENTS_PER_MESSAGE },
    );
    // When engine.io has written its buffer, drain what the queues kept meanwhile.
    conn.on("drain", pump.schedule);
    const track = (key: string, subscriber: Subscriber): void => {
      const old = subs.get(key);
      if (old) {
        pump.remove(old);
        old.close();
      }
      subs.set(key, subscriber);
      pump.add(subscriber);
    };

    const offSession = runtime.onSessionChange((jobId, session) => {
      if (subs.has(jobId)) socket.emit("session", session());
    });
    const offJobs = runtime.onJobStarted((flowId, jobId) => {
      if (subs.has(`flow:${flowId}`)) socket.emit("job_created", { flow_id: flowId, job_id: jobId });
    });

    socket.on("subscribe", (msg, ack) => {
      const reply = typeof ack === "function" ? ack : () => {};
      try {
        const request = parseSubscribe(msg);
        if ("job_id" in request) {
          // Live or restored from history (a restored job replays from the database).
          const job = runtime.jobSummary(request.job_id);
          track(job.job_id, em.subscribe(job.job_id, { afterSeq: request.after_seq ?? 0, maxQueueSize: queueEvents, notifyEvery: NOTIFY_EVERY, onReadable: pump.ready }));
          const info = runtime.monitoring.monitorCollector.traceInfo(job.job_id);
          reply({ ok: true, job_id: job.job_id, status: job.status, last_seq: info?.last_seq ?? 0, session: runtime.jobSession(job.job_id) });
          return;
        }
        runtime.getFlow(request.flow_id);
        // Read in the same synchronous step as the subscription is made: its live events of each
        // running job start right after the announced last_seq.
        const running = runtime.runningJobs(request.flow_id);
        track(`flow:${request.flow_id}`, em.subscribeFlow(request.flow_id, { maxQueueSize: queueEvents, notifyEvery: NOTIFY_EVERY, onReadable: pump.ready }));
        reply({ ok: true, flow_id: request.flow_id });
        for (const info of running) socket.emit("job_running", info);
      } catch (err) {
        reply({ ok: false, ...refusal(err) });
      }
    });

    socket.on("unsubscribe", (msg, ack) => {
      const parsed = UnsubscribeRequestSchema.safeParse(msg);
      const key = !parsed.success ? null : "job_id" in parsed.data ? parsed.data.job_id : `flow:${parsed.data.flow_id}`;
      const sub = key === null ? undefined : subs.get(key);
      if (sub && key !== null) {
        pump.remove(sub);
        sub.close();
        subs.delete(key);
      }
      if (typeof ack === "function") ack({ ok: Boolean(sub) });
    });

    socket.on("debug", (msg, ack) => {
      if (dropped) return;
      const reply = (answer: DebugAck): void => {
        if (typeof ack === "function" && within(answer)) ack(answer);
      };
      const parsed = DebugRequestSchema.safeParse(msg);
      if (!parsed.success) {
        reply({ ok: false, command: null, ...refusal(invalid("debug message (job_id and command)", parsed.error)) });
        return;
      }
      const { job_id, command } = parsed.data;
      runCommand(runtime, job_id, command, argsOf(parsed.data)).then(
        (data) => reply({ ok: true, command, data }),
        (err: unknown) => reply({ ok: false, command, ...refusal(err) }),
      );
    });

    socket.on("disconnect", () => {
      pump.stop();
      for (const sub of subs.values()) sub.close();
      subs.clear();
      offSession();
      offJobs();
    });
  });

  return {
    io,
    close: () => {
      offReloads();
      return new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
