/**
 * What the UI shows from fields whose names and nullability come from the wire contract: job
 * durations in the lists, error messages in the Metrics tab, and a routine with no timed run.
 */
import { type APIRequestContext, expect, test } from "@playwright/test";
import type { JobMetrics, JobSnapshot, JobSummary, StartJobAnswer } from "../lib/wire";
import { clearFlowBreakpoints } from "./helpers";

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));

async function startJob(request: APIRequestContext, body: Record<string, unknown>): Promise<string> {
  const res = await request.post("/api/jobs", { data: body });
  expect(res.status(), await res.text()).toBe(201);
  return ((await res.json()) as StartJobAnswer).job_id;
}

async function finished(request: APIRequestContext, jobId: string): Promise<JobSnapshot> {
  await expect
    .poll(async () => ((await (await request.get(`/api/jobs/${jobId}`)).json()) as JobSnapshot).status, { timeout: 20_000 })
    .toMatch(/completed|failed|cancelled/);
  return (await (await request.get(`/api/jobs/${jobId}`)).json()) as JobSnapshot;
}

test("job lists show each finished job's duration, as the server measured it", async ({ page, request }) => {
  const jobId = await startJob(request, { flow_id: "slow_stream", entry_routine_id: "source", entry_params: { count: 5, interval_ms: 20 } });
  await finished(request, jobId);
  const listed = ((await (await request.get("/api/jobs?flow_id=slow_stream")).json()) as { jobs: JobSummary[] }).jobs.find((j) => j.job_id === jobId);
  expect(listed?.duration_ms).toBeGreaterThanOrEqual(80);

  await page.goto("/jobs?flow_id=slow_stream");
  const cell = page.getByTestId(`job-duration-${jobId}`);
  await expect(cell).toHaveAttribute("data-ms", String(listed?.duration_ms));
  await expect(cell).toHaveText(/^\d+(\.\d+)? (ms|s)$/);
  await page.goto("/");
  await expect(page.getByTestId(`job-duration-${jobId}`)).toHaveAttribute("data-ms", String(listed?.duration_ms));
});

test("the Metrics tab lists each error with its routine, type and message", async ({ page, request }) => {
  const jobId = await startJob(request, { flow_id: "flaky_retry", entry_routine_id: "flaky", entry_slot: "input", entry_params: {} });
  await finished(request, jobId);
  const metrics = (await (await request.get(`/api/jobs/${jobId}/metrics`)).json()) as JobMetrics;
  expect(metrics.errors.length).toBeGreaterThanOrEqual(3);

  await page.goto(`/jobs/${jobId}`);
  await page.getByTestId("tab-metrics").click();
  const rows = page.getByTestId("metrics-error");
  await expect(rows).toHaveCount(metrics.errors.length);
  for (const [i, e] of metrics.errors.entries()) {
    await expect(rows.nth(i)).toHaveAttribute("data-routine-id", e.routine_id ?? "");
    await expect(rows.nth(i)).toContainText(`${e.error_type}: ${e.error_message}`);
  }
  await expect(rows.filter({ hasText: "boom" })).toHaveCount(1);
  await expect(rows.filter({ hasText: "flaky: try again" })).toHaveCount(2);
});

test("routines that have not run yet show no average (null), the others theirs", async ({ page, request }) => {
  // Held at a breakpoint before `process` runs: ingest has a timed run, process and validate none.
  const jobId = await startJob(request, {
    flow_id: "data_processing",
    entry_routine_id: "ingest",
    entry_params: { data: [1, 2, 3] },
    breakpoints: [{ routine_id: "process" }],
  });
  await expect.poll(async () => ((await (await request.get(`/api/jobs/${jobId}`)).json()) as JobSnapshot).status).toBe("paused");
  const m = ((await (await request.get(`/api/jobs/${jobId}/metrics`)).json()) as JobMetrics).routine_metrics;
  expect(m.process).toMatchObject({ execution_count: 0, avg_duration_ms: null });
  expect(m.validate).toMatchObject({ execution_count: 0, avg_duration_ms: null });
  expect(m.ingest?.avg_duration_ms).toEqual(expect.any(Number));

  await page.goto(`/jobs/${jobId}`);
  await page.getByTestId("tab-metrics").click();
  await expect(page.getByTestId("metrics-row-process").getByTestId("metrics-avg")).toHaveText("—");
  await expect(page.getByTestId("metrics-row-validate").getByTestId("metrics-avg")).toHaveText("—");
  await expect(page.getByTestId("metrics-row-ingest").getByTestId("metrics-avg")).toHaveText(/^\d+(\.\d+)? ms$/);
  await expect(page.getByTestId("routine-panel")).toContainText("avg — ·");
  expect((await request.post(`/api/jobs/${jobId}/cancel`)).status()).toBe(200);
});
