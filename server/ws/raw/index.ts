/**
 * Raw WebSockets (package `ws`), the compatibility path:
 *
 * - `/api/ws/jobs/{job_id}/monitor` and `/api/ws/jobs/{job_id}/debug` (job-socket.ts);
 * - `/api/ws/flows/{flow_id}/monitor` (flow-socket.ts).
 *
 * Every message is defined in lib/wire (`RawServerMessageSchemas`, `RawClientMessageSchema`).
 * Each connection drains its own bounded subscriber queue with back-pressure (transport/pump.ts);
 * what a slow client misses is reported as `{type: "events_dropped", job_id, count, next_seq}`.
 * Heartbeat: `{type: "ping"}` plus a protocol ping every ROUTILUX_WS_PING_MS (15 s); a peer
 * silent for two heartbeats is terminated. A bad id, key or `after_seq` closes the socket with
 * 1008 and a reason naming it.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Runtime } from "../../../lib";
import { isId, shownId } from "../../../lib/wire";
import { checkKey } from "../../api/auth";
import { clientMaxBytes } from "../../transport/client-bound";
import { closeReason, openConnection, tcpSockets } from "./connection";
import { openFlowSocket, onFlowCommand } from "./flow-socket";
import { type JobSocketMode, onJobCommand, openJobSocket } from "./job-socket";

const PATH_RE = /^\/api\/ws\/(jobs|flows)\/([^/]+)\/(monitor|debug)\/?$/;
const MAX_PAYLOAD = 1024 * 1024;
const DEFAULT_PING_MS = 15_000;
const POLICY_VIOLATION = 1008;

/** What a socket path points at. */
type SocketTarget = { kind: "job"; mode: JobSocketMode; id: string } | { kind: "flow"; id: string };

export interface RawWebSockets {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

function pingInterval(): number {
  const raw = Number(process.env.ROUTILUX_WS_PING_MS);
  return Number.isFinite(raw) && raw >= 10 ? Math.floor(raw) : DEFAULT_PING_MS;
}

function parseTarget(pathname: string): SocketTarget | "not_found" | { invalid: string } {
  const m = PATH_RE.exec(pathname);
  if (!m) return "not_found";
  const [, collection, rawId = "", mode] = m;
  if (collection === "flows" && mode !== "monitor") return "not_found";
  const noun = collection === "flows" ? "flow" : "job";
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return { invalid: `Invalid ${noun} id` };
  }
  if (!isId(id)) return { invalid: `Invalid ${noun} id '${shownId(id, 64)}'` };
  return collection === "flows" ? { kind: "flow", id } : { kind: "job", mode: mode === "debug" ? "debug" : "monitor", id };
}

function parseAfterSeq(value: string | null): number | null {
  if (value === null || value === "") return 0;
  if (!/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/** Answers an upgrade request with an HTTP error (no WebSocket) and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, text: string, answer: unknown = { error: text }): void {
  socket.on("error", () => {});
  if (socket.writable) {
    const body = JSON.stringify(answer);
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy();
}

export function attachRawWebSockets(runtime: Runtime): RawWebSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, clientTracking: true });
  const pingMs = pingInterval();
  const maxBytes = clientMaxBytes();
  const cleanups = new Set<() => void>();
  let closed = false;

  /** Why a connection is refused (auth, ids, `after_seq`), or null. */
  function refusal(target: SocketTarget | { invalid: string }, query: URLSearchParams): string | null {
    const auth = checkKey(query.get("api_key"));
    if (!auth.ok) return auth.message;
    if ("invalid" in target) return target.invalid;
    if (target.kind === "flow") return runtime.hasFlow(target.id) ? null : `Flow '${target.id}' not found`;
    if (!runtime.hasJob(target.id)) return `Job '${target.id}' not found`;
    return parseAfterSeq(query.get("after_seq")) === null ? "Invalid after_seq: a non-negative integer expected" : null;
  }

  /** Runs once the upgrade is done: checks, then the socket's stream. */
  function onConnection(ws: WebSocket, target: SocketTarget | { invalid: string }, query: URLSearchParams): void {
    ws.on("error", () => {});
    const refused = refusal(target, query);
    if (refused !== null || "invalid" in target) {
      ws.close(POLICY_VIOLATION, closeReason(refused ?? "Refused"));
      return;
    }
    if (target.kind === "flow") {
      openFlowSocket(openConnection(ws, runtime, { pingMs, maxBytes, cleanups, onCommand: onFlowCommand }), target.id);
      return;
    }
    const { id, mode } = target;
    const conn = openConnection(ws, runtime, { pingMs, maxBytes, cleanups, onCommand: (c, msg) => onJobCommand(c, id, mode, msg) });
    openJobSocket(conn, id, mode, parseAfterSeq(query.get("after_seq")) ?? 0);
  }

  return {
    handleUpgrade(req, socket, head) {
      if (closed) return rejectUpgrade(socket, 503, "Service Unavailable");
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://localhost");
      } catch {
        return rejectUpgrade(socket, 400, "Bad Request");
      }
      const target = parseTarget(url.pathname);
      if (target === "not_found") return rejectUpgrade(socket, 404, "Not Found");
      wss.handleUpgrade(req, socket, head, (ws) => {
        tcpSockets.set(ws, socket);
        try {
          onConnection(ws, target, url.searchParams);
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
