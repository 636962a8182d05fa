/** How `npm run bench` judges the browser figures (the measurement itself is e2e/performance.spec.ts). */
import { describe, expect, it } from "vitest";
import { judgeUiFigures, UI_BUDGET, type UiFigures } from "../../e2e/ui-figures";

const run = (over: Partial<UiFigures> = {}): UiFigures => ({
  routines: 300,
  flow_render_ms: 1500,
  job_view_render_ms: 1800,
  stream_events: 10_000,
  stream_window_ms: 10_200,
  stream_events_per_s: 980,
  events_shown: 10_000,
  events_missing: 0,
  long_tasks_while_streaming: 0,
  longest_task_ms: 0,
  js_heap_mb: 120,
  ...over,
});

describe("the UI figures' verdicts", () => {
  it("every figure within its target: all OK, nothing failed", () => {
    const v = judgeUiFigures([run(), run(), run()]);
    expect(v.failed).toBe(false);
    expect(v.lines).toHaveLength(UI_BUDGET.length + 1);
    expect(v.lines.join("\n")).not.toMatch(/MISSED|REGRESSION|BROKEN/);
  });

  it("over a target but within the bound: MISSED, not failed", () => {
    const v = judgeUiFigures([run({ flow_render_ms: 3000 })]);
    expect(v.failed).toBe(false);
    expect(v.lines.find((l) => l.startsWith("flow page"))).toMatch(/3,000 ms median .*target ≤ 2,000 ms MISSED; regression bound ≤ 6,000 ms OK/);
  });

  it("judged on the median: one slow run does not decide, a median over the bound is a regression", () => {
    expect(judgeUiFigures([run(), run({ longest_task_ms: 400 }), run()]).failed).toBe(false);
    const v = judgeUiFigures([run({ long_tasks_while_streaming: 6 }), run({ long_tasks_while_streaming: 9 }), run()]);
    expect(v.failed).toBe(true);
    expect(v.lines.find((l) => l.startsWith("tasks over 50 ms"))).toMatch(/6 median \(6, 9, 0\).*REGRESSION/);
  });

  it("a run that lost events, or no run at all, fails", () => {
    const lossy = judgeUiFigures([run(), run({ events_missing: 3, events_shown: 9_997 })]);
    expect(lossy.failed).toBe(true);
    expect(lossy.lines.at(-1)).toMatch(/every event shown in 1 of 2 runs BROKEN/);
    expect(judgeUiFigures([])).toEqual({ lines: ["no figures: the measurement did not run"], failed: true });
  });
});
