/**
 * The bound on what one socket client may leave unread (raw WebSocket or socket.io): everything
 * written to it and not yet taken by it — trace events, command replies, session updates — in
 * bytes. Events stop being written well below it (at the pump's high-water mark; the rest waits
 * in the subscriber's queue, and what overflows that is reported as `events_dropped`); a reply
 * or other message that would take a client over it disconnects the client with a reason, so a
 * client that asks and never reads costs at most this much, and nothing once it is gone.
 *
 * `ROUTILUX_CLIENT_MAX_BYTES` (default 16 MiB, at least 1 MiB).
 */

export const DEFAULT_CLIENT_MAX_BYTES = 16 * 1024 * 1024;
const MIN_CLIENT_MAX_BYTES = 1024 * 1024;

/** The error code a client disconnected for reading too little is told. */
export const CLIENT_QUEUE_FULL = "CLIENT_QUEUE_FULL";

export function clientMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ROUTILUX_CLIENT_MAX_BYTES;
  if (raw === undefined || raw.trim() === "") return DEFAULT_CLIENT_MAX_BYTES;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < MIN_CLIENT_MAX_BYTES) {
    console.warn(`[ws] ROUTILUX_CLIENT_MAX_BYTES=${raw} is not a number of bytes >= ${MIN_CLIENT_MAX_BYTES}; using ${DEFAULT_CLIENT_MAX_BYTES}`);
    return DEFAULT_CLIENT_MAX_BYTES;
  }
  return Math.floor(n);
}

/** Why the client was disconnected (fits a WebSocket close reason, 123 bytes). */
export function queueFullReason(limit: number): string {
  return `${CLIENT_QUEUE_FULL}: over ${limit} bytes unread (events and replies); read faster or ask less`;
}

/**
 * Trace events one socket subscription may have queued before the oldest are dropped (reported
 * as `events_dropped`). Records are shared by every subscriber, so a queue holds references.
 * `ROUTILUX_WS_QUEUE_EVENTS` (default 1,000, at least 100). A client that keeps up may queue
 * up to 8 times that while the fan-out has not had time for it (a handler emitting thousands of
 * items without yielding), so it loses none of such a burst; a client that does not read is held
 * to the bound.
 */
export const DEFAULT_SOCKET_QUEUE_EVENTS = 1000;

export function socketQueueEvents(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ROUTILUX_WS_QUEUE_EVENTS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_SOCKET_QUEUE_EVENTS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 100) {
    console.warn(`[ws] ROUTILUX_WS_QUEUE_EVENTS=${raw} is not an integer >= 100; using ${DEFAULT_SOCKET_QUEUE_EVENTS}`);
    return DEFAULT_SOCKET_QUEUE_EVENTS;
  }
  return n;
}
