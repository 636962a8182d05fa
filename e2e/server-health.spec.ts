/**
 * A degraded server says so on every page: here a flow stored in history that could not be
 * restored at start (a routine type nobody registers any more), named in a corner notice.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import Database from "better-sqlite3";
import { freePort, ServerProcess } from "./server-process";

test("a stored flow that cannot be restored is shown as a degraded server on every page", async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), "routilux-e2e-health-"));
  const db = join(dir, "history.db");
  try {
    const first = new ServerProcess(await freePort(), { ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    await first.start();
    try {
      const res = await fetch(`${first.url}/api/flows`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ flow_id: "orders", dsl: { routines: { a: { class: "passthrough" } } } }) });
      expect(res.status).toBe(201);
    } finally {
      await first.stop();
    }
    const raw = new Database(db);
    raw.prepare("UPDATE flows SET dsl = ? WHERE flow_id = 'orders'").run(JSON.stringify({ flow_id: "orders", routines: { a: { class: "retired_type" } } }));
    raw.close();

    const second = new ServerProcess(await freePort(), { ROUTILUX_DB: db, ROUTILUX_DEMO: "0" });
    await second.start();
    try {
      for (const path of ["/", "/jobs"]) {
        await page.goto(`${second.url}${path}`);
        const notice = page.getByTestId("server-health");
        await expect(notice).toHaveAttribute("data-status", "degraded");
        await expect(notice.getByTestId("server-health-reason")).toContainText("flow 'orders' stored in history could not be restored");
        await expect(notice).toContainText("retired_type");
      }
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
