import { describe, expect, it } from "vitest";
import { LayoutCache, type LayoutStorage, layoutFlow, layoutSignature } from "../../lib/client/layout";
import type { FlowDetail } from "../../lib/wire";

type Shape = Pick<FlowDetail, "routines" | "connections">;

function chain(n: number): Shape {
  const routines: Record<string, unknown> = {};
  const connections: unknown[] = [];
  for (let i = 0; i < n; i++) {
    routines[`r${i}`] = { routine_id: `r${i}`, type: "passthrough", slots: ["input"], events: ["output"], config: {} };
    if (i > 0) connections.push({ id: `r${i - 1}.output:r${i}.input`, source_routine: `r${i - 1}`, source_event: "output", target_routine: `r${i}`, target_slot: "input" });
  }
  return { routines, connections } as unknown as Shape;
}

class MapStorage implements LayoutStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe("graph layout", () => {
  it("places a chain left to right without overlaps, small and big (fast ranker) alike", () => {
    for (const n of [5, 200]) {
      const placed = layoutFlow(chain(n));
      expect(placed.size).toBe(n);
      const xs = Array.from({ length: n }, (_, i) => placed.get(`r${i}`)?.x ?? Number.NaN);
      for (let i = 1; i < n; i++) expect(xs[i] as number).toBeGreaterThan((xs[i - 1] as number) + 200);
    }
  });

  it("caches by structure: a second page (same storage) reuses the layout; a changed flow gets a new one", () => {
    const storage = new MapStorage();
    const flow = chain(8);
    const first = new LayoutCache(storage).get(flow);
    expect(storage.items.size).toBe(1);
    // A fresh cache (a reload) reads the stored layout: identical positions.
    const again = new LayoutCache(storage).get(flow);
    expect([...again.values()]).toEqual([...first.values()]);
    // One more routine: another signature, another entry.
    const bigger = chain(9);
    expect(layoutSignature(bigger)).not.toBe(layoutSignature(flow));
    expect(new LayoutCache(storage).get(bigger).size).toBe(9);
    expect(storage.items.size).toBe(2);
  });

  it("ignores a stored entry that does not cover the flow's routines, and survives a refusing storage", () => {
    const flow = chain(4);
    const storage = new MapStorage();
    storage.setItem(`routilux:layout:${layoutSignature(flow)}`, JSON.stringify([{ id: "other", x: 0, y: 0, width: 1, height: 1 }]));
    expect(new LayoutCache(storage).get(flow).get("r3")).toBeDefined();
    const refusing: LayoutStorage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
    };
    expect(new LayoutCache(refusing).get(flow).size).toBe(4);
  });
});
