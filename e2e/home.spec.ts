import { expect, test } from "@playwright/test";

test("the home page lists the built-in routine types with their slots and events", async ({ page }, testInfo) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Routilux" })).toBeVisible();
  for (const name of ["passthrough", "mapper", "filter", "router", "splitter", "aggregator", "delay", "fail"]) {
    await expect(page.getByTestId(`routine-type-${name}`)).toBeVisible();
  }
  await expect(page.getByTestId("routine-type-filter")).toContainText("in: input · out: output, rejected");
  await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
});
