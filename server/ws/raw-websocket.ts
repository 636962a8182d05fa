/**
 * Raw WebSockets (package `ws`), the compatibility path of ../shared/spec/api.md:
 *
 * - `/api/ws/jobs/{job_id}/monitor`: `{type: "connected", job_id, status, last_seq}`, then the
 *   retained events after `?after_seq=` (default: all retained), then live events.
 * - `/api/ws/jobs/{job_id}/debug`: the same stream, plus debug commands `{command, id?, …}`
 *   answered with `{type: "command_result", command, id, ok: true, data}` or
 *   `{type: "error", command, id, message, code}`, and `{type: "session", session}` updates.
 * - `/api/ws/flows/{flow_id}/monitor`: `{type: "connected", flow_id}`, then every event of every
 *   job of the flow, with `{type: "job_created", job_id, flow_id}` before a new job's events.
 *
 * Trace events are sent as the trace record plus `type = event_type`. Each connection drains its
 * own bounded subscriber queue (100), at once when a burst has half filled it, and stops draining
 * while the socket's send buffer is above a high-water mark, so a client that keeps up misses
 * nothing and a slow client only costs its queue (plus that buffer); what it misses is reported as
 * `{type: "events_dropped", job_id, count, next_seq}`. Heartbeat: `{type: "ping"}` plus a
 * protocol ping every ROUTILUX_WS_PING_MS (15 s); a peer silent for two heartbeats is terminated.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { Runtime, Subscriber, SubscriberItem, TraceRecord } from "../../lib";
import { checkKey } from "../api/auth";
import { type DebugCommand, executeDebugCommand } from "./debug-commands";

const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const ROUTE_RE = /^\/api\/ws\/(jobs|flows)\/([^/]+)\/(monitor|debug)\/?$/;
const MAX_PAYLOAD = 1024 * 1024;
/** Stop draining the subscriber while this much is waiting in the socket's send buffer. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** How soon to look again when the send buffer was too full. */
const RESUME_DELAY_MS = 25;
/** Items sent per flush before yielding to the event loop. */
const FLUSH_BATCH = 256;
const DEFAULT_PING_MS = 15_000;
/** Job ids a flow monitor remembers having announced (bounded, oldest forgotten first). */
const MAX_SEEN_JOBS = 10_000;
const POLICY_VIOLATION = 1008;
const TERMINAL_EVENTS = new Set(["job_completed", "job_failed", "job_cancelled"]);

/** A message to send: an object (serialised on sending) or JSON text already serialised. */
type Message = object | string;
/** The JSON text of each trace record sent, shared by all the sockets it fans out to. */
const eventTexts = new WeakMap<TraceRecord, string>();
/** The socket each WebSocket was upgraded from. */
const tcpSockets = new WeakMap<WebSocket, Duplex>();

type Route = { kind: "job"; mode: "monitor" | "debug"; id: string } | { kind: "flow"; id: string };

export interface RawWebSockets {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

function pingInterval(): number {
  const raw = Number(process.env.ROUTILUX_WS_PING_MS);
  return Number.isFinite(raw) && raw >= 10 ? Math.floor(raw) : DEFAULT_PING_MS;
}

/** A close reason within the protocol's 123-byte limit. */
function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = text;
  while (Buffer.byteLength(`${out}…`) > 123) out = out.slice(0, -1);
  return `${out}…`;
}

/** An untrusted id made printable and short, for error messages. */
function shown(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}

function parseRoute(pathname: string): Route | "not_found" | { invalid: string } {
  const m = ROUTE_RE.exec(pathname);
  if (!m) return "not_found";
  const [, collection, rawId = "", mode] = m;
  if (collection === "flows" && mode !== "monitor") return "not_found";
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return { invalid: `Invalid ${collection === "flows" ? "flow" : "job"} id` };
  }
  if (!ID_RE.test(id)) return { invalid: `Invalid ${collection === "flows" ? "flow" : "job"} id '${shown(id)}'` };
  return collection === "flows" ? { kind: "flow", id } : { kind: "job", mode: mode === "debug" ? "debug" : "monitor", id };
}

