/**
 * `/api/ws/jobs/{job_id}/monitor` and `/debug`: `{type: "connected", ...}`, the retained events
 * after `?after_seq=`, then live events. The debug socket also runs debug commands
 * (`{command, id?, ...}` → `command_result` or `error`) and pushes `session` updates.
 */
import type { Subscriber } from "../../../lib";
import { socketQueueEvents } from "../../transport/client-bound";
import { argsOf, commandFailure, runCommand } from "../../transport/commands";
import { type Connection, closeReason, type IncomingCommand } from "./connection";
import { NOTIFY_EVERY } from "../../transport/pump";
import { eventMessage, socketPump } from "./events";

export type JobSocketMode = "monitor" | "debug";

/** Runs a debug command sent on a job's socket and replies with its result or error. */
export function onJobCommand(conn: Connection, jobId: string, mode: JobSocketMode, msg: IncomingCommand): void {
  if (mode !== "debug") {
    conn.reject(msg.command, msg.id, "READ_ONLY_SOCKET", "This is a monitor socket: debug commands go to /api/ws/jobs/{job_id}/debug");
    return;
  }
  runCommand(conn.runtime, jobId, msg.command, argsOf(msg.body)).then(
    (data) => conn.send({ type: "command_result", command: msg.command, id: msg.id, ok: true, data }),
    (err: unknown) => {
      const failure = commandFailure(err);
      conn.reject(msg.command, msg.id, failure.code, failure.message);
    },
  );
}

export function openJobSocket(conn: Connection, jobId: string, mode: JobSocketMode, afterSeq: number): void {
  const { runtime, ws } = conn;
  const monitoring = runtime.monitoring;
  // Live or restored from history: a restored job replays from the database.
  const status = runtime.jobSummary(jobId).status;
  const last_seq = monitoring.monitorCollector.traceInfo(jobId)?.last_seq ?? 0;
  conn.send(mode === "debug" ? { type: "connected", job_id: jobId, status, last_seq, mode, session: runtime.jobSession(jobId) } : { type: "connected", job_id: jobId, status, last_seq, mode });

  const pump = socketPump(
    conn,
    (item) => [eventMessage(item)],
    () => {
      // The job was removed from the store: nothing more will come.
      ws.close(1000, closeReason(`Job '${jobId}' was removed`));
    },
  );
  const subscriber: Subscriber = monitoring.eventManager.subscribe(jobId, { afterSeq, maxQueueSize: socketQueueEvents(), notifyEvery: NOTIFY_EVERY, onReadable: pump.ready });
  pump.add(subscriber);
  conn.own(() => {
    pump.stop();
    subscriber.close();
  });
  if (mode === "debug") {
    conn.own(
      runtime.onSessionChange((changed, session) => {
        if (changed === jobId) conn.send({ type: "session", session: session() });
      }),
    );
  }
}
