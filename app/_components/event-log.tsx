"use client";
/**
 * The job's trace, virtualised (tens of thousands of rows stay cheap); filter by type and routine;
 * a click selects the node and opens the event's full payload (`onOpen`).
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useStore } from "zustand";
import type { JobLiveStore } from "@/lib/client/live-store";
import { describeJobError } from "@/lib/client/run-state";
import type { TraceEvent } from "@/lib/wire";

const TYPES = ["job_started", "routine_start", "event_emit", "routine_complete", "routine_error", "breakpoint_hit", "log", "job_paused", "job_resumed", "job_completed", "job_failed", "job_cancelled"];

function summarize(e: TraceEvent): string {
  const d = e.data;
  const json = (v: unknown) => {
    const s = JSON.stringify(v);
    return s && s.length > 160 ? `${s.slice(0, 160)}…` : (s ?? "");
  };
  switch (e.event_type) {
    case "routine_start":
      return `${String(d.slot_name ?? "")} ← ${json(d.payload)}`;
    case "event_emit":
      return `${String(d.event_name ?? "")} → ${json(d.payload)}`;
    case "routine_complete":
      return e.duration !== null ? `${e.duration.toFixed(2)} ms` : "";
    case "routine_error":
      return `${String(d.error_type ?? "")}: ${String(d.message ?? "")} (${String(d.strategy ?? "")})`;
    case "log":
      return `${String(d.message ?? "")} ${d.data !== undefined ? json(d.data) : ""}`;
    case "breakpoint_hit":
    case "job_paused":
      return String(d.reason ?? "");
    case "job_failed":
      return d.error ? describeJobError(d.error) : "";
    default:
      return json(d);
  }
}

const ROW_HEIGHT = 24;
const OVERSCAN = 12;

/** `text` cut to `n` characters with an ellipsis (rows do not clip: see the row's style). */
function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** How often the log redraws while events stream: rows changing 60 times a second cannot be read, and each redraw costs the whole page a layout. */
const LOG_REFRESH_MS = 250;

/** The store's event version, re-rendering at most every `ms` (always including the last change). */
function useThrottledEventCount(store: JobLiveStore, ms: number): number {
  const [count, setCount] = useState(() => store.getState().eventCount);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const unsubscribe = store.subscribe((s, prev) => {
      if (s.eventCount === prev.eventCount || timer) return;
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        setCount(store.getState().eventCount);
      }, Math.max(0, last + ms - Date.now()));
    });
    setCount(store.getState().eventCount);
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, [store, ms]);
  return count;
}

