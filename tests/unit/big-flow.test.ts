import { describe, expect, it } from "vitest";
import { Flow } from "../../lib";
import { BIG_FLOW_ROUTINES, bigFlowDsl, bigFlowParams } from "../helpers/big-flow";

describe("the generated 50-routine flow", () => {
  it("has 50 routines, routers, fan-out and fan-in, and runs every order through to the report", async () => {
    const flow = Flow.fromDSL(bigFlowDsl("big", 12));
    expect(flow.routines.size).toBe(BIG_FLOW_ROUTINES);
    const job = await flow.execute("intake", bigFlowParams(12), { entrySlot: "input" });
    expect(job.status).toBe("completed");
    const states = job.routineStates;
    expect(states.split?.activations).toBe(1);
    expect(states.route?.activations).toBe(12);
    expect(states.merge?.activations).toBe(12);
    expect(states.large_join?.activations).toBe(3);
    expect(states.report?.activations).toBe(1);
    expect(states.done?.activations).toBe(1);
    expect(states.rejects?.activations).toBe(0);
    expect(Object.values(states).filter((s) => s.activations > 0).length).toBeGreaterThan(40);
  });
});
