/**
 * Keeps a job's live store fed from socket.io: subscribes with `after_seq` = the last applied
 * seq (so a reconnect replays exactly what was missed), applies incoming events once per
 * animation frame, and fills any seq gap (a dropped batch) from the REST trace before going on.
 */
import { io, type Socket } from "socket.io-client";
import { api, getApiKey } from "./api";
import type { JobLiveStore } from "./live-store";
import type { ClientToServerEvents, FlowsReloaded, FlowsReloadFailed, ServerToClientEvents, SessionSnapshot, SubscribeAck, TraceEvent } from "../wire";

/** The page's socket.io connection, typed by the contract's event maps. */
export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const nextFrame: (cb: () => void) => void =
  typeof requestAnimationFrame === "function" ? (cb) => requestAnimationFrame(() => cb()) : (cb) => setTimeout(cb, 16);

/** One socket per page; every job view shares it. */
let shared: LiveSocket | null = null;
export function liveSocket(): LiveSocket {
  shared ??= io({ path: "/socket.io/", transports: ["websocket"], auth: { api_key: getApiKey() ?? undefined }, reconnectionDelay: 250, reconnectionDelayMax: 2000 });
  return shared;
}

export function connectJob(store: JobLiveStore, socket: LiveSocket = liveSocket()): () => void {
  const jobId = store.getState().jobId;
  let pending: TraceEvent[] = [];
  let frameScheduled = false;
  let filling = false;
  let closed = false;

  const schedule = (): void => {
    if (frameScheduled || closed) return;
    frameScheduled = true;
    nextFrame(flush);
  };

  const fill = async (after: number, before: number): Promise<void> => {
    let cursor = after;
    while (!closed && cursor < before - 1) {
      const page = await api.trace(jobId, { after_seq: cursor, limit: Math.min(1000, before - 1 - cursor) });
      const events = page.events.filter((e) => e.seq < before);
      if (events.length === 0) return; // no longer retained: the run state counts them missing
      store.getState().applyEvents(events);
      cursor = events[events.length - 1]?.seq ?? before;
    }
  };

  function flush(): void {
    frameScheduled = false;
    if (closed || filling || pending.length === 0) return;
    pending.sort((a, b) => a.seq - b.seq);
    const last = store.getState().run.lastSeq;
    const first = pending[0]?.seq ?? 0;
    if (first > last + 1) {
      filling = true;
      fill(last, first)
        .catch(() => {})
        .finally(() => {
          filling = false;
          // Apply what is pending even if the gap could not be filled.
          const batch = pending;
          pending = [];
          store.getState().applyEvents(batch);
          schedule();
        });
      return;
    }
    const batch = pending;
    pending = [];
    store.getState().applyEvents(batch);
  }

  const onEvents = (events: TraceEvent[]): void => {
    if (!Array.isArray(events) || events.length === 0 || events[0]?.job_id !== jobId) return;
    for (const e of events) pending.push(e);
    schedule();
  };
  const onSession = (s: SessionSnapshot): void => {
    if (s?.job_id === jobId) store.getState().setSession(s);
  };
  const subscribe = (): void => {
    socket.emit("subscribe", { job_id: jobId, after_seq: store.getState().run.lastSeq }, (ack: SubscribeAck) => {
      if (closed) return;
      if (ack?.ok) {
        store.getState().setConnection("connected");
        if ("session" in ack) store.getState().setSession(ack.session);
      } else {
        store.getState().setConnection("offline");
      }
    });
  };
  const onConnect = (): void => subscribe();
  const onDisconnect = (): void => {
    if (!closed) store.getState().setConnection("reconnecting");
  };
  const onConnectError = (): void => {
    if (!closed) store.getState().setConnection(store.getState().connection === "offline" ? "offline" : "reconnecting");
  };

  socket.on("events", onEvents);
  socket.on("session", onSession);
  socket.on("connect", onConnect);
  socket.on("disconnect", onDisconnect);
  socket.on("connect_error", onConnectError);
  if (socket.connected) subscribe();
  else socket.connect();

  return () => {
    closed = true;
    socket.off("events", onEvents);
    socket.off("session", onSession);
    socket.off("connect", onConnect);
    socket.off("disconnect", onDisconnect);
    socket.off("connect_error", onConnectError);
    if (socket.connected) socket.emit("unsubscribe", { job_id: jobId });
  };
}

export interface ReloadHandlers {
  reloaded(info: FlowsReloaded): void;
  failed(info: FlowsReloadFailed): void;
  /** The connection is (again) up: what happened while it was down is only in GET /api/dev/status. */
  connected(): void;
}

/** Follows the server's reloads of the program's code (routilux dev); returns the way to stop. */
export function watchReloads(handlers: ReloadHandlers, socket: LiveSocket = liveSocket()): () => void {
  const onReloaded = (info: FlowsReloaded): void => handlers.reloaded(info);
  const onFailed = (info: FlowsReloadFailed): void => handlers.failed(info);
  const onConnect = (): void => handlers.connected();
  socket.on("flows_reloaded", onReloaded);
  socket.on("flows_reload_failed", onFailed);
  socket.on("connect", onConnect);
  if (!socket.connected) socket.connect();
  return () => {
    socket.off("flows_reloaded", onReloaded);
    socket.off("flows_reload_failed", onFailed);
    socket.off("connect", onConnect);
  };
}
