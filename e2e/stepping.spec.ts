/**
 * Stepping that follows the data, stops that say what they are, and breakpoints like an IDE's
 * (several per node, each row editing its own; edges with conditions; break on any error; run to
 * here), and Variables that follow the selected call-stack frame.
 */
import { expect, type Page, test } from "@playwright/test";
import type { Breakpoint, JobBreakpoints } from "../lib/wire";
import { clearFlowBreakpoints, expectPausedAt, openFlow, runFromUi } from "./helpers";

test.beforeEach(async ({ request }) => clearFlowBreakpoints(request));

async function stopNumber(page: Page): Promise<number> {
  return Number(await page.getByTestId("stop-number").getAttribute("data-count"));
}

test("data_processing paused at ingest: Step over stops at process, again at validate; each stop is numbered and says why", async ({ page }) => {
  await openFlow(page, "data_processing");
  await runFromUi(page, { data: [1, 2, 3] }, { pauseOnStart: true });
  await expectPausedAt(page, "ingest");
  await expect(page.getByTestId("stop-number")).toHaveAttribute("data-count", "1");
  await expect(page.getByTestId("paused-at")).toContainText("Paused on start, before ingest.trigger");
  const first = await page.getByTestId("paused-at").getAttribute("data-activation-id");

  await page.getByTestId("debug-step-over").click();
  await expectPausedAt(page, "process");
  await expect(page.getByTestId("stop-number")).toHaveAttribute("data-count", "2");
  await expect(page.getByTestId("paused-at")).toContainText("Step over: next hop of the item that ingest emitted");
  const second = await page.getByTestId("paused-at").getAttribute("data-activation-id");
  expect(second).not.toBe(first);

  await page.keyboard.press("F10");
  await expectPausedAt(page, "validate");
  expect(await stopNumber(page)).toBe(3);
  await expect(page.getByTestId("paused-at")).toContainText("Step over: next hop of the item that process emitted");
  await page.keyboard.press("F10");
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("step-ended")).toContainText("the item ended at validate (it passed nothing on)");
});

test("fan_out paused at the splitter: Step over stops at the first item's next hop; Step out runs the whole fan-out", async ({ page }) => {
  await openFlow(page, "fan_out");
  await runFromUi(page, { items: [1, 20, 3, 40] }, { pauseOnStart: true });
  await expectPausedAt(page, "split");
  await page.getByTestId("debug-step-over").click();
  await expectPausedAt(page, "route");
  await expect(page.getByTestId("variable-local-item")).toContainText("1");
  await expect(page.getByTestId("variable-local-index")).toContainText("0");

  await openFlow(page, "fan_out");
  await runFromUi(page, { items: [1, 20, 3, 40] }, { pauseOnStart: true });
  await expectPausedAt(page, "split");
  await page.getByTestId("debug-step-out").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("node-activations-collect")).toContainText("4");
  await expect(page.getByTestId("step-ended")).toContainText("Step out from split.input: its whole subtree ran");
});

test("two breakpoints on one node (before the handler and on error) both fire, and each row edits its own", async ({ page, request }) => {
  await openFlow(page, "flaky_retry");
  // Before each activation.
  await page.getByTestId("breakpoint-toggle-thrower").click();
  await expect(page.getByTestId("breakpoint-toggle-thrower")).toHaveAttribute("data-active", "true");
  // And on error: a second breakpoint, the first one stays.
  await page.getByTestId("breakpoint-edit-thrower").click();
  await page.getByTestId("breakpoint-editor-new").click();
  await page.getByTestId("breakpoint-kind").selectOption("error");
  await page.getByTestId("breakpoint-save").click();
  await expect(page.getByTestId("breakpoint-editor")).toHaveCount(0);
  const list = async (): Promise<Breakpoint[]> => ((await (await request.get("/api/flows/flaky_retry/breakpoints")).json()) as { breakpoints: Breakpoint[] }).breakpoints;
  await expect.poll(async () => (await list()).map((b) => b.type).sort()).toEqual(["error", "routine"]);
  const bps = await list();
  const routineBp = bps.find((b) => b.type === "routine") as Breakpoint;
  const errorBp = bps.find((b) => b.type === "error") as Breakpoint;

  // The ✎ of each row in the panel opens that very breakpoint; saving changes only it.
  await page.getByTestId(`breakpoint-edit-row-${errorBp.breakpoint_id}`).click();
  await expect(page.getByTestId(`breakpoint-editor-row-${errorBp.breakpoint_id}`)).toHaveAttribute("data-selected", "true");
  await page.getByTestId("breakpoint-hit-condition").fill(">= 1");
  await page.getByTestId("breakpoint-save").click();
  // Saved once the editor closes: a save that answers after the next row was opened closes that one.
  await expect(page.getByTestId("breakpoint-editor")).toHaveCount(0);
  await page.getByTestId(`breakpoint-edit-row-${routineBp.breakpoint_id}`).click();
  await expect(page.getByTestId(`breakpoint-editor-row-${routineBp.breakpoint_id}`)).toHaveAttribute("data-selected", "true");
  await expect(page.getByTestId("breakpoint-hit-condition")).toHaveValue("");
  await page.getByTestId("breakpoint-condition").fill("True");
  await page.getByTestId("breakpoint-save").click();
  await expect
    .poll(async () => (await list()).map((b) => `${b.type}:${b.condition ?? ""}:${b.hit_condition ?? ""}`).sort())
    .toEqual(["error::>= 1", "routine:True:"]);

  // Both fire: before the handler, then after it threw.
  await runFromUi(page, {});
  await expectPausedAt(page, "thrower");
  await expect(page.getByTestId("paused-at")).toContainText("Breakpoint on thrower (before the handler) · when True");
  await page.getByTestId("debug-continue").click();
  await expectPausedAt(page, "thrower");
  await expect(page.getByTestId("paused-at")).toContainText("Break on error: Error in thrower.input: boom");
  await expect(page.getByTestId("stop-number")).toHaveAttribute("data-count", "2");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
});

