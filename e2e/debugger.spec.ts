import { expect, test } from "@playwright/test";
import { clearFlowBreakpoints, expectPausedAt, openFlow, runFromUi } from "./helpers";

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));
test.afterEach(async ({ request }) => clearFlowBreakpoints(request));

test("home lists the demo flows and opens one as a graph", async ({ page }) => {
  await page.goto("/");
  for (const f of ["data_processing", "fan_out", "flaky_retry", "slow_stream"]) await expect(page.getByTestId(`flow-row-${f}`)).toBeVisible();
  await page.getByRole("link", { name: "fan_out" }).click();
  await expect(page).toHaveURL(/\/flows\/fan_out$/);
  for (const id of ["split", "route", "small_worker", "large_worker", "collect"]) await expect(page.locator(`.react-flow__node[data-id="${id}"]`)).toBeVisible();
  // Edges are labelled event→slot.
  await expect(page.getByTestId("edge-route.small:small_worker.input")).toContainText("small→input");
});

test("the demo: breakpoint on process, run, edit data while paused, step over, continue: completed, and the handler got the edit", async ({ page, request }, testInfo) => {
  await openFlow(page, "data_processing");
  const dot = page.getByTestId("breakpoint-toggle-process");
  await expect(dot).toHaveAttribute("data-active", "false");
  await dot.click();
  await expect(dot).toHaveAttribute("data-active", "true");
  await page.screenshot({ path: testInfo.outputPath("flow-view.png") });

  const jobId = await runFromUi(page, { data: [1, 2, 3, 4, 5] });
  await expectPausedAt(page, "process");
  const panel = page.getByTestId("variables-panel");
  await expect(panel.getByTestId("variable-local-data")).toBeVisible();
  await expect(panel.getByTestId("variable-local-data")).toContainText("Array(5)");

  await panel.getByTestId("variable-local-data").click(); // a click on the row edits it
  await page.getByTestId("variable-editor").fill("[10, 20]");
  await page.getByTestId("variable-save").click();
  await expect(panel.getByTestId("variable-local-data")).toContainText("Array(2)");
  await expect(page.getByTestId("call-stack-frame-0")).toHaveAttribute("data-routine-id", "process");
  await expect(page.getByTestId("call-stack-frame-1")).toHaveAttribute("data-routine-id", "ingest");
  await page.screenshot({ path: testInfo.outputPath("paused-debugger.png") });

  // Step over follows the item: its next hop is validate. From validate it goes nowhere, so the
  // next step runs the job to its end; the stop bar says where the item went, and Continue
  // closes that note; after that there is nothing left to continue.
  await page.getByTestId("debug-step-over").click();
  await expectPausedAt(page, "validate");
  await expect(page.getByTestId("variable-local-result")).toContainText("Array(2)");
  await page.getByTestId("debug-step-over").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("paused-at")).toHaveCount(0);
  await expect(page.getByTestId("step-ended")).toContainText("Step over from validate.data_processed: the item ended at validate");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("step-ended")).toHaveCount(0);
  await expect(page.getByTestId("debug-continue")).toBeDisabled();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  for (const id of ["ingest", "process", "validate"]) await expect(page.getByTestId(`node-status-${id}`)).toHaveAttribute("data-status", "completed");

  // The trace shows what the handler received, and what validate logged from its result.
  const log = page.getByTestId("event-log");
  await page.getByTestId("event-log-filter-routine").selectOption("process");
  await expect(log.locator('[data-testid="event-log-row"][data-event-type="routine_start"]')).toContainText('"data":[10,20]');
  await page.getByTestId("event-log-filter-routine").selectOption("");
  await page.getByTestId("event-log-filter-type").selectOption("log");
  await expect(log.locator('[data-testid="event-log-row"][data-event-type="log"]')).toContainText('"result":[20,40]');
  await page.getByTestId("event-log-filter-type").selectOption("");
  await page.screenshot({ path: testInfo.outputPath("finished-job.png") });
  // The metrics tab: one row per routine, with its run count.
  await page.getByTestId("tab-metrics").click();
  for (const id of ["ingest", "process", "validate"]) await expect(page.locator(`[data-testid="metrics-table"] tr[data-routine-id="${id}"] td`).nth(1)).toHaveText("1");
  await page.getByRole("tab", { name: "Event log" }).click();

  const logs = (await (await request.get(`/api/jobs/${jobId}/logs`)).json()) as { logs: { data: { result: number[] } }[] };
  expect(logs.logs[0]?.data.result).toEqual([20, 40]);
});

