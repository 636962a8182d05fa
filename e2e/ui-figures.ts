/**
 * The browser performance figures (measured by e2e/performance.spec.ts) and how they are judged:
 * each against its target and against a regression bound loose enough that only a real regression
 * crosses it on a loaded 2-core machine. The verdicts belong to `npm run bench` (bench/ui.ts);
 * `npm test` only checks what the run must do (every event shown, none missing, 300 nodes drawn).
 */

export interface UiFigures {
  routines: number;
  flow_render_ms: number;
  job_view_render_ms: number;
  stream_events: number;
  stream_window_ms: number;
  stream_events_per_s: number;
  events_shown: number;
  events_missing: number;
  long_tasks_while_streaming: number;
  longest_task_ms: number;
  js_heap_mb: number;
}

/** Where the performance test writes the figures of its last run. */
export const UI_FIGURES_FILE = "test-results/ui-performance.json";
/** When set, the performance test also appends each run's figures there, one JSON object per line (the bench reads them). */
export const UI_FIGURES_LOG_ENV = "UI_PERF_OUT";

export interface UiBudget {
  figure: keyof UiFigures;
  what: string;
  unit: string;
  /** What the UI is built to: at most this. */
  target: number;
  /** At most this, or it regressed (room for a machine under load; the old per-frame repaint failed it). */
  bound: number;
}

export const UI_BUDGET: readonly UiBudget[] = [
  { figure: "flow_render_ms", what: "flow page: 300 nodes drawn", unit: "ms", target: 2000, bound: 6000 },
  { figure: "job_view_render_ms", what: "job view: 300 nodes drawn", unit: "ms", target: 2000, bound: 6000 },
  { figure: "long_tasks_while_streaming", what: "tasks over 50 ms while 1,000 events/s stream", unit: "", target: 0, bound: 5 },
  { figure: "longest_task_ms", what: "longest task while streaming", unit: "ms", target: 50, bound: 250 },
  { figure: "js_heap_mb", what: "JS heap after the stream", unit: "MB", target: 300, bound: 300 },
];

export interface UiVerdict {
  lines: string[];
  /** Some figure's median crossed its regression bound, or a run lost events. */
  failed: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const show = (n: number, unit: string): string => `${Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(1)}${unit ? ` ${unit}` : ""}`;

/**
 * One line per figure: the median of the runs (each run's value beside it), the target and the
 * bound with their verdicts. Judged on the median, so one run that met a GC or a neighbour's burst
 * does not decide; a run that lost or missed events fails outright.
 */
export function judgeUiFigures(runs: readonly UiFigures[]): UiVerdict {
  if (runs.length === 0) return { lines: ["no figures: the measurement did not run"], failed: true };
  const lines: string[] = [];
  let failed = false;
  for (const b of UI_BUDGET) {
    const values = runs.map((r) => r[b.figure]);
    const m = median(values);
    const targetOk = m <= b.target;
    const boundOk = m <= b.bound;
    if (!boundOk) failed = true;
    lines.push(
      `${b.what}: ${show(m, b.unit)} median (${values.map((v) => show(v, "")).join(", ")}) — target ≤ ${show(b.target, b.unit)} ${targetOk ? "OK" : "MISSED"}; regression bound ≤ ${show(b.bound, b.unit)} ${boundOk ? "OK" : "REGRESSION"}`,
    );
  }
  const lossy = runs.filter((r) => r.events_missing !== 0 || r.events_shown !== r.stream_events || r.routines !== 300);
  if (lossy.length > 0) failed = true;
  const rates = runs.map((r) => r.stream_events_per_s);
  lines.push(
    `stream: ${show(median(runs.map((r) => r.stream_events)), "events")} at ${show(median(rates), "events/s")} median; every event shown in ${runs.length - lossy.length} of ${runs.length} runs ${lossy.length === 0 ? "OK" : "BROKEN"}`,
  );
  return { lines, failed };
}

/** Scrubbing a 10,000-event job (e2e/timeline-performance.spec.ts): time per step to a redrawn graph. */
export interface TimelineFigures {
  events: number;
  /** The first step back: it folds the whole job once (its checkpoints). */
  first_step_ms: number;
  step_median_ms: number;
  step_p95_ms: number;
  step_max_ms: number;
  /** A jump anywhere (slider moved across the job): a fold from the nearest checkpoint. */
  jump_max_ms: number;
  steps: number;
}
export const TIMELINE_FIGURES_FILE = "test-results/timeline-scrub.json";
/** When set, the timeline spec appends each run's figures there, one JSON object per line. */
export const TIMELINE_FIGURES_LOG_ENV = "TIMELINE_PERF_OUT";
/** What a scrub step is built to take, at most (reported against, not asserted). */
export const TIMELINE_STEP_TARGET_MS = 50;

/** One line per figure, median of the runs; reported against the target, never a failure. */
export function describeTimelineFigures(runs: readonly TimelineFigures[]): string[] {
  if (runs.length === 0) return ["timeline scrubbing: no figures (the measurement did not run)"];
  const m = (k: keyof TimelineFigures): number => median(runs.map((r) => r[k]));
  const verdict = (v: number): string => (v < TIMELINE_STEP_TARGET_MS ? "OK" : "MISSED");
  return [
    `timeline scrubbing, ${show(m("events"), "events")} job, ${show(m("steps"), "")} steps per run (←, Shift+←, →), key press to the painted frame:`,
    `  per step: median ${show(m("step_median_ms"), "ms")}, p95 ${show(m("step_p95_ms"), "ms")}, max ${show(m("step_max_ms"), "ms")} (runs: ${runs.map((r) => show(r.step_median_ms, "")).join(", ")}) — target < ${TIMELINE_STEP_TARGET_MS} ms ${verdict(m("step_p95_ms"))} (p95; reported, not asserted)`,
    `  first step (folds the job once): ${show(m("first_step_ms"), "ms")}; a jump across the job: max ${show(m("jump_max_ms"), "ms")} — target < ${TIMELINE_STEP_TARGET_MS} ms ${verdict(m("jump_max_ms"))}`,
  ];
}
