import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { clearFlowBreakpoints, runFromUi } from "./helpers";
import { freePort, ServerProcess } from "./server-process";
import { TcpProxy } from "./tcp-proxy";

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));

const num = async (text: Promise<string | null>) => Number((await text)?.replace(/[^0-9]/g, "") ?? "0");

test("slow stream: node and edge counts rise and the log fills while it runs; after the connection is cut and restored the log continues with no seq gap", async ({ page, request, baseURL }, testInfo) => {
  const proxy = new TcpProxy(Number(new URL(baseURL ?? "http://localhost:8799").port));
  await proxy.start();
  try {
    const via = `http://localhost:${proxy.port}`;
    await page.goto(`${via}/flows/slow_stream`);
    await expect(page.locator(".react-flow__node")).toHaveCount(3);
    // 15 s: the job must still be running when the connection is cut, however slowly the steps
    // before go (a busy machine, or a job view whose first requests are relayed to a worker).
    const jobId = await runFromUi(page, { count: 60, interval_ms: 250 });
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "running");

    const sink = page.getByTestId("node-activations-sink");
    const edge = page.getByTestId("edge-count-scale.output:sink.input");
    const logCount = page.getByTestId("event-log-count");
    await expect.poll(() => num(sink.textContent())).toBeGreaterThan(2);
    const first = { sink: await num(sink.textContent()), edge: Number(await edge.getAttribute("data-count")), log: await num(logCount.textContent()) };
    await expect.poll(() => num(sink.textContent())).toBeGreaterThan(first.sink + 3);
    expect(Number(await edge.getAttribute("data-count"))).toBeGreaterThan(first.edge);
    expect(await num(logCount.textContent())).toBeGreaterThan(first.log);
    await expect(page.getByTestId(`node-status-source`)).toHaveAttribute("data-status", "running");
    await page.screenshot({ path: testInfo.outputPath("live-stream.png") });

    // The server goes away mid-run...
    await proxy.stop();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "reconnecting");
    const before = Number(await page.getByTestId("event-log").getAttribute("data-last-seq"));
    await page.waitForTimeout(1500); // the job keeps running on the server meanwhile
    await proxy.start();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected", { timeout: 15_000 });
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed", { timeout: 30_000 });

    // ...and the log holds every event exactly once: count = last seq = the server's total.
    const metrics = (await (await request.get(`/api/jobs/${jobId}/metrics`)).json()) as { total_events: number };
    const log = page.getByTestId("event-log");
    await expect(log).toHaveAttribute("data-last-seq", String(metrics.total_events));
    await expect(log).toHaveAttribute("data-size", String(metrics.total_events));
    await expect(log).toHaveAttribute("data-missing", "0");
    expect(metrics.total_events).toBeGreaterThan(before);
    await expect(sink).toContainText("60");
    await expect(edge).toHaveAttribute("data-count", "60");

    // Following, the log is its newest rows; scrolling back stops following, and the whole
    // history is there to scroll through; following again shows the tail.
    const follow = page.getByTestId("event-log-follow");
    const rows = log.getByTestId("event-log-row");
    await expect(follow).toBeChecked();
    await expect(rows.last()).toHaveAttribute("data-seq", String(metrics.total_events));
    const scroller = page.getByTestId("event-log-scroll");
    await scroller.hover();
    await page.mouse.wheel(0, -240);
    await expect(follow).not.toBeChecked();
    await expect(rows.last()).toHaveAttribute("data-seq", String(metrics.total_events)); // it opens at the end
    await scroller.evaluate((el) => {
      el.scrollTop = 0;
    });
    await expect(log.locator('[data-testid="event-log-row"][data-seq="1"]')).toBeVisible();
    await follow.check();
    await expect(rows.last()).toHaveAttribute("data-seq", String(metrics.total_events));
    await expect(log.locator('[data-testid="event-log-row"][data-seq="1"]')).toHaveCount(0);
  } finally {
    await proxy.stop();
  }
});

test("a server restart mid-view: reconnecting, then connected; the interrupted job is closed and the log has no seq gap", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "routilux-e2e-"));
  const server = new ServerProcess(await freePort(), { ROUTILUX_DB: join(dir, "routilux.db") });
  await server.start();
  try {
    await page.goto(`${server.url}/flows/slow_stream`);
    await expect(page.locator(".react-flow__node")).toHaveCount(3);
    const jobId = await runFromUi(page, { count: 200, interval_ms: 50 });
    await expect.poll(async () => Number((await page.getByTestId("node-activations-sink").textContent())?.replace(/\D/g, "") ?? 0)).toBeGreaterThan(3);

    await server.stop();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "reconnecting");
    await server.start();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected", { timeout: 30_000 });
    // The job could not survive its process: it is closed as failed, with the reason.
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "failed", { timeout: 30_000 });
    await expect(page.getByText(/interrupted by restart/i).first()).toBeVisible();
    const trace = (await (await page.request.get(`${server.url}/api/jobs/${jobId}/trace?limit=10000`)).json()) as { total: number; events: { seq: number }[] };
    const log = page.getByTestId("event-log");
    await expect(log).toHaveAttribute("data-last-seq", String(trace.total));
    await expect(log).toHaveAttribute("data-size", String(trace.total));
    await expect(log).toHaveAttribute("data-missing", "0");
    await page.screenshot({ path: testInfo.outputPath("after-restart.png") });
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