test("a connection breakpoint takes a condition; break on any error; run to here", async ({ page, request }) => {
  // An edge breakpoint with a condition: only the large item 40 stops on route → large_worker.
  await openFlow(page, "fan_out");
  const edge = "route.large:large_worker.input";
  await page.getByTestId(`edge-breakpoint-${edge}`).click({ button: "right" });
  await page.getByTestId("breakpoint-condition").fill("item > 30");
  await page.getByTestId("breakpoint-save").click();
  await expect(page.getByTestId(`edge-breakpoint-${edge}`)).toHaveAttribute("data-active", "true");
  await runFromUi(page, { items: [1, 20, 3, 40] });
  await expectPausedAt(page, "large_worker");
  await expect(page.getByTestId("variable-local-item")).toContainText("40");
  await expect(page.getByTestId("paused-at")).toContainText("Breakpoint on the connection route.large → large_worker.input");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await clearFlowBreakpoints(request);

  // Break on any error, from the flow's breakpoints panel: the first throw of any routine stops.
  await openFlow(page, "flaky_retry");
  await page.getByTestId("break-on-any-error").click();
  await expect(page.getByTestId("break-on-any-error")).toBeChecked();
  await expect.poll(async () => ((await (await request.get("/api/flows/flaky_retry/breakpoints")).json()) as { total: number }).total).toBe(1);
  await runFromUi(page, {});
  await expectPausedAt(page, "flaky");
  await expect(page.getByTestId("paused-at")).toContainText("Break on any error: Error in flaky.input: flaky: try again");
  await expect(page.getByTestId("stop-number")).toHaveAttribute("data-count", "1");
  await page.getByTestId("debug-continue").click();
  // The retry throws again: the same routine, so only the stop number tells the new stop from the
  // one just left (a click on the old one would be refused as stale).
  await expect(page.getByTestId("stop-number")).toHaveAttribute("data-count", "2");
  await expectPausedAt(page, "flaky");
  await page.getByTestId("debug-continue").click();
  await expectPausedAt(page, "thrower");
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  await clearFlowBreakpoints(request);

  // Run to here: from the entry straight to validate; the one-shot breakpoint is gone after.
  await openFlow(page, "data_processing");
  const jobId = await runFromUi(page, { data: [2, 4] }, { pauseOnStart: true });
  await expectPausedAt(page, "ingest");
  await page.getByTestId("breakpoint-edit-validate").click();
  await page.getByTestId("run-to-here").click();
  await expectPausedAt(page, "validate");
  await expect(page.getByTestId("paused-at")).toContainText("Ran to validate");
  const left = (await (await request.get(`/api/jobs/${jobId}/breakpoints`)).json()) as JobBreakpoints;
  expect(left.breakpoints).toEqual([]);
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
});

test("Variables follow the selected call-stack frame, read-only for past frames; a variable edit refreshes the watches", async ({ page }) => {
  await openFlow(page, "data_processing");
  await page.getByTestId("breakpoint-toggle-validate").click();
  await runFromUi(page, { data: [1, 2, 3] });
  await expectPausedAt(page, "validate");
  const vars = page.getByTestId("variables-panel");
  await expect(vars).toHaveAttribute("data-frame", "0");
  await expect(vars.getByTestId("variable-local-result")).toContainText("Array(3)");

  await page.getByTestId("watch-input").fill("len(result)");
  await page.getByTestId("watch-input").press("Enter");
  await expect(page.getByTestId("watch-row")).toContainText("3");

  // Frame 1: what process received, read-only.
  await page.getByTestId("call-stack-frame-1").click();
  await expect(vars).toHaveAttribute("data-frame", "1");
  await expect(vars).toHaveAttribute("data-read-only", "true");
  await expect(page.getByTestId("variables-frame-note")).toContainText("process.data_ingested");
  await expect(vars.getByTestId("variable-local-count")).toContainText("3");
  await expect(vars.getByTestId("variable-edit-local-data")).toHaveCount(0);

  // Back to frame 0: editable; an edit re-evaluates the watch.
  await page.getByTestId("call-stack-frame-0").click();
  await expect(vars).toHaveAttribute("data-read-only", "false");
  await vars.getByTestId("variable-local-result").click();
  await page.getByTestId("variable-editor").fill("[9, 9, 9, 9, 9]");
  await page.getByTestId("variable-save").click();
  await expect(vars.getByTestId("variable-local-result")).toContainText("Array(5)");
  await expect(page.getByTestId("watch-row")).toContainText("5");
  await page.getByTestId("watch-row").getByRole("button", { name: "Remove len(result)" }).click();
  await page.getByTestId("debug-continue").click();
  await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
});
