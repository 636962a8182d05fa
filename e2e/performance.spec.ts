/**
 * The UI's performance run: a 300-routine flow rendered, then a job streaming ~1,000 events/s for
 * 10 s into its debugger. Here it checks what the run must do — 300 nodes drawn, every event shown,
 * none missing — and records the figures (render times, long tasks, heap) in
 * test-results/ui-performance.json. Timing is not judged here: on a loaded machine it says more
 * about the neighbours than about the UI. `npm run bench` runs this spec against a production build
 * and judges the figures against their targets and regression bounds (e2e/ui-figures.ts).
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect, test } from "@playwright/test";
import { UI_FIGURES_FILE, UI_FIGURES_LOG_ENV, type UiFigures } from "./ui-figures";

const FLOW_ID = "perf_300";

// Playwright's trace recorder snapshots the DOM on the page's main thread: it would be measured too.
test.use({ trace: "off" });
const BRANCHES = 10;

/** ticker → router → 10 chains of passthroughs: 300 routines; each tick runs one chain (~94 events). */
function perfFlowDsl(): Record<string, unknown> {
  const routines: Record<string, unknown> = {
    source: { class: "ticker" },
    route: { class: "router", config: { routes: Array.from({ length: BRANCHES }, (_, k) => ({ event: `b${k}`, condition: `n % ${BRANCHES} == ${k}` })) } },
  };
  const connections: { from: string; to: string }[] = [{ from: "source.tick", to: "route.input" }];
  const perBranch = Math.ceil(298 / BRANCHES);
  let made = 0;
  for (let b = 0; b < BRANCHES; b++) {
    let prev = `route.b${b}`;
    for (let i = 0; i < perBranch && made < 298; i++, made++) {
      const id = `p${b}_${i}`;
      routines[id] = { class: "passthrough" };
      connections.push({ from: prev, to: `${id}.input` });
      prev = `${id}.output`;
    }
  }
  return { flow_id: FLOW_ID, execution: { strategy: "concurrent", max_workers: 4 }, routines, connections };
}

test("300 routines drawn, and every event of 1,000 events/s for 10 s shown; figures recorded for the bench", async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  await request.delete(`/api/flows/${FLOW_ID}`);
  const created = await request.post("/api/flows", { data: { flow_id: FLOW_ID, dsl: perfFlowDsl() } });
  expect(created.status(), await created.text()).toBe(201);
  const routineCount = Object.keys(((await created.json()) as { routines: Record<string, unknown> }).routines).length;
  expect(routineCount).toBe(300);

  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  });

  // Render: from navigation to all 300 nodes on screen.
  const t0 = Date.now();
  await page.goto(`/flows/${FLOW_ID}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(300, { timeout: 20_000 });
  const flowRenderMs = Date.now() - t0;

  // Stream: a job of ~1,000 events/s for 10 s, started paused so the debugger is open (and
  // subscribed) before the first event, then continued.
  const job = await request.post("/api/jobs", { data: { flow_id: FLOW_ID, entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 110, interval_ms: 90 }, pause_on_start: true } });
  expect(job.status()).toBe(201);
  const jobId = ((await job.json()) as { job_id: string }).job_id;
  const t1 = Date.now();
  await page.goto(`/jobs/${jobId}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(300, { timeout: 20_000 });
  const jobRenderMs = Date.now() - t1;
  await expect(page.getByTestId("paused-at")).toHaveAttribute("data-routine-id", "source");
  await page.waitForTimeout(500);
  const streamStart = await page.evaluate(() => performance.now());
  expect((await request.post(`/api/jobs/${jobId}/debug/continue`)).status()).toBe(200);
  // Wait on the API, not the page: polling the DOM would itself add main-thread work.
  await expect.poll(async () => ((await (await request.get(`/api/jobs/${jobId}`)).json()) as { status: string }).status, { timeout: 60_000, intervals: [250] }).toBe("completed");
  const streamEnd = await page.evaluate(() => performance.now());
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await page.screenshot({ path: testInfo.outputPath("perf-300-finished.png") });

  const longTasks = await page.evaluate(({ from, to }) => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter((t) => t.start >= from && t.start <= to), { from: streamStart, to: streamEnd });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] };
  const heapMb = (metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0) / 1024 / 1024;
  const jm = (await (await request.get(`/api/jobs/${jobId}/metrics`)).json()) as { total_events: number; duration_ms: number };
  const log = page.getByTestId("event-log");
  // The log redraws a few times a second: its last rows may follow the job's end by one redraw.
  await expect(log).toHaveAttribute("data-size", String(jm.total_events));
  const figures: UiFigures = {
    routines: routineCount,
    flow_render_ms: flowRenderMs,
    job_view_render_ms: jobRenderMs,
    stream_events: jm.total_events,
    stream_window_ms: Math.round(streamEnd - streamStart),
    stream_events_per_s: Math.round(jm.total_events / ((streamEnd - streamStart) / 1000)),
    events_shown: Number(await log.getAttribute("data-size")),
    events_missing: Number(await log.getAttribute("data-missing")),
    long_tasks_while_streaming: longTasks.length,
    longest_task_ms: Math.round(Math.max(0, ...longTasks.map((t) => t.duration))),
    js_heap_mb: Math.round(heapMb * 10) / 10,
  };
  console.log(`UI performance: ${JSON.stringify(figures)}`);
  writeFileSync(testInfo.outputPath("ui-performance.json"), JSON.stringify(figures, null, 2));
  mkdirSync(dirname(UI_FIGURES_FILE), { recursive: true });
  writeFileSync(UI_FIGURES_FILE, JSON.stringify(figures, null, 2));
  const logFile = process.env[UI_FIGURES_LOG_ENV];
  if (logFile) appendFileSync(logFile, `${JSON.stringify(figures)}\n`);

  // What the run must do, however busy the machine: every event shown, none missing.
  expect(figures.events_missing).toBe(0);
  expect(figures.events_shown).toBe(jm.total_events);
  await request.delete(`/api/flows/${FLOW_ID}`);
});
