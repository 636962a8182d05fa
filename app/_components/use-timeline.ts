"use client";
/**
 * The job view's timeline: where it is (a seq, or live), moving it, and the graph shown as of it.
 * The state at a seq is folded on the client from the job's trace (lib/client/timeline.ts, with
 * checkpoints), so a step redraws the graph without a round trip; what the panel shows of the
 * activation (full payloads, shared data) comes from the server.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { useStore } from "zustand";
import type { JobLiveStore } from "@/lib/client/live-store";
import { keepViewIdentity, Timeline, type TimelinePoint } from "@/lib/client/timeline";

export interface TimelineController {
  /** The seq shown (the last one while live). */
  position: number;
  lastSeq: number;
  /** Following the job (not travelling). */
  live: boolean;
  /** Where the view is while travelling (null: live). */
  point: TimelinePoint | null;
  /** The trace starts at seq 1 (nothing dropped): the past can be folded exactly. */
  complete: boolean;
  goTo(seq: number): void;
  /** ±1 event, or with `activation` to the previous/next `routine_start`. */
  step(dir: -1 | 1, activation: boolean): void;
  backToLive(): void;
  /** The timeline over the events received so far (built on demand; the lane view reads it). */
  timeline(): Timeline;
}

export function useTimeline(store: JobLiveStore): TimelineController {
  const lastSeq = useStore(store, (s) => s.run.lastSeq);
  const travelSeq = useStore(store, (s) => s.travel?.seq ?? null);
  const [point, setPoint] = useState<TimelinePoint | null>(null);
  const cache = useRef<Timeline | null>(null);

  /** The timeline, rebuilt when events arrived since it was built (the log grows in place). */
  const timeline = useCallback((): Timeline => {
    const s = store.getState();
    const t = cache.current;
    if (t && t.lastSeq === s.run.lastSeq) return t;
    cache.current = new Timeline(s.log.slice());
    return cache.current;
  }, [store]);

  const goTo = useCallback(
    (seq: number) => {
      const s = store.getState();
      const last = s.run.lastSeq;
      const t = timeline();
      const target = Math.max(0, Math.min(last, Math.round(seq)));
      // At the end of a finished job the past and the present are the same: the live view, which
      // the snapshot keeps exact. Elsewhere the folded state.
      if (target >= last) {
        setPoint(null);
        s.setTravel(null);
        return;
      }
      const p = t.point(target);
      setPoint(p);
      const active = p.activation?.routineId ?? p.event?.routine_id ?? null;
      s.setTravel({ seq: target, state: keepViewIdentity(s.view, p.state), active });
    },
    [store, timeline],
  );

  const complete = useStore(store, (s) => (s.log[0]?.seq ?? 1) === 1);
  // Live: no point (the panel says so); folding on every batch of a streaming job would cost for nothing.
  useEffect(() => {
    if (travelSeq === null) setPoint(null);
  }, [travelSeq]);
  // Leaving the job view (or another job) ends the journey.
  useEffect(() => () => store.getState().setTravel(null), [store]);

  const position = travelSeq ?? lastSeq;
  const step = useCallback(
    (dir: -1 | 1, activation: boolean) => {
      const from = store.getState().travel?.seq ?? store.getState().run.lastSeq;
      goTo(activation ? timeline().stepActivation(from, dir) : from + dir);
    },
    [goTo, store, timeline],
  );
  const backToLive = useCallback(() => {
    store.getState().setTravel(null);
  }, [store]);

  return { position, lastSeq, live: travelSeq === null, point, complete, goTo, step, backToLive, timeline };
}
