/**
 * Every payload in full: a finished job shows each node's inputs and outputs whole (far beyond the
 * trace's 2 KB previews), an event-log row opens its full payload in the payload viewer and Copy
 * puts it on the clipboard, and a job past its payload budget says so.
 */
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";

/** 600 numbers of six digits: ~4.2 KB of JSON, twice what a trace preview keeps. */
const DATA = Array.from({ length: 600 }, (_, i) => 100_000 + i);

async function finishedJob(request: APIRequestContext, body: Record<string, unknown>): Promise<string> {
  const res = await request.post("/api/jobs", { data: body });
  expect(res.status()).toBe(201);
  const { job_id } = (await res.json()) as { job_id: string };
  await expect
    .poll(async () => ((await (await request.get(`/api/jobs/${job_id}`)).json()) as { status: string }).status, { timeout: 15_000 })
    .toMatch(/completed|failed/);
  return job_id;
}

async function openJob(page: Page, jobId: string): Promise<void> {
  await page.goto(`/jobs/${jobId}`);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
}

async function selectNode(page: Page, routineId: string): Promise<void> {
  await page.locator(`.react-flow__node[data-id="${routineId}"] .rnode-title`).click();
  await expect(page.getByTestId("node-io")).toHaveAttribute("data-routine-id", routineId);
}

/** The payload viewer's JSON, parsed. */
async function viewerEvent(page: Page): Promise<{ event_type: string; data: Record<string, unknown> }> {
  const text = await page.getByTestId("payload-viewer-json").textContent();
  return JSON.parse(text ?? "null") as { event_type: string; data: Record<string, unknown> };
}

test("a finished job shows each node's inputs and outputs in full, and its final shared data", async ({ page, request }, testInfo) => {
  const jobId = await finishedJob(request, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: DATA } });
  // The trace's own preview of process' input is cut short of the last item.
  const trace = (await (await request.get(`/api/jobs/${jobId}/trace?limit=100`)).json()) as { events: { event_type: string; routine_id: string; data: { payload?: unknown } }[] };
  const start = trace.events.find((e) => e.event_type === "routine_start" && e.routine_id === "process");
  expect(JSON.stringify(start?.data.payload)).not.toContain("100599");

  await openJob(page, jobId);
  const io = page.getByTestId("node-io");
  await selectNode(page, "process");
  const rows = io.getByTestId("node-io-row");
  await expect(rows).toHaveCount(2);
  const input = io.locator('[data-testid="node-io-row"][data-kind="input"]');
  const output = io.locator('[data-testid="node-io-row"][data-kind="output"]');
  await expect(input).toHaveAttribute("data-truncated", "false");
  await input.getByTestId("node-io-toggle").click();
  // The whole list, as a tree: its last item is there.
  await expect(input.getByTestId("node-io-payload")).toContainText("599: 100599");
  await expect(input.getByTestId("node-io-payload")).toContainText("count: 600");
  await output.getByTestId("node-io-toggle").click();
  await expect(output.getByTestId("node-io-payload")).toContainText("599: 201198");
  await page.screenshot({ path: testInfo.outputPath("node-io.png") });

  // The same input as JSON in the payload viewer: every item.
  await input.getByTestId("node-io-open").click();
  await expect(page.getByTestId("payload-viewer")).toBeVisible();
  const event = await viewerEvent(page);
  expect(event.event_type).toBe("routine_start");
  expect(event.data.payload).toEqual({ count: 600, data: DATA });
  await expect(page.getByTestId("payload-viewer-truncated")).toHaveCount(0);
  await page.screenshot({ path: testInfo.outputPath("payload-viewer.png") });
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("payload-viewer")).toHaveCount(0);

  // The other nodes: ingest received the params and emitted them on; validate got the result.
  await selectNode(page, "ingest");
  await expect(io.getByTestId("node-io-row")).toHaveCount(2);
  await io.locator('[data-testid="node-io-row"][data-kind="input"]').getByTestId("node-io-toggle").click();
  await expect(io.getByTestId("node-io-payload")).toContainText("599: 100599");
  await selectNode(page, "validate");
  await expect(io.getByTestId("node-io-row")).toHaveCount(1);
  await io.getByTestId("node-io-toggle").click();
  await expect(io.getByTestId("node-io-payload")).toContainText("599: 201198");
  await expect(page.getByTestId("final-shared-data")).toContainText("valid: true");
});

