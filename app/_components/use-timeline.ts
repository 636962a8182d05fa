"use client";
/**
 * The job view's timeline: where it is (a seq, or live), moving it, and the graph shown as of it.
 * The state at a seq is folded on the client from the job's trace (lib/client/timeline.ts, with
 * checkpoints), so a step redraws the graph without a round trip. When the server's trace ring no
 * longer holds the job's first events (a long job opened after it ran), the fold starts from the
 * server's state right before the first event held (GET /api/jobs/{id}/state), and positions
 * before it are the server's answers.
 */
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useStore } from "zustand";
import { api } from "@/lib/client/api";
import type { JobLiveStore } from "@/lib/client/live-store";
import type { RunState } from "@/lib/client/run-state";
import { keepViewIdentity, pointFromStateAt, runStateFromStateAt, Timeline, type TimelinePoint } from "@/lib/client/timeline";

/**
 * What the job view holds of the timeline. Where it is lives in the store (`travel`), read by the
 * timeline bar, the travel panel and the lanes themselves: a step re-renders them and the nodes it
 * changed, not the whole job view.
 */
export interface TimelineController {
  store: JobLiveStore;
  /** Following the job (not travelling). */
  live: boolean;
  /** The timeline can move: the trace starts at seq 1, or the server gives the state before it. */
  usable: boolean;
  /** Why it cannot (the trace's start is gone and the server cannot give the state), or null. */
  unusableReason: string | null;
  /** A position the server is being asked for (the trace no longer holds it). */
  loading: boolean;
  error: string | null;
  goTo(seq: number): void;
  /** ±1 event, or with `activation` to the previous/next `routine_start`. */
  step(dir: -1 | 1, activation: boolean): void;
  backToLive(): void;
  /** The timeline over the events received so far (built on demand; the lane view reads it). */
  timeline(): Timeline;
  /** Builds the timeline and its checkpoints now (the user is about to scrub). */
  prepare(): void;
}

export function useTimeline(store: JobLiveStore): TimelineController {
  const jobId = store.getState().jobId;
  // Not the last seq itself: the job view would re-render on every batch of a streaming job
  // (the timeline bar follows it on its own, see useLastSeq).
  const started = useStore(store, (s) => s.run.lastSeq > 0);
  const live = useStore(store, (s) => s.travel === null);
  const firstSeq = useStore(store, (s) => s.log[0]?.seq ?? 1);
  const complete = firstSeq === 1;
  // The state right before the first event the trace holds, when it does not start at 1.
  const base = useQuery({ queryKey: ["state-at", jobId, firstSeq - 1], queryFn: () => api.stateAt(jobId, firstSeq - 1), enabled: !complete, retry: false, staleTime: Number.POSITIVE_INFINITY });
  const baseState: RunState | null = base.data ? runStateFromStateAt(base.data) : null;
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cache = useRef<{ t: Timeline; base: RunState | null } | null>(null);
  const baseRef = useRef(baseState);
  if (base.data && cache.current?.base === null) cache.current = null;
  baseRef.current = baseState;
  /** The seq last asked for (a slow server answer for an older one is dropped). */
  const wanted = useRef<number | null>(null);

  /** The timeline, rebuilt when events arrived since it was built (the log grows in place). */
  const timeline = useCallback((): Timeline => {
    const s = store.getState();
    const c = cache.current;
    if (c && c.t.lastSeq === s.run.lastSeq) return c.t;
    const t = new Timeline(s.log.slice(), baseRef.current);
    cache.current = { t, base: baseRef.current };
    return t;
  }, [store]);

  const show = useCallback(
    (p: TimelinePoint) => {
      const s = store.getState();
      setLoading(false);
      setError(null);
      const active = p.activation?.routineId ?? p.event?.routine_id ?? null;
      s.setTravel({ seq: p.seq, state: keepViewIdentity(s.view, p.state), active, event: p.event, activation: p.activation });
    },
    [store],
  );

  const goTo = useCallback(
    (seq: number) => {
      const s = store.getState();
      const last = s.run.lastSeq;
      const target = Math.max(0, Math.min(last, Math.round(seq)));
      wanted.current = target;
      // At the end the past and the present are the same: the live view, which the snapshot keeps exact.
      if (target >= last) {
        wanted.current = null;
        setLoading(false);
        s.setTravel(null);
        return;
      }
      const p = timeline().point(target);
      if (p) {
        show(p);
        return;
      }
      setLoading(true);
      api.stateAt(jobId, target).then(
        (answer) => {
          if (wanted.current === target) show(pointFromStateAt(answer));
        },
        (e: Error) => {
          if (wanted.current !== target) return;
          setLoading(false);
          setError(e.message);
        },
      );
    },
    [store, timeline, show, jobId],
  );

  // Leaving the job view (or another job) ends the journey.
  useEffect(() => () => store.getState().setTravel(null), [store]);

  const step = useCallback(
    (dir: -1 | 1, activation: boolean) => {
      const from = wanted.current ?? store.getState().travel?.seq ?? store.getState().run.lastSeq;
      const t = timeline();
      // Activations are known from the trace held; before it, a step is one event.
      goTo(activation && from > t.foldsFrom ? t.stepActivation(from, dir) : from + dir);
    },
    [goTo, store, timeline],
  );
  const backToLive = useCallback(() => {
    wanted.current = null;
    setLoading(false);
    store.getState().setTravel(null);
  }, [store]);

  const prepare = useCallback(() => {
    const t = timeline();
    // Folding to the end fills every checkpoint.
    t.stateAt(t.lastSeq);
  }, [timeline]);

  const usable = started && (complete || base.isSuccess);
  const unusableReason = !complete && base.isError ? `the trace no longer holds the job's first events and the server cannot give the state before them (${(base.error as Error).message})` : null;
  return { store, live, usable, unusableReason, loading, error, goTo, step, backToLive, timeline, prepare };
}

/**
 * The job's last seq, for what draws the timeline: while live it follows the graph's refresh
 * (`view`, a few times a second), not every batch of a streaming job.
 */
export function useLastSeq(store: JobLiveStore): number {
  return useStore(store, (s) => (s.travel ? s.run.lastSeq : s.view.lastSeq));
}
