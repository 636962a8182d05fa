/**
 * Validation of cycles that multiply, and timeouts beyond setTimeout's 32-bit range (which it
 * would fire at once): refused where they are configured, waited for correctly where they are computed.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Delay, DslError, ErrorHandler, Flow, FlowDefinitionError, MAX_TIMEOUT_SECONDS, Passthrough, setLongTimeout } from "../../lib";
import { Fn, MULTIPLYING_CYCLE_DSL } from "../helpers/flows";

function graph(edges: [string, string][], id = "g"): Flow {
  const flow = new Flow(id);
  const names = new Set(edges.flat());
  for (const n of names) flow.addRoutine(new Passthrough(), n);
  for (const [from, to] of edges) flow.connect(from, "output", to, "input");
  return flow;
}

describe("validate: cycles that multiply", () => {
  it("warns about a → b, a → c, b → a, c → a, naming the routines and saying it grows without bound", () => {
    const issues = graph([["a", "b"], ["a", "c"], ["b", "a"], ["c", "a"]]).validate();
    const warn = issues.filter((i) => i.code === "MULTIPLYING_CYCLE");
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ level: "warning", routine_id: "a" });
    expect(warn[0]?.message).toContain("Cycle through a, b, c multiplies");
    expect(warn[0]?.message).toContain("every 'a.output' sends 2 payloads back into it (to b.input, c.input)");
    expect(warn[0]?.message).toContain("grows without bound unless a routine stops it");
    // The plain cycle information is still there.
    expect(issues.some((i) => i.code === "CYCLE" && i.level === "info")).toBe(true);
  });

  it("a cycle that does not multiply, or a fan-out that does not come back, gets no warning", () => {
    const codes = (f: Flow) => f.validate().map((i) => i.code);
    expect(codes(graph([["a", "b"], ["b", "a"]]))).not.toContain("MULTIPLYING_CYCLE");
    // Fan-out, but only one branch returns into the cycle.
    expect(codes(graph([["a", "b"], ["a", "c"], ["b", "a"]]))).not.toContain("MULTIPLYING_CYCLE");
    expect(codes(graph([["a", "b"], ["a", "c"]]))).not.toContain("MULTIPLYING_CYCLE");
  });

  it("warns about a self-loop that feeds itself twice, and about a fan-out inside a longer cycle", () => {
    const self = new Flow("self");
    self.addRoutine(new Fn(() => {}, ["input", "again"]), "r");
    self.connect("r", "out", "r", "input");
    self.connect("r", "out", "r", "again");
    expect(self.validate().find((i) => i.code === "MULTIPLYING_CYCLE")?.message).toContain("Cycle through r multiplies");
    const long = graph([["a", "b"], ["b", "c"], ["c", "d"], ["c", "e"], ["d", "a"], ["e", "b"], ["x", "a"]]);
    const w = long.validate().filter((i) => i.code === "MULTIPLYING_CYCLE");
    expect(w.map((i) => i.routine_id)).toEqual(["c"]);
    expect(w[0]?.message).toContain("Cycle through a, b, c, d, e multiplies");
  });

  it("the DSL's flows get the same warning", () => {
    const flow = Flow.fromDSL({
      flow_id: "dsl_cycle",
      ...MULTIPLYING_CYCLE_DSL,
    });
    expect(flow.validate().map((i) => i.code)).toContain("MULTIPLYING_CYCLE");
  });
});

describe("timeouts beyond setTimeout's range", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const TOO_LONG = MAX_TIMEOUT_SECONDS + 1; // 2,147,484 s: fired at once before
  const limit = new RegExp(`up to ${MAX_TIMEOUT_SECONDS}`);

  it("are refused where configured, naming the field and the maximum", () => {
    expect(MAX_TIMEOUT_SECONDS).toBe(2_147_483);
    expect(() => new Passthrough().setTimeoutSeconds(TOO_LONG)).toThrow(FlowDefinitionError);
    expect(() => new Passthrough().setTimeoutSeconds(TOO_LONG)).toThrow(/Config 'timeout' must be a positive number of seconds up to 2147483/);
    expect(() => new Flow("f", { timeout: TOO_LONG })).toThrow(/^timeout must be a positive number of seconds up to 2147483 \(~24.8 days\), got 2147484$/);
    const flow = graph([["a", "b"]]);
    expect(() => flow.start("a", {}, { entrySlot: "input", timeout: TOO_LONG })).toThrow(limit);
    expect(() => new ErrorHandler("retry", { retryDelay: TOO_LONG })).toThrow(/retryDelay must be at most 2147483 seconds/);
    // The largest accepted values still work.
    expect(new Passthrough().setTimeoutSeconds(MAX_TIMEOUT_SECONDS).timeoutMs).toBe(MAX_TIMEOUT_SECONDS * 1000);
    expect(new Flow("ok", { timeout: MAX_TIMEOUT_SECONDS }).timeout).toBe(MAX_TIMEOUT_SECONDS);
  });

  it("a refused routine timeout leaves the routine's config as it was", () => {
    const r = new Passthrough().setTimeoutSeconds(5);
    expect(() => r.setConfig({ timeout: TOO_LONG })).toThrow(FlowDefinitionError);
    expect(r.getConfig("timeout")).toBe(5);
    expect(r.timeoutMs).toBe(5000);
  });

  it("the DSL refuses them with the field's path", () => {
    const base = { flow_id: "t", routines: { a: { class: "passthrough" } } };
    expect(() => Flow.fromDSL({ ...base, execution: { timeout: TOO_LONG } })).toThrow(DslError);
    expect(() => Flow.fromDSL({ ...base, execution: { timeout: TOO_LONG } })).toThrow(/^execution\.timeout: at most 2147483 seconds/);
    expect(() => Flow.fromDSL({ ...base, routines: { a: { class: "passthrough", config: { timeout: TOO_LONG } } } })).toThrow(/^routines\.a: Config 'timeout' must be .* up to 2147483/);
  });

  it("setLongTimeout waits past 2^31-1 ms instead of firing at once, and can be cleared", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    let fired = 0;
    const ms = 3 * 2 ** 31;
    setLongTimeout(() => fired++, ms);
    vi.advanceTimersByTime(1000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(ms - 1001);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    const t = setLongTimeout(() => fired++, ms);
    vi.advanceTimersByTime(2 ** 31);
    t.clear();
    vi.advanceTimersByTime(ms);
    expect(fired).toBe(1);
  });

  it("a job timeout set beyond the range (flow.timeout assigned directly) does not fail the job at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const flow = new Flow("waits");
    let release: () => void = () => {};
    flow.addRoutine(new Fn(() => new Promise<void>((r) => { release = r; })), "slow");
    flow.timeout = 3_000_000; // seconds: 3e9 ms, past the 32-bit range
    const job = flow.start("slow");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(job.status).toBe("running");
    await vi.advanceTimersByTimeAsync(3_000_000_000);
    expect(job.status).toBe("failed");
    expect(job.error).toMatchObject({ error_type: "TimeoutError", code: "TIMEOUT" });
    release();
  });

  it("a delay routine given more than the range from code (setConfig skips its schema) waits for it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const flow = new Flow("long_delay");
    const delay = new Delay();
    delay.setConfig({ ms: 3_000_000_000 });
    let arrived = 0;
    flow.addRoutine(delay, "wait");
    flow.addRoutine(new Fn(() => { arrived++; }), "after");
    flow.connect("wait", "output", "after", "input");
    const job = flow.start("wait", {}, { entrySlot: "input" });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(arrived).toBe(0);
    expect(job.status).toBe("running");
    await vi.advanceTimersByTimeAsync(3_000_000_000);
    expect(arrived).toBe(1);
    expect((await job.done).status).toBe("completed");
  });

  it("a retry whose growing backoff passes the range waits for it (it does not run again at once)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const flow = new Flow("backoff");
    let calls = 0;
    flow.addRoutine(new Fn(() => { calls++; throw new Error("again"); }), "r");
    // Retry 1 after 2,000,000 s (within range); retry 2 after 4,000,000 s (beyond it).
    flow.getRoutine("r")?.setErrorHandler(new ErrorHandler("retry", { maxRetries: 2, retryDelay: 2_000_000, retryBackoff: 2 }));
    const job = flow.start("r");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000_000_000);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(2);
    expect(job.status).toBe("running");
    await vi.advanceTimersByTimeAsync(4_000_000_000);
    expect(calls).toBe(3);
    expect(job.status).toBe("failed");
  });
});
