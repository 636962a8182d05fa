/**
 * A job whose flow this server does not serve (deleted, or edited since the job ran) opens drawn
 * from the flow recorded with it: the graph, a read-only notice, and everything of its record
 * (counts, event log, metrics, inputs and outputs), never "Loading the flow…" for ever.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";
import type { JobMetrics, JobSnapshot, StartJobAnswer } from "../lib/wire";
import { freePort, ServerProcess } from "./server-process";

const DSL = {
  routines: { intake: { class: "passthrough" }, enrich: { class: "mapper", config: { set: { checked: true } } }, keep: { class: "filter", config: { condition: "x > 1" } } },
  connections: [
    { from: "intake.output", to: "enrich.input" },
    { from: "enrich.output", to: "keep.input" },
  ],
};
const ROUTINES = ["intake", "enrich", "keep"];

async function json<T>(res: Promise<{ json(): Promise<unknown> }>): Promise<T> {
  return (await (await res).json()) as T;
}

async function createFlow(request: APIRequestContext, flowId: string): Promise<void> {
  const res = await request.post("/api/flows", { data: { flow_id: flowId, dsl: DSL } });
  expect(res.status(), await res.text()).toBe(201);
}

/** Runs a job of the flow to its end; returns its id. */
async function runJob(request: APIRequestContext, flowId: string): Promise<string> {
  const res = await request.post("/api/jobs", { data: { flow_id: flowId, entry_routine_id: "intake", entry_slot: "input", entry_params: { x: 5, items: [1, 2, 3] } } });
  expect(res.status(), await res.text()).toBe(201);
  const { job_id } = (await res.json()) as StartJobAnswer;
  await expect.poll(async () => (await json<JobSnapshot>(request.get(`/api/jobs/${job_id}`))).status, { timeout: 20_000 }).toBe("completed");
  return job_id;
}

async function openJob(page: Page, base: string, jobId: string): Promise<void> {
  await page.goto(`${base}/jobs/${jobId}`);
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
}

/** The graph drawn from the record: its nodes, counts equal to the snapshot's, the full event log, metrics, a node's inputs and outputs. */
async function expectRecordReadable(page: Page, request: APIRequestContext, jobId: string, routines: string[]): Promise<void> {
  await expect(page.getByTestId("flow-graph")).toBeVisible();
  await expect(page.getByText("Loading the flow…")).toHaveCount(0);
  await expect(page.locator(".react-flow__node")).toHaveCount(routines.length);
  for (const id of routines) await expect(page.locator(`.react-flow__node[data-id="${id}"]`)).toBeVisible();
  const snap = await json<JobSnapshot>(request.get(`/api/jobs/${jobId}`));
  for (const [id, rs] of Object.entries(snap.routine_states)) {
    await expect(page.getByTestId(`node-activations-${id}`)).toHaveAttribute("data-count", String(rs.activations));
    await expect(page.getByTestId(`node-status-${id}`)).toHaveAttribute("data-status", rs.status);
  }
  for (const [id, n] of Object.entries(snap.connection_counts)) await expect(page.getByTestId(`edge-count-${id}`)).toHaveAttribute("data-count", String(n));
  const metrics = await json<JobMetrics>(request.get(`/api/jobs/${jobId}/metrics`));
  const log = page.getByTestId("event-log");
  await expect(log).toHaveAttribute("data-size", String(metrics.total_events));
  await expect(page.locator('[data-testid="event-log-row"][data-event-type="job_completed"]')).toHaveCount(1);
  // A node's inputs and outputs.
  await page.locator('.react-flow__node[data-id="enrich"]').click();
  await expect(page.getByTestId("node-io")).toHaveAttribute("data-routine-id", "enrich");
  await expect(page.locator('[data-testid="node-io-row"][data-kind="input"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="node-io-row"][data-kind="output"]')).toHaveCount(1);
  await page.getByTestId("tab-metrics").click();
  await expect(page.getByTestId("metrics-total-events")).toHaveText(String(metrics.total_events));
  await page.getByRole("tab", { name: "Event log" }).click();
}