function EventLogView({ store, onOpen }: { store: JobLiveStore; onOpen?: (seq: number) => void }) {
  const count = useThrottledEventCount(store, LOG_REFRESH_MS);
  // Read at (throttled) render time, not subscribed: a subscription would redraw every frame.
  const { lastSeq, missing } = store.getState().run;
  const log = useStore(store, (s) => s.log);
  const [type, setType] = useState("");
  const [routine, setRoutine] = useState("");
  const [follow, setFollow] = useState(true);
  // Filtered rows grow incrementally: only events appended since the last frame are tested.
  // Unfiltered, the log itself is the list (no copy per frame).
  const filtered = useRef({ log, type: "", routine: "", upTo: 0, list: [] as TraceEvent[] });
  // biome-ignore lint/correctness/useExhaustiveDependencies: `count` is the log's version (the array is appended in place)
  const rows = useMemo(() => {
    if (!type && !routine) return log;
    const f = filtered.current;
    if (f.log !== log || f.type !== type || f.routine !== routine) {
      filtered.current = { log, type, routine, upTo: 0, list: [] };
    }
    const cur = filtered.current;
    for (let i = cur.upTo; i < log.length; i++) {
      const e = log[i] as TraceEvent;
      if ((!type || e.event_type === type) && (!routine || e.routine_id === routine)) cur.list.push(e);
    }
    cur.upTo = log.length;
    return cur.list;
  }, [count, type, routine, log]);
  // Routines seen so far, collected incrementally (the log only grows at its end).
  const seen = useRef({ log, upTo: 0, ids: new Set<string>(), list: [] as string[] });
  // biome-ignore lint/correctness/useExhaustiveDependencies: `count` is the log's version
  const routines = useMemo(() => {
    if (seen.current.log !== log) seen.current = { log, upTo: 0, ids: new Set(seen.current.ids), list: seen.current.list };
    const s = seen.current;
    let added = false;
    for (let i = s.upTo; i < log.length; i++) {
      const r = log[i]?.routine_id;
      if (r && !s.ids.has(r)) {
        s.ids.add(r);
        added = true;
      }
    }
    s.upTo = log.length;
    if (added) s.list = [...s.ids].sort();
    return s.list;
  }, [count, log]);
  const parent = useRef<HTMLDivElement>(null);
  // Rows the panel has room for (measured when it resizes): what the tail view renders.
  const [tailRows, setTailRows] = useState(16);
  useEffect(() => {
    const el = parent.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setTailRows(Math.max(1, Math.ceil(el.clientHeight / ROW_HEIGHT))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => ROW_HEIGHT, overscan: OVERSCAN, enabled: !follow, useFlushSync: false });
  // Leaving the tail: the scrollable list opens at its end, where the user was looking.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only on the switch, not on every new row
  useLayoutEffect(() => {
    const el = parent.current;
    if (!follow && el) el.scrollTop = rows.length * ROW_HEIGHT;
  }, [follow]);
  const row = (e: TraceEvent, top: number) => (
    <button
      type="button"
      key={e.seq}
      className={`log-row t-${e.event_type}`}
      data-testid="event-log-row"
      data-event-type={e.event_type}
      data-seq={e.seq}
      data-routine-id={e.routine_id ?? ""}
      // `top`, not a transform, and no overflow clip in a row: a transform or a clip gives each
      // row its own paint properties, and rows that come and go as the log follows would make
      // the browser re-layerize the whole page (the 300-node graph too).
      style={{ top }}
      title="Open the full payload"
      onClick={() => {
        if (e.routine_id) store.getState().select(e.routine_id);
        onOpen?.(e.seq);
      }}
    >
      <span className="seq">{e.seq}</span>
      <span className="time">{e.timestamp.slice(11, 23)}</span>
      <span className="etype">{e.event_type}</span>
      <span className="rid" title={e.routine_id ?? undefined}>
        {clip(e.routine_id ?? "", 16)}
      </span>
      <span className="desc">{summarize(e)}</span>
    </button>
  );
  // As many rows above the visible ones as the scrolling list keeps (its overscan): they are
  // clipped, but recent history stays in the page for find-in-page and for tests.
  const tail = follow ? rows.slice(-(tailRows + OVERSCAN)) : [];
  return (
    <div className="event-log" data-testid="event-log" data-size={log.length} data-last-seq={lastSeq} data-missing={missing}>
      <div className="log-filters">
        <select value={type} onChange={(e) => setType(e.target.value)} data-testid="event-log-filter-type" aria-label="Filter by type">
          <option value="">all types</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <select value={routine} onChange={(e) => setRoutine(e.target.value)} data-testid="event-log-filter-routine" aria-label="Filter by routine">
          <option value="">all routines</option>
          {routines.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <label className="check small">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="event-log-follow" /> follow
        </label>
        <span className="muted small" data-testid="event-log-count">
          {rows.length} events
        </span>
      </div>
      <div
        ref={parent}
        className={`log-scroll${follow ? " tail" : ""}`}
        data-testid="event-log-scroll"
        role="log"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls with the keyboard
        tabIndex={0}
        // Scrolling back stops following (as in a terminal or the devtools console).
        onWheel={(ev) => {
          if (follow && ev.deltaY < 0) setFollow(false);
        }}
        onKeyDown={(ev) => {
          if (follow && ["ArrowUp", "PageUp", "Home"].includes(ev.key)) setFollow(false);
        }}
      >
        {follow ? (
          // Following, the log is its last rows, bottom-aligned: no scrolling, so no forced
          // layout and no scroll event (and re-render) on every refresh while events stream.
          <div className="log-tail" style={{ height: tail.length * ROW_HEIGHT }}>
            {tail.map((e, i) => row(e, i * ROW_HEIGHT))}
          </div>
        ) : (
          <div style={{ height: v.getTotalSize(), position: "relative" }}>
            {v.getVirtualItems().map((item) => {
              const e = rows[item.index];
              return e ? row(e, item.start) : null;
            })}
          </div>
        )}
      </div>
    </div>
  );
}

/** Redrawn by its own (throttled) subscription only, not whenever the job view re-renders (each metrics poll, each status change). */
export const EventLog = memo(EventLogView);
