"use client";
/**
 * Time travel in the job view: the scrubber under the graph (`timeline`, `timeline-position`),
 * the panel with the activation at that point (its input and outputs, the shared data then, and
 * "re-run from here"), and the lane view (one lane per routine, a bar per activation over time).
 */
import { useQuery } from "@tanstack/react-query";
import { type KeyboardEvent, useMemo } from "react";
import { useStore } from "zustand";
import { api } from "@/lib/client/api";
import type { ActivationSpan } from "@/lib/client/timeline";
import type { ForkTarget } from "./fork-dialog";
import { type TimelineController, useLastSeq } from "./use-timeline";

export function TimelineBar({ t }: { t: TimelineController }) {
  const lastSeq = useLastSeq(t.store);
  const travelSeq = useStore(t.store, (s) => s.travel?.seq ?? null);
  const ev = useStore(t.store, (s) => s.travel?.event ?? null);
  const position = travelSeq ?? lastSeq;
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    // ←/→ one event, Shift+←/→ one activation (the previous / next routine_start).
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    t.step(e.key === "ArrowLeft" ? -1 : 1, e.shiftKey);
  };
  return (
    <div className={`timeline-bar${t.live ? "" : " travelling"}`}>
      <span className="muted small">Timeline</span>
      <input
        type="range"
        data-testid="timeline"
        aria-label="Timeline: the job as it was after this event (←/→ one event, Shift+←/→ one activation)"
        min={0}
        max={lastSeq}
        step={1}
        value={position}
        disabled={!t.usable}
        onChange={(e) => t.goTo(Number(e.target.value))}
        onKeyDown={onKey}
        // Reaching for the scrubber indexes the job's trace and folds its checkpoints, so the first
        // step is as quick as the others.
        onFocus={t.prepare}
        onPointerEnter={t.prepare}
      />
      <span className="timeline-position mono small" data-testid="timeline-position" data-seq={position} data-live={t.live ? "true" : "false"}>
        #{position}/{lastSeq}
        {ev ? ` · ${ev.event_type}${ev.routine_id ? ` ${ev.routine_id}` : ""}` : t.live ? " · live" : ""}
      </span>
      {t.loading && <span className="muted small">…</span>}
      {t.error && (
        <span className="field-error" role="alert" data-testid="timeline-error">
          {t.error}
        </span>
      )}
      {t.unusableReason && <span className="muted small" data-testid="timeline-unusable">No time travel: {t.unusableReason}</span>}
      <button type="button" className="small" data-testid="timeline-live" disabled={t.live} onClick={t.backToLive} title="Follow the job again">
        Back to live
      </button>
    </div>
  );
}

/** The activation the timeline is on: input, outputs up to there, the shared data then; fork from it. */
export function TravelPanel({ jobId, t, onFork }: { jobId: string; t: TimelineController; onFork(target: ForkTarget): void }) {
  const p = useStore(t.store, (s) => s.travel);
  const seq = p?.seq ?? 0;
  const span = p?.activation ?? null;
  // The server's state at this seq: full payloads and the shared data then.
  const state = useQuery({ queryKey: ["state-at", jobId, seq], queryFn: () => api.stateAt(jobId, seq), enabled: p !== null, retry: false, staleTime: Number.POSITIVE_INFINITY });
  // When the state API cannot answer (e.g. the events are no longer retained), the activation's payloads from its inputs and outputs.
  const io = useQuery({
    queryKey: ["io", jobId, span?.routineId ?? "", "activation-fallback"],
    queryFn: () => api.io(jobId, { routine_id: span?.routineId, limit: 1000 }),
    enabled: span !== null && state.isError,
    retry: false,
  });
  const fromIo = useMemo(() => {
    if (!span || !io.data) return null;
    const input = io.data.rows.find((r) => r.kind === "input" && r.seq === span.startSeq);
    if (!input) return null;
    const outputs = io.data.rows.filter((r) => r.kind === "output" && r.activation_id !== null && r.activation_id === input.activation_id && r.seq <= seq);
    return { input: input.payload, outputs: outputs.map((o) => ({ seq: o.seq, event_name: o.event_name ?? "", payload: o.payload })) };
  }, [io.data, span, seq]);

  if (!p) {
    return (
      <section className="panel" data-testid="travel-panel" data-live="true">
        <h3>Time travel</h3>
        <p className="muted small">Live. Move the timeline under the graph (or press ←/→ on it) to see the job as it was at any event, then re-run from there.</p>
      </section>
    );
  }
  const act = state.data?.activation ?? null;
  const input = act ? act.input : (fromIo?.input ?? undefined);
  const outputs = act ? act.outputs.map((o) => ({ seq: o.seq, event_name: o.event_name, payload: o.payload })) : (fromIo?.outputs ?? []);
  return (
    <section className="panel" data-testid="travel-panel" data-live="false" data-seq={seq}>
      <h3>
        At #{seq}
        {span ? (
          <span className="mono">
            {" "}
            · {span.routineId}.{span.slotName ?? ""}
          </span>
        ) : null}
      </h3>
      {span ? (
        <>
          <div className="var-scope-title">
            Input <span className="muted small">#{span.startSeq}</span>
          </div>
          {input === undefined ? (
            <div className="muted small">{state.isPending || io.isPending ? "Loading…" : "Not recorded."}</div>
          ) : (
            <pre className="code travel-json" data-testid="travel-input" data-start-seq={span.startSeq}>
              {JSON.stringify(input, null, 2)}
            </pre>
          )}
          <div className="var-scope-title">Outputs up to #{seq}</div>
          {outputs.length === 0 ? (
            <div className="muted small">none</div>
          ) : (
            outputs.map((o) => (
              <pre key={o.seq} className="code travel-json" data-testid="travel-output" data-seq={o.seq}>
                → {o.event_name} #{o.seq} {JSON.stringify(o.payload)}
              </pre>
            ))
          )}
          <button
            type="button"
            className="primary small"
            data-testid="fork-from-here"
            data-seq={span.startSeq}
            disabled={input === undefined}
            onClick={() => onFork({ fromSeq: span.startSeq, routineId: span.routineId, slotName: span.slotName, input })}
            title="A new job of this flow that begins with this activation (input editable); this job stays as it is"
          >
            ↻ Re-run from here
          </button>
        </>
      ) : (
        <p className="muted small">{p.event ? `${p.event.event_type}: a job-level event, no activation.` : "Before the first event."}</p>
      )}
      <div className="var-scope-title">Shared data at #{seq}</div>
      {state.data ? (
        <pre className="code travel-json" data-testid="travel-shared">
          {JSON.stringify(state.data.shared_data, null, 2)}
        </pre>
      ) : state.isError ? (
        <div className="muted small" data-testid="travel-shared-unavailable">
          Not available: {(state.error as Error).message}
        </div>
      ) : (
        <div className="muted small">Loading…</div>
      )}
    </section>
  );
}

