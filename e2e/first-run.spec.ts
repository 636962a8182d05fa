/**
 * A first run that works: the Run panel starts from the flow's example run, remembers the user's
 * last input per flow, and a job can be run again with the same input.
 */
import { expect, type Page, test } from "@playwright/test";
import { clearFlowBreakpoints, DEMO_FLOWS, expectPausedAt, nodeFullyShown, openFlow } from "./helpers";

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));
test.afterEach(async ({ request }) => clearFlowBreakpoints(request));

interface Example {
  entry_routine_id: string;
  entry_slot: string;
  params: Record<string, unknown>;
}

interface Snapshot {
  job_id: string;
  flow_id: string;
  status: string;
  entry_routine_id: string;
  entry_slot: string;
  entry_params: Record<string, unknown>;
  routine_states: Record<string, { status: string; activations: number }>;
  shared_data: Record<string, unknown>;
}

const jobIdOf = (page: Page): string => decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");

async function snapshot(page: Page, jobId: string): Promise<Snapshot> {
  return (await (await page.request.get(`/api/jobs/${jobId}`)).json()) as Snapshot;
}

/** The Run panel's params as JSON (the text is the example pretty-printed, or what the user typed). */
async function formParams(page: Page): Promise<unknown> {
  return JSON.parse(await page.getByTestId("run-params").inputValue());
}

/** How each demo ends when run with its example, beyond `completed`. */
const EXPECTED_END: Record<string, (s: Snapshot) => void> = {
  data_processing: (s) => expect(s.shared_data.valid).toBe(true),
  // Four items: two small, two large; the aggregator (count 4) collects them all.
  fan_out: (s) => {
    expect(s.routine_states.small_worker?.activations).toBe(2);
    expect(s.routine_states.large_worker?.activations).toBe(2);
    expect(s.routine_states.collect?.activations).toBe(4);
  },
  // flaky fails twice and its retries succeed; thrower fails and the job goes on (strategy continue).
  flaky_retry: (s) => {
    expect(s.routine_states.flaky?.status).toBe("completed");
    expect(s.routine_states.thrower?.status).toBe("error_continued");
    expect(s.routine_states.done?.status).toBe("completed");
  },
  slow_stream: (s) => expect(s.routine_states.sink?.activations).toBe(s.entry_params.count),
};

test("the first Run of every demo, with what the panel offers, completes", async ({ page }) => {
  for (const flowId of DEMO_FLOWS) {
    const detail = (await (await page.request.get(`/api/flows/${flowId}`)).json()) as { example: Example | null };
    const example = detail.example;
    if (!example) throw new Error(`${flowId} has no example`);
    await openFlow(page, flowId);
    await page.getByTestId("run-flow").click();
    await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "example");
    await expect(page.getByTestId("run-entry-routine")).toHaveValue(example.entry_routine_id);
    await expect(page.getByTestId("run-entry-slot")).toHaveValue(example.entry_slot);
    expect(await formParams(page), flowId).toEqual(example.params);
    await expect(page.getByTestId("run-reset-example")).toBeDisabled();
    await page.getByTestId("run-submit").click();
    await page.waitForURL(/\/jobs\/job_/);
    await expect(page.getByTestId("job-status"), flowId).toHaveAttribute("data-status", "completed", { timeout: 20_000 });
    const snap = await snapshot(page, jobIdOf(page));
    expect(snap.entry_params).toEqual(example.params);
    EXPECTED_END[flowId]?.(snap);
  }
});