test("an event-log row opens its full payload, and Copy puts it on the clipboard", async ({ page, request, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const jobId = await finishedJob(request, { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: DATA } });
  await openJob(page, jobId);
  const row = page.locator('[data-testid="event-log-row"][data-event-type="event_emit"][data-routine-id="process"]');
  // The row itself shows a short summary only.
  await expect(row).not.toContainText("201198");
  const seq = await row.getAttribute("data-seq");
  await row.click();
  const viewer = page.getByTestId("payload-viewer");
  await expect(viewer).toBeVisible();
  await expect(viewer).toHaveAttribute("data-seq", seq ?? "");
  await expect(viewer).toHaveAttribute("data-truncated", "false");
  const event = await viewerEvent(page);
  expect(event.event_type).toBe("event_emit");
  expect(event.data.payload).toEqual({ result: DATA.map((x) => x * 2) });

  await page.getByTestId("payload-copy").click();
  await expect(page.getByTestId("payload-copy")).toHaveAttribute("data-copied", "true");
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await page.getByTestId("payload-viewer-json").textContent());
  expect((JSON.parse(copied) as { data: { payload: unknown } }).data.payload).toEqual({ result: DATA.map((x) => x * 2) });

  // Closable with Escape; another row opens its own event (the entry params here).
  await page.keyboard.press("Escape");
  await expect(viewer).toHaveCount(0);
  await page.getByTestId("event-log-filter-type").selectOption("job_started");
  await page.locator('[data-testid="event-log-row"][data-event-type="job_started"]').click();
  await expect(viewer).toHaveAttribute("data-seq", "1");
  expect((await viewerEvent(page)).data.params).toEqual({ data: DATA });
  await page.getByTestId("payload-close").click();
  await expect(viewer).toHaveCount(0);
});

test("a job past its payload budget says so, and shows previews past it", async ({ page, request }, testInfo) => {
  // Twelve passthroughs hand the same ~200 KB payload along: 24 inputs and outputs, ~5 MB in all,
  // over the default budget of 1 MiB (the entry params and the first few fit).
  const n = 12;
  const routines = Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { class: "passthrough" }]));
  const connections = Array.from({ length: n - 1 }, (_, i) => ({ from: `p${i}.output`, to: `p${i + 1}.input` }));
  const flowId = `payload_budget_${Date.now()}`;
  expect((await request.post("/api/flows", { data: { flow_id: flowId, dsl: { routines, connections } } })).status()).toBe(201);
  const blob = Array.from({ length: 200 }, (_, i) => `${i}:${"x".repeat(990)}`);
  const jobId = await finishedJob(request, { flow_id: flowId, entry_routine_id: "p0", entry_slot: "input", entry_params: { blob } });
  try {
    await openJob(page, jobId);
    const notice = page.getByTestId("node-io-truncated");
    await expect(notice).toBeVisible();
    await expect(notice).toContainText("payload budget of 1.0 MiB");
    expect(Number(await notice.getAttribute("data-count"))).toBeGreaterThan(0);

    // The first node's input was kept in full; the last node's are previews.
    const io = page.getByTestId("node-io");
    await selectNode(page, "p0");
    await expect(io.locator('[data-testid="node-io-row"][data-kind="input"]')).toHaveAttribute("data-truncated", "false");
    await selectNode(page, `p${n - 1}`);
    const last = io.locator('[data-testid="node-io-row"][data-kind="input"]');
    await expect(last).toHaveAttribute("data-truncated", "true");
    await expect(last).toContainText("preview");
    await last.getByTestId("node-io-open").click();
    await expect(page.getByTestId("payload-viewer")).toHaveAttribute("data-truncated", "true");
    await expect(page.getByTestId("payload-viewer-truncated")).toContainText("Preview only");
    await page.screenshot({ path: testInfo.outputPath("budget.png") });
    await page.keyboard.press("Escape");
  } finally {
    await request.delete(`/api/flows/${flowId}`);
  }
});

test("a paused job shows what its nodes received and emitted so far", async ({ page, request }) => {
  const res = await request.post("/api/jobs", { data: { flow_id: "data_processing", entry_routine_id: "ingest", entry_params: { data: DATA }, breakpoints: [{ routine_id: "validate" }] } });
  const { job_id: jobId } = (await res.json()) as { job_id: string };
  try {
    await page.goto(`/jobs/${jobId}`);
    await expect(page.getByTestId("paused-at")).toHaveAttribute("data-routine-id", "validate");
    const io = page.getByTestId("node-io");
    // The stop selects validate: it has not run yet.
    await expect(io).toHaveAttribute("data-routine-id", "validate");
    await expect(io.getByTestId("node-io-row")).toHaveCount(0);
    await selectNode(page, "process");
    await expect(io.getByTestId("node-io-row")).toHaveCount(2);
    const output = io.locator('[data-testid="node-io-row"][data-kind="output"]');
    await output.getByTestId("node-io-toggle").click();
    await expect(output.getByTestId("node-io-payload")).toContainText("599: 201198");
    await expect(page.getByTestId("final-shared-data")).toHaveCount(0);
    // Continue: validate runs, and its input shows up without reloading.
    await page.getByTestId("debug-continue").click();
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
    await selectNode(page, "validate");
    await expect(io.getByTestId("node-io-row")).toHaveCount(1);
    await expect(page.getByTestId("final-shared-data")).toContainText("valid: true");
  } finally {
    await request.post(`/api/jobs/${jobId}/cancel`);
  }
});
