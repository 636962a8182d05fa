/**
 * Time travel, as a user does it: finish a job, scrub its timeline back to `process`, read the
 * input it received, re-run from there with an edited payload, see the new job complete with the
 * new result (the original untouched), and open the diff of the two with the first divergence
 * marked. And the lane view: the flaky demo's retries show as separate bars with their backoff
 * waits between them, and a click on a bar moves the timeline there.
 */
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import { clearFlowBreakpoints } from "./helpers";

// Flow breakpoints another spec left on the demos would hold these jobs.
test.beforeEach(async ({ request }) => {
  await clearFlowBreakpoints(request);
});

interface Ev {
  seq: number;
  event_type: string;
  routine_id: string | null;
}

async function finishedJob(request: APIRequestContext, body: Record<string, unknown>): Promise<string> {
  const res = await request.post("/api/jobs", { data: body });
  expect(res.status()).toBe(201);
  const { job_id } = (await res.json()) as { job_id: string };
  await expect.poll(async () => ((await (await request.get(`/api/jobs/${job_id}`)).json()) as { status: string }).status, { timeout: 15_000 }).toBe("completed");
  return job_id;
}

async function trace(request: APIRequestContext, jobId: string): Promise<Ev[]> {
  const res = await request.get(`/api/jobs/${jobId}/trace?limit=1000&after_seq=0`);
  expect(res.status()).toBe(200);
  return ((await res.json()) as { events: Ev[] }).events;
}

const startOf = (events: Ev[], routineId: string): number => {
  const e = events.find((x) => x.event_type === "routine_start" && x.routine_id === routineId);
  if (!e) throw new Error(`no routine_start of ${routineId}`);
  return e.seq;
};

async function openJob(page: Page, jobId: string): Promise<void> {
  await page.goto(`/jobs/${jobId}`);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
  await expect(page.getByTestId("timeline")).toBeEnabled();
}