test("the last params are remembered per flow across a reload; reset to example brings the example back", async ({ page }) => {
  await openFlow(page, "data_processing");
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-params").fill('{"data": [7, 8, 9]}');
  await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "edited");
  await page.getByTestId("run-submit").click();
  await page.waitForURL(/\/jobs\/job_/);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  expect((await snapshot(page, jobIdOf(page))).entry_params).toEqual({ data: [7, 8, 9] });

  await openFlow(page, "data_processing");
  await page.reload();
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
  await page.getByTestId("run-flow").click();
  await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "remembered");
  await expect(page.getByTestId("run-params")).toHaveValue('{"data": [7, 8, 9]}');

  // Another flow still starts from its own example.
  await openFlow(page, "fan_out");
  await page.getByTestId("run-flow").click();
  await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "example");
  expect(await formParams(page)).toEqual({ items: [3, 12, 7, 25] });

  // Reset to example, and it stays reset after a reload (the remembered input is forgotten).
  await openFlow(page, "data_processing");
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-reset-example").click();
  await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "example");
  expect(await formParams(page)).toEqual({ data: [1, 2, 3, 4, 5] });
  await page.reload();
  await page.getByTestId("run-flow").click();
  expect(await formParams(page)).toEqual({ data: [1, 2, 3, 4, 5] });
});

test("an input the server refuses is shown in place and not remembered", async ({ page, request }) => {
  await request.delete("/api/flows/e2e_refused");
  const dsl = { routines: { a: { class: "passthrough" } }, example: { entry_routine_id: "a", params: { x: 1 } } };
  expect((await request.post("/api/flows", { data: { flow_id: "e2e_refused", dsl } })).status()).toBe(201);
  await openFlow(page, "e2e_refused");
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-params").fill('{"__proto__": {"polluted": true}}');
  await page.getByTestId("run-submit").click();
  await expect(page.getByTestId("run-panel").getByRole("alert")).toContainText("__proto__");
  await page.reload();
  await page.getByTestId("run-flow").click();
  await expect(page.getByTestId("run-input-source")).toHaveAttribute("data-source", "example");
  expect(await formParams(page)).toEqual({ x: 1 });
  await request.delete("/api/flows/e2e_refused");
});

test("run-again starts an equal job (same flow, entry, slot and params) and opens it; the job's own breakpoints go with it", async ({ page }) => {
  await openFlow(page, "data_processing");
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-params").fill('{"data": [4, 5]}');
  await page.getByTestId("run-pause-on-start").check();
  await page.getByTestId("run-submit").click();
  await page.waitForURL(/\/jobs\/job_/);
  const first = jobIdOf(page);
  await expectPausedAt(page, "ingest");
  // A breakpoint for this job only, from its view.
  await page.getByTestId("breakpoint-toggle-process").click();
  await expect(page.getByTestId("breakpoint-toggle-process")).toHaveAttribute("data-active", "true");
  await page.getByTestId("debug-continue").click();
  await expectPausedAt(page, "process");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");

  await page.getByTestId("run-again").click();
  await page.waitForURL((url) => url.pathname.startsWith("/jobs/job_") && !url.pathname.endsWith(first));
  const second = jobIdOf(page);
  // The breakpoint came along: the new job stops at process too.
  await expectPausedAt(page, "process");
  // A small flow opened at a stop stays whole: the paused node is readable in it already.
  for (const id of ["ingest", "process", "validate"]) await expect.poll(() => nodeFullyShown(page, id), id).toBe(true);
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  const [a, b] = [await snapshot(page, first), await snapshot(page, second)];
  expect(b.job_id).not.toBe(a.job_id);
  for (const key of ["flow_id", "entry_routine_id", "entry_slot", "entry_params", "status"] as const) expect(b[key], key).toEqual(a[key]);
  expect(b.entry_params).toEqual({ data: [4, 5] });
  expect(b.shared_data).toEqual(a.shared_data);
});

test("run-again on a job whose flow is gone says why", async ({ page, request }) => {
  await request.delete("/api/flows/e2e_gone");
  const dsl = { routines: { a: { class: "passthrough" } }, example: { entry_routine_id: "a", params: { x: 1 } } };
  expect((await request.post("/api/flows", { data: { flow_id: "e2e_gone", dsl } })).status()).toBe(201);
  await openFlow(page, "e2e_gone");
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-submit").click();
  await page.waitForURL(/\/jobs\/job_/);
  const jobId = jobIdOf(page);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  expect((await request.delete("/api/flows/e2e_gone")).status()).toBe(204);
  await page.getByTestId("run-again").click();
  await expect(page.getByTestId("action-error")).toContainText("e2e_gone");
  expect(jobIdOf(page)).toBe(jobId);
});
