import { describe, expect, it } from "vitest";
import { Runtime } from "../../lib/runtime";

describe("runtime health", () => {
  it("is healthy with no failing check, degraded with the reasons of those that fail, and measures a blocked event loop", async () => {
    const runtime = new Runtime();
    try {
      expect(runtime.health()).toMatchObject({ status: "healthy", reasons: [] });
      let failing: string | null = "history: disk full";
      const remove = runtime.addHealthCheck(() => failing);
      runtime.addHealthCheck(() => null);
      expect(runtime.health()).toMatchObject({ status: "degraded", reasons: ["history: disk full"] });
      failing = null;
      expect(runtime.health().status).toBe("healthy");
      failing = "again";
      remove();
      expect(runtime.health().status).toBe("healthy");

      // Block the loop for 120 ms; the next samples record it.
      await new Promise((r) => setTimeout(r, 30));
      const until = Date.now() + 120;
      while (Date.now() < until) {
        /* busy on purpose */
      }
      await new Promise((r) => setTimeout(r, 30));
      expect(runtime.health().event_loop.max_ms).toBeGreaterThanOrEqual(100);
    } finally {
      runtime.close();
    }
  });
});