test("scrub back to process, fork it with an edited payload, and diff the two runs", async ({ page, request }, testInfo) => {
  const origin = await finishedJob(request, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1, 2, 3] } });
  const events = await trace(request, origin);
  const last = events.at(-1)?.seq ?? 0;
  const processStart = startOf(events, "process");
  const snapshotBefore = await (await request.get(`/api/jobs/${origin}`)).text();

  await openJob(page, origin);
  const timeline = page.getByTestId("timeline");
  const position = page.getByTestId("timeline-position");
  await expect(position).toHaveAttribute("data-seq", String(last));
  await expect(page.getByTestId("node-activations-validate")).toHaveAttribute("data-count", "1");

  // Shift+← twice: back one activation (validate's start), then another (process').
  await timeline.focus();
  await timeline.press("Shift+ArrowLeft");
  await expect(position).toHaveAttribute("data-seq", String(startOf(events, "validate")));
  await timeline.press("Shift+ArrowLeft");
  await expect(position).toHaveAttribute("data-seq", String(processStart));
  // The graph as it was then: process running (and highlighted), validate not yet run.
  await expect(page.getByTestId("node-status-process")).toHaveAttribute("data-status", "running");
  await expect(page.locator('.react-flow__node[data-id="process"] .rnode')).toHaveAttribute("data-travel-active", "true");
  await expect(page.getByTestId("node-activations-validate")).toHaveAttribute("data-count", "0");
  await expect(page.getByTestId("node-status-validate")).toHaveAttribute("data-status", "pending");
  await expect(page.getByTestId("node-activations-ingest")).toHaveAttribute("data-count", "1");
  // ← one event, → back.
  await timeline.press("ArrowLeft");
  await expect(position).toHaveAttribute("data-seq", String(processStart - 1));
  await expect(page.getByTestId("node-activations-process")).toHaveAttribute("data-count", "0");
  await timeline.press("ArrowRight");
  await expect(position).toHaveAttribute("data-seq", String(processStart));

  // Its input, as the handler received it.
  const input = page.getByTestId("travel-input");
  await expect(input).toHaveAttribute("data-start-seq", String(processStart));
  expect(JSON.parse((await input.textContent()) ?? "null")).toEqual({ count: 3, data: [1, 2, 3] });

  await page.screenshot({ path: testInfo.outputPath("timeline-at-process.png") });

  // A node's input rows offer the same, prefilled with that input.
  await page.locator('.react-flow__node[data-id="process"] .rnode-title').click();
  await expect(page.getByTestId("node-io")).toHaveAttribute("data-routine-id", "process");
  const inputRow = page.locator('[data-testid="node-io-row"][data-kind="input"]');
  await expect(inputRow).toHaveAttribute("data-seq", String(processStart));
  await inputRow.getByTestId("fork-from-here").click();
  expect(JSON.parse(await page.getByTestId("fork-params").inputValue())).toEqual({ count: 3, data: [1, 2, 3] });
  await page.getByTestId("fork-dialog").getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("fork-dialog")).toHaveCount(0);
  await expect(position).toHaveAttribute("data-seq", String(processStart));

  // Re-run from here with an edited payload.
  await page.getByTestId("travel-panel").getByTestId("fork-from-here").click();
  const params = page.getByTestId("fork-params");
  expect(JSON.parse(await params.inputValue())).toEqual({ count: 3, data: [1, 2, 3] });
  await params.fill("{ not json");
  await expect(page.getByTestId("fork-params-error")).toBeVisible();
  await expect(page.getByTestId("fork-submit")).toBeDisabled();
  await params.fill(JSON.stringify({ count: 2, data: [10, 20] }));
  await page.getByTestId("fork-submit").click();
  await page.waitForURL((u) => u.pathname.startsWith("/jobs/job_") && !u.pathname.endsWith(origin));
  const fork = decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");
  expect(fork).not.toBe(origin);

  // The new job completes with the new result; it says where it came from.
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed", { timeout: 15_000 });
  await expect(page.getByTestId("forked-from")).toHaveAttribute("data-job-id", origin);
  await expect(page.getByTestId("forked-from")).toHaveAttribute("data-seq", String(processStart));
  const io = (await (await request.get(`/api/jobs/${fork}/io?routine_id=validate&kind=input`)).json()) as { rows: { payload: unknown }[] };
  expect(io.rows.map((r) => r.payload)).toEqual([{ result: [20, 40] }]);
  await page.locator('.react-flow__node[data-id="validate"] .rnode-title').click();
  const validateIn = page.locator('[data-testid="node-io-row"][data-kind="input"]');
  await validateIn.getByTestId("node-io-toggle").click();
  await expect(validateIn.getByTestId("node-io-payload")).toContainText("0: 20");
  await expect(validateIn.getByTestId("node-io-payload")).toContainText("1: 40");
  // The original is untouched.
  expect(await (await request.get(`/api/jobs/${origin}`)).text()).toBe(snapshotBefore);
  expect(await trace(request, origin)).toEqual(events);

  // Compare with… defaults to the origin of a fork; the diff marks where the edit took effect.
  const compare = page.getByTestId("compare-with");
  await expect(compare).toHaveAttribute("data-base", origin);
  await compare.click();
  await page.waitForURL(/\/jobs\/diff\?/);
  const forkEvents = await trace(request, fork);
  const divergence = page.getByTestId("first-divergence");
  await expect(divergence).toHaveAttribute("data-routine-id", "process");
  await expect(divergence).toHaveAttribute("data-seq", String(startOf(forkEvents, "process")));
  await expect(page.getByTestId("diff-node-process")).toHaveAttribute("data-diff", "changed");
  await expect(page.getByTestId("diff-node-validate")).toHaveAttribute("data-diff", "changed");
  await expect(page.getByTestId("diverges-process")).toBeVisible();
  // Selected by default: base and other side by side.
  await expect(page.getByTestId("diff-compare")).toHaveAttribute("data-routine-id", "process");
  expect(JSON.parse((await page.getByTestId("diff-base-json").textContent()) ?? "null").input).toEqual({ count: 3, data: [1, 2, 3] });
  expect(JSON.parse((await page.getByTestId("diff-other-json").textContent()) ?? "null").input).toEqual({ count: 2, data: [10, 20] });
  await page.screenshot({ path: testInfo.outputPath("diff.png") });

  // The fork shows in the job list with its lineage.
  await page.goto("/jobs");
  await expect(page.getByTestId(`job-row-${fork}`).getByTestId("forked-from")).toHaveAttribute("data-job-id", origin);
  // And the origin's view names its fork.
  await page.goto(`/jobs/${origin}`);
  await expect(page.getByTestId("forks-of").getByTestId("fork-link")).toHaveAttribute("data-job-id", fork);
});