test("a conditional breakpoint set from the UI stops only on the matching payload; a bad condition shows its error and saves nothing", async ({ page, request }) => {
  await openFlow(page, "fan_out");
  // Bad condition: the parse error appears under the field, nothing is saved.
  await page.getByTestId("breakpoint-toggle-route").click({ button: "right" });
  await page.getByTestId("breakpoint-condition").fill("item >=");
  await page.getByTestId("breakpoint-save").click();
  await expect(page.getByTestId("breakpoint-error-condition")).toContainText(/position \d+/);
  await expect(page.getByTestId("breakpoint-editor")).toBeVisible();
  expect(((await (await request.get("/api/flows/fan_out/breakpoints")).json()) as { total: number }).total).toBe(0);
  await expect(page.getByTestId("breakpoint-toggle-route")).toHaveAttribute("data-active", "false");

  // A good one is saved and drawn.
  await page.getByTestId("breakpoint-condition").fill("item >= 10");
  await page.getByTestId("breakpoint-save").click();
  await expect(page.getByTestId("breakpoint-editor")).toHaveCount(0);
  await expect(page.getByTestId("breakpoint-toggle-route")).toHaveAttribute("data-active", "true");

  await runFromUi(page, { items: [1, 20, 3, 4] });
  await expectPausedAt(page, "route");
  await expect(page.getByTestId("variable-local-item")).toContainText("20");
  await page.getByTestId("debug-continue").click();
  // 1, 3 and 4 never stop: the job completes with route run four times.
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("node-activations-route")).toContainText("4");
});

test("step into / over / out on the fan-out demo follow the data; a call-stack frame selects its node", async ({ page }) => {
  await openFlow(page, "fan_out");
  await page.getByTestId("breakpoint-toggle-route").click();
  await expect(page.getByTestId("breakpoint-toggle-route")).toHaveAttribute("data-active", "true");
  await runFromUi(page, { items: [1, 20] });
  // route(1) at depth 1; route(20) is queued next (breadth-first), then the workers at depth 2.
  await expectPausedAt(page, "route");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  // Breakpoint off, from the job view: from here on only steps stop.
  await page.getByTestId("breakpoint-toggle-route").click();
  await expect(page.getByTestId("breakpoint-toggle-route")).toHaveAttribute("data-active", "false");

  // Step into: the very next activation of the job, route(20).
  await page.getByTestId("debug-step-into").click();
  await expectPausedAt(page, "route");
  await expect(page.getByTestId("variable-local-item")).toContainText("20");
  // Step into again: small_worker(1), caused by route(1), depth 2.
  await page.getByTestId("debug-step-into").click();
  await expectPausedAt(page, "small_worker");
  await expect(page.getByTestId("call-stack-frame-0")).toHaveAttribute("data-routine-id", "small_worker");
  await expect(page.getByTestId("call-stack-frame-1")).toHaveAttribute("data-routine-id", "route");
  await expect(page.getByTestId("call-stack-frame-2")).toHaveAttribute("data-routine-id", "split");
  await page.getByTestId("call-stack-frame-1").click();
  await expect(page.locator('.react-flow__node[data-id="route"] .rnode')).toHaveClass(/selected/);
  await expect(page.locator('.react-flow__node[data-id="route"]')).toBeInViewport();

  // Step over: the next hop of item 1, collect (large_worker(20) runs meanwhile, not on its path).
  await page.getByTestId("debug-step-over").click();
  await expectPausedAt(page, "collect");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  await expect(page.getByTestId("node-activations-large_worker")).toContainText("1");
  // Step out of collect: it passes nothing on (it waits for 4 items) and every other item
  // already left the splitter, so the job finishes without stopping.
  await page.getByTestId("debug-step-out").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("node-activations-collect")).toContainText("2");
});

