/** Trace events and loss reports as raw WebSocket messages, with the pump that sends them. */
import { WebSocket } from "ws";
import type { SubscriberItem, TraceRecord } from "../../../lib";
import { Pump, type PumpSink } from "../../transport/pump";
import { type Connection, type Outgoing, tcpSockets } from "./connection";

/** Stop draining while this much is waiting in the socket's send buffer. */
const HIGH_WATER_BYTES = 1024 * 1024;

/** The JSON of each trace record sent (UTF-8), shared by all the sockets it fans out to. */
const eventTexts = new WeakMap<TraceRecord, Buffer>();

/** A subscriber item as a message: the trace record plus `type` = its event type, or a loss report. */
export function eventMessage(item: SubscriberItem): Outgoing {
  if (item.kind === "dropped") return { type: "events_dropped", job_id: item.job_id, count: item.count, next_seq: item.next_seq };
  // Serialised once, however many sockets the record is fanned out to.
  const event = item.event;
  let text = eventTexts.get(event);
  if (text === undefined) {
    text = Buffer.from(JSON.stringify({ ...event.toJSON(), type: event.event_type }));
    eventTexts.set(event, text);
  }
  return text;
}

/** A pump into this socket; `framing` turns one item into the messages to send. */
export function socketPump(conn: Connection, framing: (item: SubscriberItem) => Outgoing[], ended?: PumpSink["ended"]): Pump {
  const { ws } = conn;
  // The TCP socket under `ws` (Nagle is off): corked around a batch, its frames leave in one
  // writev instead of one syscall (and one loopback segment) per message.
  const raw = tcpSockets.get(ws);
  return new Pump({
    congested: () => ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > HIGH_WATER_BYTES,
    send: (items) => {
      for (const item of items) for (const msg of framing(item)) conn.send(msg);
    },
    batch: (flush) => {
      raw?.cork();
      try {
        flush();
      } finally {
        raw?.uncork();
      }
    },
    ended,
  });
}