/** What needs the flow as it ran is off: run again, breakpoints on nodes, edges and in the panel. */
async function expectReadOnly(page: Page): Promise<void> {
  await expect(page.getByTestId("run-again")).toBeDisabled();
  await expect(page.getByTestId("breakpoint-toggle-intake")).toBeDisabled();
  await expect(page.getByTestId("breakpoint-edit-intake")).toBeDisabled();
  await expect(page.getByTestId("edge-breakpoint-intake.output:enrich.input")).toBeDisabled();
  await expect(page.getByTestId("break-on-any-error")).toBeDisabled();
}

test("a job whose flow was deleted: its graph from history, read-only, with its counts, event log, metrics and payloads", async ({ page, request, baseURL }) => {
  const flowId = `readonly_${Date.now()}`;
  await createFlow(request, flowId);
  const jobId = await runJob(request, flowId);
  expect((await request.delete(`/api/flows/${flowId}`)).status()).toBe(204);

  await openJob(page, baseURL ?? "", jobId);
  const notice = page.getByTestId("flow-not-served");
  await expect(notice).toHaveText(`flow ${flowId} is not served by this server: shown read-only from history`);
  await expect(notice).toHaveAttribute("data-reason", "not-served");
  await expectRecordReadable(page, request, jobId, ROUTINES);
  await expectReadOnly(page);
  // The toolbar names the flow without linking to a page that is gone.
  await expect(page.locator(`a[href="/flows/${flowId}"]`)).toHaveCount(0);
  // A reload draws it again the same way.
  await page.reload();
  await expect(notice).toBeVisible();
  await expect(page.locator(".react-flow__node")).toHaveCount(ROUTINES.length);
  await expect(page.getByText("Loading the flow…")).toHaveCount(0);
});

test("a job whose flow changed since it ran: drawn as it ran and read-only; a job of the flow as it is now is not", async ({ page, request, baseURL }) => {
  const flowId = `changed_${Date.now()}`;
  await createFlow(request, flowId);
  try {
    const old = await runJob(request, flowId);
    const added = await request.post(`/api/flows/${flowId}/routines`, { data: { routine_id: "audit", type: "passthrough" } });
    expect(added.status(), await added.text()).toBe(201);
    await openJob(page, baseURL ?? "", old);
    const notice = page.getByTestId("flow-not-served");
    await expect(notice).toHaveText(`flow ${flowId} has changed since this job ran: shown read-only from history`);
    await expect(notice).toHaveAttribute("data-reason", "changed");
    await expectRecordReadable(page, request, old, ROUTINES);
    await expectReadOnly(page);

    const current = await runJob(request, flowId);
    await openJob(page, baseURL ?? "", current);
    await expect(page.locator(".react-flow__node")).toHaveCount(ROUTINES.length + 1);
    await expect(page.getByTestId("run-again")).toBeEnabled();
    await expect(page.getByTestId("breakpoint-toggle-intake")).toBeEnabled();
    await expect(page.getByTestId("flow-not-served")).toHaveCount(0);
  } finally {
    await request.delete(`/api/flows/${flowId}`);
  }
});

test("a job restored from history after a restart, its flow deleted: drawn from the record", async ({ page, playwright }) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "routilux-readonly-"));
  const server = new ServerProcess(await freePort(), { ROUTILUX_DB: join(dir, "history.db"), ROUTILUX_CHECK_WIRE: "1", ROUTILUX_DEMO: "0" });
  await server.start();
  const request = await playwright.request.newContext({ baseURL: server.url });
  try {
    await createFlow(request, "restored_flow");
    const jobId = await runJob(request, "restored_flow");
    await server.stop();
    await server.start();
    expect((await request.delete("/api/flows/restored_flow")).status()).toBe(204);
    await openJob(page, server.url, jobId);
    await expect(page.getByTestId("flow-not-served")).toHaveText("flow restored_flow is not served by this server: shown read-only from history");
    await expectRecordReadable(page, request, jobId, ROUTINES);
    await expectReadOnly(page);
  } finally {
    await request.dispose();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
