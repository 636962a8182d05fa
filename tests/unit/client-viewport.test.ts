/** Where the graph's view goes (fit, stops, picked nodes) and how routines are found by name. */
import { describe, expect, it } from "vitest";
import { layoutFlow } from "../../lib/client/layout";
import { searchRoutines } from "../../lib/client/search";
import { FIT_MAX_ZOOM, fitViewport, focusViewport, isInView, READABLE_ZOOM, type Viewport } from "../../lib/client/viewport";
import type { FlowDetail, RoutineInfo } from "../../lib/wire";
import { bigFlowDsl } from "../helpers/big-flow";

/** The generated 50-routine flow as the browser receives it (ports as the built-ins declare them). */
function bigFlow(): Pick<FlowDetail, "routines" | "connections"> {
  const dsl = bigFlowDsl("vp", 12);
  const events: Record<string, string[]> = { splitter: ["item", "done"], router: ["default"], filter: ["output", "rejected"] };
  const routines: Record<string, RoutineInfo> = {};
  for (const [id, r] of Object.entries(dsl.routines)) routines[id] = { routine_id: id, type: r.class, slots: ["input"], events: events[r.class] ?? ["output"], config: r.config ?? {} };
  const connections = dsl.connections.map((c) => {
    const [sr, se] = c.from.split(".") as [string, string];
    const [tr, ts] = c.to.split(".") as [string, string];
    return { id: `${c.from}:${c.to}`, source_routine: sr, source_event: se, target_routine: tr, target_slot: ts, param_mapping: null };
  });
  return { routines, connections };
}

// The job view's graph at 1280×720 (the side column and the bottom dock take the rest).
const W = 940;
const H = 340;

describe("viewport", () => {
  const placed = layoutFlow(bigFlow());
  const node = (id: string) => {
    const p = placed.get(id);
    if (!p) throw new Error(id);
    return p;
  };

  it("fits a big flow whole (far below a readable zoom: hence the focus rules) and a small one at most at FIT_MAX_ZOOM", () => {
    const fit = fitViewport(placed.values(), W, H);
    expect(fit.zoom).toBeLessThan(READABLE_ZOOM);
    for (const p of placed.values()) expect(isInView(fit, p, W, H)).toBe(true);
    const small = fitViewport([{ x: 0, y: 0, width: 200, height: 100 }], W, H);
    expect(small.zoom).toBe(FIT_MAX_ZOOM);
    expect(isInView(small, { x: 0, y: 0, width: 200, height: 100 }, W, H)).toBe(true);
    expect(fitViewport([], W, H)).toEqual({ x: 0, y: 0, zoom: 1 });
  });

  it("a stop from the fitted big flow zooms in to a readable zoom, the node centred and in view", () => {
    const fit = fitViewport(placed.values(), W, H);
    const target = node("audit_9");
    const next = focusViewport(fit, target, W, H, "reveal");
    expect(next).not.toBeNull();
    const vp = next as Viewport;
    expect(vp.zoom).toBeGreaterThanOrEqual(READABLE_ZOOM);
    expect(isInView(vp, target, W, H)).toBe(true);
    expect(vp.x + (target.x + target.width / 2) * vp.zoom).toBeCloseTo(W / 2);
    expect(vp.y + (target.y + target.height / 2) * vp.zoom).toBeCloseTo(H / 2);
  });

  it("a stop at a node already in view at a readable zoom keeps the view; out of view it moves, keeping the user's zoom", () => {
    const at = focusViewport({ x: 0, y: 0, zoom: 0.1 }, node("audit_9"), W, H, "reveal") as Viewport;
    expect(focusViewport(at, node("audit_9"), W, H, "reveal")).toBeNull();
    const zoomed = { ...at, zoom: 1.5 };
    const far = focusViewport(zoomed, node("intake"), W, H, "reveal") as Viewport;
    expect(far.zoom).toBe(1.5);
    expect(isInView(far, node("intake"), W, H)).toBe(true);
  });

  it("a picked node (frame, search) is always centred, even when already in view", () => {
    const at = focusViewport({ x: 0, y: 0, zoom: 0.1 }, node("split"), W, H, "zoom") as Viewport;
    const nudged = { ...at, x: at.x + 40 };
    expect(isInView(nudged, node("split"), W, H)).toBe(true);
    expect(focusViewport(nudged, node("split"), W, H, "zoom")).toEqual(at);
  });
});

describe("routine search", () => {
  const { routines } = bigFlow();

  it("matches ids and types, case-insensitive, ids first (those starting with the text before the others)", () => {
    expect(searchRoutines(routines, "HEAVY_1").map((m) => m.routineId)).toEqual(["large_heavy_1"]);
    expect(searchRoutines(routines, "aggreg")).toEqual([{ routineId: "collect", type: "aggregator", on: "type" }]);
    const route = searchRoutines(routines, "route").map((m) => `${m.routineId}:${m.on}`);
    expect(route).toEqual(["route:id", "large_route:id"]);
    const router = searchRoutines(routines, " router ").map((m) => m.routineId);
    expect(router).toEqual(["large_route", "route"]);
  });

  it("finds nothing for an empty or unmatched text, and stops at the limit", () => {
    expect(searchRoutines(routines, "   ")).toEqual([]);
    expect(searchRoutines(routines, "zebra")).toEqual([]);
    expect(searchRoutines(routines, "a", 5)).toHaveLength(5);
  });
});
