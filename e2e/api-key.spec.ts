import { expect, test } from "@playwright/test";
import { freePort, ServerProcess } from "./server-process";

test("with ROUTILUX_API_KEY the UI asks for the key, refuses a wrong one, then works with the right one (live socket too)", async ({ page }) => {
  test.setTimeout(90_000);
  const server = new ServerProcess(await freePort(), { ROUTILUX_API_KEY: "e2e-secret", ROUTILUX_DB: ":memory:" });
  await server.start();
  try {
    await page.goto(`${server.url}/`);
    await expect(page.getByTestId("api-key-prompt")).toBeVisible();
    await page.getByTestId("api-key-input").fill("wrong");
    await page.getByTestId("api-key-save").click();
    await expect(page.getByTestId("api-key-prompt")).toContainText("refused");
    await page.getByTestId("api-key-input").fill("e2e-secret");
    await page.getByTestId("api-key-save").click();
    await expect(page.getByTestId("flow-row-data_processing")).toBeVisible();
    await expect(page.getByTestId("api-key-prompt")).toHaveCount(0);
    // The debugger's socket.io connection presents the key as well.
    await page.goto(`${server.url}/flows/data_processing`);
    await page.getByTestId("run-flow").click();
    await page.getByTestId("run-params").fill('{"data": [1]}');
    await page.getByTestId("run-submit").click();
    await expect(page.getByTestId("live-status")).toHaveAttribute("data-state", "connected");
    await expect(page.getByTestId("job-status")).toHaveAttribute("data-status", "completed");
  } finally {
    await server.stop();
  }
});