test("the diff page says what is wrong in place: an unknown job", async ({ page, request }) => {
  const job = await finishedJob(request, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: [1] } });
  await page.goto(`/jobs/diff?base=${job}&other=job_does_not_exist`);
  await expect(page.getByTestId("diff-error")).toContainText(/job_does_not_exist|not found/i);
});

test("lane view: the flaky routine's retries are separate bars with the backoff waits between them; a bar moves the timeline", async ({ page, request }, testInfo) => {
  const job = await finishedJob(request, { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} });
  const events = await trace(request, job);
  const flakyStarts = events.filter((e) => e.event_type === "routine_start" && e.routine_id === "flaky").map((e) => e.seq);
  expect(flakyStarts.length).toBe(3);

  await openJob(page, job);
  await page.getByTestId("tab-lanes").click();
  const bars = page.getByTestId("lane-flaky").getByTestId("lane-bar");
  await expect(bars).toHaveCount(3);
  const boxes = await Promise.all([0, 1, 2].map(async (i) => (await bars.nth(i).boundingBox()) as { x: number; width: number }));
  // Each retry starts after the previous attempt ended: a gap (the backoff wait), (retry_delay 0.2 s, backoff 2).
  const gap1 = (boxes[1]?.x ?? 0) - ((boxes[0]?.x ?? 0) + (boxes[0]?.width ?? 0));
  const gap2 = (boxes[2]?.x ?? 0) - ((boxes[1]?.x ?? 0) + (boxes[1]?.width ?? 0));
  expect(gap1).toBeGreaterThan(0);
  expect(gap2).toBeGreaterThan(0);

  await bars.nth(1).click();
  await page.screenshot({ path: testInfo.outputPath("lanes.png") });
  await expect(page.getByTestId("timeline-position")).toHaveAttribute("data-seq", String(flakyStarts[1]));
  await expect(page.getByTestId("timeline-position")).toHaveAttribute("data-live", "false");
  await page.getByTestId("timeline-live").click();
  await expect(page.getByTestId("timeline-position")).toHaveAttribute("data-live", "true");
  await expect(page.getByTestId("node-status-flaky")).not.toHaveAttribute("data-status", "running");
});

test("a job opened after it ran whose first events the server no longer holds: the timeline says it cannot travel, and why", async ({ page, request }) => {
  // ticker → passthrough, 400 ticks: 1,202 events, more than the trace ring's 1,000 per job.
  const flowId = "tt_long";
  await request.delete(`/api/flows/${flowId}`);
  const dsl = { flow_id: flowId, routines: { source: { class: "ticker" }, p: { class: "passthrough" } }, connections: [{ from: "source.tick", to: "p.input" }] };
  expect((await request.post("/api/flows", { data: { flow_id: flowId, dsl } })).status()).toBe(201);
  const job = await finishedJob(request, { flow_id: flowId, entry_routine_id: "source", entry_slot: "trigger", entry_params: { count: 400, interval_ms: 0 } });
  const metrics = (await (await request.get(`/api/jobs/${job}/metrics`)).json()) as { dropped_events: number };
  expect(metrics.dropped_events).toBeGreaterThan(0);

  await page.goto(`/jobs/${job}`);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("timeline-unusable")).toBeVisible();
  await expect(page.getByTestId("timeline")).toBeDisabled();
  await request.delete(`/api/flows/${flowId}`);
});
