/**
 * Scrubbing a 10,000-event job: each step of the timeline (←, Shift+←, a jump) until the graph is
 * redrawn as of the new seq. Here it checks what scrubbing must do (every step lands where asked,
 * the graph's counts follow); the time per step is recorded in test-results/timeline-scrub.json
 * (and appended to $TIMELINE_PERF_OUT) for `npm run bench -- ui`, which reports it against its
 * target (< 50 ms) without asserting it.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect, test } from "@playwright/test";
import { TIMELINE_FIGURES_FILE, TIMELINE_FIGURES_LOG_ENV, type TimelineFigures } from "./ui-figures";

const FLOW_ID = "scrub_10k";
const CHAIN = 10;
/** 1 emit per tick + 3 events per passthrough activation: 31 per tick, over 10,000 events for 330 ticks (25 ms apart: ~8 s). */
const TICKS = 330;

test.use({ trace: "off" });

function chainDsl(): Record<string, unknown> {
  const routines: Record<string, unknown> = { source: { class: "ticker" } };
  const connections: { from: string; to: string }[] = [];
  let prev = "source.tick";
  for (let i = 0; i < CHAIN; i++) {
    routines[`p${i}`] = { class: "passthrough" };
    connections.push({ from: prev, to: `p${i}.input` });
    prev = `p${i}.output`;
  }
  return { flow_id: FLOW_ID, routines, connections };
}

test("scrubbing a 10,000-event job redraws the graph at each step; time per step recorded for the bench", async ({ page, request }) => {
  test.setTimeout(120_000);
  await request.delete(`/api/flows/${FLOW_ID}`);
  expect((await request.post("/api/flows", { data: { flow_id: FLOW_ID, dsl: chainDsl() } })).status()).toBe(201);
  // Watched from its start (paused at start, then continued): the view holds every event, as it
  // does for any job it followed (the server's trace ring keeps the last 1,000 of a job).
  const started = await request.post("/api/jobs", { data: { flow_id: FLOW_ID, entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: TICKS, interval_ms: 25 }, pause_on_start: true } });
  expect(started.status()).toBe(201);
  const jobId = ((await started.json()) as { job_id: string }).job_id;
  await page.goto(`/jobs/${jobId}`);
  await expect(page.getByTestId("paused-at")).toHaveAttribute("data-routine-id", "source");
  expect((await request.post(`/api/jobs/${jobId}/debug/continue`)).status()).toBe(200);
  await expect.poll(async () => ((await (await request.get(`/api/jobs/${jobId}`)).json()) as { status: string }).status, { timeout: 60_000, intervals: [250] }).toBe("completed");
  const lastSeq = ((await (await request.get(`/api/jobs/${jobId}`)).json()) as { last_seq: number }).last_seq;
  expect(lastSeq).toBeGreaterThanOrEqual(10_000);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("events-dropped")).toHaveCount(0);
  const position = page.getByTestId("timeline-position");
  await expect(position).toHaveAttribute("data-seq", String(lastSeq), { timeout: 30_000 });
  const timeline = page.getByTestId("timeline");
  await expect(timeline).toBeEnabled();

  // Each step: from the key press to the frame after the graph's update has been painted.
  await timeline.evaluate((el) => {
    const w = window as unknown as { __steps: number[] };
    w.__steps = [];
    el.addEventListener(
      "keydown",
      (e) => {
        const key = (e as KeyboardEvent).key;
        // Shift+← is two key presses: only the arrow moves the timeline.
        if (key !== "ArrowLeft" && key !== "ArrowRight") return;
        const t0 = performance.now();
        requestAnimationFrame(() => setTimeout(() => w.__steps.push(performance.now() - t0), 0));
      },
      { capture: true },
    );
  });
  await timeline.focus();
  const steps: string[] = [];
  // The first step back folds the whole job once (its checkpoints); then single events and activations.
  for (let i = 0; i < 40; i++) steps.push("ArrowLeft");
  for (let i = 0; i < 20; i++) steps.push("Shift+ArrowLeft");
  for (let i = 0; i < 20; i++) steps.push("ArrowRight");
  let seq = lastSeq;
  for (const [i, key] of steps.entries()) {
    await timeline.press(key);
    await expect.poll(() => page.evaluate(() => (window as unknown as { __steps: number[] }).__steps.length)).toBe(i + 1);
    const now = Number(await position.getAttribute("data-seq"));
    if (key === "ArrowLeft") expect(now).toBe(seq - 1);
    if (key === "ArrowRight") expect(now).toBe(seq + 1);
    if (key === "Shift+ArrowLeft") expect(now).toBeLessThan(seq);
    seq = now;
  }
  // Jumps across the job: to the middle and near the start (a fold from the nearest checkpoint).
  const jumps = [Math.floor(lastSeq / 2), 300, Math.floor(lastSeq * 0.9), 5_000];
  const jumpTimes: number[] = [];
  for (const target of jumps) {
    const t = await timeline.evaluate((el, v) => {
      const input = el as HTMLInputElement;
      const t0 = performance.now();
      // React listens for the native input event of a range.
      const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
      set?.call(input, String(v));
      input.dispatchEvent(new Event("input", { bubbles: true }));
      return new Promise<number>((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0)));
    }, target);
    jumpTimes.push(t);
    await expect(position).toHaveAttribute("data-seq", String(target));
  }
  // The graph follows: at seq 300 the counts are those of the trace's first 300 events (not the end's).
  await timeline.evaluate((el) => {
    const input = el as HTMLInputElement;
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set?.call(input, "300");
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await expect(position).toHaveAttribute("data-seq", "300");
  const lastCount = Number(await page.getByTestId("node-activations-p9").getAttribute("data-count"));
  expect(lastCount).toBeLessThan(TICKS);

  const stepTimes = await page.evaluate(() => (window as unknown as { __steps: number[] }).__steps);
  const sorted = [...stepTimes.slice(1)].sort((a, b) => a - b);
  const figures: TimelineFigures = {
    events: lastSeq,
    first_step_ms: stepTimes[0] ?? 0,
    step_median_ms: sorted[Math.floor(sorted.length / 2)] ?? 0,
    step_p95_ms: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
    step_max_ms: sorted.at(-1) ?? 0,
    jump_max_ms: Math.max(...jumpTimes),
    steps: stepTimes.length,
  };
  mkdirSync(dirname(TIMELINE_FIGURES_FILE), { recursive: true });
  writeFileSync(TIMELINE_FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
  const log = process.env[TIMELINE_FIGURES_LOG_ENV];
  if (log) appendFileSync(log, `${JSON.stringify(figures)}\n`);
  await request.delete(`/api/flows/${FLOW_ID}`);
});
