/**
 * A real-size flow (the generated 50-routine one) at 1280×720: a stop brings the paused node into
 * view at a readable zoom, the routine search and a call-stack frame zoom to a node, and the
 * minimap never covers a node.
 */
import { expect, type Page, test } from "@playwright/test";
import { BIG_FLOW_ROUTINES, bigFlowDsl, bigFlowParams } from "../tests/helpers/big-flow";
import { expectPausedAt, graphZoom as zoom, nodeFullyShown } from "./helpers";

const FLOW = "e2e_big_50";
const READABLE = 0.8;

test.use({ viewport: { width: 1280, height: 720 } });

test.beforeAll(async ({ request }) => {
  await request.delete(`/api/flows/${FLOW}`);
  const res = await request.post("/api/flows", { data: { flow_id: FLOW, dsl: bigFlowDsl(FLOW, 12) } });
  expect(res.status(), await res.text()).toBe(201);
});
test.afterAll(async ({ request }) => {
  await request.delete(`/api/flows/${FLOW}`);
});

type Box = { x: number; y: number; width: number; height: number };

async function box(page: Page, selector: string): Promise<Box> {
  const b = await page.locator(selector).boundingBox();
  if (!b) throw new Error(`${selector} has no box`);
  return b;
}

/** The part of `a` inside `b` (null: none). */
function clip(a: Box, b: Box): Box | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const r = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  return r > x && bottom > y ? { x, y, width: r - x, height: bottom - y } : null;
}

/** The node of `routineId` is fully inside the graph's visible area, at a readable zoom (the view has settled). */
async function expectShownReadable(page: Page, routineId: string): Promise<void> {
  await expect.poll(async () => (await zoom(page)) >= READABLE && (await nodeFullyShown(page, routineId))).toBe(true);
  // Settled: the same transform twice, a little apart (the move is animated).
  await expect
    .poll(async () => {
      const a = await page.locator(".react-flow__viewport").getAttribute("style");
      await page.waitForTimeout(150);
      return a === (await page.locator(".react-flow__viewport").getAttribute("style"));
    })
    .toBe(true);
  expect(await zoom(page)).toBeGreaterThanOrEqual(READABLE);
  expect(await nodeFullyShown(page, routineId)).toBe(true);
}

/** No node's visible part (nodes are clipped by the graph's pane) overlaps the minimap. */
async function expectMinimapCoversNothing(page: Page): Promise<void> {
  const minimap = await box(page, ".react-flow__minimap");
  const pane = await box(page, ".react-flow");
  const nodes = await page.locator(".react-flow__node").evaluateAll((els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      return { id: el.getAttribute("data-id") ?? "?", box: { x: r.x, y: r.y, width: r.width, height: r.height } };
    }),
  );
  expect(nodes).toHaveLength(BIG_FLOW_ROUTINES);
  const covered = nodes.filter((n) => {
    const visible = clip(n.box, pane);
    return visible !== null && clip(visible, minimap) !== null;
  });
  expect(covered.map((n) => n.id)).toEqual([]);
  // The check has something to check: some nodes are on screen.
  expect(nodes.filter((n) => clip(n.box, pane) !== null).length).toBeGreaterThan(0);
}

/** The Controls' fit-view button: the whole flow, far below a readable zoom at this size. */
async function zoomOutToFit(page: Page): Promise<void> {
  await page.locator(".react-flow__controls-fitview").click();
  await expect.poll(() => zoom(page)).toBeLessThan(0.5);
}

async function startJob(page: Page, extra: Record<string, unknown>): Promise<string> {
  const res = await page.request.post("/api/jobs", { data: { flow_id: FLOW, entry_routine_id: "intake", entry_slot: "input", entry_params: bigFlowParams(12), ...extra } });
  expect(res.status(), await res.text()).toBe(201);
  return ((await res.json()) as { job_id: string }).job_id;
}

test("a stop shows the paused node at a readable zoom; the same node stopping again does not move the view; a stop after zooming out zooms back in", async ({ page }, testInfo) => {
  // Paused before the view opens: it opens on the paused node, not on the whole flow.
  const jobId = await startJob(page, { pause_on_start: true, breakpoints: [{ routine_id: "audit_9" }] });
  await page.goto(`/jobs/${jobId}`);
  await expectPausedAt(page, "intake");
  await expectShownReadable(page, "intake");
  await expectMinimapCoversNothing(page);

  // A stop far away (the audit chain is on the other side of the graph) while the view is open.
  await page.getByTestId("debug-continue").click();
  await expectPausedAt(page, "audit_9");
  await expectShownReadable(page, "audit_9");
  await expect(page.locator('.react-flow__node[data-id="audit_9"] .rnode')).toHaveClass(/selected/);
  await page.screenshot({ path: testInfo.outputPath("stop-at-audit_9.png") });
  await expectMinimapCoversNothing(page);

  // The next order stops at the same node: it is in view and readable, so nothing moves.
  const before = await page.locator(".react-flow__viewport").getAttribute("style");
  const activation = await page.getByTestId("paused-at").getAttribute("data-activation-id");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("paused-at")).not.toHaveAttribute("data-activation-id", activation ?? "");
  await expectPausedAt(page, "audit_9");
  await page.waitForTimeout(400); // longer than a move would take
  expect(await page.locator(".react-flow__viewport").getAttribute("style")).toBe(before);

  // The user zooms out to see it all; the next stop makes the node readable again.
  await zoomOutToFit(page);
  await page.getByTestId("debug-continue").click();
  await expectPausedAt(page, "audit_9");
  await expectShownReadable(page, "audit_9");
  await page.getByTestId("debug-cancel").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "cancelled");
});

