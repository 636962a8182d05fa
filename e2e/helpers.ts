/** What the UI tests share: API calls for setup and cleanup (the UI itself is driven by clicks). */
import { type APIRequestContext, expect, type Page } from "@playwright/test";

export const DEMO_FLOWS = ["data_processing", "fan_out", "flaky_retry", "slow_stream"];

/** Removes every flow breakpoint of the demo flows, so tests do not leak into each other. */
export async function clearFlowBreakpoints(request: APIRequestContext): Promise<void> {
  for (const flow of DEMO_FLOWS) {
    const res = await request.get(`/api/flows/${flow}/breakpoints`);
    const body = (await res.json()) as { breakpoints: { breakpoint_id: string }[] };
    for (const bp of body.breakpoints) await request.delete(`/api/flows/${flow}/breakpoints/${bp.breakpoint_id}`);
  }
}

/** Opens a flow, starts it from the Run panel with these params, and waits for the job view. */
export async function runFromUi(page: Page, params: unknown, opts: { pauseOnStart?: boolean } = {}): Promise<string> {
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-params").fill(JSON.stringify(params));
  if (opts.pauseOnStart) await page.getByTestId("run-pause-on-start").check();
  await page.getByTestId("run-submit").click();
  await page.waitForURL(/\/jobs\/job_/);
  const jobId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");
  await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
  return jobId;
}

/** Waits until the job view shows the job paused at this routine. */
export async function expectPausedAt(page: Page, routineId: string): Promise<void> {
  await expect(page.getByTestId("paused-at")).toHaveAttribute("data-routine-id", routineId);
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "paused");
  await expect(page.getByTestId(`node-status-${routineId}`)).toHaveAttribute("data-status", "paused");
  // The toolbar is usable again once the command that led here has answered.
  await expect(page.getByTestId("debug-continue")).toBeEnabled();
}

export async function openFlow(page: Page, flowId: string): Promise<void> {
  await page.goto(`/flows/${flowId}`);
  await expect(page.locator(".react-flow__node").first()).toBeVisible();
}

/** The graph's zoom, from the transform React Flow puts on its viewport. */
export async function graphZoom(page: Page): Promise<number> {
  const transform = await page.locator(".react-flow__viewport").evaluate((el) => (el as HTMLElement).style.transform);
  const m = /scale\(([0-9.e-]+)\)/.exec(transform);
  if (!m) throw new Error(`no scale in '${transform}'`);
  return Number(m[1]);
}

/** Whether the whole node of `routineId` is inside the graph's visible area (the pane clips the rest). */
export async function nodeFullyShown(page: Page, routineId: string): Promise<boolean> {
  const node = await page.locator(`.react-flow__node[data-id="${routineId}"]`).boundingBox();
  const pane = await page.locator(".react-flow").boundingBox();
  if (!node || !pane) return false;
  const e = 0.5; // sub-pixel rounding
  return node.x >= pane.x - e && node.y >= pane.y - e && node.x + node.width <= pane.x + pane.width + e && node.y + node.height <= pane.y + pane.height + e;
}
