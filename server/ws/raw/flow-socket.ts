/**
 * `/api/ws/flows/{flow_id}/monitor`: `{type: "connected", flow_id}`, a `{type: "job_running", ...}`
 * for each job of the flow running then (its `first_seq` lets the client replay its start from
 * the job's own monitor), then every event of every job of the flow, with
 * `{type: "job_created", job_id, flow_id}` before a new job's events.
 */
import { TERMINAL_EVENT_TYPES } from "../../../lib/wire";
import type { Connection, IncomingCommand, Outgoing } from "./connection";
import { socketQueueEvents } from "../../transport/client-bound";
import { NOTIFY_EVERY } from "../../transport/pump";
import { eventMessage, socketPump } from "./events";

/** Job ids a flow monitor remembers having announced (bounded, oldest forgotten first). */
const MAX_SEEN_JOBS = 10_000;

export function onFlowCommand(conn: Connection, msg: IncomingCommand): void {
  conn.reject(msg.command, msg.id, "READ_ONLY_SOCKET", "A flow monitor socket accepts no commands");
}

export function openFlowSocket(conn: Connection, flowId: string): void {
  const { runtime } = conn;
  const seen = new Set<string>();
  const remember = (jobId: string): boolean => {
    if (seen.has(jobId)) return false;
    seen.add(jobId);
    if (seen.size > MAX_SEEN_JOBS) {
      const oldest = seen.values().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    return true;
  };
  conn.send({ type: "connected", flow_id: flowId });

  const pump = socketPump(conn, (item) => {
    if (item.kind === "dropped") return [eventMessage(item)];
    const ev = item.event;
    const out: Outgoing[] = [];
    // A job started outside the runtime (no onJobStarted call) is announced by its first event.
    if (ev.event_type === "job_started" && remember(ev.job_id)) out.push({ type: "job_created", job_id: ev.job_id, flow_id: flowId });
    out.push(eventMessage(item));
    if (TERMINAL_EVENT_TYPES.has(ev.event_type)) seen.delete(ev.job_id);
    return out;
  });
  // Announced at once: the job's events are still queued behind this message.
  conn.own(
    runtime.onJobStarted((startedFlowId, jobId) => {
      if (startedFlowId === flowId && remember(jobId)) conn.send({ type: "job_created", job_id: jobId, flow_id: flowId });
    }),
  );
  // Announced in the same synchronous step as the subscription is made: its live events of each
  // announced job start right after the announced last_seq.
  for (const info of runtime.runningJobs(flowId)) {
    remember(info.job_id);
    conn.send({ type: "job_running", ...info });
  }
  const subscriber = runtime.monitoring.eventManager.subscribeFlow(flowId, { maxQueueSize: socketQueueEvents(), notifyEvery: NOTIFY_EVERY, onReadable: pump.ready });
  pump.add(subscriber);
  conn.own(() => {
    pump.stop();
    subscriber.close();
  });
}