const LANE_HEIGHT = 22;
const LABEL_WIDTH = 120;
/** The lane view draws at most this many bars (the newest); a longer job is summarised by them. */
const MAX_BARS = 3000;

/** One lane per routine, one bar per activation from its start to its end, over wall time. */
export function LaneView({ t }: { t: TimelineController }) {
  const lastSeq = useLastSeq(t.store);
  // Rebuilt when events arrived (the timeline is rebuilt on demand then).
  const lanes = useMemo(() => {
    const tl = t.timeline();
    if (lastSeq === 0) return { t0: 0, span: 1, rows: [] as [string, ActivationSpan[]][], clipped: 0 };
    const all = tl.activations;
    const shown = all.length > MAX_BARS ? all.slice(-MAX_BARS) : all;
    const t0 = tl.events[0] ? Date.parse(tl.events[0].timestamp) : 0;
    const last = tl.events.at(-1);
    const t1 = last ? Date.parse(last.timestamp) : t0;
    const by = new Map<string, ActivationSpan[]>();
    for (const a of shown) {
      const l = by.get(a.routineId);
      if (l) l.push(a);
      else by.set(a.routineId, [a]);
    }
    return { t0, span: Math.max(1, t1 - t0), rows: [...by.entries()], clipped: all.length - shown.length };
  }, [lastSeq, t.timeline]);
  const x = (ms: number): string => `${((ms - lanes.t0) / lanes.span) * 100}%`;
  const posEvent = useStore(t.store, (s) => s.travel?.event ?? null);
  const posActivation = useStore(t.store, (s) => s.travel?.activation ?? null);
  return (
    <div className="lanes" data-testid="lanes">
      {lanes.clipped > 0 && <div className="muted small">The newest {MAX_BARS} activations ({lanes.clipped} earlier ones not drawn).</div>}
      {lanes.rows.length === 0 && <div className="muted small">No activations yet.</div>}
      {lanes.rows.map(([routineId, spans]) => (
        <div key={routineId} className="lane" data-testid={`lane-${routineId}`} style={{ height: LANE_HEIGHT }}>
          <span className="lane-label mono small" style={{ width: LABEL_WIDTH }} title={routineId}>
            {routineId}
          </span>
          <div className="lane-track">
            {spans.map((a) => {
              const end = a.endMs ?? lanes.t0 + lanes.span;
              const on = posActivation !== null && posActivation.routineId === a.routineId && posActivation.startSeq === a.startSeq;
              return (
                <button
                  type="button"
                  key={a.startSeq}
                  className={`lane-bar lane-${a.outcome}${on ? " on" : ""}`}
                  data-testid="lane-bar"
                  data-seq={a.startSeq}
                  data-routine-id={a.routineId}
                  style={{ left: x(a.startMs), width: `max(3px, ${((end - a.startMs) / lanes.span) * 100}%)` }}
                  title={`${a.routineId}.${a.slotName ?? ""} #${a.startSeq}${a.endSeq ? `–#${a.endSeq}` : ""} · ${a.outcome}${a.attempt ? ` · attempt ${a.attempt}` : ""} · ${a.endMs !== null ? `${a.endMs - a.startMs} ms` : "running"}`}
                  onClick={() => t.goTo(a.startSeq)}
                />
              );
            })}
            {posEvent && <span className="lane-cursor" style={{ left: x(Date.parse(posEvent.timestamp)) }} />}
          </div>
        </div>
      ))}
    </div>
  );
}
