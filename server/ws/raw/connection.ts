/**
 * What every raw WebSocket connection has: typed sends, a heartbeat that ends silent peers,
 * parsing of client messages, and cleanup when it closes.
 */
import type { Duplex } from "node:stream";
import { type RawData, WebSocket } from "ws";
import type { Runtime } from "../../../lib";
import { RawClientMessageSchema, type RawServerMessage } from "../../../lib/wire";
import { queueFullReason } from "../../transport/client-bound";

const POLICY_VIOLATION = 1008;

/** The socket each WebSocket was upgraded from (its frames are corked around a batch). */
export const tcpSockets = new WeakMap<WebSocket, Duplex>();

/**
 * A message to send: a typed object, or JSON already serialised (a trace event fanned out: its
 * UTF-8 bytes, made once and shared by every socket it goes to).
 */
export type Outgoing = RawServerMessage | string | Buffer;

export interface Connection {
  readonly ws: WebSocket;
  readonly runtime: Runtime;
  /** Sends, unless that takes the client over its bound of unread bytes: then it is disconnected. */
  send(message: Outgoing): void;
  /** Runs `fn` when the connection closes. */
  own(fn: () => void): void;
  /** Sends an error reply to what the client sent. */
  reject(command: string | null, id: string | number | null, code: string, message: string): void;
}

/** A debug command as received: `{command, id?, ...arguments}`. */
export interface IncomingCommand {
  command: string;
  id: string | number | null;
  body: Record<string, unknown>;
}

export interface ConnectionOptions {
  pingMs: number;
  /** Bytes the client may leave unread (transport/client-bound.ts). */
  maxBytes: number;
  /** Registry of cleanups, run when the server closes. */
  cleanups: Set<() => void>;
  onCommand(conn: Connection, command: IncomingCommand): void;
}

/** A close reason within the protocol's 123-byte limit. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = text;
  while (Buffer.byteLength(`${out}…`) > 123) out = out.slice(0, -1);
  return `${out}…`;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** The command name and id of a message, if it has them in a usable form (for error replies). */
function addressOf(value: unknown): { command: string | null; id: string | number | null } {
  const v = (typeof value === "object" && value !== null ? value : {}) as { command?: unknown; id?: unknown };
  return {
    command: typeof v.command === "string" ? v.command.slice(0, 64) : null,
    id: typeof v.id === "string" || typeof v.id === "number" ? v.id : null,
  };
}

export function openConnection(ws: WebSocket, runtime: Runtime, options: ConnectionOptions): Connection {
  const disposers: (() => void)[] = [];
  let missed = 0;
  let disposed = false;
  const send = (message: Outgoing): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const data = typeof message === "string" || Buffer.isBuffer(message) ? message : JSON.stringify(message);
    const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.length;
    // Replies count against the same bound as events: a client that asks and never reads is
    // disconnected instead of growing the send buffer without end.
    if (ws.bufferedAmount + bytes > options.maxBytes) {
      overflow();
      return;
    }
    ws.send(data, { binary: false });
  };
  const conn: Connection = {
    ws,
    runtime,
    send,
    own: (fn) => disposers.push(fn),
    reject: (command, id, code, message) => send({ type: "error", command, id, message, code }),
  };
  const heartbeat = setInterval(() => {
    if (missed >= 2) {
      ws.terminate();
      return;
    }
    missed++;
    send({ type: "ping" });
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  }, options.pingMs);
  heartbeat.unref();
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
    options.cleanups.delete(dispose);
  };
  /** Over the bound: released now (its subscriptions and listeners), then closed with the reason. */
  const overflow = (): void => {
    dispose();
    ws.close(POLICY_VIOLATION, queueFullReason(options.maxBytes));
  };
  options.cleanups.add(dispose);
  ws.on("pong", () => {
    missed = 0;
  });
  ws.on("error", (err) => console.error("[ws] socket error:", err.message));
  ws.on("close", dispose);
  ws.on("message", (data: RawData, isBinary: boolean) => {
    // Disconnected for its unread bytes: what it still sends is not run.
    if (disposed) return;
    missed = 0;
    if (isBinary) {
      conn.reject(null, null, "BAD_MESSAGE", "Binary messages are not supported; send JSON text");
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(rawToString(data));
    } catch (err) {
      conn.reject(null, null, "BAD_MESSAGE", `Malformed JSON: ${(err as Error).message.slice(0, 200)}`);
      return;
    }
    const { command, id } = addressOf(value);
    const parsed = RawClientMessageSchema.safeParse(value);
    if (!parsed.success) {
      const message = typeof value !== "object" || value === null || Array.isArray(value) ? "A message must be a JSON object" : "A message needs a 'command' string (or is a ping/pong)";
      conn.reject(command, id, "BAD_MESSAGE", message);
      return;
    }
    const msg = parsed.data;
    if ("type" in msg) {
      if (msg.type === "ping") send({ type: "pong" });
      return;
    }
    options.onCommand(conn, { command: msg.command.slice(0, 64), id, body: value as Record<string, unknown> });
  });
  return conn;
}