test("routine-search finds a routine by id and by type (Ctrl+K or /), and zooms to it; Escape closes it", async ({ page }, testInfo) => {
  await page.goto(`/flows/${FLOW}`);
  await expect(page.locator(".react-flow__node")).toHaveCount(BIG_FLOW_ROUTINES);
  // The first view is the whole flow: unreadable at this size, which is why search exists.
  await expect.poll(() => zoom(page)).toBeLessThan(READABLE);
  await expectMinimapCoversNothing(page);
  const search = page.getByTestId("routine-search");

  // By id, with Ctrl+K and Enter.
  await page.locator(".react-flow__pane").click();
  await page.keyboard.press("Control+k");
  await expect(search).toBeFocused();
  await page.keyboard.type("HEAVY_1");
  const results = page.getByTestId("routine-search-result");
  await expect(results).toHaveCount(1);
  await expect(results.first()).toHaveAttribute("data-routine-id", "large_heavy_1");
  await page.keyboard.press("Enter");
  await expectShownReadable(page, "large_heavy_1");
  await expect(page.locator('.react-flow__node[data-id="large_heavy_1"] .rnode')).toHaveClass(/selected/);
  await expect(page.getByTestId("routine-config")).toBeVisible();
  await expect(page.getByTestId("routine-search-results")).toHaveCount(0);
  await expectMinimapCoversNothing(page);

  // By type, with `/` and a click on the result: the aggregator is `collect`.
  await zoomOutToFit(page);
  await page.keyboard.press("/");
  await expect(search).toBeFocused();
  await search.fill("Aggreg");
  await expect(results).toHaveCount(1);
  await expect(results.first()).toHaveAttribute("data-routine-id", "collect");
  await page.screenshot({ path: testInfo.outputPath("search-by-type.png") });
  await results.first().click();
  await expectShownReadable(page, "collect");
  await expect(page.getByTestId("routine-config")).toContainText("count");

  // Several matches (ids first), arrows move, Escape closes without moving; nothing found says so.
  await page.keyboard.press("Control+k");
  await search.fill("small_post");
  await expect(results).toHaveCount(4);
  await search.press("Escape");
  await expect(page.getByTestId("routine-search-results")).toHaveCount(0);
  await expect(search).not.toBeFocused();
  await expect(search).toHaveValue("");
  await search.fill("no_such_routine");
  await expect(page.getByTestId("routine-search-results")).toContainText("No routine");
  await search.press("Enter");
  await expectShownReadable(page, "collect");
  await search.press("Escape");

  // `/` typed in another field stays there.
  await page.getByTestId("run-flow").click();
  await page.getByTestId("run-params").fill("");
  await page.getByTestId("run-params").pressSequentially('{"a": "x/y"}');
  await expect(page.getByTestId("run-params")).toHaveValue('{"a": "x/y"}');
  await expect(search).not.toBeFocused();
});

test("a call-stack frame click zooms to its node; search works in the job view too", async ({ page }) => {
  const jobId = await startJob(page, { breakpoints: [{ routine_id: "report" }] });
  await page.goto(`/jobs/${jobId}`);
  await expectPausedAt(page, "report");
  await expectShownReadable(page, "report");

  // The stack runs back to the entry: intake is the last frame, far to the left.
  const frames = page.locator('[data-testid^="call-stack-frame-"]');
  await expect(frames.first()).toHaveAttribute("data-routine-id", "report");
  const last = frames.last();
  await expect(last).toHaveAttribute("data-routine-id", "intake");
  await zoomOutToFit(page);
  await last.click();
  await expectShownReadable(page, "intake");
  await expect(page.locator('.react-flow__node[data-id="intake"] .rnode')).toHaveClass(/selected/);
  await expectMinimapCoversNothing(page);

  // Another frame, from a readable zoom: centred at the user's zoom.
  const zoomBefore = await zoom(page);
  await page.locator('[data-testid^="call-stack-frame-"][data-routine-id="split"]').click();
  await expectShownReadable(page, "split");
  expect(await zoom(page)).toBeCloseTo(zoomBefore, 5);

  // The search in the job view: by type (`router` matches route and large_route; ids first).
  await page.keyboard.press("Control+k");
  await page.getByTestId("routine-search").fill("router");
  await expect(page.getByTestId("routine-search-result")).toHaveCount(2);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await expectShownReadable(page, "route");
  // The routine panel shows the selected routine's type and config.
  await expect(page.getByTestId("routine-panel")).toContainText("router");
  await expect(page.getByTestId("routine-config")).toContainText("routes");
  await page.getByTestId("debug-cancel").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "cancelled");
});