test("keyboard: F11 / F10 / F5 / Shift+F11 drive the debugger as in VS Code", async ({ page }) => {
  await openFlow(page, "fan_out");
  await runFromUi(page, { items: [1, 20] }, { pauseOnStart: true });
  await expectPausedAt(page, "split");
  await page.keyboard.press("F11"); // into: route(1)
  await expectPausedAt(page, "route");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  await page.keyboard.press("F10"); // over: item 1's next hop, small_worker (route(20) runs meanwhile)
  await expectPausedAt(page, "small_worker");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  // A breakpoint on collect, for this job, from the job view.
  await page.getByTestId("breakpoint-toggle-collect").click();
  await expect(page.getByTestId("breakpoint-toggle-collect")).toHaveAttribute("data-active", "true");
  await page.keyboard.press("F5"); // continue: stops at the breakpoint, collect(1) at depth 3
  await expectPausedAt(page, "collect");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  await page.keyboard.press("Shift+F11"); // out of collect(1): nothing more on its path, but collect(20) hits the breakpoint on the way
  await expectPausedAt(page, "collect");
  await expect(page.getByTestId("variable-local-item")).toContainText("20");
  await page.keyboard.press("F5");
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("debug-continue")).toBeDisabled();
  await expect(page.getByTestId("debug-cancel")).toBeDisabled();
});

test("F6 pauses a running job where it is, F5 resumes it; Cancel ends it", async ({ page }) => {
  await openFlow(page, "slow_stream");
  // Long enough (60 s) that the job is still running however slowly the steps below go: it ends by Cancel.
  await runFromUi(page, { count: 600, interval_ms: 100 });
  await expect(page.getByTestId("debug-pause")).toBeEnabled();
  await expect.poll(async () => Number((await page.getByTestId("node-activations-sink").textContent())?.replace(/\D/g, "") ?? 0)).toBeGreaterThan(1);
  await page.keyboard.press("F6");
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "paused");
  await expect(page.getByTestId("paused-at")).toContainText("Paused");
  await expect(page.getByTestId("debug-continue")).toBeEnabled();
  await page.keyboard.press("F5");
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "running");
  await page.getByTestId("debug-cancel").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "cancelled");
  await expect(page.getByTestId("debug-pause")).toBeDisabled();
});

test("break on exception: an error breakpoint from the editor stops after the handler throws, with the error shown", async ({ page }) => {
  await openFlow(page, "flaky_retry");
  await page.getByTestId("breakpoint-edit-thrower").click();
  await page.getByTestId("breakpoint-kind").selectOption("error");
  await page.getByTestId("breakpoint-save").click();
  await expect(page.getByTestId("breakpoint-toggle-thrower")).toHaveAttribute("data-active", "true");
  await runFromUi(page, { value: 1 });
  await expectPausedAt(page, "thrower");
  await expect(page.getByTestId("paused-at")).toContainText("boom");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  // Its strategy is "continue": the routine ends error_continued; the flaky one was retried twice.
  await expect(page.getByTestId("node-status-thrower")).toHaveAttribute("data-status", "error_continued");
  await expect(page.getByTestId("node-status-flaky")).toHaveAttribute("data-status", "completed");
  await page.locator('.react-flow__node[data-id="flaky"]').click();
  await expect(page.getByTestId("routine-panel")).toContainText("flaky: try again");
  await expect(page.getByTestId("node-status-done")).toHaveAttribute("data-status", "completed");
});

test("a failed job shows why, on the job and on the node", async ({ page, request }) => {
  await request.delete("/api/flows/e2e_fails");
  const dsl = { routines: { start: { class: "passthrough" }, breaks: { class: "fail", config: { message: "the disk is full" } } }, connections: [{ from: "start.output", to: "breaks.input" }] };
  expect((await request.post("/api/flows", { data: { flow_id: "e2e_fails", dsl } })).status()).toBe(201);
  await openFlow(page, "e2e_fails");
  await runFromUi(page, { x: 1 });
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "failed");
  await expect(page.getByTestId("node-status-breaks")).toHaveAttribute("data-status", "failed");
  await expect(page.getByText("Job failed:").first()).toContainText("the disk is full");
  await page.getByTestId("event-log-filter-type").selectOption("job_failed");
  await expect(page.locator('[data-testid="event-log-row"][data-event-type="job_failed"]')).toContainText("the disk is full");
  await request.delete("/api/flows/e2e_fails");
});