function parseAfterSeq(value: string | null): number | null {
  if (value === null || value === "") return 0;
  if (!/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on("error", () => {});
  if (socket.writable) {
    const body = JSON.stringify({ error: text });
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function attachRawWebSockets(runtime: Runtime): RawWebSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, clientTracking: true });
  const pingMs = pingInterval();
  const cleanups = new Set<() => void>();
  let closed = false;

  /** Per-connection plumbing shared by all three kinds of socket. */
  function setUp(ws: WebSocket, onText: (text: string) => void): { send(msg: Message): void; own(fn: () => void): void } {
    const disposers: (() => void)[] = [];
    let missed = 0;
    const send = (msg: Message): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
    };
    const alive = (): void => {
      missed = 0;
    };
    const heartbeat = setInterval(() => {
      if (missed >= 2) {
        ws.terminate();
        return;
      }
      missed++;
      send({ type: "ping" });
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, pingMs);
    heartbeat.unref();
    let disposed = false;
    const dispose = (): void => {
      if (disposed) return;
      disposed = true;
      clearInterval(heartbeat);
      for (const fn of disposers.splice(0)) {
        try {
          fn();
        } catch (err) {
          console.error("[ws] cleanup failed", err);
        }
      }
      cleanups.delete(dispose);
    };
    cleanups.add(dispose);
    ws.on("pong", alive);
    ws.on("error", (err) => console.error("[ws] socket error:", err.message));
    ws.on("close", dispose);
    ws.on("message", (data: RawData, isBinary: boolean) => {
      alive();
      if (isBinary) {
        send({ type: "error", command: null, id: null, message: "Binary messages are not supported; send JSON text", code: "BAD_MESSAGE" });
        return;
      }
      onText(rawToString(data));
    });
    return { send, own: (fn) => disposers.push(fn) };
  }

  /**
   * Drains `sub` into the socket: scheduled from onReadable, paused while the send buffer is
   * above the high-water mark. `transform` turns an item into the messages to send.
   */
  function pump(ws: WebSocket, sub: () => Subscriber | null, send: (msg: Message) => void, transform: (item: SubscriberItem) => Message[], onEnd?: () => void): { ready(): void; schedule(): void; stop(): void } {
    let scheduled = false;
    let inline = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    // The TCP socket under `ws` (Nagle is off): corked around a batch, its frames leave in one
    // writev instead of one syscall (and one loopback segment) per message.
    const raw = tcpSockets.get(ws);
    /** Sends up to `max` items (fewer if the send buffer passes the high-water mark); how many, -1 if none was left. */
    const sendSome = (s: Subscriber, max: number): number => {
      let sent = 0;
      raw?.cork();
      try {
        while (sent < max && ws.bufferedAmount <= HIGH_WATER_BYTES) {
          const items = s.drain(Math.min(32, max - sent));
          if (items.length === 0) return sent === 0 ? -1 : sent;
          for (const item of items) for (const msg of transform(item)) send(msg);
          sent += items.length;
        }
      } finally {
        raw?.uncork();
      }
      return sent;
    };
    const flush = (): void => {
      scheduled = false;
      const s = sub();
      if (stopped || s === null || ws.readyState !== WebSocket.OPEN) return;
      const sent = sendSome(s, FLUSH_BATCH);
      if (sent === -1) {
        if (s.closed) onEnd?.();
        return;
      }
      if (ws.bufferedAmount > HIGH_WATER_BYTES) {
        // The client is slow: leave the rest in its bounded queue and look again later.
        timer ??= setTimeout(() => {
          timer = null;
          schedule();
        }, RESUME_DELAY_MS);
        return;
      }
      schedule();
    };
    const schedule = (): void => {
      if (scheduled || stopped) return;
      scheduled = true;
      setImmediate(flush);
    };
    /**
     * onReadable: normally just schedules a flush. But a job publishes without yielding for a
     * whole handler (a splitter emitting thousands of items) or engine slice (8 ms, thousands of
     * events), far more than the bounded queue holds, so a deferred flush alone drops events even
     * for a client that keeps up. Once the queue is half full, it is moved into the socket right
     * here, as long as the socket's send buffer is below the high-water mark: a client that keeps
     * up loses nothing, a slow one still costs at most its queue plus that buffer.
     */
    const ready = (): void => {
      const s = sub();
      if (!inline && !stopped && s !== null && s.queueSize >= s.maxQueueSize >> 1 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount <= HIGH_WATER_BYTES) {
        inline = true;
        try {
          sendSome(s, s.queueSize);
        } finally {
          inline = false;
        }
      }
      schedule();
    };
    return {
      ready,
      schedule,
      stop: () => {
        stopped = true;
        if (timer !== null) clearTimeout(timer);
        timer = null;
      },
    };
  }

  const eventMessage = (item: SubscriberItem): Message => {
    if (item.kind === "dropped") return { type: "events_dropped", job_id: item.job_id, count: item.count, next_seq: item.next_seq };
    // Serialised once, however many sockets the record is fanned out to.
    const event = item.event;
    let text = eventTexts.get(event);
    if (text === undefined) {
      text = JSON.stringify({ ...event.toJSON(), type: event.event_type });
      eventTexts.set(event, text);
    }
    return text;
  };

  function openJobSocket(ws: WebSocket, jobId: string, mode: "monitor" | "debug", afterSeq: number): void {
    const monitoring = runtime.monitoring;
    let subscriber: Subscriber | null = null;
    const { send, own } = setUp(ws, (text) => {
      const msg = parseMessage(text);
      if (!msg.ok) {
        send({ type: "error", command: null, id: null, message: msg.message, code: "BAD_MESSAGE" });
        return;
      }
      const body = msg.value;
      if (body.command === undefined && (body.type === "pong" || body.type === "ping")) {
        if (body.type === "ping") send({ type: "pong" });
        return;
      }
      const command = typeof body.command === "string" ? body.command.slice(0, 64) : null;
      const id = typeof body.id === "string" || typeof body.id === "number" ? body.id : null;
      if (mode !== "debug") {
        send({ type: "error", command, id, message: "This is a monitor socket: debug commands go to /api/ws/jobs/{job_id}/debug", code: "READ_ONLY_SOCKET" });
        return;
      }
      const outcome = executeDebugCommand(runtime, jobId, body as DebugCommand);
      if (outcome.ok) send({ type: "command_result", command, id, ok: true, data: outcome.data });
      else send({ type: "error", command, id, message: outcome.message, code: outcome.code });
    });

    // Live or restored from history: a restored job replays from the database.
    const status = runtime.jobSummary(jobId).status;
    send({ type: "connected", job_id: jobId, status, last_seq: monitoring.monitorCollector.traceInfo(jobId)?.last_seq ?? 0, mode, ...(mode === "debug" ? { session: runtime.jobSession(jobId) } : {}) });

    const flusher = pump(
      ws,
      () => subscriber,
      send,
      (item) => [eventMessage(item)],
      () => {
        // The job was removed from the store: nothing more will come.
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, closeReason(`Job '${jobId}' was removed`));
      },
    );
    subscriber = monitoring.eventManager.subscribe(jobId, { afterSeq, onReadable: flusher.ready });
    flusher.schedule();
    own(() => {
      flusher.stop();
      subscriber?.close();
    });
    if (mode === "debug") {
      own(
        monitoring.debugSessionManager.onSessionChange((session) => {
          if (session.jobId === jobId) send({ type: "session", session: session.toJSON() });
        }),
      );
    }
  }

  function openFlowSocket(ws: WebSocket, flowId: string): void {
    const seen = new Set<string>();
    let subscriber: Subscriber | null = null;
    const remember = (jobId: string): boolean => {
      if (seen.has(jobId)) return false;
      seen.add(jobId);
      if (seen.size > MAX_SEEN_JOBS) {
        const oldest = seen.values().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
      return true;
    };
    const { send, own } = setUp(ws, (text) => {
      const msg = parseMessage(text);
      if (!msg.ok) {
        send({ type: "error", command: null, id: null, message: msg.message, code: "BAD_MESSAGE" });
        return;
      }
      if (msg.value.type === "pong") return;
      if (msg.value.type === "ping") {
        send({ type: "pong" });
        return;
      }
      const command = typeof msg.value.command === "string" ? msg.value.command.slice(0, 64) : null;
      const id = typeof msg.value.id === "string" || typeof msg.value.id === "number" ? msg.value.id : null;
      send({ type: "error", command, id, message: "A flow monitor socket accepts no commands", code: "READ_ONLY_SOCKET" });
    });

    send({ type: "connected", flow_id: flowId });

    const flusher = pump(
      ws,
      () => subscriber,
      send,
      (item) => {
        if (item.kind === "dropped") return [eventMessage(item)];
        const ev = item.event;
        const out: Message[] = [];
        // A job started outside the runtime (no onJobStarted call) is announced by its first event.
        if (ev.event_type === "job_started" && remember(ev.job_id)) out.push({ type: "job_created", job_id: ev.job_id, flow_id: flowId });
        out.push(eventMessage(item));
        if (TERMINAL_EVENTS.has(ev.event_type)) seen.delete(ev.job_id);
        return out;
      },
    );
    // Announced at once: the job's events are still queued behind this message.
    own(
      runtime.onJobStarted((startedFlowId, job) => {
        if (startedFlowId === flowId && remember(job.jobId)) send({ type: "job_created", job_id: job.jobId, flow_id: flowId });
      }),
    );
    subscriber = runtime.monitoring.eventManager.subscribeFlow(flowId, { onReadable: flusher.ready });
    own(() => {
      flusher.stop();
      subscriber?.close();
    });
  }

  /** Runs once the upgrade is done: auth, id checks, then the socket's stream. */
  function onConnection(ws: WebSocket, route: Route | { invalid: string }, query: URLSearchParams): void {
    ws.on("error", () => {});
    const refuse = (reason: string): void => ws.close(POLICY_VIOLATION, closeReason(reason));
    const auth = checkKey(query.get("api_key"));
    if (!auth.ok) {
      refuse(auth.message);
      return;
    }
    if ("invalid" in route) {
      refuse(route.invalid);
      return;
    }
    if (route.kind === "flow") {
      if (!runtime.hasFlow(route.id)) {
        refuse(`Flow '${route.id}' not found`);
        return;
      }
      openFlowSocket(ws, route.id);
      return;
    }
    if (!runtime.hasJob(route.id)) {
      refuse(`Job '${route.id}' not found`);
      return;
    }
    const afterSeq = parseAfterSeq(query.get("after_seq"));
    if (afterSeq === null) {
      refuse("Invalid after_seq: a non-negative integer expected");
      return;
    }
    openJobSocket(ws, route.id, route.mode, afterSeq);
  }

  return {
    handleUpgrade(req, socket, head) {
      if (closed) {
        rejectUpgrade(socket, 503, "Service Unavailable");
        return;
      }
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://localhost");
      } catch {
        rejectUpgrade(socket, 400, "Bad Request");
        return;
      }
      const route = parseRoute(url.pathname);
      if (route === "not_found") {
        rejectUpgrade(socket, 404, "Not Found");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        tcpSockets.set(ws, socket);
        try {
          onConnection(ws, route, url.searchParams);
        } catch (err) {
          console.error("[ws] connection setup failed", err);
          ws.close(1011, "Internal error");
        }
      });
    },
    close() {
      closed = true;
      for (const dispose of [...cleanups]) dispose();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function parseMessage(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Malformed JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, message: "A message must be a JSON object" };
  return { ok: true, value: value as Record<string, unknown> };
}
